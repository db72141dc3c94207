// The HTTP contract between net/ (sockets, limits, timeouts) and whoever
// answers requests. net/ knows nothing about OCI: it hands a Handler one
// Exchange per request and writes back the Response it returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <optional>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/message.hpp>

#include "base/error.h"

namespace portcullis::net {

namespace http = boost::beast::http;
template <class T>
using Task = boost::asio::awaitable<T>;

// A file region to send with sendfile(2). Owns fd.
struct FileRegion {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  FileRegion(int f, uint64_t o, uint64_t l) : fd(f), offset(o), length(l) {}
  ~FileRegion();
  FileRegion(const FileRegion&) = delete;
  FileRegion& operator=(const FileRegion&) = delete;
};

// A body pulled in chunks (e.g. a blob in an object store). read() blocks and
// runs on the worker pool, one call at a time.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual uint64_t length() const = 0;
  // Fills buf with the next min(n, bytes left) bytes; a short count or an
  // error ends the connection (the status line is already sent).
  virtual Result<std::size_t> read(char* buf, std::size_t n) = 0;
};

struct Response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // Pre-serialised "Name: value\r\n" lines written before `headers` (hot-path caches).
  std::shared_ptr<const std::string> prebuilt_headers;
  // Exactly one body source is used: file, else stream, else shared_body, else body.
  std::string body;
  std::shared_ptr<const std::string> shared_body;
  std::unique_ptr<FileRegion> file;
  std::unique_ptr<BodyStream> stream;
  bool omit_body = false;  // HEAD: Content-Length as if the body were sent, no body

  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  uint64_t content_length() const {
    if (file) return file->length;
    if (stream) return stream->length();
    if (shared_body) return shared_body->size();
    return body.size();
  }
};

// One request on a connection. Lives until the response is written.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const http::request_header<>& header() const = 0;
  virtual const std::string& remote_address() const = 0;
  // True when the request announced a body (Content-Length > 0 or chunked).
  virtual bool has_body() const = 0;
  // Reads up to n body bytes; 0 means the body is complete.
  virtual Task<Result<std::size_t>> read_some(char* buf, std::size_t n) = 0;
  // The whole body; size_invalid if it is longer than limit.
  virtual Task<Result<std::string>> read_all(std::size_t limit) = 0;
  virtual uint64_t body_bytes_read() const = 0;
  // The bounded pool for blocking work (file I/O, the database).
  virtual boost::asio::thread_pool& workers() = 0;
};

// Runs f() on the worker pool and resumes the caller on its own executor.
template <class F>
auto offload(Exchange& ex, F f) -> Task<decltype(f())> {
  using R = decltype(f());
  co_return co_await boost::asio::co_spawn(
      ex.workers(), [f = std::move(f)]() mutable -> Task<R> { co_return f(); },
      boost::asio::use_awaitable);
}

// Work started on the worker pool now and awaited later, so that the caller
// can overlap it with its own I/O (e.g. receive the next chunk of an upload
// while the previous one is written). Must be awaited before anything it
// references goes away.
template <class R>
class Background {
 public:
  template <class F>
  static Task<std::shared_ptr<Background>> start(Exchange& ex, F f) {
    auto self = std::make_shared<Background>(co_await boost::asio::this_coro::executor);
    boost::asio::post(ex.workers(), [self, f = std::move(f)]() mutable {
      R r = f();
      boost::asio::post(self->done_.get_executor(), [self, r = std::move(r)]() mutable {
        self->result_.emplace(std::move(r));
        self->done_.cancel();
      });
    });
    co_return self;
  }
  explicit Background(boost::asio::any_io_executor ex) : done_(ex) {
    done_.expires_at(boost::asio::steady_timer::time_point::max());
  }
  Task<R> wait() {
    while (!result_) {
      boost::system::error_code ec;
      co_await done_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    co_return std::move(*result_);
  }

 private:
  boost::asio::steady_timer done_;  // cancelled when result_ is set; both live on the caller's executor
  std::optional<R> result_;
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual Task<Response> handle(Exchange& exchange) = 0;
  // Called after the response was written (or failed to be); for logs and metrics.
  virtual void completed(const Exchange& exchange, const Response& response,
                         std::chrono::nanoseconds elapsed, bool write_ok) = 0;
};

}  // namespace portcullis::net
