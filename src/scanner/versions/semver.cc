// SemVer 2.0.0 precedence (https://semver.org/spec/v2.0.0.html, section 11).
#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include "scanner/versions/chars.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {

namespace {

using detail::is_digit;

struct Parsed {
  std::vector<std::string_view> release;     // digit runs, major first
  std::vector<std::string_view> prerelease;  // identifiers; empty = a release
};

std::vector<std::string_view> split_dots(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    auto dot = s.find('.');
    parts.push_back(s.substr(0, dot));
    if (dot == std::string_view::npos) return parts;
    s.remove_prefix(dot + 1);
  }
}

bool identifier_char(char c) { return detail::is_alnum(c) || c == '-'; }

bool valid_identifier(std::string_view id) {
  return !id.empty() && detail::span(id, identifier_char) == id.size();
}

bool valid_number(std::string_view n) {
  return !n.empty() && detail::all_digits(n) && (n.size() == 1 || n.front() != '0');
}

// Splits "[v]release[-prerelease][+build]"; the parts are not checked.
struct Pieces {
  std::string_view release;
  std::optional<std::string_view> prerelease;
  std::optional<std::string_view> build;
};

Pieces pieces(std::string_view v) {
  Pieces p;
  auto plus = v.find('+');
  if (plus != std::string_view::npos) {
    p.build = v.substr(plus + 1);
    v = v.substr(0, plus);
  }
  auto hyphen = v.find('-');
  if (hyphen != std::string_view::npos) {
    p.prerelease = v.substr(hyphen + 1);
    v = v.substr(0, hyphen);
  }
  p.release = v;
  return p;
}

std::optional<Parsed> parse_strict(std::string_view v) {
  if (!v.empty() && (v.front() == 'v' || v.front() == 'V')) v.remove_prefix(1);
  Pieces p = pieces(v);
  Parsed out;
  out.release = split_dots(p.release);
  if (out.release.size() != 3) return std::nullopt;
  for (auto n : out.release) {
    if (!valid_number(n)) return std::nullopt;
  }
  if (p.prerelease) {
    out.prerelease = split_dots(*p.prerelease);
    for (auto id : out.prerelease) {
      if (!valid_identifier(id)) return std::nullopt;
      if (detail::all_digits(id) && !valid_number(id)) return std::nullopt;
    }
  }
  if (p.build) {
    for (auto id : split_dots(*p.build)) {
      if (!valid_identifier(id)) return std::nullopt;
    }
  }
  return out;
}

// Accepts every strict version (giving the same result) and also releases of
// any number of components, leading zeros, a leading '=' and surrounding
// whitespace; identifiers may hold any character but '.' and '+'.
std::optional<Parsed> parse_lenient(std::string_view v) {
  v = detail::trim(v);
  if (!v.empty() && v.front() == '=') v.remove_prefix(1);
  if (!v.empty() && (v.front() == 'v' || v.front() == 'V')) v.remove_prefix(1);
  Pieces p = pieces(v);
  Parsed out;
  out.release = split_dots(p.release);
  for (auto n : out.release) {
    if (n.empty() || !detail::all_digits(n)) return std::nullopt;
  }
  if (p.prerelease) {
    if (p.prerelease->empty()) return std::nullopt;
    out.prerelease = split_dots(*p.prerelease);
  }
  return out;
}

int compare_identifiers(std::string_view a, std::string_view b) {
  bool a_numeric = !a.empty() && detail::all_digits(a);
  bool b_numeric = !b.empty() && detail::all_digits(b);
  if (a_numeric && b_numeric) return detail::compare_digits(a, b);
  if (a_numeric != b_numeric) return a_numeric ? -1 : 1;
  return detail::compare_bytes(a, b);
}

int compare_parsed(const Parsed& a, const Parsed& b) {
  std::size_t n = std::max(a.release.size(), b.release.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view x = i < a.release.size() ? a.release[i] : "0";
    std::string_view y = i < b.release.size() ? b.release[i] : "0";
    if (int r = detail::compare_digits(x, y); r != 0) return r;
  }
  // A pre-release has lower precedence than its release.
  if (a.prerelease.empty() || b.prerelease.empty()) {
    return a.prerelease.empty() == b.prerelease.empty() ? 0 : (a.prerelease.empty() ? 1 : -1);
  }
  std::size_t m = std::min(a.prerelease.size(), b.prerelease.size());
  for (std::size_t i = 0; i < m; ++i) {
    if (int r = compare_identifiers(a.prerelease[i], b.prerelease[i]); r != 0) return r;
  }
  if (a.prerelease.size() == b.prerelease.size()) return 0;
  return a.prerelease.size() < b.prerelease.size() ? -1 : 1;
}

}  // namespace

bool semver_valid(std::string_view v) { return parse_strict(v).has_value(); }

int semver_compare(std::string_view a, std::string_view b) {
  auto pa = parse_lenient(a);
  auto pb = parse_lenient(b);
  if (pa && pb) return compare_parsed(*pa, *pb);
  if (pa || pb) return pa ? -1 : 1;
  return detail::compare_bytes(a, b);
}

}  // namespace portcullis::scanner::versions
