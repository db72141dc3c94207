#include "proxy/registry_client.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <algorithm>
#include <map>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

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

std::string enc(const std::string& s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

}  // namespace

RegistryClient::RegistryClient(std::string registry, ClientOptions options)
    : registry_(std::move(registry)), options_(std::move(options)),
      http_(net::ClientOptions{std::chrono::seconds(60), 8 << 20, options_.verify_tls}) {
  std::string host = registry_ == "docker.io" ? "registry-1.docker.io" : registry_;
  base_ = (options_.plain_http ? "http://" : "https://") + host;
}

Result<void> RegistryClient::authenticate(const std::string& challenge, const std::string& repository) {
  auto scheme = challenge.substr(0, challenge.find(' '));
  if (scheme == "Basic" || scheme == "basic") {
    if (options_.username.empty()) return make_error(Errc::unauthorized, "registry wants credentials");
    bearer_.clear();
    return {};
  }
  auto p = challenge_params(challenge);
  if (p["realm"].empty()) return make_error(Errc::unauthorized, "registry sent no token realm");
  std::string url = p["realm"] + (p["realm"].find('?') == std::string::npos ? "?" : "&") +
                    "service=" + enc(p["service"]) + "&scope=" +
                    enc(fmt::format("repository:{}:pull", repository));
  net::ClientRequest req{"GET", url, {}};
  if (!options_.username.empty()) {
    req.headers.emplace_back("Authorization", basic_auth(options_.username, options_.password));
  }
  auto r = http_.send(req);
  if (!r) return r.error();
  if (r->status != 200) return make_error(Errc::unauthorized, fmt::format("token endpoint answered {}", r->status));
  boost::system::error_code ec;
  auto v = boost::json::parse(r->body, ec);
  if (ec || !v.is_object()) return make_error(Errc::unauthorized, "token endpoint sent no JSON");
  const auto& o = v.get_object();
  for (const char* k : {"token", "access_token"}) {
    if (auto it = o.find(k); it != o.end() && it->value().is_string()) {
      bearer_ = std::string(it->value().get_string());
      bearer_repo_ = repository;
      return {};
    }
  }
  return make_error(Errc::unauthorized, "token endpoint sent no token");
}

Result<net::ClientResponse> RegistryClient::get(
    const std::string& repository, const std::string& path,
    std::vector<std::pair<std::string, std::string>> headers,
    const std::function<bool(const char*, std::size_t)>& sink) {
  std::string url = base_ + path;
  for (int attempt = 0; attempt < 6; ++attempt) {
    net::ClientRequest req{"GET", url, headers};
    bool same_host = url.rfind(base_, 0) == 0;
    if (same_host && !bearer_.empty() && bearer_repo_ == repository) {
      req.headers.emplace_back("Authorization", "Bearer " + bearer_);
    } else if (same_host && !options_.username.empty() && bearer_.empty()) {
      req.headers.emplace_back("Authorization", basic_auth(options_.username, options_.password));
    }
    auto r = http_.send(req, sink);
    if (!r) return r;
    if (r->status == 401 && same_host && attempt == 0) {
      auto auth = authenticate(r->header("WWW-Authenticate"), repository);
      if (!auth) return auth.error();
      continue;
    }
    if (r->status == 301 || r->status == 302 || r->status == 303 || r->status == 307 || r->status == 308) {
      std::string loc = r->header("Location");
      if (loc.empty()) return make_error(Errc::unavailable, "redirect without Location");
      url = loc.rfind("http", 0) == 0 ? loc : base_ + loc;
      headers.erase(std::remove_if(headers.begin(), headers.end(),
                                   [](const auto& h) { return h.first == "Authorization"; }),
                    headers.end());
      continue;
    }
    return r;
  }
  return make_error(Errc::unavailable, "too many redirects");
}

Result<FetchedManifest> RegistryClient::manifest(const std::string& repository, const std::string& reference) {
  auto r = get(repository, fmt::format("/v2/{}/manifests/{}", repository, reference), {{"Accept", kAccept}});
  if (!r) return r.error();
  if (r->status == 404) return make_error(Errc::manifest_unknown, fmt::format("{}:{} not found", repository, reference));
  if (r->status != 200) return make_error(Errc::unavailable, fmt::format("manifest GET answered {}", r->status));
  auto digest = oci::Digest::of(crypto::HashAlgorithm::sha256, r->body);
  if (reference.find(':') != std::string::npos) {
    auto want = oci::Digest::parse(reference);
    if (!want) return want.error();
    if (oci::Digest::of(want->algorithm(), r->body) != *want) {
      return make_error(Errc::digest_invalid, "registry sent a manifest that does not match its digest");
    }
    digest = *want;
  }
  std::string media_type = r->header("Content-Type");
  return FetchedManifest{digest, media_type, std::move(r->body)};
}

Result<uint64_t> RegistryClient::download_blob(const std::string& repository, const oci::Digest& digest,
                                               const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::internal, fmt::format("cannot create {}", path.string()));
  crypto::Hasher hasher(digest.algorithm());
  uint64_t total = 0;
  bool write_failed = false;
  auto r = get(repository, fmt::format("/v2/{}/blobs/{}", repository, digest.str()), {},
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
  if (!r) return fail(write_failed ? make_error(Errc::internal, "writing the blob failed") : r.error());
  if (r->status != 200) return fail(make_error(Errc::blob_unknown, fmt::format("blob GET answered {}", r->status)));
  if (hasher.finish_hex() != digest.hex()) {
    return fail(make_error(Errc::digest_invalid, fmt::format("blob {} does not match its digest", digest.str())));
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
      if (!next) return make_error(Errc::manifest_unknown, fmt::format("no {} image in the index", platform));
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
