#include "net/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>

namespace portcullis::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

std::string ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return {};
}

struct HttpClient::Impl {
  ClientOptions options;
  asio::io_context ioc;
  asio::ssl::context tls{asio::ssl::context::tls_client};
};

HttpClient::HttpClient(ClientOptions options) : impl_(new Impl{options, {}, asio::ssl::context(asio::ssl::context::tls_client)}) {
  impl_->tls.set_default_verify_paths();
  if (!options.ca_file.empty()) {
    boost::system::error_code ec;
    impl_->tls.load_verify_file(options.ca_file, ec);
    if (ec) {
      delete impl_;
      throw std::runtime_error(fmt::format("cannot load CA certificates from {}: {}", options.ca_file, ec.message()));
    }
  }
  impl_->tls.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                         asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  impl_->tls.set_verify_mode(options.verify_tls ? asio::ssl::verify_peer : asio::ssl::verify_none);
}

HttpClient::~HttpClient() { delete impl_; }

namespace {

template <class Stream>
Result<ClientResponse> exchange(Stream& stream, beast::tcp_stream& lowest, const ClientRequest& req,
                                const std::string& host_header, const std::string& target,
                                const ClientOptions& options,
                                const std::function<bool(const char*, std::size_t)>& sink) {
  namespace http = beast::http;
  http::request<http::string_body> r;
  r.method_string(req.method);
  r.target(target);
  r.version(11);
  r.set(http::field::host, host_header);
  r.set(http::field::user_agent, "portcullis");
  r.set(http::field::connection, "close");
  for (const auto& [k, v] : req.headers) r.insert(k, v);
  if (!req.body.empty() || req.method == "PUT" || req.method == "POST" || req.method == "PATCH") {
    r.body() = req.body;
    r.prepare_payload();
  }
  beast::error_code ec;
  lowest.expires_after(options.timeout);
  http::write(stream, r, ec);
  if (ec) return make_error(Errc::unavailable, fmt::format("{}: {}", req.url, ec.message()));

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(boost::none);
  parser.skip(req.method == "HEAD");  // a HEAD response announces a length but has no body
  lowest.expires_after(options.timeout);
  http::read_header(stream, buffer, parser, ec);
  if (ec) return make_error(Errc::unavailable, fmt::format("{}: {}", req.url, ec.message()));
  ClientResponse out;
  out.status = parser.get().result_int();
  for (const auto& f : parser.get()) {
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  bool stream_body = sink && out.status >= 200 && out.status < 300;
  std::vector<char> chunk(256 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    lowest.expires_after(options.timeout);
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return make_error(Errc::unavailable, fmt::format("{}: {}", req.url, ec.message()));
    std::size_t n = chunk.size() - parser.get().body().size;
    if (stream_body) {
      if (n > 0 && !sink(chunk.data(), n)) return make_error(Errc::internal, "download aborted");
    } else {
      if (out.body.size() + n > options.max_body_in_memory) {
        return make_error(Errc::size_invalid, fmt::format("{}: response body too large", req.url));
      }
      out.body.append(chunk.data(), n);
    }
  }
  return out;
}

}  // namespace

Result<ClientResponse> HttpClient::send(const ClientRequest& req,
                                        const std::function<bool(const char*, std::size_t)>& sink) {
  auto url = boost::urls::parse_absolute_uri(req.url);
  if (!url) return make_error(Errc::unsupported, fmt::format("not an absolute URL: {}", req.url));
  std::string scheme(url->scheme());
  if (scheme != "http" && scheme != "https") {
    return make_error(Errc::unsupported, fmt::format("unsupported scheme in {}", req.url));
  }
  bool tls = scheme == "https";
  std::string host(url->host_name().empty() ? url->encoded_host() : url->host_name());
  if (url->host_type() == boost::urls::host_type::ipv6) host = std::string(url->encoded_host_address());
  std::string port = url->has_port() ? std::string(url->port()) : (tls ? "443" : "80");
  std::string target(url->encoded_resource());
  if (target.empty()) target = "/";
  std::string host_header(url->encoded_host_and_port());

  beast::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) return make_error(Errc::unavailable, fmt::format("cannot resolve {}: {}", host, ec.message()));
  if (!tls) {
    beast::tcp_stream stream(impl_->ioc);
    stream.expires_after(impl_->options.timeout);
    stream.connect(endpoints, ec);
    if (ec) return make_error(Errc::unavailable, fmt::format("cannot connect to {}:{}: {}", host, port, ec.message()));
    auto r = exchange(stream, stream, req, host_header, target, impl_->options, sink);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return r;
  }
  beast::ssl_stream<beast::tcp_stream> stream(impl_->ioc, impl_->tls);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
    return make_error(Errc::unavailable, "cannot set TLS server name");
  }
  if (impl_->options.verify_tls) stream.set_verify_callback(asio::ssl::host_name_verification(host));
  beast::get_lowest_layer(stream).expires_after(impl_->options.timeout);
  beast::get_lowest_layer(stream).connect(endpoints, ec);
  if (ec) return make_error(Errc::unavailable, fmt::format("cannot connect to {}:{}: {}", host, port, ec.message()));
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) {
    // A plain-HTTP server answers the ClientHello with an HTTP response.
    bool not_tls = ec.category() == asio::error::get_ssl_category() &&
                   ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER;
    return make_error(not_tls ? Errc::unsupported : Errc::unavailable,
                      fmt::format("TLS handshake with {} failed: {}{}", host, ec.message(),
                                  not_tls ? " (is it a plain HTTP server?)" : ""));
  }
  auto r = exchange(stream, beast::get_lowest_layer(stream), req, host_header, target, impl_->options, sink);
  stream.shutdown(ec);
  return r;
}

}  // namespace portcullis::net
