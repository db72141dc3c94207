#include "storage/s3/sigv4.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "crypto/hash.h"
#include "crypto/resumable_sha256.h"

namespace portcullis::storage::s3 {

namespace {

std::string hex(std::string_view raw) {
  return crypto::to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string signing_key(const Credentials& c, std::string_view date) {
  std::string k = crypto::hmac_sha256("AWS4" + c.secret_key, date);
  k = crypto::hmac_sha256(k, c.region);
  k = crypto::hmac_sha256(k, "s3");
  return crypto::hmac_sha256(k, "aws4_request");
}

std::string signature(const Credentials& c, std::string_view amz_date, std::string_view scope,
                      std::string_view canonical_request) {
  std::string to_sign = fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, scope,
                                    hex(crypto::sha256_raw(canonical_request)));
  return hex(crypto::hmac_sha256(signing_key(c, amz_date.substr(0, 8)), to_sign));
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || (c == '/' && keep_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string canonical_query(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [k, v] : params) {
    k = uri_encode(k, false);
    v = uri_encode(v, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string authorization(const Credentials& creds, const SignInput& in) {
  auto headers = in.headers;
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  std::string request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", in.method, in.canonical_uri, in.canonical_query,
                  canonical_headers, signed_headers, in.payload_hash);
  std::string scope = fmt::format("{}/{}/s3/aws4_request", in.amz_date.substr(0, 8), creds.region);
  return fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                     creds.access_key, scope, signed_headers,
                     signature(creds, in.amz_date, scope, request));
}

std::string presign_query(const Credentials& creds, std::string_view host,
                          std::string_view canonical_uri, std::string_view amz_date,
                          uint32_t expires_seconds) {
  std::string scope = fmt::format("{}/{}/s3/aws4_request", amz_date.substr(0, 8), creds.region);
  std::vector<std::pair<std::string, std::string>> params = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"}, {"X-Amz-Credential", creds.access_key + "/" + scope},
      {"X-Amz-Date", std::string(amz_date)},   {"X-Amz-Expires", std::to_string(expires_seconds)},
      {"X-Amz-SignedHeaders", "host"},
  };
  std::string query = canonical_query(params);
  std::string request =
      fmt::format("GET\n{}\n{}\nhost:{}\n\nhost\nUNSIGNED-PAYLOAD", canonical_uri, query, host);
  return query + "&X-Amz-Signature=" + signature(creds, amz_date, scope, request);
}

std::string amz_date(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace portcullis::storage::s3
