#include "api/handlers/util.h"

#include <charconv>

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

#include "oci/names.h"

namespace portcullis::api {

std::optional<net::Response> check_name(std::string_view name) {
  if (!oci::valid_repository_name(name)) {
    return error(Errc::name_invalid, "invalid repository name");
  }
  return std::nullopt;
}

Result<std::optional<std::size_t>> page_size(const Query& query, std::size_t max) {
  auto it = query.find("n");
  if (it == query.end()) return std::optional<std::size_t>();
  const std::string& s = it->second;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return make_error(Errc::pagination_invalid, "n must be a non-negative integer");
  }
  return std::optional<std::size_t>(std::min(n, max));
}

std::string next_link(std::string_view path, std::size_t n, std::string_view last) {
  return fmt::format("<{}?n={}&last={}>; rel=\"next\"", path, n,
                     boost::urls::encode(last, boost::urls::unreserved_chars));
}

}  // namespace portcullis::api
