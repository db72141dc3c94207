// A client of remote OCI registries (Distribution API): manifests and blobs,
// pull and push, Docker token authentication (anonymous or with
// credentials), redirects to blob storage, every byte verified against its
// digest. Used by `portcullis scan <registry>/<repo>:<tag>`, `portcullis
// sign` / `verify` and, later, the pull-through proxy.
// Blocking; one client per thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/http_client.h"
#include "oci/digest.h"
#include "oci/names.h"

namespace portcullis::proxy {

struct ClientOptions {
  bool plain_http = false;  // talk http:// (allowed for loopback registries and when asked)
  // Talk https://, but switch to http:// for good when the server answers the
  // first request without TLS (as Docker does for localhost registries).
  bool http_fallback = false;
  bool verify_tls = true;
  std::string ca_file;   // extra trusted CA certificates (PEM); empty: the system store
  std::string username;  // empty: anonymous
  std::string password;
  std::size_t max_blob_bytes = std::size_t{32} << 30;
};

// True for "localhost", "127.*" and "[::1]" registries, with or without a
// port: the ones the CLI talks plain HTTP to without being asked.
bool is_loopback_registry(std::string_view registry);

struct FetchedManifest {
  oci::Digest digest;
  std::string media_type;  // Content-Type without parameters
  std::string bytes;
};

class RegistryClient {
 public:
  // registry: host[:port] as in an image reference ("docker.io" means Docker Hub).
  // Throws std::runtime_error if options.ca_file cannot be loaded.
  RegistryClient(std::string registry, ClientOptions options);

  // What a HEAD tells about a manifest (by tag or digest): its digest, media
  // type and size, without its content (a registry may refuse the content,
  // e.g. under a signature policy, and still answer HEAD).
  struct ManifestHead {
    oci::Digest digest;
    std::string media_type;
    int64_t size = 0;
  };
  Result<ManifestHead> head_manifest(const std::string& repository, const std::string& reference);
  // By tag or digest; a digest reference is verified against the bytes.
  // Errc::manifest_unknown when the registry answers 404.
  Result<FetchedManifest> manifest(const std::string& repository, const std::string& reference);
  // The same, but a 404 is std::nullopt rather than an error.
  Result<std::optional<FetchedManifest>> manifest_if_exists(const std::string& repository,
                                                            const std::string& reference);
  // Streams a blob into `path`, verifying its digest; nothing is left at `path` on failure.
  Result<uint64_t> download_blob(const std::string& repository, const oci::Digest& digest,
                                 const std::filesystem::path& path);
  // A small blob in memory, verified against its digest; Errc::size_invalid
  // when it is larger than max_bytes, Errc::blob_unknown on 404.
  Result<std::string> blob_bytes(const std::string& repository, const oci::Digest& digest,
                                 std::size_t max_bytes);

  // Uploads `bytes` as blob `digest` (checked first) unless the repository
  // has it already (HEAD): one monolithic POST ?digest=, or POST then PUT
  // when the registry opens a session instead. Needs push access.
  Result<void> put_blob(const std::string& repository, const oci::Digest& digest,
                        std::string_view bytes);
  // PUTs a manifest under `reference` (a tag or its digest); returns its
  // sha256 digest (checked against Docker-Content-Digest when sent).
  Result<oci::Digest> put_manifest(const std::string& repository, const std::string& reference,
                                   const std::string& media_type, std::string_view bytes);

 private:
  enum class Access { pull, push };
  // One request to path (on this registry) or an absolute URL, authenticating
  // on a 401 (once) and following redirects for GET and HEAD.
  Result<net::ClientResponse> send(const std::string& method, const std::string& repository,
                                   Access access, const std::string& path_or_url,
                                   std::vector<std::pair<std::string, std::string>> headers,
                                   std::string_view body = {},
                                   const std::function<bool(const char*, std::size_t)>& sink = {});
  Result<void> authenticate(const std::string& challenge, const std::string& repository,
                            Access access);

  std::string registry_;
  std::string base_;               // scheme://host[:port]
  std::string host_;               // host[:port]
  bool fallback_pending_ = false;  // options_.http_fallback until a first exchange succeeds
  ClientOptions options_;
  net::HttpClient http_;
  std::string bearer_;  // current token, for bearer_repo_
  std::string bearer_repo_;
  bool bearer_push_ = false;  // bearer_ was asked for pull,push
};

struct PulledImage {
  std::string manifest_digest;  // the platform image's manifest
  std::vector<std::pair<std::string, std::filesystem::path>> layers;  // digest, file
};

// Fetches ref (resolving an index to `platform`, "os/arch[/variant]") and
// downloads its layers into dir.
Result<PulledImage> pull_image(const oci::ImageReference& ref, const std::string& platform,
                               const std::filesystem::path& dir, ClientOptions options);

}  // namespace portcullis::proxy
