// apk-tools version ordering (src/version.c of apk-tools 2.14/3.x):
//   digit{.digit}...{letter}{_suffix{number}}...{~hash}{-rN}
// Versions are split into typed tokens; the tokens must come in that order,
// and the first token out of order makes the rest of the version invalid.
#include <array>
#include <string_view>

#include "scanner/versions/chars.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {

namespace {

using detail::is_digit;

// The order of the enumerators is the grammar: a token may only be followed
// by tokens allowed after it, and when one version runs out of tokens first,
// the token kinds decide.
enum Token {
  kInitialDigit,
  kDigit,
  kLetter,
  kSuffix,
  kSuffixNumber,
  kCommitHash,
  kRevision,
  kEnd,
  kInvalid,
};

// Pre-release suffixes sort below kNone (no suffix), the others above it.
enum Suffix { kNoSuchSuffix, kAlpha, kBeta, kPre, kRc, kNone, kCvs, kSvn, kGit, kHg, kP };

Suffix suffix_of(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, Suffix>, 9> kSuffixes{{
      {"alpha", kAlpha},
      {"beta", kBeta},
      {"pre", kPre},
      {"rc", kRc},
      {"cvs", kCvs},
      {"svn", kSvn},
      {"git", kGit},
      {"hg", kHg},
      {"p", kP},
  }};
  for (const auto& [name, value] : kSuffixes) {
    if (s == name) return value;
  }
  return kNoSuchSuffix;
}

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view v) : rest_(v) { take_digits(kInitialDigit); }

  Token token() const { return token_; }
  Suffix suffix() const { return suffix_; }
  std::string_view value() const { return value_; }

  void next() {
    if (rest_.empty()) {
      token_ = kEnd;
      return;
    }
    char c = rest_.front();
    if (detail::is_lower(c)) {
      if (token_ > kDigit) return invalid();
      value_ = rest_.substr(0, 1);
      rest_.remove_prefix(1);
      token_ = kLetter;
    } else if (c == '.' || is_digit(c)) {
      if (c == '.') {
        if (token_ > kDigit) return invalid();
        rest_.remove_prefix(1);
      }
      if (token_ == kInitialDigit || token_ == kDigit) {
        take_digits(kDigit);
      } else if (token_ == kSuffix) {
        take_digits(kSuffixNumber);
      } else {
        invalid();
      }
    } else if (c == '_') {
      if (token_ > kSuffixNumber) return invalid();
      rest_.remove_prefix(1);
      value_ = take(detail::is_lower);
      suffix_ = suffix_of(value_);
      if (suffix_ == kNoSuchSuffix) return invalid();
      token_ = kSuffix;
    } else if (c == '~') {
      if (token_ >= kCommitHash) return invalid();
      rest_.remove_prefix(1);
      value_ = take(is_hex);
      if (value_.empty()) return invalid();
      token_ = kCommitHash;
    } else if (c == '-') {
      if (token_ >= kRevision || rest_.substr(0, 2) != "-r") return invalid();
      rest_.remove_prefix(2);
      take_digits(kRevision);
    } else {
      invalid();
    }
  }

 private:
  template <typename Pred>
  std::string_view take(Pred pred) {
    std::string_view run = rest_.substr(0, detail::span(rest_, pred));
    rest_.remove_prefix(run.size());
    return run;
  }

  void take_digits(Token kind) {
    value_ = take(is_digit);
    token_ = value_.empty() ? kInvalid : kind;
  }

  void invalid() { token_ = kInvalid; }

  std::string_view rest_;
  Token token_ = kInitialDigit;
  Suffix suffix_ = kNoSuchSuffix;
  std::string_view value_;
};

// Two tokens of the same kind.
int compare_tokens(const Tokenizer& a, const Tokenizer& b) {
  switch (a.token()) {
    case kDigit:
      // A component with a leading zero compares as a string ("1.05" < "1.1"),
      // as in Gentoo.
      if (a.value().front() == '0' || b.value().front() == '0') {
        return detail::compare_bytes(a.value(), b.value());
      }
      return detail::compare_digits(a.value(), b.value());
    case kInitialDigit:
    case kSuffixNumber:
    case kRevision:
      return detail::compare_digits(a.value(), b.value());
    case kLetter:
      return detail::compare_bytes(a.value(), b.value());
    case kSuffix:
      return a.suffix() < b.suffix() ? -1 : (a.suffix() > b.suffix() ? 1 : 0);
    default:  // kCommitHash
      return detail::compare_bytes(a.value(), b.value());
  }
}

}  // namespace

int apk_compare(std::string_view a, std::string_view b) {
  Tokenizer ta(a);
  Tokenizer tb(b);
  while (ta.token() == tb.token() && ta.token() < kEnd) {
    if (int r = compare_tokens(ta, tb); r != 0) return r;
    ta.next();
    tb.next();
  }
  // Both ended, or both turned invalid at the same point.
  if (ta.token() == tb.token()) return 0;
  // Equal so far: the longer version is greater, unless what it has more of
  // starts with a pre-release suffix.
  if (ta.token() == kSuffix && ta.suffix() < kNone) return -1;
  if (tb.token() == kSuffix && tb.suffix() < kNone) return 1;
  return ta.token() > tb.token() ? -1 : 1;
}

bool apk_valid(std::string_view v) {
  Tokenizer t(v);
  while (t.token() < kEnd) t.next();
  return t.token() == kEnd;
}

}  // namespace portcullis::scanner::versions
