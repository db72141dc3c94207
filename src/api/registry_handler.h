// The API's entry point for net/: routes each request to its resource
// handler, turns unexpected exceptions into 500 UNKNOWN, and records metrics
// and the JSON access log line.
#pragma once

#include "api/context.h"
#include "net/http.h"

namespace portcullis::api {

class RegistryHandler final : public net::Handler {
 public:
  explicit RegistryHandler(Context& ctx) : ctx_(ctx) {}
  net::Task<net::Response> handle(net::Exchange& ex) override;
  void completed(const net::Exchange& ex, const net::Response& response,
                 std::chrono::nanoseconds elapsed, bool write_ok) override;

 private:
  net::Task<net::Response> dispatch(net::Exchange& ex);
  Context& ctx_;
};

}  // namespace portcullis::api
