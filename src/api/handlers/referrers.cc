// GET /v2/<name>/referrers/<digest>[?artifactType=…]: an OCI image index of
// the manifests whose subject is <digest>.
#include <boost/json.hpp>

#include "api/handlers/handlers.h"
#include "api/handlers/util.h"
#include "oci/digest.h"
#include "oci/media_types.h"

namespace portcullis::api {

net::Task<net::Response> handle_referrers(Context& ctx, net::Exchange& ex, const Route& route,
                                          const Query& query) {
  if (auto bad = check_name(route.name)) co_return std::move(*bad);
  if (ex.header().method() != http::verb::get) co_return error(Errc::unsupported, "method not allowed");
  auto digest = oci::Digest::parse(route.reference);
  if (!digest) co_return error_response(digest.error());
  std::string artifact_type(query_value(query, "artifactType"));
  std::string_view repo = route.name;
  auto found = co_await net::offload(
      ex, [&] { return ctx.meta.list_referrers(repo, digest->str(), artifact_type); });
  if (!found) co_return error_response(found.error());

  boost::json::array manifests;
  for (const auto& m : *found) {
    boost::json::object d;
    d["mediaType"] = m.media_type;
    d["digest"] = m.digest;
    d["size"] = m.size;
    if (!m.artifact_type.empty()) d["artifactType"] = m.artifact_type;
    if (!m.annotations_json.empty()) {
      boost::system::error_code ec;
      auto a = boost::json::parse(m.annotations_json, ec);
      if (!ec && a.is_object()) d["annotations"] = std::move(a);
    }
    manifests.push_back(std::move(d));
  }
  boost::json::object index;
  index["schemaVersion"] = 2;
  index["mediaType"] = oci::media::kOciIndex;
  index["manifests"] = std::move(manifests);
  net::Response r;
  r.header("Content-Type", std::string(oci::media::kOciIndex));
  if (!artifact_type.empty()) r.headers.emplace_back("OCI-Filters-Applied", "artifactType");
  r.body = boost::json::serialize(index);
  co_return r;
}

}  // namespace portcullis::api
