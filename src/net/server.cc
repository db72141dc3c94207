#include "net/server.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <thread>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
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
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

namespace portcullis::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

FileRegion::~FileRegion() {
  if (fd >= 0) ::close(fd);
}

namespace {

using Parser = http::request_parser<http::buffer_body>;

// Beast reads at most min(64 KiB, free capacity) per syscall: give bodies the
// full 64 KiB, or a large upload costs one syscall (and timer reset) per 512 bytes.
constexpr std::size_t kBodyReadSize = 64 * 1024;
// File bodies over TLS cannot use sendfile(2): they are read in chunks this
// large (one pread on the worker pool per chunk) and written through the stream.
constexpr std::size_t kTlsFileChunk = 256 * 1024;
// Pulled bodies (blobs in an object store: one ranged GET per chunk) are read
// in larger chunks, so that per-request overhead stays small.
constexpr std::size_t kStreamChunk = 2 * 1024 * 1024;
// Bounds the wait for the client's close_notify, so closed connections do not linger.
constexpr std::chrono::seconds kTlsShutdownTimeout{5};
// Lingering close (as nginx): after a response sent before the request was
// read to the end (431, an early refusal), what the client still sends is read
// and discarded for a while, so the kernel does not answer it with a reset
// that would destroy the response before the client reads it.
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kLingerBytes = 1024 * 1024;

// Mozilla "intermediate" TLS 1.2 suites: forward-secret ECDHE with AEAD ciphers
// only. TLS 1.3 keeps OpenSSL's defaults (all AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string describe_certificate(X509* cert) {
  if (cert == nullptr) return "no certificate";
  std::string serial = "?";
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  std::string subject = "?";
  if (char* line = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0)) {
    subject = line;
    OPENSSL_free(line);
  }
  std::string not_after = "?";
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
      char* data = nullptr;
      long n = BIO_get_mem_data(bio, &data);
      if (n > 0) not_after.assign(data, static_cast<std::size_t>(n));
    }
    BIO_free(bio);
  }
  return fmt::format("subject {}, serial {}, expires {}", subject, serial, not_after);
}

// A server context from PEM files; throws std::runtime_error naming the file.
std::shared_ptr<ssl::context> make_tls_context(const TlsOptions& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    throw std::runtime_error("tls: OpenSSL refused the protocol or cipher settings");
  }
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(tls.certificate_file, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("tls: cannot load certificate chain '{}': {}",
                                         tls.certificate_file, ec.message()));
  }
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("tls: cannot load private key '{}': {}", tls.key_file, ec.message()));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    throw std::runtime_error(fmt::format("tls: private key '{}' does not match certificate '{}'",
                                         tls.key_file, tls.certificate_file));
  }
  spdlog::info("tls: loaded certificate '{}' ({})", tls.certificate_file,
               describe_certificate(SSL_CTX_get0_certificate(native)));
  return ctx;
}

// OpenSSL recognised a plain HTTP request where a ClientHello was expected.
bool is_plain_http_on_tls(const boost::system::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST;
}

bool is_tls_error(const boost::system::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() ||
         ec.category() == ssl::error::get_stream_category();
}

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

