// Character classes and number comparison shared by the orderings. Internal to
// versions/: ASCII only and locale-independent, unlike <cctype>.
#pragma once

#include <cstddef>
#include <string_view>

namespace portcullis::scanner::versions::detail {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
inline bool is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
inline bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline int sign(int v) { return (v > 0) - (v < 0); }

inline bool all_digits(std::string_view s) {
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The length of the run of characters at the start of s for which pred holds.
template <typename Pred>
std::size_t span(std::string_view s, Pred pred) {
  std::size_t n = 0;
  while (n < s.size() && pred(s[n])) ++n;
  return n;
}

// Compares two runs of decimal digits by value, whatever their length; an
// empty run is 0. Returns -1, 0 or 1.
inline int compare_digits(std::string_view a, std::string_view b) {
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return sign(a.compare(b));
}

// Byte-wise comparison (as memcmp, then length). Returns -1, 0 or 1.
inline int compare_bytes(std::string_view a, std::string_view b) { return sign(a.compare(b)); }

}  // namespace portcullis::scanner::versions::detail
