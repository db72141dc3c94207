// A client of remote OCI registries (Distribution API): manifests and blobs,
// Docker token authentication (anonymous or with credentials), redirects to
// blob storage, every byte verified against its digest. Used by
// `portcullis scan <registry>/<repo>:<tag>` and, later, the pull-through proxy.
// Blocking; one client per thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/http_client.h"
#include "oci/digest.h"
#include "oci/names.h"

namespace portcullis::proxy {

struct ClientOptions {
  bool plain_http = false;    // talk http:// (allowed for loopback registries and when asked)
  bool verify_tls = true;
  std::string username;       // empty: anonymous
  std::string password;
  std::size_t max_blob_bytes = std::size_t{32} << 30;
};

struct FetchedManifest {
  oci::Digest digest;
  std::string media_type;
  std::string bytes;
};

class RegistryClient {
 public:
  // registry: host[:port] as in an image reference ("docker.io" means Docker Hub).
  RegistryClient(std::string registry, ClientOptions options);

  // By tag or digest; a digest reference is verified against the bytes.
  Result<FetchedManifest> manifest(const std::string& repository, const std::string& reference);
  // Streams a blob into `path`, verifying its digest; nothing is left at `path` on failure.
  Result<uint64_t> download_blob(const std::string& repository, const oci::Digest& digest,
                                 const std::filesystem::path& path);

 private:
  Result<net::ClientResponse> get(const std::string& repository, const std::string& path,
                                  std::vector<std::pair<std::string, std::string>> headers,
                                  const std::function<bool(const char*, std::size_t)>& sink = {});
  Result<void> authenticate(const std::string& challenge, const std::string& repository);

  std::string registry_;
  std::string base_;  // scheme://host[:port]
  ClientOptions options_;
  net::HttpClient http_;
  std::string bearer_;  // current token, for bearer_repo_
  std::string bearer_repo_;
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