// One implementation for plain and TLS connections: Stream is beast::tcp_stream
// or TlsStream; timeouts always live on the TCP layer.
template <class Stream>
class ExchangeImpl final : public Exchange {
 public:
  ExchangeImpl(Stream& stream, beast::flat_buffer& buffer, Parser& parser,
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
        beast::get_lowest_layer(stream_).expires_after(io_timeout_);
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
      beast::get_lowest_layer(stream_).expires_after(io_timeout_);
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
  Stream& stream_;
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
  asio::signal_set reload_signals;  // SIGHUP, only with TLS
  // The context new TLS connections use; null for plain HTTP. Replaced whole
  // by reload_tls(); each connection keeps the one it started with.
  std::atomic<std::shared_ptr<ssl::context>> tls_context;

  Impl(Options o, Handler& h)
      : options(std::move(o)), handler(h), ioc(static_cast<int>(options.io_threads)),
        workers(options.worker_threads), acceptor(ioc), signals(ioc, SIGINT, SIGTERM),
        reload_signals(ioc) {}

  Task<void> accept_loop();
  Task<void> session(tcp::socket socket);
  Task<void> tls_session(tcp::socket socket, std::shared_ptr<ssl::context> ctx,
                         const std::string& remote);
  // Serves requests until the connection should close; false when it broke
  // (timeout, failed write) and needs no orderly shutdown.
  template <class Stream>
  Task<bool> serve_requests(Stream& stream, beast::flat_buffer& buffer, const std::string& remote);
  template <class Stream>
  Task<bool> write_response(Stream& stream, Response& r, bool keep_alive);
  template <class Stream>
  Task<void> write_simple(Stream& stream, unsigned status, std::string_view code,
                          std::string_view message);
  Task<bool> send_file(beast::tcp_stream& stream, const FileRegion& file);
  Task<bool> send_file(TlsStream& stream, const FileRegion& file);
  // Sends `length` bytes that `read(buf, n, offset)` produces on the worker
  // pool (blocking; returns the bytes it got), reading the next chunk while
  // the previous one is written.
  template <class Stream, class Read>
  Task<bool> send_pulled(Stream& stream, uint64_t offset, uint64_t length, std::size_t chunk,
                         Read read);
  void wait_for_reload_signal();
  bool reload_tls();
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

template <class Stream>
Task<void> Server::Impl::write_simple(Stream& stream, unsigned status, std::string_view code,
                                      std::string_view message) {
  Response r;
  r.status = status;
  r.header("Content-Type", "application/json");
  r.body = fmt::format(R"({{"errors":[{{"code":"{}","message":"{}","detail":null}}]}})", code,
                       message);
  co_await write_response(stream, r, false);
}

template <class Stream>
Task<bool> Server::Impl::write_response(Stream& stream, Response& r, bool keep_alive) {
  std::string head = serialize_head(r, keep_alive);
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).expires_after(options.io_timeout);
  bool send_body = !r.omit_body && r.status >= 200 && r.status != 204 && r.status != 304;
  if (!send_body || r.file || r.stream) {
    co_await asio::async_write(stream, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
  } else {
    const std::string& body = r.shared_body ? *r.shared_body : r.body;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
      co_await asio::async_write(stream, bufs, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      // TLS: one contiguous buffer per write. (A two-buffer sequence through
      // the TLS stream sent only the head when the body exceeded one TLS record.)
      co_await asio::async_write(stream, asio::buffer(head),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && !body.empty()) {
        co_await asio::async_write(stream, asio::buffer(body),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
    }
  }
  if (ec) co_return false;
  if (!send_body) co_return true;
  if (r.stream) {
    BodyStream* body = r.stream.get();
    co_return co_await send_pulled(stream, 0, body->length(), kStreamChunk,
                                   [body](char* buf, std::size_t n, uint64_t) -> std::size_t {
                                     auto got = body->read(buf, n);
                                     if (!got) return 0;
                                     return *got;
                                   });
  }
  if (!r.file) co_return true;
  co_return co_await send_file(stream, *r.file);
}

Task<bool> Server::Impl::send_file(beast::tcp_stream& stream, const FileRegion& file) {
  // sendfile(2) straight from the page cache to the socket.
  boost::system::error_code ec;
  auto& sock = stream.socket();
  sock.native_non_blocking(true, ec);
  if (ec) co_return false;
  off_t off = static_cast<off_t>(file.offset);
  uint64_t remaining = file.length;
  while (remaining > 0) {
    std::size_t chunk = static_cast<std::size_t>(std::min<uint64_t>(remaining, 1u << 30));
    ssize_t n = ::sendfile(sock.native_handle(), file.fd, &off, chunk);
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

Task<bool> Server::Impl::send_file(TlsStream& stream, const FileRegion& file) {
  co_return co_await send_pulled(stream, file.offset, file.length, kTlsFileChunk,
                                 [fd = file.fd](char* buf, std::size_t n, uint64_t at) {
                                   std::size_t got = 0;
                                   while (got < n) {
                                     ssize_t r = ::pread(fd, buf + got, n - got,
                                                         static_cast<off_t>(at + got));
                                     if (r > 0) {
                                       got += static_cast<std::size_t>(r);
                                     } else if (r < 0 && errno == EINTR) {
                                       continue;
                                     } else {
                                       break;  // EOF or error: the caller sees a short read
                                     }
                                   }
                                   return got;
                                 });
}

template <class Stream, class Read>
Task<bool> Server::Impl::send_pulled(Stream& stream, uint64_t offset, uint64_t length,
                                     std::size_t chunk, Read read) {
  if (length == 0) co_return true;
  // Two buffers: the worker pool reads the next chunk while this one is
  // written, so blocking reads never run on an I/O thread.
  std::size_t first = static_cast<std::size_t>(std::min<uint64_t>(length, chunk));
  std::vector<char> bufs[2] = {std::vector<char>(first),
                               std::vector<char>(length > chunk ? chunk : 0)};
  uint64_t remaining = length;
  auto read_chunk = [this, &read](char* buf, std::size_t n, uint64_t at) {
    return asio::co_spawn(
        workers, [=, &read]() -> Task<std::size_t> { co_return read(buf, n, at); },
        asio::deferred);
  };
  std::size_t want = first;
  std::size_t have = co_await read_chunk(bufs[0].data(), want, offset)(asio::use_awaitable);
  int cur = 0;
  while (true) {
    if (have != want) co_return false;  // body shorter than announced: drop the connection
    remaining -= have;
    offset += have;
    beast::get_lowest_layer(stream).expires_after(options.io_timeout);
    auto write = asio::async_write(stream, asio::buffer(bufs[cur].data(), have), asio::deferred);
    if (remaining == 0) {
      boost::system::error_code ec;
      co_await std::move(write)(asio::redirect_error(asio::use_awaitable, ec));
      co_return !ec;
    }
    want = static_cast<std::size_t>(std::min<uint64_t>(remaining, chunk));
    auto [order, read_error, got, write_error, written] =
        co_await asio::experimental::make_parallel_group(
            read_chunk(bufs[1 - cur].data(), want, offset), std::move(write))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    (void)order;
    (void)written;
    if (read_error || write_error) co_return false;
    have = got;
    cur = 1 - cur;
  }
}

template <class Stream>
Task<bool> Server::Impl::serve_requests(Stream& stream, beast::flat_buffer& buffer,
                                        const std::string& remote) {
  boost::system::error_code ec;
  while (!stopping) {
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(boost::none);  // handlers bound what they read
    beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
    try {
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
    } catch (const std::length_error&) {
      // Beast refuses a single field longer than 64 KiB by throwing.
      ec = http::error::header_limit;
    }
    if (ec) {
      if (ec == http::error::header_limit) {
        co_await write_simple(stream, 431, "SIZE_INVALID", "request headers too large");
      } else if (ec != http::error::end_of_stream && ec != asio::error::eof &&
                 ec != beast::error::timeout && ec != asio::error::connection_reset &&
                 ec != asio::error::operation_aborted && !is_tls_error(ec)) {
        co_await write_simple(stream, 400, "UNSUPPORTED", "malformed HTTP request");
      }
      co_return ec != beast::error::timeout && !is_tls_error(ec);
    }
    ++busy;
    struct Busy {
      std::atomic<std::size_t>& n;
      ~Busy() { --n; }
    } busy_guard{busy};
    auto started = std::chrono::steady_clock::now();
    ExchangeImpl<Stream> exchange(stream, buffer, parser, remote, workers, options.io_timeout);
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
    if (!ok) co_return false;
    if (!keep_alive) co_return !exchange.failed();
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
  if (options.tls.enabled()) {
    co_await tls_session(std::move(socket), tls_context.load(), remote);
    co_return;
  }
  beast::tcp_stream stream(std::move(socket));
  // The limit bounds what a client can make us buffer; the capacity starts
  // small (idle connections stay cheap) and grows for bodies, see read_some().
  beast::flat_buffer buffer(options.header_limit + kBodyReadSize);
  bool clean = co_await serve_requests(stream, buffer, remote);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (clean && !ec) {
    stream.expires_after(kLingerTimeout);
    char sink[16 * 1024];
    std::size_t discarded = 0;
    while (discarded < kLingerBytes) {
      auto n = co_await stream.async_read_some(asio::buffer(sink),
                                               asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      discarded += n;
    }
  }
  stream.close();
}

Task<void> Server::Impl::tls_session(tcp::socket socket, std::shared_ptr<ssl::context> ctx,
                                     const std::string& remote) {
  boost::system::error_code ec;
  TlsStream stream(std::move(socket), *ctx);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(options.io_timeout);
  co_await stream.async_handshake(ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (is_plain_http_on_tls(ec)) {
      // Say so in plain HTTP, as nginx does, rather than leave the client guessing.
      co_await write_simple(tcp_layer, 400, "UNSUPPORTED",
                            "plain HTTP request sent to the HTTPS port");
    }
    spdlog::debug("net: TLS handshake with {} failed: {}", remote, ec.message());
    tcp_layer.close();
    co_return;
  }
  beast::flat_buffer buffer(options.header_limit + kBodyReadSize);
  if (co_await serve_requests(stream, buffer, remote)) {
    tcp_layer.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }
  tcp_layer.close();
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  spdlog::info("net: stopping; draining in-flight requests");
  boost::system::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  reload_signals.cancel(ec);
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

void Server::Impl::wait_for_reload_signal() {
  reload_signals.async_wait([this](boost::system::error_code ec, int) {
    if (ec || stopping) return;
    spdlog::info("tls: SIGHUP received; reloading certificate and key");
    // Reading files is blocking work: keep it off the I/O threads.
    asio::post(workers, [this] {
      if (!stopping) reload_tls();
    });
    wait_for_reload_signal();
  });
}

bool Server::Impl::reload_tls() {
  if (!options.tls.enabled()) return false;
  try {
    tls_context.store(make_tls_context(options.tls));
    return true;
  } catch (const std::exception& e) {
    spdlog::error("{}; still serving the previous certificate", e.what());
    return false;
  }
}

bool Server::reload_tls() { return impl_->reload_tls(); }

void Server::bind() {
  if (impl_->options.tls.enabled()) impl_->tls_context.store(make_tls_context(impl_->options.tls));
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
  // sendfile(2) to a socket the client has closed raises SIGPIPE, whose default
  // action kills the process (Asio's own sends use MSG_NOSIGNAL): ignore it and
  // let the EPIPE end the connection.
  ::signal(SIGPIPE, SIG_IGN);
  impl_->signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) impl_->begin_stop();
  });
  if (impl_->options.tls.enabled()) {
    impl_->reload_signals.add(SIGHUP);
    impl_->wait_for_reload_signal();
  }
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
