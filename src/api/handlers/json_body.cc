#include "api/handlers/json_body.h"

#include <algorithm>

#include <fmt/format.h>

namespace portcullis::api {

namespace json = boost::json;

net::Response json_response(unsigned status, const json::value& body) {
  net::Response r;
  r.status = status;
  r.header("Content-Type", "application/json");
  r.header("Cache-Control", "no-store");
  r.body = json::serialize(body);
  return r;
}

Error bad_request(std::string message) {
  return make_error(Errc::invalid_request, std::move(message));
}

net::Task<Result<json::object>> read_object(net::Exchange& ex, std::size_t limit, bool optional) {
  std::string text;
  if (ex.has_body()) {
    auto body = co_await ex.read_all(limit);
    if (!body) {
      if (body.error().code == Errc::size_invalid) {
        co_return make_error(Errc::payload_too_large,
                             limit % 1024 == 0 && limit >= 1024 * 1024
                                 ? fmt::format("request body over {} MiB", limit / (1024 * 1024))
                                 : fmt::format("request body over {} KiB", limit / 1024));
      }
      co_return body.error();
    }
    text = std::move(*body);
  }
  if (text.empty() && optional) co_return json::object{};
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 8;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec || !v.is_object()) co_return bad_request("the request body must be a JSON object");
  co_return std::move(v.as_object());
}

Result<void> only_fields(const json::object& o, std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : o) {
    std::string_view key(kv.key().data(), kv.key().size());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return bad_request(fmt::format("unknown field \"{}\"", key.substr(0, 64)));
    }
  }
  return {};
}

}  // namespace portcullis::api
