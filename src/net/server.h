// HTTP/1.1 server: accept loop, one coroutine per connection, bounded headers,
// idle and I/O timeouts, one request at a time per connection (pipelined
// requests wait in the read buffer), sendfile for file bodies, graceful stop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "net/http.h"

namespace portcullis::net {

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
};

class Server {
 public:
  Server(Options options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listener; throws std::system_error on failure.
  void bind();
  uint16_t port() const;
  // Serves until stop() or SIGINT/SIGTERM; returns after the graceful drain.
  void run();
  // Thread-safe.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portcullis::net
