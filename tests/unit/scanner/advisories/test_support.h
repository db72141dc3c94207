// Helpers shared by the advisory tests: files, gzip, TSV, dpkg status files.
#pragma once

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "scanner/model.h"

namespace portcullis::scanner::advisories::testing {

// tests/data/vulndata (a copy of shared/vulndata), set by CMake.
inline std::filesystem::path vulndata(const std::string& relative) {
  return std::filesystem::path(PC_VULNDATA_DIR) / relative;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

// gzip (one member) of data, as `gzip` writes it.
inline std::string gzip(const std::string& data, int level = 6) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  return out;
}

// Rows of a TSV file, without '#' comment lines and without the header row
// when `header` names its first column.
inline std::vector<std::vector<std::string>> read_tsv(const std::filesystem::path& p,
                                                      const std::string& header = "") {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(p));
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::size_t start = 0;
    for (;;) {
      std::size_t tab = line.find('\t', start);
      cols.push_back(line.substr(start, tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (first && !header.empty() && cols[0] == header) {
      first = false;
      continue;
    }
    first = false;
    rows.push_back(std::move(cols));
  }
  return rows;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// The installed packages of a dpkg status file, as debsecan reads them:
// stanzas whose Status words include "installed"; "Source: name (version)"
// gives the source (without it: the package itself; without the version:
// the binary version).
inline std::vector<Package> installed_dpkg_packages(const std::string& status_text) {
  std::vector<Package> out;
  std::map<std::string, std::string> fields;
  std::string last;
  auto flush = [&]() {
    if (fields.empty()) return;
    bool installed = false;
    std::istringstream words(fields["Status"]);
    for (std::string w; words >> w;) installed = installed || w == "installed";
    if (installed && !fields["Package"].empty()) {
      Package p;
      p.type = kTypeDeb;
      p.name = fields["Package"];
      p.version = fields["Version"];
      p.arch = fields["Architecture"];
      const std::string& src = fields["Source"];
      if (!src.empty()) {
        std::size_t space = src.find(' ');
        p.source_name = src.substr(0, space);
        std::size_t open = src.find('(');
        std::size_t close = src.find(')');
        if (open != std::string::npos && close != std::string::npos && close > open) {
          p.source_version = src.substr(open + 1, close - open - 1);
        }
      }
      out.push_back(std::move(p));
    }
    fields.clear();
  };
  std::istringstream in(status_text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') continue;  // continuation of `last`
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    last = line.substr(0, colon);
    std::size_t value = line.find_first_not_of(' ', colon + 1);
    fields[last] = value == std::string::npos ? "" : line.substr(value);
  }
  flush();
  return out;
}

inline Distro debian12() {
  return Distro{"debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"};
}

}  // namespace portcullis::scanner::advisories::testing
