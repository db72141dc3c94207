// GET /v2/ (API version check), /healthz, /readyz, /metrics.
#include "api/handlers/handlers.h"
#include "api/handlers/util.h"

#include <fmt/format.h>

#include "scanner/scan_queue.h"

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
    if (ctx.scans) {
      auto s = ctx.scans->stats();
      r.body += fmt::format(
          "# HELP portcullis_scan_queue_depth Manifests waiting to be scanned.\n"
          "# TYPE portcullis_scan_queue_depth gauge\nportcullis_scan_queue_depth {}\n"
          "# HELP portcullis_scans_running Scans in progress.\n"
          "# TYPE portcullis_scans_running gauge\nportcullis_scans_running {}\n"
          "# HELP portcullis_scans_total Finished scans by result.\n"
          "# TYPE portcullis_scans_total counter\n"
          "portcullis_scans_total{{result=\"done\"}} {}\nportcullis_scans_total{{result=\"failed\"}} {}\n"
          "# HELP portcullis_scan_seconds_total Time spent scanning.\n"
          "# TYPE portcullis_scan_seconds_total counter\nportcullis_scan_seconds_total {}\n"
          "# HELP portcullis_scan_rematches_total Stored inventories re-matched against new advisory data.\n"
          "# TYPE portcullis_scan_rematches_total counter\nportcullis_scan_rematches_total {}\n",
          s.queued, s.running, s.scans_done, s.scans_failed, s.scan_seconds_total, s.rematches);
    }
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
