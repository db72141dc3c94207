#include "api/errors.h"

#include <boost/json.hpp>

namespace portcullis::api {

ErrorMapping map_error(Errc code) {
  switch (code) {
    case Errc::blob_unknown: return {"BLOB_UNKNOWN", 404};
    case Errc::blob_upload_invalid: return {"BLOB_UPLOAD_INVALID", 400};
    case Errc::blob_upload_unknown: return {"BLOB_UPLOAD_UNKNOWN", 404};
    case Errc::digest_invalid: return {"DIGEST_INVALID", 400};
    case Errc::manifest_blob_unknown: return {"MANIFEST_BLOB_UNKNOWN", 400};
    case Errc::manifest_invalid: return {"MANIFEST_INVALID", 400};
    case Errc::manifest_unknown: return {"MANIFEST_UNKNOWN", 404};
    case Errc::name_invalid: return {"NAME_INVALID", 400};
    case Errc::name_unknown: return {"NAME_UNKNOWN", 404};
    case Errc::size_invalid: return {"SIZE_INVALID", 400};
    case Errc::payload_too_large: return {"SIZE_INVALID", 413};
    case Errc::not_found: return {"NOT_FOUND", 404};
    case Errc::range_invalid: return {"BLOB_UPLOAD_INVALID", 416};
    case Errc::tag_invalid: return {"TAG_INVALID", 400};
    case Errc::pagination_invalid: return {"PAGINATION_NUMBER_INVALID", 400};
    case Errc::unauthorized: return {"UNAUTHORIZED", 401};
    case Errc::denied: return {"DENIED", 403};
    case Errc::unsupported: return {"UNSUPPORTED", 405};
    case Errc::too_many_requests: return {"TOOMANYREQUESTS", 429};
    case Errc::conflict: return {"CONFLICT", 409};
    case Errc::invalid_request: return {"INVALID_REQUEST", 400};
    case Errc::unavailable: return {"UNAVAILABLE", 503};
    case Errc::internal: return {"UNKNOWN", 500};
  }
  return {"UNKNOWN", 500};
}

net::Response error_response(const Error& error) {
  auto m = map_error(error.code);
  boost::json::object e;
  e["code"] = m.code;
  e["message"] = error.message;
  e["detail"] = nullptr;
  boost::json::object body;
  body["errors"] = boost::json::array{std::move(e)};
  net::Response r;
  r.status = m.status;
  r.header("Content-Type", "application/json");
  r.body = boost::json::serialize(body);
  return r;
}

}  // namespace portcullis::api
