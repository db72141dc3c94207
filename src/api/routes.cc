#include "api/routes.h"

namespace portcullis::api {

std::string_view route_name(RouteKind kind) {
  switch (kind) {
    case RouteKind::base: return "base";
    case RouteKind::catalog: return "catalog";
    case RouteKind::tags: return "tags";
    case RouteKind::manifest: return "manifest";
    case RouteKind::blob: return "blob";
    case RouteKind::upload_start: return "upload_start";
    case RouteKind::upload: return "upload";
    case RouteKind::referrers: return "referrers";
    case RouteKind::vulnerabilities: return "vulnerabilities";
    case RouteKind::sbom: return "sbom";
    case RouteKind::token: return "token";
    case RouteKind::admin: return "admin";
    case RouteKind::healthz: return "healthz";
    case RouteKind::readyz: return "readyz";
    case RouteKind::metrics: return "metrics";
    case RouteKind::unknown: return "unknown";
  }
  return "unknown";
}

namespace {

// Splits "<name><marker><rest>" at the last marker; rest must not contain '/'.
bool split_last(std::string_view s, std::string_view marker, std::string_view* name,
                std::string_view* rest) {
  auto pos = s.rfind(marker);
  if (pos == std::string_view::npos || pos == 0) return false;
  auto tail = s.substr(pos + marker.size());
  if (tail.find('/') != std::string_view::npos) return false;
  *name = s.substr(0, pos);
  *rest = tail;
  return true;
}

}  // namespace

Route match_route(std::string_view path) {
  Route r;
  if (path == "/healthz") return {RouteKind::healthz, {}, {}};
  if (path == "/readyz") return {RouteKind::readyz, {}, {}};
  if (path == "/metrics") return {RouteKind::metrics, {}, {}};
  if (path == "/v2" || path == "/v2/") return {RouteKind::base, {}, {}};
  if (path == "/token") return {RouteKind::token, {}, {}};
  if (path.starts_with("/api/v1/repositories/")) {
    std::string_view s = path.substr(21), name, rest;
    RouteKind kind = RouteKind::unknown;
    if (s.ends_with("/vulnerabilities")) {
      kind = RouteKind::vulnerabilities;
      s.remove_suffix(16);
    } else if (s.ends_with("/sbom")) {
      kind = RouteKind::sbom;
      s.remove_suffix(5);
    }
    if (kind != RouteKind::unknown && split_last(s, "/manifests/", &name, &rest) && !rest.empty()) {
      return {kind, name, rest};
    }
    return r;
  }
  if (path.starts_with("/api/v1/")) return {RouteKind::admin, {}, path.substr(8)};
  if (!path.starts_with("/v2/")) return r;
  std::string_view s = path.substr(4);
  if (s == "_catalog") return {RouteKind::catalog, {}, {}};
  std::string_view name, rest;
  if (s.ends_with("/tags/list")) {
    name = s.substr(0, s.size() - 10);
    if (name.empty()) return r;
    return {RouteKind::tags, name, {}};
  }
  if (s.ends_with("/blobs/uploads/") || s.ends_with("/blobs/uploads")) {
    name = s.substr(0, s.rfind("/blobs/uploads"));
    if (name.empty()) return r;
    return {RouteKind::upload_start, name, {}};
  }
  if (split_last(s, "/blobs/uploads/", &name, &rest)) return {RouteKind::upload, name, rest};
  if (split_last(s, "/manifests/", &name, &rest) && !rest.empty()) {
    return {RouteKind::manifest, name, rest};
  }
  if (split_last(s, "/blobs/", &name, &rest) && !rest.empty()) return {RouteKind::blob, name, rest};
  if (split_last(s, "/referrers/", &name, &rest) && !rest.empty()) {
    return {RouteKind::referrers, name, rest};
  }
  return r;
}

}  // namespace portcullis::api
