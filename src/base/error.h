// Domain errors shared by every library. They name what went wrong in
// registry terms; src/api/errors.cc is the one table that maps them to the
// OCI error code and HTTP status a client sees.
#pragma once

#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace portcullis {

enum class Errc {
  blob_unknown,           // no such blob (in this repository)
  blob_upload_invalid,    // upload session exists but this request is wrong for it
  blob_upload_unknown,    // no such upload session
  digest_invalid,         // malformed digest, or content does not match it
  manifest_blob_unknown,  // manifest references a blob / child manifest that is not there
  manifest_invalid,       // manifest is not valid JSON / not a supported schema
  manifest_unknown,       // no such manifest or tag
  name_invalid,           // repository name violates the grammar
  name_unknown,           // repository does not exist
  size_invalid,           // content length does not match the content
  payload_too_large,      // body over the endpoint's limit (e.g. 4 MiB manifests)
  not_found,              // no such endpoint
  range_invalid,          // out-of-order chunk or unsatisfiable range
  tag_invalid,            // tag violates the grammar
  pagination_invalid,     // bad `n` / `last`
  unauthorized,
  denied,
  unsupported,            // method / media type the registry does not support
  too_many_requests,
  conflict,               // the thing to create exists already (admin API)
  invalid_request,        // malformed request outside the OCI routes (token, admin API)
  unavailable,            // shutting down / dependency down
  internal,               // a bug or an I/O failure; detail goes to the log only
};

// Stable lower-case name, for logs and tests.
std::string_view errc_name(Errc code);

struct Error {
  Errc code;
  std::string message;  // safe to show to the client
};

template <class T>
using Result = boost::system::result<T, Error>;

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

// Required by boost::system::result<T, Error>::value(): the error becomes an
// exception only where a caller chose to throw (start-up code, tests).
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

}  // namespace portcullis
