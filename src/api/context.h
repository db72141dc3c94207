// What the API handlers work with. Built once by the composition root.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "api/manifest_cache.h"
#include "api/metrics.h"
#include "base/clock.h"
#include "metadata/metadata.h"
#include "net/http.h"
#include "storage/blob_store.h"

namespace portcullis::scanner {
class ScanQueue;
}
namespace portcullis::auth {
class Admin;
class AccessService;
}

namespace portcullis::maintenance {
class RecentTouches;
}

namespace portcullis::api {

class AccessControl;
class AuditRecorder;
class SignatureGate;
class PolicyGate;

struct Options {
  std::size_t max_manifest_bytes = 4 * 1024 * 1024;  // larger manifest PUTs get 413 SIZE_INVALID
  std::size_t max_page_size = 10000;                 // cap on `n` for tags/list and _catalog
  std::size_t default_catalog_page = 1000;           // `n` when the client gives none
  std::size_t upload_buffer_bytes = 1 << 20;         // read size while streaming uploads
  // Other processes write the same metadata (replicas sharing PostgreSQL):
  // what a tag names, whether a manifest or blob is in a repository and what
  // signatures exist is read from the database on every request; only
  // immutable content (manifest bytes by digest) is served from memory.
  bool shared_metadata = false;
};

struct Context {
  storage::BlobStore& blobs;
  metadata::MetadataStore& meta;
  ManifestCache& cache;
  Metrics& metrics;
  const Clock& clock;
  Options options;
  scanner::ScanQueue* scans = nullptr;  // scan on push; null when scanning is off
  AccessControl* access = nullptr;      // null: authentication disabled (loopback only)
  auth::Admin* admin = nullptr;         // admin API; null when authentication is disabled
  AuditRecorder* audit = nullptr;       // events outside metadata writes; null: not recorded
  // Security configuration (namespaces, tag rules, keys, trust policies), read
  // whether or not authentication is on; with `signatures`, pulls are gated by
  // signature trust policies.
  auth::AccessService* security = nullptr;
  SignatureGate* signatures = nullptr;
  // Blob HEADs touch the digest for the garbage collector (maintenance/gc.h),
  // at most once per interval per digest; null: HEAD touches every time.
  maintenance::RecentTouches* touches = nullptr;
  // The registry policy (policy/): pulls, pushes and blobs are gated when
  // `security` has policy rules. policy_admin manages policy versions and
  // approved bases (/api/v1/policy/…), with or without authentication.
  PolicyGate* policy = nullptr;
  auth::Admin* policy_admin = nullptr;
};

// Decoded query parameters (last value wins).
using Query = std::map<std::string, std::string, std::less<>>;

inline std::string_view query_value(const Query& q, std::string_view key) {
  auto it = q.find(key);
  return it == q.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace portcullis::api
