// Maps a request path to an API route. Pure string work, no regex: the
// repository name may contain '/', so the route is found from the right.
#pragma once

#include <string>
#include <string_view>

namespace portcullis::api {

enum class RouteKind {
  base,          // /v2/
  catalog,       // /v2/_catalog
  tags,          // /v2/<name>/tags/list
  manifest,      // /v2/<name>/manifests/<reference>
  blob,          // /v2/<name>/blobs/<digest>
  upload_start,  // /v2/<name>/blobs/uploads/
  upload,        // /v2/<name>/blobs/uploads/<id>
  referrers,     // /v2/<name>/referrers/<digest>
  vulnerabilities,  // /api/v1/repositories/<name>/manifests/<digest>/vulnerabilities
  sbom,             // /api/v1/repositories/<name>/manifests/<digest>/sbom
  token,            // /token (Docker token service)
  admin,            // /api/v1/<anything else>: reference is the path after /api/v1/
  healthz,
  readyz,
  metrics,
  unknown,
};
inline constexpr int kRouteKinds = static_cast<int>(RouteKind::unknown) + 1;
std::string_view route_name(RouteKind kind);

struct Route {
  RouteKind kind = RouteKind::unknown;
  std::string_view name;       // repository, for repository routes
  std::string_view reference;  // tag/digest, blob digest, upload id
};

// path must not include the query string.
Route match_route(std::string_view path);

}  // namespace portcullis::api
