// A synchronous S3 client: path-style requests signed with SigV4, sent with
// libcurl, retried with exponential backoff on transport errors, 5xx and 429.
// Thread-safe: each request borrows a curl handle (and its kept-alive
// connection) from a small pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "storage/s3/sigv4.h"

namespace portcullis::storage::s3 {

struct ClientOptions {
  std::string endpoint;  // http(s)://host[:port], no path
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  int max_attempts = 5;                         // per request, first try included
  std::chrono::milliseconds backoff_base{100};  // doubled per retry, with jitter
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::seconds connect_timeout{10};
  // A transfer making no progress for this long fails (and is retried).
  std::chrono::seconds stall_timeout{60};
  bool verify_tls = true;
  std::string ca_file;  // extra CA bundle for the endpoint (empty: system store)
};

struct Request {
  std::string method = "GET";
  std::string key;  // object key; empty: the bucket itself
  std::vector<std::pair<std::string, std::string>> query;
  // Extra headers (lower-case names); all are signed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // sent with Content-Length (never chunked: Ceph answers 411)
  // When set, a 2xx body is written here (at most out_capacity bytes) instead of into body.
  char* out = nullptr;
  std::size_t out_capacity = 0;
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::size_t out_size = 0;  // bytes written to Request::out
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  // The S3 error code from an error body (e.g. NoSuchKey), or "".
  std::string error_code() const;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends the request, retrying what is retryable. Any HTTP status is a
  // Response; only a transport failure after the last attempt is an error
  // (Errc::unavailable).
  Result<Response> send(const Request& request);

  // A presigned GET URL for key, valid for `expires`.
  std::string presigned_get(std::string_view key, std::chrono::seconds expires) const;

  const ClientOptions& options() const { return options_; }
  // The path of key in the bucket ("/bucket/key", encoded), as signed and sent.
  std::string path_of(std::string_view key) const;

 private:
  struct Handle;
  Handle* borrow();
  void give_back(Handle* h);
  Result<Response> attempt(Handle* h, const Request& request, bool* retryable);

  ClientOptions options_;
  std::string host_;  // Host header value
  Credentials creds_;
  std::mutex mu_;
  std::vector<Handle*> idle_;  // guarded by mu_
};

}  // namespace portcullis::storage::s3
