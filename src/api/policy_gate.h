// Enforcement of the registry policy (policy/policy.h): gathers the facts
// about one image in one repository — the image config (labels, created,
// diff_ids), manifest annotations, the scan result or its absence, signature
// verification per rule (SignatureGate), base-image lineage — and evaluates
// the snapshot's policy over them.
//
// Pull decisions are cached per (repository, digest) and reused only while
// every input is unchanged: the repository (ManifestCache generation: new
// signatures, moved tags), the access snapshot (policy version, keys, trust
// policies, approved bases), the scan results (ScanQueue generation: scan
// finished, advisory data re-matched), and the clock (an exception's expiry,
// maxAge; plus `ttl`, 60 s by default, for key expiry). A verdict is never
// older than its inputs. With replicas sharing the metadata, a signature
// pushed or a scan finished on another replica does not move this process's
// generations: the server then passes a short `ttl` (the access refresh
// interval), which bounds how long such a change goes unseen.
//
// Blobs: a blob requested through a repository is refused when every image
// in that repository that uses it is refused (so a layer shared with an
// allowed image stays available).
//
// Thread-safe; evaluate()/blob_refusal() block (run them on a worker).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/manifest_cache.h"
#include "api/signature_gate.h"
#include "auth/access_service.h"
#include "base/clock.h"
#include "metadata/metadata.h"
#include "policy/policy.h"
#include "storage/blob_store.h"

namespace portcullis::scanner {
class ScanQueue;
}

namespace portcullis::api {

// A decision with the versions of the inputs it was computed from.
struct PolicyVerdict {
  policy::Decision decision;
  std::string inputs;  // "policy v3, advisory data …, access generation 12, scan …"
  policy::Lineage lineage;
};

class PolicyGate {
 public:
  PolicyGate(storage::BlobStore& blobs, metadata::MetadataStore& meta, ManifestCache& cache,
             SignatureGate& signatures, const Clock& clock, scanner::ScanQueue* scans,
             std::chrono::seconds ttl = std::chrono::seconds(60));

  // A cached pull verdict still valid for every input.
  std::optional<PolicyVerdict> lookup(std::string_view repo, std::string_view digest,
                                      const auth::AccessSnapshot& snapshot);
  // Gathers the facts of a stored manifest, evaluates `policy` (the snapshot's
  // own unless given: a candidate for dry runs) and, for the snapshot's policy
  // at pull, caches the verdict. Blocking.
  PolicyVerdict evaluate(std::string_view repo, std::string_view digest,
                         const auth::AccessSnapshot& snapshot, policy::Phase phase,
                         const policy::Policy* candidate = nullptr);
  // Evaluates a manifest that is being pushed (not stored yet; its blobs are).
  PolicyVerdict evaluate_push(std::string_view repo, std::string_view digest,
                              std::string_view bytes, std::string_view media_type,
                              const auth::AccessSnapshot& snapshot);
  // The refusal message when every image in `repo` using blob `digest` is
  // refused; nullopt to serve. Cached like manifest verdicts. Blocking.
  std::optional<std::string> blob_refusal(std::string_view repo, std::string_view digest,
                                          const auth::AccessSnapshot& snapshot);
  // The cached blob answer when it is still valid (outer nullopt: unknown,
  // call blob_refusal). Never blocks: for the I/O thread.
  std::optional<std::optional<std::string>> cached_blob_refusal(
      std::string_view repo, std::string_view digest, const auth::AccessSnapshot& snapshot);

  // Records newly pushed digests of approved base tags (with their diff_ids)
  // in the bases' history. Blocking; called after a push to repo:tag and when
  // a base is approved. True when something was recorded (reload the snapshot).
  bool track_bases(const auth::AccessSnapshot& snapshot, std::string_view repo = {},
                   std::string_view tag = {});

 private:
  struct Key {
    uint64_t repo_generation;
    int64_t snapshot_generation;
    uint64_t scan_generation;
  };
  struct Entry {
    Key key;
    int64_t valid_until;  // unix seconds; 0 = no clock dependency
    std::chrono::steady_clock::time_point until;
    PolicyVerdict verdict;
  };
  struct BlobEntry {
    Key key;
    int64_t valid_until;
    std::chrono::steady_clock::time_point until;
    std::optional<std::string> refusal;
  };
  Key current_key(std::string_view repo, const auth::AccessSnapshot& snapshot) const;
  bool fresh(const Key& k, int64_t valid_until, std::chrono::steady_clock::time_point until,
             const Key& now_key) const;
  PolicyVerdict evaluate_bytes(std::string_view repo, std::string_view digest,
                               std::string_view bytes, std::string_view media_type,
                               const auth::AccessSnapshot& snapshot, const policy::Policy& policy,
                               policy::Phase phase);

  static constexpr std::size_t kMaxEntries = 20000;

  storage::BlobStore& blobs_;
  metadata::MetadataStore& meta_;
  ManifestCache& cache_;
  SignatureGate& signatures_;
  const Clock& clock_;
  scanner::ScanQueue* scans_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;            // repo '\0' digest; guarded by mu_
  std::unordered_map<std::string, BlobEntry> blobs_refused_;  // repo '\0' digest; guarded by mu_
};

}  // namespace portcullis::api
