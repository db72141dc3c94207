// Small helpers shared by the handlers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/context.h"
#include "api/errors.h"

namespace portcullis::api {

namespace http = boost::beast::http;

inline net::Response error(Errc code, std::string message) {
  return error_response(make_error(code, std::move(message)));
}

inline net::Response status_only(unsigned status) {
  net::Response r;
  r.status = status;
  return r;
}

// Checks the repository name grammar (NAME_INVALID).
std::optional<net::Response> check_name(std::string_view name);

// A page size from `n`: nullopt for absent, error response when invalid.
Result<std::optional<std::size_t>> page_size(const Query& query, std::size_t max);

// Builds `</v2/…?n=N&last=X>; rel="next"`.
std::string next_link(std::string_view path, std::size_t n, std::string_view last);

}  // namespace portcullis::api
