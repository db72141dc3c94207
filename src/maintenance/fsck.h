// `portcullis fsck`: the integrity check of the stored registry.
//
//   missing   a blob or manifest the metadata references (in some repository)
//             is not in the blob store
//   corrupt   a stored blob's bytes no longer hash to its digest
//   orphan    a stored blob no repository references (older than the grace
//             period: a blob that was just uploaded for a manifest not pushed
//             yet is not an orphan; uploading an existing blob again refreshes
//             its modification time)
//
// With `repair`, orphans are removed (corrupt blobs and missing references are
// only reported: removing either would hide what a client was told is stored).
// Safe to run against a live registry; it takes no locks and reads each blob
// once. Blocking.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "metadata/metadata.h"
#include "storage/blob_store.h"

namespace portcullis::maintenance {

struct FsckOptions {
  bool verify_digests = true;  // re-hash every stored blob
  bool repair = false;         // remove orphans
  std::chrono::seconds orphan_grace{3600};
};

struct FsckReport {
  std::size_t blobs = 0;       // stored blobs seen
  uint64_t bytes = 0;          // their total size
  std::size_t references = 0;  // (repository, digest) pairs in the metadata
  std::vector<std::string> missing;  // "repository@digest"
  std::vector<std::string> corrupt;  // digests
  std::vector<std::string> orphans;  // digests
  std::size_t removed = 0;           // orphans removed (repair)
  uint64_t removed_bytes = 0;
  bool ok() const { return missing.empty() && corrupt.empty(); }
};

Result<FsckReport> fsck(storage::BlobStore& blobs, metadata::MetadataStore& meta,
                        const Clock& clock, const FsckOptions& options);

}  // namespace portcullis::maintenance
