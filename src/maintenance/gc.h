// Online garbage collection: deletes blobs no manifest references and,
// by policy, untagged manifests, while the registry keeps serving pushes and
// pulls. Works on the BlobStore interface only (list_blobs, stat, remove), so
// any blob store will do.
//
// What is live
//   - every manifest that is tagged, a child of a stored index, younger than
//     the untagged age (or any untagged manifest with `untagged: keep`), or a
//     referrer (OCI `subject`, or a cosign tag sha256-<hex>.sig/.att/.sbom)
//     whose subject is stored: signatures, SBOMs and attestations live and
//     die with their subject;
//   - every blob such a manifest is or references, in any repository;
//   - every blob stored, linked or referenced within the grace period.
//
// The protocol (metadata::BlobCollector; one blob_gc row per digest)
//   Writers: an upload about to commit, a cross-repository mount, a manifest
//   PUT (for the manifest's own digest, its layers, config and child
//   manifests) first *touch* the digests, in a transaction on their blob_gc
//   rows: touched_at = now, and any pending mark is cancelled. Only then do
//   they store bytes, link or reference them. A blob HEAD that answers 200
//   touches too (the client may skip the upload on its word), at most once
//   per RecentTouches interval (<= grace/4) per digest and server.
//   Collector, per run:
//     1. finish deletions a stopped collector left in state 'deleting';
//     2. delete garbage manifests, each in one transaction that re-judges it
//        after locking its digest's blob_gc row (repeat until none is left:
//        deleting an index frees its children, a subject its referrers);
//     3. list the blob store; a blob not referenced and not modified within
//        the grace period is a candidate; *mark* candidates in transactions
//        that re-check references and that the row was not touched within
//        the grace period;
//     4. wait `mark_delay` (in-flight pushes that already decided a blob
//        exists get that long to touch it, which cancels the mark);
//     5. for marks at least mark_delay old, in batches: begin_blob_delete
//        moves each to 'deleting' only if it is still marked, untouched since
//        the grace cutoff and unreferenced, removing its repository links in
//        the same transaction; then the bytes are removed; then the rows.
//
// Why a concurrent push always wins
//   touch and begin_blob_delete write the same row, so one commits first
//   (SQLite: one writer at a time; PostgreSQL: the row lock, and ON CONFLICT
//   DO UPDATE / UPDATE judge the newest committed version).
//   - touch first: the row is live and recently touched, so the collector
//     will not mark or delete it within the grace period: the push's bytes,
//     links and references are safe as long as the push finishes within the
//     grace period.
//   - begin_blob_delete first: touch sees 'deleting', waits until the row is
//     gone (bytes removed), and touches again; the upload then stores the
//     bytes anew (commit renames them into place), so a blob re-pushed after
//     the mark is stored again, never lost. A manifest PUT that only named a
//     blob it had not uploaded finds it unlinked (MANIFEST_BLOB_UNKNOWN) —
//     which needs the client's HEAD (its touch) to be more than the grace
//     period older than its PUT: a push spanning the grace period.
//   Manifests the same way: delete_manifest_if_garbage locks the manifest
//   digest's row before judging it; a PUT that touched it (re-tag, index
//   naming it as a child, a referrer's subject re-pushed) keeps it.
//   Pulls of live content never fail: live manifests and the blobs they
//   reference are never marked.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "metadata/metadata.h"
#include "storage/blob_store.h"

namespace portcullis::maintenance {

struct GcOptions {
  std::chrono::seconds grace{24 * 3600};  // blobs/links/references younger than this are live
  bool delete_untagged = false;           // gc.untagged: delete (true) | keep
  std::chrono::seconds untagged_age{7 * 24 * 3600};
  std::chrono::seconds mark_delay{60};    // between marking a blob and deleting it
  bool dry_run = false;                   // report only; changes nothing
  // Sleeps for the mark delay; returns false to abandon the run (shutdown).
  // Empty: std::this_thread::sleep_for.
  std::function<bool(std::chrono::seconds)> sleep;
};

struct GcDeleted {
  std::string repository;  // manifests: their repository; blobs: "" (global)
  std::string digest;
  uint64_t size = 0;
};

struct GcReport {
  uint64_t blobs_scanned = 0;
  uint64_t bytes_scanned = 0;
  std::vector<GcDeleted> blobs;      // deleted (or, dry run, that would be marked)
  std::vector<GcDeleted> manifests;  // deleted (or, dry run, first-pass candidates)
  uint64_t bytes_reclaimed = 0;
  std::vector<std::string> repositories;  // whose manifests or links changed
  std::chrono::milliseconds duration{0};
};

// One collection. Safe to run while servers (any number of replicas) serve
// the same metadata and blob store, and beside another collector.
Result<GcReport> collect_garbage(storage::BlobStore& blobs, metadata::MetadataStore& meta,
                                 const Clock& clock, const GcOptions& options);

// Touches digests for a writer (see the protocol above), waiting while one of
// them is being deleted (up to `patience`; then Errc::unavailable).
Result<void> touch_before_write(metadata::BlobCollector& meta, const Clock& clock,
                                const std::vector<std::string>& digests,
                                std::chrono::milliseconds patience = std::chrono::seconds(30));

// Which digests this process touched recently, so that a hot path (blob
// HEAD) touches each in the database at most once per `interval`. A digest
// touched within interval <= grace/2 is protected in the database for at
// least another grace - interval. Thread-safe; forgets everything when full.
class RecentTouches {
 public:
  explicit RecentTouches(std::chrono::seconds interval, std::size_t max_entries = 1 << 20)
      : interval_(interval.count()), max_entries_(max_entries) {}
  bool fresh(const std::string& digest, int64_t now) const;
  void record(const std::string& digest, int64_t now);

 private:
  int64_t interval_;
  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> touched_;  // digest -> unix seconds; guarded by mu_
};

// Runs collect_garbage every `interval` on its own thread until destroyed
// (the first run one interval after start). `on_run` sees every report.
class GarbageCollector {
 public:
  GarbageCollector(storage::BlobStore& blobs, metadata::MetadataStore& meta, const Clock& clock,
                   GcOptions options, std::chrono::seconds interval,
                   std::function<void(const Result<GcReport>&)> on_run);
  ~GarbageCollector();
  GarbageCollector(const GarbageCollector&) = delete;
  GarbageCollector& operator=(const GarbageCollector&) = delete;

 private:
  storage::BlobStore& blobs_;
  metadata::MetadataStore& meta_;
  const Clock& clock_;
  GcOptions options_;
  std::chrono::seconds interval_;
  std::function<void(const Result<GcReport>&)> on_run_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace portcullis::maintenance
