// JSON request and response bodies for the /api/v1 handlers (admin, policy).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/context.h"
#include "net/http.h"

namespace portcullis::api {

// `body` serialised, with Content-Type application/json and Cache-Control no-store.
net::Response json_response(unsigned status, const boost::json::value& body);

// Malformed requests are 400 INVALID_REQUEST.
Error bad_request(std::string message);

// The body as a JSON object (at most `limit` bytes: 413 beyond; nesting depth
// 8); an absent body is {} when `optional`.
net::Task<Result<boost::json::object>> read_object(net::Exchange& ex, std::size_t limit,
                                                   bool optional = false);

// Unknown fields are refused so that a misspelt one is not silently ignored.
Result<void> only_fields(const boost::json::object& o,
                         std::initializer_list<std::string_view> allowed);

}  // namespace portcullis::api
