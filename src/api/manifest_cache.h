// In-memory cache of what the read hot paths need per repository: manifests by
// tag-or-digest (the exact bytes and pre-serialised response headers) and the
// sizes of blobs linked into the repository. A cached GET does no database
// round trip. Thread-safe (readers share a lock).
//
// Coherence: every write to a repository calls invalidate(repo), which bumps
// the repository's generation. A reader that missed records generation()
// before reading the database and put() drops its entry if the generation has
// moved since, so a stale read can never be cached after a write.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portcullis::api {

struct CachedManifest {
  std::string digest;
  std::string media_type;
  std::shared_ptr<const std::string> bytes;
  std::shared_ptr<const std::string> headers;  // "Content-Type: …\r\nDocker-Content-Digest: …\r\n…"
  // Not a runnable image: a signature, attestation, SBOM or other artifact
  // (has a subject or an artifactType, cosign/DSSE layers, or a non-image
  // config). Signature policies never block these.
  bool artifact = false;
};

class ManifestCache {
 public:
  explicit ManifestCache(std::size_t max_bytes = 64 << 20) : max_bytes_(max_bytes) {}

  std::shared_ptr<const CachedManifest> get(std::string_view repo, std::string_view ref) const;
  uint64_t generation(std::string_view repo) const;
  void put(std::string_view repo, std::string_view ref, std::shared_ptr<const CachedManifest> m,
           uint64_t seen_generation);
  // Size of a blob known to be linked into repo, or -1.
  int64_t get_blob(std::string_view repo, std::string_view digest) const;
  void put_blob(std::string_view repo, std::string_view digest, int64_t size,
                uint64_t seen_generation);
  void invalidate(std::string_view repo);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using RefMap = std::unordered_map<std::string, std::shared_ptr<const CachedManifest>, Hash,
                                    std::equal_to<>>;
  struct Repo {
    uint64_t generation = 0;
    RefMap refs;
    std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> blobs;
  };
  static constexpr std::size_t kBlobEntryBytes = 160;  // accounting estimate per blob entry
  void make_room(std::size_t size);  // requires mu_ held exclusively

  std::size_t max_bytes_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Repo, Hash, std::equal_to<>> repos_;  // guarded by mu_
  std::size_t bytes_ = 0;                                               // guarded by mu_
};

}  // namespace portcullis::api
