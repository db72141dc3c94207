// HTTP/1.1 server: accept loop, one coroutine per connection, bounded headers,
// idle and I/O timeouts, one request at a time per connection (pipelined
// requests wait in the read buffer), sendfile for file bodies, graceful stop.
// With TlsOptions set every connection is HTTPS (TLS 1.2+); the certificate
// and key are re-read on SIGHUP.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "net/http.h"

namespace portcullis::net {

// HTTPS. Both files empty: plain HTTP. Both set: every connection is TLS.
struct TlsOptions {
  std::string certificate_file;  // PEM: the server certificate, then its intermediates
  std::string key_file;          // PEM: the unencrypted private key of that certificate
  bool enabled() const { return !certificate_file.empty(); }
};

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;  // 0 picks a free port (see Server::port())
  std::size_t io_threads = 2;
  std::size_t worker_threads = 4;
  std::size_t header_limit = 16 * 1024;           // request line + headers
  std::chrono::seconds idle_timeout{60};          // waiting for the next request
  std::chrono::seconds io_timeout{120};           // any single read/write making no progress
  std::chrono::seconds shutdown_grace{10};        // in-flight requests get this long on stop
  std::size_t max_connections = 4096;
  TlsOptions tls;
};

class Server {
 public:
  Server(Options options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the TLS certificate and key (when configured) and binds the listener;
  // throws std::system_error or std::runtime_error on failure.
  void bind();
  uint16_t port() const;
  // Serves until stop() or SIGINT/SIGTERM; returns after the graceful drain.
  void run();
  // Thread-safe.
  void stop();
  // Re-reads the TLS certificate and key into a new context used by
  // connections accepted from now on; on failure logs the error, keeps the
  // previous context and returns false. Thread-safe; run() calls it on SIGHUP.
  bool reload_tls();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portcullis::net
