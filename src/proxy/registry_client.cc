#include "proxy/registry_client.h"

#include <charconv>

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "crypto/hash.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace portcullis::proxy {

namespace {

constexpr const char* kAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// "Basic <base64(user:password)>" (RFC 7617), encoded by OpenSSL.
std::string basic_auth(const std::string& user, const std::string& password) {
  std::string plain = user + ":" + password;
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()),
                          static_cast<int>(plain.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

// Parses `Bearer realm="…",service="…",scope="…"` into its parameters.
std::map<std::string, std::string> challenge_params(std::string_view h) {
  std::map<std::string, std::string> out;
  auto sp = h.find(' ');
  if (sp == std::string_view::npos) return out;
  h.remove_prefix(sp + 1);
  while (!h.empty()) {
    while (!h.empty() && (h.front() == ' ' || h.front() == ',')) h.remove_prefix(1);
    auto eq = h.find('=');
    if (eq == std::string_view::npos) break;
    std::string key(h.substr(0, eq));
    h.remove_prefix(eq + 1);
    std::string value;
    if (!h.empty() && h.front() == '"') {
      h.remove_prefix(1);
      auto end = h.find('"');
      value = std::string(h.substr(0, end));
      h.remove_prefix(end == std::string_view::npos ? h.size() : end + 1);
    } else {
      auto end = h.find(',');
      value = std::string(h.substr(0, end));
      h.remove_prefix(end == std::string_view::npos ? h.size() : end);
    }
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[key] = value;
  }
  return out;
}

std::string enc(const std::string& s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// "code: message" of the first OCI error in a response body, or "".
std::string oci_error_text(const std::string& body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const auto* errors = v.get_object().if_contains("errors");
  if (!errors || !errors->is_array() || errors->get_array().empty()) return {};
  const auto& e = errors->get_array().front();
  if (!e.is_object()) return {};
  std::string out;
  if (const auto* c = e.get_object().if_contains("code"); c && c->is_string()) {
    out = c->get_string();
  }
  if (const auto* m = e.get_object().if_contains("message"); m && m->is_string()) {
    out += (out.empty() ? "" : ": ") + std::string(m->get_string());
  }
  return out.substr(0, 300);
}

// An error for an unexpected answer to `what` ("PUT manifest x/y:v1").
Error status_error(const net::ClientResponse& r, const std::string& what,
                   Errc not_found = Errc::not_found) {
  std::string detail = oci_error_text(r.body);
  std::string msg =
      fmt::format("{} answered {}{}{}", what, r.status, detail.empty() ? "" : ": ", detail);
  switch (r.status) {
    case 401:
      return make_error(Errc::unauthorized, msg + " (credentials: --creds USER:PASSWORD)");
    case 403:
      return make_error(Errc::denied, msg);
    case 404:
      return make_error(not_found, msg);
    case 429:
      return make_error(Errc::too_many_requests, msg);
    default:
      return make_error(Errc::unavailable, msg);
  }
}

std::string without_parameters(std::string media_type) {
  media_type = media_type.substr(0, media_type.find(';'));
  while (!media_type.empty() && media_type.back() == ' ') media_type.pop_back();
  return media_type;
}

}  // namespace

bool is_loopback_registry(std::string_view registry) {
  std::string_view host = registry;
  if (host.starts_with('[')) return host.starts_with("[::1]");
  host = host.substr(0, host.rfind(':'));
  return host == "localhost" || host.starts_with("127.");
}

RegistryClient::RegistryClient(std::string registry, ClientOptions options)
    : registry_(std::move(registry)),
      options_(std::move(options)),
      http_(net::ClientOptions{std::chrono::seconds(60), 8 << 20, options_.verify_tls,
                               options_.ca_file}) {
  host_ = registry_ == "docker.io" ? "registry-1.docker.io" : registry_;
  base_ = (options_.plain_http ? "http://" : "https://") + host_;
  fallback_pending_ = options_.http_fallback && !options_.plain_http;
}

Result<void> RegistryClient::authenticate(const std::string& challenge,
                                          const std::string& repository, Access access) {
  auto scheme = challenge.substr(0, challenge.find(' '));
  if (scheme == "Basic" || scheme == "basic") {
    if (options_.username.empty()) {
      return make_error(Errc::unauthorized, "registry wants credentials (--creds USER:PASSWORD)");
    }
    bearer_.clear();
    return {};
  }
  auto p = challenge_params(challenge);
  if (p["realm"].empty()) return make_error(Errc::unauthorized, "registry sent no token realm");
  const char* actions = access == Access::push ? "pull,push" : "pull";
  std::string url = p["realm"] + (p["realm"].find('?') == std::string::npos ? "?" : "&") +
                    "service=" + enc(p["service"]) +
                    "&scope=" + enc(fmt::format("repository:{}:{}", repository, actions));
  net::ClientRequest req{"GET", url, {}, {}};
  if (!options_.username.empty()) {
    req.headers.emplace_back("Authorization", basic_auth(options_.username, options_.password));
  }
  auto r = http_.send(req);
  if (!r) return r.error();
  if (r->status != 200) {
    auto e = status_error(*r, "token endpoint");
    return make_error(Errc::unauthorized, e.message);
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(r->body, ec);
  if (ec || !v.is_object()) return make_error(Errc::unauthorized, "token endpoint sent no JSON");
  const auto& o = v.get_object();
  for (const char* k : {"token", "access_token"}) {
    if (auto it = o.find(k); it != o.end() && it->value().is_string()) {
      bearer_ = std::string(it->value().get_string());
      bearer_repo_ = repository;
      bearer_push_ = access == Access::push;
      return {};
    }
  }
  return make_error(Errc::unauthorized, "token endpoint sent no token");
}

Result<net::ClientResponse> RegistryClient::send(
    const std::string& method, const std::string& repository, Access access,
    const std::string& path_or_url, std::vector<std::pair<std::string, std::string>> headers,
    std::string_view body, const std::function<bool(const char*, std::size_t)>& sink) {
  std::string url = path_or_url.rfind("http", 0) == 0 ? path_or_url : base_ + path_or_url;
  bool authenticated = false;
  for (int attempt = 0; attempt < 7; ++attempt) {
    net::ClientRequest req{method, url, headers, std::string(body)};
    bool same_host = url.rfind(base_ + "/", 0) == 0;
    if (same_host && !bearer_.empty() && bearer_repo_ == repository &&
        (access == Access::pull || bearer_push_)) {
      req.headers.emplace_back("Authorization", "Bearer " + bearer_);
    } else if (same_host && !options_.username.empty() && bearer_.empty()) {
      req.headers.emplace_back("Authorization", basic_auth(options_.username, options_.password));
    }
    auto r = http_.send(req, sink);
    if (!r && same_host && fallback_pending_ && r.error().code == Errc::unsupported) {
      fallback_pending_ = false;  // the server does not speak TLS: plain HTTP from now on
      std::string rest = url.substr(base_.size());
      base_ = "http://" + host_;
      url = base_ + rest;
      continue;
    }
    if (!r) return r;
    fallback_pending_ = false;
    if (r->status == 401 && same_host && !authenticated) {
      authenticated = true;
      auto auth = authenticate(r->header("WWW-Authenticate"), repository, access);
      if (!auth) return auth.error();
      continue;
    }
    if (is_redirect(r->status) && (method == "GET" || method == "HEAD")) {
      std::string loc = r->header("Location");
      if (loc.empty()) return make_error(Errc::unavailable, "redirect without Location");
      url = loc.rfind("http", 0) == 0 ? loc : base_ + loc;
      continue;
    }
    return r;
  }
  return make_error(Errc::unavailable, "too many redirects");
}

Result<std::optional<FetchedManifest>> RegistryClient::manifest_if_exists(
    const std::string& repository, const std::string& reference) {
  auto r = send("GET", repository, Access::pull,
                fmt::format("/v2/{}/manifests/{}", repository, reference), {{"Accept", kAccept}});
  if (!r) return r.error();
  if (r->status == 404) return std::optional<FetchedManifest>{};
  if (r->status != 200) {
    return status_error(*r, fmt::format("GET manifest {}:{}", repository, reference),
                        Errc::manifest_unknown);
  }
  auto digest = oci::Digest::of(crypto::HashAlgorithm::sha256, r->body);
  if (reference.find(':') != std::string::npos) {
    auto want = oci::Digest::parse(reference);
    if (!want) return want.error();
    if (oci::Digest::of(want->algorithm(), r->body) != *want) {
      return make_error(Errc::digest_invalid,
                        "registry sent a manifest that does not match its digest");
    }
    digest = *want;
  }
  std::string media_type = without_parameters(r->header("Content-Type"));
  return std::optional<FetchedManifest>{FetchedManifest{digest, media_type, std::move(r->body)}};
}

Result<RegistryClient::ManifestHead> RegistryClient::head_manifest(const std::string& repository,
                                                                   const std::string& reference) {
  auto r = send("HEAD", repository, Access::pull,
                fmt::format("/v2/{}/manifests/{}", repository, reference), {{"Accept", kAccept}});
  if (!r) return r.error();
  if (r->status == 404) {
    return make_error(Errc::manifest_unknown,
                      fmt::format("{}:{} not found", repository, reference));
  }
  if (r->status != 200) {
    return status_error(*r, fmt::format("HEAD manifest {}:{}", repository, reference),
                        Errc::manifest_unknown);
  }
  auto digest = oci::Digest::parse(r->header("Docker-Content-Digest"));
  if (!digest) {
    return make_error(Errc::manifest_invalid,
                      fmt::format("HEAD manifest {}:{}: no valid Docker-Content-Digest", repository,
                                  reference));
  }
  if (reference.find(':') != std::string::npos && reference != digest->str()) {
    return make_error(Errc::digest_invalid, "registry answered HEAD with another digest");
  }
  int64_t size = 0;
  std::string length = r->header("Content-Length");
  auto [p, ec] = std::from_chars(length.data(), length.data() + length.size(), size);
  if (ec != std::errc() || p != length.data() + length.size() || size <= 0) {
    return make_error(Errc::manifest_invalid, "HEAD manifest: no valid Content-Length");
  }
  return ManifestHead{*digest, without_parameters(r->header("Content-Type")), size};
}

Result<FetchedManifest> RegistryClient::manifest(const std::string& repository,
                                                 const std::string& reference) {
  auto m = manifest_if_exists(repository, reference);
  if (!m) return m.error();
  if (!*m) {
    return make_error(Errc::manifest_unknown,
                      fmt::format("{}:{} not found", repository, reference));
  }
  return std::move(**m);
}

Result<std::string> RegistryClient::blob_bytes(const std::string& repository,
                                               const oci::Digest& digest, std::size_t max_bytes) {
  std::string out;
  bool too_large = false;
  auto r = send("GET", repository, Access::pull,
                fmt::format("/v2/{}/blobs/{}", repository, digest.str()), {}, {},
                [&](const char* data, std::size_t n) {
                  if (out.size() + n > max_bytes) {
                    too_large = true;
                    return false;
                  }
                  out.append(data, n);
                  return true;
                });
  if (too_large) {
    return make_error(Errc::size_invalid,
                      fmt::format("blob {} is larger than {} bytes", digest.str(), max_bytes));
  }
  if (!r) return r.error();
  if (r->status != 200) {
    return status_error(*r, fmt::format("GET blob {}", digest.str()), Errc::blob_unknown);
  }
  if (oci::Digest::of(digest.algorithm(), out) != digest) {
    return make_error(Errc::digest_invalid,
                      fmt::format("blob {} does not match its digest", digest.str()));
  }
  return out;
}

Result<void> RegistryClient::put_blob(const std::string& repository, const oci::Digest& digest,
                                      std::string_view bytes) {
  if (oci::Digest::of(digest.algorithm(), bytes) != digest) {
    return make_error(
        Errc::digest_invalid,
        fmt::format("refusing to upload content as {}: it does not match", digest.str()));
  }
  auto head = send("HEAD", repository, Access::push,
                   fmt::format("/v2/{}/blobs/{}", repository, digest.str()), {});
  if (!head) return head.error();
  if (head->status == 200) return {};
  if (head->status != 404) return status_error(*head, fmt::format("HEAD blob {}", digest.str()));

  const std::vector<std::pair<std::string, std::string>> octets{
      {"Content-Type", "application/octet-stream"}};
  auto post = send("POST", repository, Access::push,
                   fmt::format("/v2/{}/blobs/uploads/?digest={}", repository, enc(digest.str())),
                   octets, bytes);
  if (!post) return post.error();
  if (post->status == 201) return {};
  if (post->status != 202) {
    return status_error(*post, fmt::format("POST blob upload to {}", repository));
  }
  // The registry opened a session instead of taking the body: finish it with one PUT.
  std::string location = post->header("Location");
  if (location.empty()) {
    return make_error(Errc::unavailable, "blob upload session without Location");
  }
  location += (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") +
              enc(digest.str());
  auto put = send("PUT", repository, Access::push, location, octets, bytes);
  if (!put) return put.error();
  if (put->status != 201) return status_error(*put, fmt::format("PUT blob {}", digest.str()));
  return {};
}

Result<oci::Digest> RegistryClient::put_manifest(const std::string& repository,
                                                 const std::string& reference,
                                                 const std::string& media_type,
                                                 std::string_view bytes) {
  auto digest = oci::Digest::of(crypto::HashAlgorithm::sha256, bytes);
  auto r = send("PUT", repository, Access::push,
                fmt::format("/v2/{}/manifests/{}", repository, reference),
                {{"Content-Type", media_type}}, bytes);
  if (!r) return r.error();
  if (r->status != 201) {
    return status_error(*r, fmt::format("PUT manifest {}:{}", repository, reference),
                        Errc::name_unknown);
  }
  if (auto sent = r->header("Docker-Content-Digest"); !sent.empty() && sent != digest.str()) {
    return make_error(
        Errc::digest_invalid,
        fmt::format("registry stored the manifest as {}, expected {}", sent, digest.str()));
  }
  return digest;
}

Result<uint64_t> RegistryClient::download_blob(const std::string& repository,
                                               const oci::Digest& digest,
                                               const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::internal, fmt::format("cannot create {}", path.string()));
  crypto::Hasher hasher(digest.algorithm());
  uint64_t total = 0;
  bool write_failed = false;
  auto r = send("GET", repository, Access::pull,
                fmt::format("/v2/{}/blobs/{}", repository, digest.str()), {}, {},
                [&](const char* data, std::size_t n) {
                  total += n;
                  if (total > options_.max_blob_bytes) return false;
                  hasher.update(data, n);
                  while (n > 0) {
                    ssize_t w = ::write(fd, data, n);
                    if (w < 0) {
                      if (errno == EINTR) continue;
                      write_failed = true;
                      return false;
                    }
                    data += w;
                    n -= static_cast<std::size_t>(w);
                  }
                  return true;
                });
  ::close(fd);
  auto fail = [&](Error e) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return e;
  };
  if (!r) {
    return fail(write_failed ? make_error(Errc::internal, "writing the blob failed") : r.error());
  }
  if (r->status != 200) {
    return fail(status_error(*r, fmt::format("GET blob {}", digest.str()), Errc::blob_unknown));
  }
  if (hasher.finish_hex() != digest.hex()) {
    return fail(make_error(Errc::digest_invalid,
                           fmt::format("blob {} does not match its digest", digest.str())));
  }
  return total;
}

Result<PulledImage> pull_image(const oci::ImageReference& ref, const std::string& platform,
                               const std::filesystem::path& dir, ClientOptions options) {
  RegistryClient client(ref.registry, std::move(options));
  const oci::Platform want = oci::parse_platform(platform);
  std::string reference = ref.digest ? ref.digest->str() : ref.tag;
  for (int depth = 0; depth < 4; ++depth) {
    auto m = client.manifest(ref.repository, reference);
    if (!m) return m.error();
    auto parsed = oci::parse_manifest(m->bytes, m->media_type);
    if (!parsed) return parsed.error();
    if (parsed->is_index()) {
      const oci::Descriptor* next = parsed->find_platform(want);
      if (!next) {
        return make_error(Errc::manifest_unknown,
                          fmt::format("no {} image in the index", platform));
      }
      reference = next->digest.str();
      continue;
    }
    PulledImage out{m->digest.str(), {}};
    for (const auto& l : parsed->layers) {
      if (!l.urls.empty()) continue;
      auto path = dir / l.digest.hex();
      auto got = client.download_blob(ref.repository, l.digest, path);
      if (!got) return got.error();
      out.layers.emplace_back(l.digest.str(), path);
    }
    return out;
  }
  return make_error(Errc::manifest_invalid, "index nesting too deep");
}

}  // namespace portcullis::proxy
