#include "scanner/image/cataloger.h"

#include <algorithm>

#include <fmt/format.h>

namespace portcullis::scanner::image {

Result<std::string> FileReader::read_all(std::string_view path, uint64_t max) {
  std::string out;
  char buf[64 * 1024];
  while (true) {
    auto n = read(std::span<char>(buf, sizeof buf));
    if (!n) return n.error();
    if (*n == 0) break;
    if (out.size() + *n > max) {
      return make_error(Errc::size_invalid,
                        fmt::format("{} is larger than the {}-byte limit for one file", path, max));
    }
    out.append(buf, *n);
  }
  return out;
}

Result<std::size_t> StringReader::read(std::span<char> buf) {
  std::size_t n = std::min(buf.size(), data_.size());
  std::copy_n(data_.data(), n, buf.data());
  data_.remove_prefix(n);
  return n;
}

CatalogerList default_catalogers(const Limits& limits) {
  CatalogerList list;
  list.push_back(make_os_cataloger(limits));
  list.push_back(make_dpkg_cataloger(limits));
  list.push_back(make_apk_cataloger(limits));
  list.push_back(make_rpm_cataloger(limits));
  list.push_back(make_npm_cataloger(limits));
  list.push_back(make_python_cataloger(limits));
  list.push_back(make_go_cataloger(limits));
  list.push_back(make_java_cataloger(limits));
  return list;
}

}  // namespace portcullis::scanner::image
