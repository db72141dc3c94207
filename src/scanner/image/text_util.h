// Small text helpers shared by the catalogers (internal to image/).
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::scanner::image::detail {

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Splits off the next line (without its '\n' or a trailing '\r').
inline std::string_view next_line(std::string_view& text) {
  std::size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// A printable excerpt for warnings: never echoes a huge or binary field.
inline std::string excerpt(std::string_view s, std::size_t max = 64) {
  std::string out;
  for (char c : s.substr(0, max)) {
    out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  }
  if (s.size() > max) out += "...";
  return out;
}

// Adds a warning unless `cap` are there already (the last one says so).
inline void push_capped(std::vector<std::string>& warnings, std::string message,
                        std::size_t cap = 20) {
  if (warnings.size() < cap) {
    warnings.push_back(std::move(message));
  } else if (warnings.size() == cap) {
    warnings.emplace_back("further problems in this file not listed");
  }
}

}  // namespace portcullis::scanner::image::detail
