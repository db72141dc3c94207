// Scan on push: a queue of manifest digests scanned by a bounded number of
// threads. A scan reads the image's layers from the blob store into an
// inventory, matches it against the advisory database and stores both (per
// manifest digest; an index is the union of its children). When the advisory
// data changes, stored inventories are re-matched without reading layers.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "metadata/metadata.h"
#include "scanner/advisories/database.h"
#include "scanner/image/image_scan.h"
#include "storage/blob_store.h"

namespace portcullis::scanner {

struct QueueOptions {
  std::size_t workers = 1;          // scans running at once
  std::size_t max_queued = 100000;  // further digests are dropped (and logged)
  image::Limits limits;
  std::chrono::seconds rematch_interval{30};  // how often to look for new advisory data
};

struct QueueStats {
  std::size_t queued = 0;
  std::size_t running = 0;
  uint64_t scans_done = 0;
  uint64_t scans_failed = 0;
  double scan_seconds_total = 0;
  uint64_t rematches = 0;
};

class ScanQueue {
 public:
  ScanQueue(QueueOptions options, storage::BlobStore& blobs, metadata::ScanResults& results,
            advisories::AdvisoryDatabase& db, const Clock& clock);
  ~ScanQueue();  // stops the threads; queued work stays "queued" and resumes next start
  ScanQueue(const ScanQueue&) = delete;
  ScanQueue& operator=(const ScanQueue&) = delete;

  // Starts the workers, re-queues unfinished scans and begins watching the
  // advisory data.
  void start();
  // Queues a manifest digest (no-op if already queued or running).
  void enqueue(const std::string& digest);
  // Re-matches every stored inventory whose findings are older than the
  // current advisory data. Returns how many were updated.
  std::size_t rematch_stale();
  // Scans one manifest now, on the calling thread (also used by the workers).
  Result<metadata::ScanRecord> scan_now(const std::string& digest);

  QueueStats stats() const;
  // Increases after every scan record this queue writes (queued, finished,
  // failed, re-matched): cached decisions that read scan results compare it.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  void worker();
  void watcher();
  Result<Inventory> inventory_of(const oci::Digest& digest, int depth);

  QueueOptions options_;
  storage::BlobStore& blobs_;
  metadata::ScanResults& results_;
  advisories::AdvisoryDatabase& db_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;      // guarded by mu_
  std::set<std::string> pending_;      // queued or running; guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  std::size_t running_ = 0;            // guarded by mu_
  uint64_t done_ = 0, failed_ = 0, rematches_ = 0;  // guarded by mu_
  double seconds_ = 0;                 // guarded by mu_
  std::string last_data_version_;      // guarded by mu_
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace portcullis::scanner
