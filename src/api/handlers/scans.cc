// GET /api/v1/repositories/<name>/manifests/<digest>/vulnerabilities[?format=json|sarif|cyclonedx|table]
// GET /api/v1/repositories/<name>/manifests/<digest>/sbom   (CycloneDX 1.5)
#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "api/handlers/handlers.h"
#include "api/handlers/util.h"
#include "oci/digest.h"
#include "scanner/codec.h"
#include "scanner/report.h"
#include "scanner/scan_queue.h"

namespace portcullis::api {

namespace {

net::Response json_response(unsigned status, std::string body,
                            std::string content_type = "application/json") {
  net::Response r;
  r.status = status;
  r.header("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

struct Loaded {
  std::optional<metadata::ScanRecord> scan;
  bool queued_now = false;
};

}  // namespace

net::Task<net::Response> handle_scan_report(Context& ctx, net::Exchange& ex, const Route& route,
                                            const Query& query) {
  if (auto bad = check_name(route.name)) co_return std::move(*bad);
  if (ex.header().method() != http::verb::get) co_return error(Errc::unsupported, "method not allowed");
  auto digest = oci::Digest::parse(route.reference);
  if (!digest) co_return error_response(digest.error());
  std::string format(query_value(query, "format"));
  if (route.kind == RouteKind::sbom) format = "cyclonedx";
  if (format.empty()) format = "json";
  if (format != "json" && format != "sarif" && format != "cyclonedx" && format != "table") {
    co_return error(Errc::unsupported, "format must be json, sarif, cyclonedx or table");
  }
  std::string_view repo = route.name;
  auto loaded = co_await net::offload(ex, [&]() -> Result<Loaded> {
    auto m = ctx.meta.get_manifest(repo, digest->str());
    if (!m) return m.error();
    if (!*m) return make_error(Errc::manifest_unknown, "manifest unknown");
    auto scan = ctx.meta.get_scan(digest->str());
    if (!scan) return scan.error();
    Loaded out{*scan, false};
    if (!out.scan && ctx.scans) {
      // Pushed before scanning was switched on: scan it now, in the background.
      ctx.scans->enqueue(digest->str());
      out.queued_now = true;
    }
    return out;
  });
  if (!loaded) co_return error_response(loaded.error());
  if (!loaded->scan) {
    if (!loaded->queued_now) co_return error(Errc::unsupported, "scanning is not enabled");
    co_return json_response(202, R"({"status":"queued"})");
  }
  const auto& scan = *loaded->scan;
  if (scan.status == "queued" || scan.status == "running") {
    co_return json_response(202, boost::json::serialize(boost::json::object{{"status", scan.status}}));
  }
  if (scan.status != "done") {
    co_return json_response(
        200, boost::json::serialize(boost::json::object{{"status", scan.status}, {"error", scan.error}}));
  }
  auto inv = scanner::inventory_from_json(scan.inventory);
  if (!inv) co_return error_response(inv.error());
  auto findings = scanner::findings_from_json(scan.findings);
  if (!findings) co_return error_response(findings.error());
  scanner::ReportSubject subject{std::string(repo), digest->str(), scan.data_version,
                                 fmt::format("{:%FT%TZ}", fmt::gmtime(static_cast<std::time_t>(scan.updated_at)))};
  if (format == "sarif") co_return json_response(200, scanner::report_sarif(subject, *inv, *findings), "application/sarif+json");
  if (format == "cyclonedx") {
    co_return json_response(200, scanner::report_cyclonedx(subject, *inv, *findings),
                            "application/vnd.cyclonedx+json; version=1.5");
  }
  if (format == "table") co_return json_response(200, scanner::report_table(subject, *inv, *findings), "text/plain; charset=utf-8");
  co_return json_response(200, scanner::report_json(subject, *inv, *findings));
}

}  // namespace portcullis::api
