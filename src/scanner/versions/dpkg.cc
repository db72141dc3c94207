// dpkg version ordering (deb-version(7)): lib/dpkg/version.c's verrevcmp over
// upstream version and revision, after a numeric epoch.
#include <string_view>

#include "scanner/versions/chars.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {

namespace {

using detail::is_alnum;
using detail::is_alpha;
using detail::is_digit;

struct DpkgParts {
  std::string_view epoch;  // digits; empty = 0
  std::string_view upstream;
  std::string_view revision;  // empty = none, which orders as "0"
};

// Never fails: an epoch is taken only when it is all digits.
DpkgParts split(std::string_view v) {
  v = detail::trim(v);
  DpkgParts parts;
  auto colon = v.find(':');
  if (colon != std::string_view::npos && detail::all_digits(v.substr(0, colon))) {
    parts.epoch = v.substr(0, colon);
    v.remove_prefix(colon + 1);
  }
  auto hyphen = v.rfind('-');
  if (hyphen == std::string_view::npos) {
    parts.upstream = v;
  } else {
    parts.upstream = v.substr(0, hyphen);
    parts.revision = v.substr(hyphen + 1);
  }
  return parts;
}

// The weight of a non-digit character: '~' below the end of the string (0),
// letters above it, everything else above the letters.
int order(char c) {
  if (is_digit(c)) return 0;
  if (is_alpha(c)) return static_cast<unsigned char>(c);
  if (c == '~') return -1;
  return static_cast<unsigned char>(c) + 256;
}

// Alternates a non-digit run, compared character by character with order(),
// and a digit run, compared by value.
int verrevcmp(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  auto digit_at = [](std::string_view s, std::size_t k) { return k < s.size() && is_digit(s[k]); };
  while (i < a.size() || j < b.size()) {
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      int ac = i < a.size() ? order(a[i]) : 0;
      int bc = j < b.size() ? order(b[j]) : 0;
      if (ac != bc) return ac < bc ? -1 : 1;
      ++i;
      ++j;
    }
    std::size_t a_start = i;
    std::size_t b_start = j;
    while (digit_at(a, i)) ++i;
    while (digit_at(b, j)) ++j;
    int r = detail::compare_digits(a.substr(a_start, i - a_start), b.substr(b_start, j - b_start));
    if (r != 0) return r;
  }
  return 0;
}

}  // namespace

int dpkg_compare(std::string_view a, std::string_view b) {
  DpkgParts pa = split(a);
  DpkgParts pb = split(b);
  if (int r = detail::compare_digits(pa.epoch, pb.epoch); r != 0) return r;
  if (int r = verrevcmp(pa.upstream, pb.upstream); r != 0) return r;
  return verrevcmp(pa.revision, pb.revision);
}

bool dpkg_valid(std::string_view v) {
  v = detail::trim(v);
  if (v.empty()) return false;
  for (char c : v) {
    if (detail::is_space(c)) return false;
  }
  auto colon = v.find(':');
  if (colon != std::string_view::npos) {
    std::string_view epoch = v.substr(0, colon);
    if (epoch.empty() || !detail::all_digits(epoch)) return false;
    // dpkg keeps the epoch in an int.
    if (detail::compare_digits(epoch, "2147483647") > 0) return false;
    v.remove_prefix(colon + 1);
    if (v.empty()) return false;
  }
  std::string_view upstream = v;
  std::string_view revision;
  auto hyphen = v.rfind('-');
  if (hyphen != std::string_view::npos) {
    upstream = v.substr(0, hyphen);
    revision = v.substr(hyphen + 1);
    if (revision.empty()) return false;
  }
  if (upstream.empty() || !is_digit(upstream.front())) return false;
  for (char c : upstream) {
    if (!is_alnum(c) && std::string_view(".-+~:").find(c) == std::string_view::npos) return false;
  }
  for (char c : revision) {
    if (!is_alnum(c) && std::string_view(".+~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace portcullis::scanner::versions
