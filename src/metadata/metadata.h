// Metadata role interfaces: what the registry knows about repositories,
// tags, manifests, referrers and upload sessions. Blob bytes live in
// storage/; rows here point at digests. Implementations are thread-safe.
// "Not found" is an empty optional / false, never an error; errors mean the
// engine failed (Errc::internal).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace portcullis::metadata {

struct ManifestRecord {
  std::string digest;
  std::string media_type;
  int64_t size = 0;
  std::string artifact_type;     // as reported by the referrers API
  std::string subject;           // digest of the subject, empty if none
  std::string annotations_json;  // manifest annotations as a JSON object, "" if none
  int64_t created_at = 0;        // unix seconds
};

// What a manifest points at, kept for validation and garbage collection.
struct ManifestChild {
  std::string digest;
  bool is_manifest = false;  // child manifest of an index (else a blob)
};

class RepositoryIndex {
 public:
  virtual ~RepositoryIndex() = default;
  // Repository names in lexical order, strictly after `last`, at most n.
  virtual Result<std::vector<std::string>> list_repositories(std::string_view last,
                                                             std::size_t n) = 0;
  virtual Result<bool> repository_exists(std::string_view repo) = 0;
};

class BlobLinks {
 public:
  virtual ~BlobLinks() = default;
  // Makes a stored blob part of a repository (creates the repository).
  virtual Result<void> link_blob(std::string_view repo, std::string_view digest, int64_t size) = 0;
  // Size of a blob (or manifest) reachable through repo.
  virtual Result<std::optional<int64_t>> linked_blob(std::string_view repo,
                                                     std::string_view digest) = 0;
  virtual Result<bool> unlink_blob(std::string_view repo, std::string_view digest) = 0;
};

class ManifestIndex {
 public:
  virtual ~ManifestIndex() = default;
  // Records a manifest and, when tag is non-empty, points the tag at it; one
  // transaction.
  virtual Result<void> put_manifest(std::string_view repo, const ManifestRecord& manifest,
                                    const std::vector<ManifestChild>& children,
                                    std::string_view tag) = 0;
  virtual Result<std::optional<ManifestRecord>> get_manifest(std::string_view repo,
                                                             std::string_view digest) = 0;
  // Removes the manifest and every tag pointing at it. False if it was not there.
  virtual Result<bool> delete_manifest(std::string_view repo, std::string_view digest) = 0;
};

class TagIndex {
 public:
  virtual ~TagIndex() = default;
  virtual Result<std::optional<std::string>> resolve_tag(std::string_view repo,
                                                         std::string_view tag) = 0;
  // Tags in lexical order after `last`, at most n; nullopt when the repository is unknown.
  virtual Result<std::optional<std::vector<std::string>>> list_tags(std::string_view repo,
                                                                    std::string_view last,
                                                                    std::size_t n) = 0;
  virtual Result<bool> delete_tag(std::string_view repo, std::string_view tag) = 0;
};

class ReferrerIndex {
 public:
  virtual ~ReferrerIndex() = default;
  // Manifests in repo whose subject is `subject`; filtered by artifact type when non-empty.
  virtual Result<std::vector<ManifestRecord>> list_referrers(std::string_view repo,
                                                             std::string_view subject,
                                                             std::string_view artifact_type) = 0;
};

class UploadIndex {
 public:
  virtual ~UploadIndex() = default;
  virtual Result<void> create_upload(std::string_view id, std::string_view repo,
                                     int64_t started_at) = 0;
  // The repository an upload session belongs to, if the session exists.
  virtual Result<std::optional<std::string>> upload_repository(std::string_view id) = 0;
  virtual Result<void> delete_upload(std::string_view id) = 0;
};

struct ScanRecord {
  std::string digest;
  std::string status;        // "queued", "running", "done", "failed"
  std::string inventory;     // scanner inventory as JSON ("" until read)
  std::string findings;      // findings as JSON ("" until matched)
  std::string data_version;  // advisory data the findings were computed against
  std::string error;         // why a scan failed
  int64_t updated_at = 0;
};

class ScanResults {
 public:
  virtual ~ScanResults() = default;
  // Inserts or replaces the whole record.
  virtual Result<void> put_scan(const ScanRecord& record) = 0;
  virtual Result<std::optional<ScanRecord>> get_scan(std::string_view digest) = 0;
  // Digests of finished scans whose findings were computed with other data.
  virtual Result<std::vector<std::string>> stale_scans(std::string_view data_version) = 0;
  // Scans not finished (queued or running), e.g. to resume after a restart.
  virtual Result<std::vector<std::string>> unfinished_scans() = 0;
};

// Everything the registry needs, from one engine.
class MetadataStore : public RepositoryIndex,
                      public BlobLinks,
                      public ManifestIndex,
                      public TagIndex,
                      public ReferrerIndex,
                      public UploadIndex,
                      public ScanResults {};

}  // namespace portcullis::metadata
