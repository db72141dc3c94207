#include "base/error.h"

#include <stdexcept>

namespace portcullis {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::blob_unknown: return "blob_unknown";
    case Errc::blob_upload_invalid: return "blob_upload_invalid";
    case Errc::blob_upload_unknown: return "blob_upload_unknown";
    case Errc::digest_invalid: return "digest_invalid";
    case Errc::manifest_blob_unknown: return "manifest_blob_unknown";
    case Errc::manifest_invalid: return "manifest_invalid";
    case Errc::manifest_unknown: return "manifest_unknown";
    case Errc::name_invalid: return "name_invalid";
    case Errc::name_unknown: return "name_unknown";
    case Errc::size_invalid: return "size_invalid";
    case Errc::payload_too_large: return "payload_too_large";
    case Errc::not_found: return "not_found";
    case Errc::range_invalid: return "range_invalid";
    case Errc::tag_invalid: return "tag_invalid";
    case Errc::pagination_invalid: return "pagination_invalid";
    case Errc::unauthorized: return "unauthorized";
    case Errc::denied: return "denied";
    case Errc::unsupported: return "unsupported";
    case Errc::too_many_requests: return "too_many_requests";
    case Errc::conflict: return "conflict";
    case Errc::invalid_request: return "invalid_request";
    case Errc::unavailable: return "unavailable";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(errc_name(e.code)) + ": " + e.message);
}

}  // namespace portcullis
