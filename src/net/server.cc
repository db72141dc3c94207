#include "net/server.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace portcullis::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

FileRegion::~FileRegion() {
  if (fd >= 0) ::close(fd);
}

namespace {

using Parser = http::request_parser<http::buffer_body>;

// Beast reads at most min(64 KiB, free capacity) per syscall: give bodies the
// full 64 KiB, or a large upload costs one syscall (and timer reset) per 512 bytes.
constexpr std::size_t kBodyReadSize = 64 * 1024;

std::string serialize_head(const Response& r, bool keep_alive) {
  std::string out;
  out.reserve(256);
  auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} {}\r\n", r.status,
                 std::string_view(reason.data(), reason.size()));
  if (r.prebuilt_headers) out += *r.prebuilt_headers;
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  // 1xx, 204 and 304 carry no body and no Content-Length.
  if (r.status >= 200 && r.status != 204 && r.status != 304) {
    fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", r.content_length());
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

class ExchangeImpl final : public Exchange {
 public:
  ExchangeImpl(beast::tcp_stream& stream, beast::flat_buffer& buffer, Parser& parser,
               const std::string& remote, asio::thread_pool& pool, std::chrono::seconds io_timeout)
      : stream_(stream), buffer_(buffer), parser_(parser), remote_(remote), pool_(pool),
        io_timeout_(io_timeout) {}

  const http::request_header<>& header() const override { return parser_.get(); }
  const std::string& remote_address() const override { return remote_; }
  bool has_body() const override {
    return !parser_.is_done() &&
           (parser_.chunked() || (parser_.content_length() && *parser_.content_length() > 0));
  }
  uint64_t body_bytes_read() const override { return read_; }
  asio::thread_pool& workers() override { return pool_; }

  Task<Result<std::size_t>> read_some(char* buf, std::size_t n) override {
    if (parser_.is_done()) co_return std::size_t{0};
    if (!continued_) {
      continued_ = true;
      auto expect = parser_.get()[http::field::expect];
      if (beast::iequals(expect, "100-continue")) {
        static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
        boost::system::error_code ec;
        stream_.expires_after(io_timeout_);
        co_await asio::async_write(stream_, asio::buffer(k100.data(), k100.size()),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return make_error(Errc::blob_upload_invalid, "connection failed");
      }
    }
    if (buffer_.capacity() - buffer_.size() < kBodyReadSize) {
      buffer_.reserve(std::min(buffer_.max_size(), buffer_.size() + kBodyReadSize));
    }
    std::size_t got = 0;
    while (got == 0 && !parser_.is_done()) {
      parser_.get().body().data = buf;
      parser_.get().body().size = n;
      boost::system::error_code ec;
      stream_.expires_after(io_timeout_);
      co_await http::async_read(stream_, buffer_, parser_,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      got = n - parser_.get().body().size;
      if (ec) {
        failed_ = true;
        co_return make_error(Errc::blob_upload_invalid,
                             fmt::format("reading request body failed: {}", ec.message()));
      }
    }
    read_ += got;
    co_return got;
  }

  Task<Result<std::string>> read_all(std::size_t limit) override {
    std::string out;
    if (auto cl = parser_.content_length(); cl && *cl > limit) {
      co_return make_error(Errc::size_invalid, fmt::format("body exceeds {} bytes", limit));
    }
    char buf[64 * 1024];
    while (true) {
      auto n = co_await read_some(buf, sizeof buf);
      if (!n) co_return n.error();
      if (*n == 0) break;
      if (out.size() + *n > limit) {
        co_return make_error(Errc::size_invalid, fmt::format("body exceeds {} bytes", limit));
      }
      out.append(buf, *n);
    }
    co_return out;
  }

  bool failed() const { return failed_; }
  // The client waits for "100 Continue" that was never sent: its body will not come.
  bool continue_pending() const {
    return !continued_ && beast::iequals(parser_.get()[http::field::expect], "100-continue");
  }

 private:
  beast::tcp_stream& stream_;
  beast::flat_buffer& buffer_;
  Parser& parser_;
  const std::string& remote_;
  asio::thread_pool& pool_;
  std::chrono::seconds io_timeout_;
  uint64_t read_ = 0;
  bool continued_ = false;
  bool failed_ = false;
};

}  // namespace

struct Server::Impl {
  Options options;
  Handler& handler;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> busy{0};  // connections inside a request
  asio::io_context ioc;
  asio::thread_pool workers;
  tcp::acceptor acceptor;
  asio::signal_set signals;

  Impl(Options o, Handler& h)
      : options(std::move(o)), handler(h), ioc(static_cast<int>(options.io_threads)),
        workers(options.worker_threads), acceptor(ioc), signals(ioc, SIGINT, SIGTERM) {}

  Task<void> accept_loop();
  Task<void> session(tcp::socket socket);
  Task<bool> write_response(beast::tcp_stream& stream, Response& r, bool keep_alive);
  Task<void> write_simple(beast::tcp_stream& stream, unsigned status, std::string_view code,
                          std::string_view message);
  void begin_stop();
};

Task<void> Server::Impl::accept_loop() {
  while (!stopping) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(
        asio::make_strand(ioc), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) break;
      spdlog::warn("net: accept failed: {}", ec.message());
      // EMFILE and friends: back off instead of spinning.
      asio::steady_timer t(ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (connections >= options.max_connections) {
      socket.close(ec);
      continue;
    }
    auto ex = socket.get_executor();
    asio::co_spawn(ex, session(std::move(socket)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& err) {
        spdlog::error("net: session failed: {}", err.what());
      }
    });
  }
}

Task<void> Server::Impl::write_simple(beast::tcp_stream& stream, unsigned status,
                                      std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.header("Content-Type", "application/json");
  r.body = fmt::format(R"({{"errors":[{{"code":"{}","message":"{}","detail":null}}]}})", code,
                       message);
  co_await write_response(stream, r, false);
}

Task<bool> Server::Impl::write_response(beast::tcp_stream& stream, Response& r, bool keep_alive) {
  std::string head = serialize_head(r, keep_alive);
  boost::system::error_code ec;
  stream.expires_after(options.io_timeout);
  bool send_body = !r.omit_body && r.status >= 200 && r.status != 204 && r.status != 304;
  if (!send_body || r.file) {
    co_await asio::async_write(stream, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
  } else {
    const std::string& body = r.shared_body ? *r.shared_body : r.body;
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
    co_await asio::async_write(stream, bufs, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) co_return false;
  if (!send_body || !r.file) co_return true;

  // sendfile(2) straight from the page cache to the socket.
  auto& sock = stream.socket();
  sock.native_non_blocking(true, ec);
  if (ec) co_return false;
  off_t off = static_cast<off_t>(r.file->offset);
  uint64_t remaining = r.file->length;
  while (remaining > 0) {
    std::size_t chunk = static_cast<std::size_t>(std::min<uint64_t>(remaining, 1u << 30));
    ssize_t n = ::sendfile(sock.native_handle(), r.file->fd, &off, chunk);
    if (n > 0) {
      remaining -= static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) co_return false;  // file shorter than announced: drop the connection
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return false;
    asio::steady_timer timer(sock.get_executor(), options.io_timeout);
    timer.async_wait([&sock](boost::system::error_code tec) {
      if (!tec) {
        boost::system::error_code ignore;
        sock.cancel(ignore);
      }
    });
    co_await sock.async_wait(tcp::socket::wait_write, asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    if (ec) co_return false;
  }
  co_return true;
}

Task<void> Server::Impl::session(tcp::socket socket) {
  ++connections;
  struct Count {
    std::atomic<std::size_t>& n;
    ~Count() { --n; }
  } count{connections};
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  std::string remote;
  if (auto ep = socket.remote_endpoint(ec); !ec) remote = ep.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  // The limit bounds what a client can make us buffer; the capacity starts
  // small (idle connections stay cheap) and grows for bodies, see read_some().
  beast::flat_buffer buffer(options.header_limit + kBodyReadSize);

  while (!stopping) {
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(boost::none);  // handlers bound what they read
    stream.expires_after(options.idle_timeout);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == http::error::header_limit) {
        co_await write_simple(stream, 431, "SIZE_INVALID", "request headers too large");
      } else if (ec != http::error::end_of_stream && ec != asio::error::eof &&
                 ec != beast::error::timeout && ec != asio::error::connection_reset &&
                 ec != asio::error::operation_aborted) {
        co_await write_simple(stream, 400, "UNSUPPORTED", "malformed HTTP request");
      }
      break;
    }
    ++busy;
    struct Busy {
      std::atomic<std::size_t>& n;
      ~Busy() { --n; }
    } busy_guard{busy};
    auto started = std::chrono::steady_clock::now();
    ExchangeImpl exchange(stream, buffer, parser, remote, workers, options.io_timeout);
    Response response = co_await handler.handle(exchange);
    // Whatever the handler left unread must be skipped before the next request;
    // a small remainder is drained, a large one closes the connection.
    bool keep_alive = parser.keep_alive() && !stopping && !exchange.failed() &&
                      !exchange.continue_pending();
    if (keep_alive && !parser.is_done()) {
      char sink[16 * 1024];
      uint64_t drained = 0;
      while (!parser.is_done() && drained < 256 * 1024) {
        auto n = co_await exchange.read_some(sink, sizeof sink);
        if (!n) break;
        drained += *n;
      }
      keep_alive = parser.is_done();
    }
    // Give back the body read buffer between requests.
    if (buffer.capacity() > 16 * 1024) buffer.shrink_to_fit();
    bool ok = co_await write_response(stream, response, keep_alive);
    handler.completed(exchange, response,
                      std::chrono::steady_clock::now() - started, ok);
    if (!ok || !keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.close();
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  spdlog::info("net: stopping; draining in-flight requests");
  boost::system::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  // Poll until in-flight requests finish or the grace period ends.
  auto deadline = std::chrono::steady_clock::now() + options.shutdown_grace;
  asio::co_spawn(
      ioc,
      [this, deadline]() -> Task<void> {
        asio::steady_timer t(ioc);
        while (busy > 0 && std::chrono::steady_clock::now() < deadline) {
          t.expires_after(std::chrono::milliseconds(20));
          co_await t.async_wait(asio::use_awaitable);
        }
        ioc.stop();
      },
      asio::detached);
}

Server::Server(Options options, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() {
  impl_->workers.join();
}

void Server::bind() {
  auto address = asio::ip::make_address(impl_->options.host);
  tcp::endpoint ep(address, impl_->options.port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  if (ep.address().is_v6()) impl_->acceptor.set_option(asio::ip::v6_only(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::run() {
  impl_->signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) impl_->begin_stop();
  });
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->options.io_threads; ++i) {
    threads.emplace_back([this] { impl_->ioc.run(); });
  }
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

void Server::stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_stop(); });
}

}  // namespace portcullis::net
