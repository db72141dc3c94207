// A small blocking HTTP/1.1 client (http and https) for command-line tools:
// one request per connection, bounded headers and bodies, redirects followed
// by the caller. Knows nothing about OCI. Not for use on the server's I/O
// threads. Thread-compatible: one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"

namespace portcullis::net {

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http://host[:port]/path?query or https://…
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with Content-Length when non-empty or when the method is PUT/POST/PATCH
};

struct ClientResponse {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // empty when streamed to a sink, and for HEAD
  std::string header(std::string_view name) const;  // first value, case-insensitive; "" if absent
};

struct ClientOptions {
  std::chrono::seconds timeout{60};           // per read/write making no progress
  std::size_t max_body_in_memory = 8 << 20;   // larger bodies must be streamed to a sink
  bool verify_tls = true;                     // verify the server certificate and host name
  std::string ca_file;                        // extra trusted CA certificates (PEM); empty: system store only
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs the request. When sink is set, a 2xx body is passed to it in
  // chunks (return false to abort) instead of being kept in memory.
  // Errc::unsupported when an https:// server does not speak TLS.
  Result<ClientResponse> send(const ClientRequest& request,
                              const std::function<bool(const char*, std::size_t)>& sink = {});

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace portcullis::net
