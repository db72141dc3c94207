#include "scanner/advisories/ecosystems.h"

#include <array>
#include <utility>

namespace portcullis::scanner::advisories {

std::string pep503_normalize(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool in_sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      if (!in_sep) out.push_back('-');
      in_sep = true;
      continue;
    }
    in_sep = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::optional<std::string> debian_release_number(std::string_view codename) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kReleases = {{
      {"lenny", "5"},
      {"squeeze", "6"},
      {"wheezy", "7"},
      {"jessie", "8"},
      {"stretch", "9"},
      {"buster", "10"},
      {"bullseye", "11"},
      {"bookworm", "12"},
      {"trixie", "13"},
      {"forky", "14"},
      {"duke", "15"},
  }};
  for (const auto& [name, number] : kReleases) {
    if (name == codename) return std::string(number);
  }
  return std::nullopt;
}

std::optional<std::string> alpine_ecosystem(std::string_view version_id) {
  if (!version_id.empty() && version_id.front() == 'v') version_id.remove_prefix(1);
  std::size_t dot = version_id.find('.');
  if (dot == 0 || dot == std::string_view::npos) return std::nullopt;
  std::size_t end = version_id.find('.', dot + 1);
  std::string_view major_minor = version_id.substr(0, end);
  if (major_minor.size() == dot + 1) return std::nullopt;
  for (char c : major_minor) {
    if ((c < '0' || c > '9') && c != '.') return std::nullopt;
  }
  return "Alpine:v" + std::string(major_minor);
}

std::string display_id(std::string_view id) {
  for (std::string_view prefix : {"DEBIAN-", "ALPINE-", "UBUNTU-"}) {
    if (id.size() > prefix.size() + 4 && id.substr(0, prefix.size()) == prefix &&
        id.substr(prefix.size(), 4) == "CVE-") {
      return std::string(id.substr(prefix.size()));
    }
  }
  return std::string(id);
}

}  // namespace portcullis::scanner::advisories
