// The one table from domain errors to what a client sees: the OCI error code
// and the HTTP status, with the spec's JSON error body.
#pragma once

#include <string_view>

#include "base/error.h"
#include "net/http.h"

namespace portcullis::api {

struct ErrorMapping {
  std::string_view code;  // OCI / Docker error code, e.g. "BLOB_UNKNOWN"
  unsigned status;        // HTTP status
};

ErrorMapping map_error(Errc code);

// {"errors":[{"code":…,"message":…,"detail":…}]} with the mapped status.
net::Response error_response(const Error& error);

}  // namespace portcullis::api
