#include "api/routes.h"

#include <string>

#include <gtest/gtest.h>

namespace portcullis::api {
namespace {

const std::string kDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void ExpectRoute(std::string_view path, RouteKind kind, std::string_view name = {},
                 std::string_view reference = {}) {
  auto r = match_route(path);
  EXPECT_EQ(route_name(r.kind), route_name(kind)) << path;
  EXPECT_EQ(r.name, name) << path;
  EXPECT_EQ(r.reference, reference) << path;
}

void ExpectUnknown(std::string_view path) {
  EXPECT_EQ(route_name(match_route(path).kind), "unknown") << path;
}

TEST(MatchRoute, BaseWithAndWithoutTrailingSlash) {
  ExpectRoute("/v2/", RouteKind::base);
  ExpectRoute("/v2", RouteKind::base);
}

TEST(MatchRoute, OperationalEndpoints) {
  ExpectRoute("/healthz", RouteKind::healthz);
  ExpectRoute("/readyz", RouteKind::readyz);
  ExpectRoute("/metrics", RouteKind::metrics);
}

TEST(MatchRoute, Catalog) { ExpectRoute("/v2/_catalog", RouteKind::catalog); }

TEST(MatchRoute, TagsList) {
  ExpectRoute("/v2/busybox/tags/list", RouteKind::tags, "busybox");
  ExpectRoute("/v2/a/b/c/tags/list", RouteKind::tags, "a/b/c");
}

TEST(MatchRoute, ManifestByTagAndByDigest) {
  ExpectRoute("/v2/busybox/manifests/latest", RouteKind::manifest, "busybox", "latest");
  ExpectRoute("/v2/library/busybox/manifests/" + kDigest, RouteKind::manifest, "library/busybox",
              kDigest);
}

TEST(MatchRoute, Blob) {
  ExpectRoute("/v2/a/b/blobs/" + kDigest, RouteKind::blob, "a/b", kDigest);
}

TEST(MatchRoute, UploadStartWithAndWithoutTrailingSlash) {
  ExpectRoute("/v2/a/b/blobs/uploads/", RouteKind::upload_start, "a/b");
  ExpectRoute("/v2/a/b/blobs/uploads", RouteKind::upload_start, "a/b");
}

TEST(MatchRoute, UploadSession) {
  ExpectRoute("/v2/a/b/blobs/uploads/0123456789abcdef0123456789abcdef", RouteKind::upload, "a/b",
              "0123456789abcdef0123456789abcdef");
}

TEST(MatchRoute, Referrers) {
  ExpectRoute("/v2/a/b/referrers/" + kDigest, RouteKind::referrers, "a/b", kDigest);
}

TEST(MatchRoute, NamesWithManyComponents) {
  ExpectRoute("/v2/org/team/project/app/manifests/v1", RouteKind::manifest,
              "org/team/project/app", "v1");
}

TEST(MatchRoute, NamesContainingRouteWordsAsComponents) {
  ExpectRoute("/v2/manifests/manifests/latest", RouteKind::manifest, "manifests", "latest");
  ExpectRoute("/v2/a/manifests/b/manifests/v1", RouteKind::manifest, "a/manifests/b", "v1");
  ExpectRoute("/v2/blobs/blobs/" + kDigest, RouteKind::blob, "blobs", kDigest);
  ExpectRoute("/v2/x/blobs/y/blobs/" + kDigest, RouteKind::blob, "x/blobs/y", kDigest);
  ExpectRoute("/v2/a/manifests/blobs/" + kDigest, RouteKind::blob, "a/manifests", kDigest);
  ExpectRoute("/v2/a/blobs/manifests/latest", RouteKind::manifest, "a/blobs", "latest");
  ExpectRoute("/v2/tags/tags/list", RouteKind::tags, "tags");
  ExpectRoute("/v2/uploads/blobs/uploads/", RouteKind::upload_start, "uploads");
  ExpectRoute("/v2/blobs/blobs/uploads/", RouteKind::upload_start, "blobs");
  ExpectRoute("/v2/referrers/referrers/" + kDigest, RouteKind::referrers, "referrers", kDigest);
}

TEST(MatchRoute, TrailingSlashAfterAReferenceIsUnknown) {
  ExpectUnknown("/v2/a/manifests/latest/");
  ExpectUnknown("/v2/a/blobs/" + kDigest + "/");
  ExpectUnknown("/v2/a/tags/list/");
  ExpectUnknown("/v2/a/referrers/" + kDigest + "/");
}

TEST(MatchRoute, EmptyReferenceIsUnknown) {
  ExpectUnknown("/v2/a/manifests/");
  ExpectUnknown("/v2/a/blobs/");
  ExpectUnknown("/v2/a/referrers/");
}

TEST(MatchRoute, EmptyNameIsUnknown) {
  ExpectUnknown("/v2//manifests/latest");
  ExpectUnknown("/v2//blobs/" + kDigest);
  ExpectUnknown("/v2//tags/list");
  ExpectUnknown("/v2//blobs/uploads/");
  ExpectUnknown("/v2/manifests/latest");
  ExpectUnknown("/v2/tags/list");
}

TEST(MatchRoute, UnknownPaths) {
  ExpectUnknown("");
  ExpectUnknown("/");
  ExpectUnknown("/v1/");
  ExpectUnknown("/v2x");
  ExpectUnknown("/v3/a/manifests/latest");
  ExpectUnknown("/v2/a");
  ExpectUnknown("/v2/a/b");
  ExpectUnknown("/v2/a/unknown/x");
  ExpectUnknown("/healthz/");
  ExpectUnknown("/metricsx");
  ExpectUnknown("v2/a/manifests/latest");
}

TEST(RouteName, EveryKindHasADistinctName) {
  for (int i = 0; i < kRouteKinds; ++i) {
    auto a = route_name(static_cast<RouteKind>(i));
    EXPECT_FALSE(a.empty());
    for (int j = i + 1; j < kRouteKinds; ++j) {
      EXPECT_NE(a, route_name(static_cast<RouteKind>(j)));
    }
  }
}

}  // namespace
}  // namespace portcullis::api
