// PEP 440 versions (https://peps.python.org/pep-0440/): parsing with every
// normalisation the PEP allows, ordered as the `packaging` library orders them.
//
//   [v][N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]
//
// Accepted spellings: any case; '-', '_' or '.' (or nothing) before and
// inside the pre, post and dev parts; alpha/beta/c/pre/preview for a/b/rc;
// rev/r for post; "1.0-1" for 1.0.post1; a missing number means 0.
#include <algorithm>
#include <array>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scanner/versions/chars.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {

namespace {

using detail::compare_digits;
using detail::is_digit;

enum PreKind { kNoPre = -1, kAlpha = 0, kBeta = 1, kRc = 2 };

// Views into the lower-cased text it was parsed from.
struct Pep440 {
  std::string_view epoch;  // digits; empty = 0
  std::vector<std::string_view> release;
  PreKind pre = kNoPre;
  std::string_view pre_number;  // digits; empty = 0
  bool post = false;
  std::string_view post_number;
  bool dev = false;
  std::string_view dev_number;
  std::vector<std::string_view> local;  // empty = no local version
};

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::optional<Pep440> parse() {
    Pep440 v;
    eat('v');
    std::size_t mark = pos_;
    std::string_view n = digits();
    if (!n.empty() && eat('!')) {
      v.epoch = n;
    } else {
      pos_ = mark;
    }

    n = digits();
    if (n.empty()) return std::nullopt;
    v.release.push_back(n);
    while (pos_ + 1 < s_.size() && s_[pos_] == '.' && is_digit(s_[pos_ + 1])) {
      ++pos_;
      v.release.push_back(digits());
    }

    mark = pos_;
    eat_separator();
    if (auto kind = pre_label()) {
      v.pre = *kind;
      eat_separator();
      v.pre_number = digits();
    } else {
      pos_ = mark;
    }

    mark = pos_;
    if (eat('-') && !(n = digits()).empty()) {  // "1.0-1", the implicit post release
      v.post = true;
      v.post_number = n;
    } else {
      pos_ = mark;
      eat_separator();
      if (eat_longest({"post", "rev", "r"})) {
        v.post = true;
        eat_separator();
        v.post_number = digits();
      } else {
        pos_ = mark;
      }
    }

    mark = pos_;
    eat_separator();
    if (eat_longest({"dev"})) {
      v.dev = true;
      eat_separator();
      v.dev_number = digits();
    } else {
      pos_ = mark;
    }

    if (eat('+')) {
      do {
        std::string_view segment = take([](char c) { return detail::is_lower(c) || is_digit(c); });
        if (segment.empty()) return std::nullopt;
        v.local.push_back(segment);
      } while (eat_separator());
    }
    if (pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool eat_separator() { return eat('-') || eat('_') || eat('.'); }

  template <typename Pred>
  std::string_view take(Pred pred) {
    std::string_view run = s_.substr(pos_, detail::span(s_.substr(pos_), pred));
    pos_ += run.size();
    return run;
  }

  std::string_view digits() { return take(is_digit); }

  // Longest first: a shorter word that is a prefix of a longer one could not
  // be followed by the rest of the longer one anyway.
  bool eat_longest(std::initializer_list<std::string_view> words) {
    for (std::string_view w : words) {
      if (s_.substr(pos_, w.size()) == w) {
        pos_ += w.size();
        return true;
      }
    }
    return false;
  }

  std::optional<PreKind> pre_label() {
    static constexpr std::array<std::pair<std::string_view, PreKind>, 8> kLabels{{
        {"preview", kRc},
        {"alpha", kAlpha},
        {"beta", kBeta},
        {"pre", kRc},
        {"rc", kRc},
        {"a", kAlpha},
        {"b", kBeta},
        {"c", kRc},
    }};
    for (const auto& [label, kind] : kLabels) {
      if (s_.substr(pos_, label.size()) == label) {
        pos_ += label.size();
        return kind;
      }
    }
    return std::nullopt;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

std::string lower_trimmed(std::string_view v) {
  v = detail::trim(v);
  std::string out(v);
  for (char& c : out) c = detail::to_lower(c);
  return out;
}

std::string_view without_leading_zeros(std::string_view digits) {
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  return digits.empty() ? "0" : digits;
}

bool is_zero(std::string_view digits) { return compare_digits(digits, "") == 0; }

// packaging's _cmpkey, field by field.
int compare_release(const std::vector<std::string_view>& a,
                    const std::vector<std::string_view>& b) {
  auto significant = [](const std::vector<std::string_view>& r) {
    std::size_t n = r.size();
    while (n > 0 && is_zero(r[n - 1])) --n;
    return n;
  };
  std::size_t na = significant(a);
  std::size_t nb = significant(b);
  for (std::size_t i = 0; i < std::min(na, nb); ++i) {
    if (int r = compare_digits(a[i], b[i]); r != 0) return r;
  }
  return na == nb ? 0 : (na < nb ? -1 : 1);
}

// 0: a dev release of the release itself (1.0.dev1 sorts before 1.0a1);
// 1-3: a, b, rc; 4: no pre-release.
int pre_rank(const Pep440& v) {
  if (v.pre == kNoPre) return (!v.post && v.dev) ? 0 : 4;
  return v.pre + 1;
}

// only_a: the result when a has the part and b does not.
int compare_optional(bool a, std::string_view an, bool b, std::string_view bn, int only_a) {
  if (a && b) return compare_digits(an, bn);
  if (a == b) return 0;
  return a ? only_a : -only_a;
}

// Numeric segments compare by value and above alphanumeric ones.
int compare_local(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    bool an = detail::all_digits(a[i]);
    bool bn = detail::all_digits(b[i]);
    int r = an && bn ? compare_digits(a[i], b[i])
                     : (an != bn ? (an ? 1 : -1) : detail::compare_bytes(a[i], b[i]));
    if (r != 0) return r;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

int compare_parsed(const Pep440& a, const Pep440& b) {
  if (int r = compare_digits(a.epoch, b.epoch); r != 0) return r;
  if (int r = compare_release(a.release, b.release); r != 0) return r;
  int ra = pre_rank(a);
  int rb = pre_rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra >= 1 && ra <= 3) {
    if (int r = compare_digits(a.pre_number, b.pre_number); r != 0) return r;
  }
  // No post release sorts first, no dev release last.
  if (int r = compare_optional(a.post, a.post_number, b.post, b.post_number, 1); r != 0) return r;
  if (int r = compare_optional(a.dev, a.dev_number, b.dev, b.dev_number, -1); r != 0) return r;
  return compare_local(a.local, b.local);
}

}  // namespace

bool pep440_valid(std::string_view v) {
  std::string text = lower_trimmed(v);
  return Parser(text).parse().has_value();
}

std::optional<std::string> pep440_normalize(std::string_view v) {
  std::string text = lower_trimmed(v);
  auto parsed = Parser(text).parse();
  if (!parsed) return std::nullopt;
  std::string out;
  if (!is_zero(parsed->epoch)) {
    out += without_leading_zeros(parsed->epoch);
    out += '!';
  }
  for (std::size_t i = 0; i < parsed->release.size(); ++i) {
    if (i > 0) out += '.';
    out += without_leading_zeros(parsed->release[i]);
  }
  if (parsed->pre != kNoPre) {
    static constexpr std::array<std::string_view, 3> kPre{"a", "b", "rc"};
    out += kPre[parsed->pre];
    out += without_leading_zeros(parsed->pre_number);
  }
  if (parsed->post) {
    out += ".post";
    out += without_leading_zeros(parsed->post_number);
  }
  if (parsed->dev) {
    out += ".dev";
    out += without_leading_zeros(parsed->dev_number);
  }
  for (std::size_t i = 0; i < parsed->local.size(); ++i) {
    out += i == 0 ? '+' : '.';
    std::string_view segment = parsed->local[i];
    out += detail::all_digits(segment) ? without_leading_zeros(segment) : segment;
  }
  return out;
}

int pep440_compare(std::string_view a, std::string_view b) {
  std::string ta = lower_trimmed(a);
  std::string tb = lower_trimmed(b);
  auto pa = Parser(ta).parse();
  auto pb = Parser(tb).parse();
  if (pa && pb) return compare_parsed(*pa, *pb);
  if (pa || pb) return pa ? 1 : -1;
  return detail::compare_bytes(a, b);
}

}  // namespace portcullis::scanner::versions
