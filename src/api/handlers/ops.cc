// GET /v2/ (API version check), /healthz, /readyz, /metrics.
#include "api/handlers/handlers.h"
#include "api/handlers/util.h"

namespace portcullis::api {

net::Task<net::Response> handle_base(Context&, net::Exchange& ex) {
  auto method = ex.header().method();
  if (method != http::verb::get && method != http::verb::head) {
    co_return error(Errc::unsupported, "method not allowed");
  }
  net::Response r;
  r.header("Content-Type", "application/json");
  r.body = "{}";
  r.omit_body = method == http::verb::head;
  co_return r;
}

net::Task<net::Response> handle_health(Context& ctx, net::Exchange& ex, RouteKind kind) {
  net::Response r;
  r.header("Content-Type", "text/plain; charset=utf-8");
  if (kind == RouteKind::metrics) {
    r.header("Content-Type", "text/plain; version=0.0.4");
    r.headers.erase(r.headers.begin());
    r.body = ctx.metrics.render();
    co_return r;
  }
  if (kind == RouteKind::readyz) {
    // Ready when the metadata store answers a query.
    auto ok = co_await net::offload(ex, [&] { return ctx.meta.repository_exists("readyz-probe"); });
    if (!ok) {
      r.status = 503;
      r.body = "metadata store unavailable\n";
      co_return r;
    }
  }
  r.body = "ok\n";
  co_return r;
}

}  // namespace portcullis::api
