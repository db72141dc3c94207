// AWS Signature Version 4 for S3 (pure: no I/O, no clock).
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portcullis::storage::s3 {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string region;
};

// RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - . _ ~ unchanged,
// '/' kept when keep_slash (object keys in paths), everything else %XX.
std::string uri_encode(std::string_view s, bool keep_slash);

// Sorted "k=v&k=v" with both sides encoded (the canonical query string).
std::string canonical_query(std::vector<std::pair<std::string, std::string>> params);

struct SignInput {
  std::string method;           // GET, PUT, ...
  std::string canonical_uri;    // already encoded, e.g. /bucket/a/b
  std::string canonical_query;  // from canonical_query()
  // Headers to sign, names lower-case, values trimmed. host must be among them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // hex SHA-256 of the body, or UNSIGNED-PAYLOAD
  std::string amz_date;      // YYYYMMDDTHHMMSSZ
};

// The Authorization header value.
std::string authorization(const Credentials& creds, const SignInput& in);

// A presigned URL's query string (X-Amz-* parameters plus `extra`), for a GET
// of canonical_uri on `host`, valid `expires_seconds` from amz_date.
std::string presign_query(const Credentials& creds, std::string_view host,
                          std::string_view canonical_uri, std::string_view amz_date,
                          uint32_t expires_seconds);

// "YYYYMMDDTHHMMSSZ" for a unix time.
std::string amz_date(int64_t unix_seconds);

}  // namespace portcullis::storage::s3
