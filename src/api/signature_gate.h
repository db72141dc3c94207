// Enforcement of signature trust policies (trust/policy.h) on manifest pulls.
//
// For an image in a repository a rule applies to, the gate finds the cosign
// signature manifest (tag "sha256-<hex>.sig" in the same repository), reads
// its payloads from the blob store (only blobs linked into that repository),
// verifies them against the keys the rule trusts and decides. An image that
// is a child of an index which satisfies the rule (a platform image of a
// signed multi-platform image) is allowed through its index.
//
// Decisions are cached per (repository, digest) and dropped when the
// repository changes (ManifestCache generation: a new signature, a moved
// tag), when keys or policies change (the access generation), and after
// 60 s (key expiry); not at all when replicas share the metadata.
// Thread-safe; evaluate() blocks (run it on a worker).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/manifest_cache.h"
#include "auth/access_service.h"
#include "base/clock.h"
#include "metadata/metadata.h"
#include "storage/blob_store.h"
#include "trust/policy.h"

namespace portcullis::api {

class SignatureGate {
 public:
  // `shared`: other replicas write the metadata too (a signature pushed there
  // is not seen by this process's cache), so decisions are not cached.
  SignatureGate(storage::BlobStore& blobs, metadata::MetadataStore& meta, ManifestCache& cache,
                const Clock& clock, bool shared = false);

  // A cached decision still valid for this repository state and snapshot.
  std::optional<trust::Decision> lookup(std::string_view repo, std::string_view digest,
                                        int64_t snapshot_generation);
  // Verifies and decides, and caches the decision. Blocking.
  trust::Decision evaluate(std::string_view repo, std::string_view digest, const trust::Rule& rule,
                           const auth::AccessSnapshot& snapshot);
  // The same verification and decision, not cached (a rule that is not one
  // of the stored trust policies, e.g. a registry policy's signatures). Blocking.
  trust::Decision verify(std::string_view repo, std::string_view digest, const trust::Rule& rule,
                         const auth::AccessSnapshot& snapshot);

 private:
  trust::Decision verify_one(std::string_view repo, std::string_view digest,
                             const trust::Rule& rule, const auth::AccessSnapshot& snapshot);
  struct Entry {
    uint64_t repo_generation;
    int64_t snapshot_generation;
    std::chrono::steady_clock::time_point until;
    trust::Decision decision;
  };
  static constexpr std::size_t kMaxEntries = 20000;
  static constexpr std::chrono::seconds kTtl{60};

  storage::BlobStore& blobs_;
  metadata::MetadataStore& meta_;
  ManifestCache& cache_;
  const Clock& clock_;
  bool shared_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // key: repo '\0' digest; guarded by mu_
};

}  // namespace portcullis::api
