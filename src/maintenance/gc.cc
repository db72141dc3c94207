// Online garbage collection; the protocol and why it is safe: gc.h.
#include "maintenance/gc.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "oci/digest.h"

namespace portcullis::maintenance {

namespace {

constexpr std::size_t kMarkBatch = 250;    // digests per mark transaction (bounds lock hold time)
constexpr std::size_t kSweepBatch = 250;   // marks per delete transaction
constexpr std::size_t kAuditBatch = 500;   // events per audit append
constexpr int kManifestPasses = 32;        // index -> children -> ... depth bound per run
// Rows a sweep has moved to 'deleting' are finished in groups this small, so
// a push waiting for one of them (touch_before_write) waits for a few
// removals, not for a whole batch on a remote store.
constexpr std::size_t kFinishGroup = 16;
// A live collector finishes a deletion it began well within this; a row in
// 'deleting' for longer belongs to a collector that stopped.
constexpr std::chrono::seconds kDeletionLease{3600};

audit::AuditEvent gc_event(const Clock& clock, std::string repository, std::string digest,
                           std::string detail) {
  audit::AuditEvent e;
  e.time_ms = clock.unix_millis();
  e.actor = "gc";
  e.action = "delete";
  e.repository = std::move(repository);
  e.reference = digest;
  e.digest = std::move(digest);
  e.result = "success";
  e.detail = std::move(detail);
  return e;
}

class AuditBatch {
 public:
  explicit AuditBatch(metadata::AuditLog& log) : log_(log) {}
  Result<void> add(audit::AuditEvent e) {
    events_.push_back(std::move(e));
    if (events_.size() >= kAuditBatch) return flush();
    return {};
  }
  Result<void> flush() {
    if (events_.empty()) return {};
    auto r = log_.append_audit(events_);
    events_.clear();
    return r;
  }

 private:
  metadata::AuditLog& log_;
  std::vector<audit::AuditEvent> events_;
};

bool default_sleep(std::chrono::seconds d) {
  std::this_thread::sleep_for(d);
  return true;
}

// Removes the bytes; a blob already gone is fine (a crash after the removal).
Result<void> remove_bytes(storage::BlobStore& blobs, const std::string& digest) {
  auto parsed = oci::Digest::parse(digest);
  if (!parsed) {
    spdlog::warn("gc: skipping malformed digest {} in the metadata", digest);
    return {};
  }
  auto r = blobs.remove(*parsed);
  if (!r && r.error().code != Errc::blob_unknown) return r.error();
  return {};
}

}  // namespace

Result<void> touch_before_write(metadata::BlobCollector& meta, const Clock& clock,
                                const std::vector<std::string>& digests,
                                std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto touched = meta.touch_blobs(digests, clock.unix_seconds());
    if (!touched) return touched.error();
    if (*touched) return {};
    // A collector is removing one of these right now: it takes milliseconds.
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(Errc::unavailable,
                        "a blob is being garbage collected; retry the request");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool RecentTouches::fresh(const std::string& digest, int64_t now) const {
  std::lock_guard lock(mu_);
  auto it = touched_.find(digest);
  return it != touched_.end() && now - it->second < interval_ && now >= it->second;
}

void RecentTouches::record(const std::string& digest, int64_t now) {
  std::lock_guard lock(mu_);
  if (touched_.size() >= max_entries_) touched_.clear();
  touched_[digest] = now;
}

Result<GcReport> collect_garbage(storage::BlobStore& blobs, metadata::MetadataStore& meta,
                                 const Clock& clock, const GcOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  GcReport report;
  std::set<std::string> repositories;
  AuditBatch audit(meta);
  const int64_t now = clock.unix_seconds();
  const int64_t cutoff = now - options.grace.count();

  // 1. Deletions a stopped collector left half done: the links are gone
  // already, so the bytes are garbage. Only deletions begun longer ago than
  // any live collector takes over a batch (kDeletionLease) are taken over.
  if (!options.dry_run) {
    auto leftovers = meta.deleting_blobs(now - kDeletionLease.count(), now);
    if (!leftovers) return leftovers.error();
    for (const auto& d : *leftovers) {
      if (auto r = remove_bytes(blobs, d); !r) return r.error();
      report.blobs.push_back({"", d, 0});
      if (auto a = audit.add(gc_event(clock, "", d, "blob reclaimed by garbage collection (resumed)"));
          !a) {
        return a.error();
      }
    }
    if (auto r = meta.finish_blob_delete(*leftovers); !r) return r.error();
  }

  // 2. Manifests.
  metadata::ManifestGcRule rule;
  rule.delete_untagged = options.delete_untagged;
  rule.untagged_before = now - options.untagged_age.count();
  rule.orphan_before = cutoff;
  for (int pass = 0; pass < kManifestPasses; ++pass) {
    auto candidates = meta.manifest_gc_candidates(rule);
    if (!candidates) return candidates.error();
    if (candidates->empty()) break;
    std::size_t deleted = 0;
    for (auto& [repo, digest] : *candidates) {
      if (options.dry_run) {
        report.manifests.push_back({repo, digest, 0});
        continue;
      }
      auto record = meta.get_manifest(repo, digest);
      if (!record) return record.error();
      uint64_t size = *record ? static_cast<uint64_t>((*record)->size) : 0;
      auto event = gc_event(clock, repo, digest, "manifest reclaimed by garbage collection");
      metadata::WriteOptions write;
      write.audit = &event;
      auto removed = meta.delete_manifest_if_garbage(repo, digest, rule, write);
      if (!removed) return removed.error();
      if (!*removed) continue;
      ++deleted;
      repositories.insert(repo);
      report.manifests.push_back({repo, digest, size});
    }
    if (options.dry_run || deleted == 0) break;
  }

  // 3. Blob candidates: unreferenced and unmodified within the grace period.
  auto referenced_list = meta.referenced_digests();
  if (!referenced_list) return referenced_list.error();
  std::unordered_set<std::string> referenced(referenced_list->begin(), referenced_list->end());
  referenced_list->clear();
  std::unordered_map<std::string, uint64_t> candidates;
  auto listed = blobs.list_blobs([&](const oci::Digest& d, uint64_t size, int64_t mtime) {
    ++report.blobs_scanned;
    report.bytes_scanned += size;
    if (mtime >= cutoff) return true;
    std::string text = d.str();
    if (!referenced.count(text)) candidates.emplace(std::move(text), size);
    return true;
  });
  if (!listed) return listed.error();
  referenced.clear();

  std::vector<std::string> batch;
  batch.reserve(kMarkBatch);
  auto mark = [&]() -> Result<void> {
    auto marked = meta.mark_blobs(batch, cutoff, clock.unix_seconds(), options.dry_run);
    batch.clear();
    if (!marked) return marked.error();
    if (options.dry_run) {
      for (auto& d : *marked) {
        uint64_t size = candidates[d];
        report.bytes_reclaimed += size;
        report.blobs.push_back({"", std::move(d), size});
      }
    }
    return {};
  };
  for (const auto& [digest, size] : candidates) {
    batch.push_back(digest);
    if (batch.size() == kMarkBatch) {
      if (auto r = mark(); !r) return r.error();
    }
  }
  if (auto r = mark(); !r) return r.error();
  if (options.dry_run) {
    std::sort(report.blobs.begin(), report.blobs.end(),
              [](const GcDeleted& a, const GcDeleted& b) { return a.digest < b.digest; });
    report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return report;
  }

  // 4. Give pushes that saw a marked blob as present the time to touch it.
  if (options.mark_delay.count() > 0) {
    bool go_on = options.sleep ? options.sleep(options.mark_delay) : default_sleep(options.mark_delay);
    if (!go_on) return make_error(Errc::unavailable, "garbage collection stopped");
  }

  // 5. Sweep marks old enough, re-judging each in begin_blob_delete.
  const int64_t marked_before = clock.unix_seconds() - options.mark_delay.count();
  for (;;) {
    auto marks = meta.marked_blobs(marked_before, kSweepBatch);
    if (!marks) return marks.error();
    if (marks->empty()) break;
    auto begun = meta.begin_blob_delete(*marks, cutoff, marked_before, clock.unix_seconds());
    if (!begun) return begun.error();
    std::vector<std::string> removed;
    removed.reserve(begun->size());
    for (auto& deletion : *begun) {
      const std::string& d = deletion.digest;
      uint64_t size = 0;
      if (auto it = candidates.find(d); it != candidates.end()) {
        size = it->second;
      } else if (auto parsed = oci::Digest::parse(d)) {
        auto st = blobs.stat(*parsed);
        if (st) size = *st;
      }
      if (auto r = remove_bytes(blobs, d); !r) {
        // Finish what is already removed; the rest stays 'deleting' for the next run.
        (void)meta.finish_blob_delete(removed);
        return r.error();
      }
      removed.push_back(d);
      if (removed.size() >= kFinishGroup) {
        if (auto r = meta.finish_blob_delete(removed); !r) return r.error();
        removed.clear();
      }
      report.bytes_reclaimed += size;
      report.blobs.push_back({"", d, size});
      std::string detail = fmt::format("blob reclaimed by garbage collection ({} bytes)", size);
      if (deletion.repositories.empty()) {
        if (auto a = audit.add(gc_event(clock, "", d, detail)); !a) return a.error();
      }
      for (auto& repo : deletion.repositories) {
        if (auto a = audit.add(gc_event(clock, repo, d, detail)); !a) return a.error();
        repositories.insert(std::move(repo));
      }
    }
    if (auto r = meta.finish_blob_delete(removed); !r) return r.error();
    // Every mark fetched is now deleted or unmarked, so the next query moves on.
    if (marks->size() < kSweepBatch) break;
  }
  if (auto a = audit.flush(); !a) return a.error();
  report.repositories.assign(repositories.begin(), repositories.end());
  report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return report;
}

GarbageCollector::GarbageCollector(storage::BlobStore& blobs, metadata::MetadataStore& meta,
                                   const Clock& clock, GcOptions options,
                                   std::chrono::seconds interval,
                                   std::function<void(const Result<GcReport>&)> on_run)
    : blobs_(blobs),
      meta_(meta),
      clock_(clock),
      options_(std::move(options)),
      interval_(interval),
      on_run_(std::move(on_run)) {
  // The mark delay waits on the same condition, so shutdown never waits for it.
  options_.sleep = [this](std::chrono::seconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return stopping_; });
  };
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      auto report = collect_garbage(blobs_, meta_, clock_, options_);
      if (!report) {
        spdlog::warn("gc: run failed: {}", report.error().message);
      } else if (!report->blobs.empty() || !report->manifests.empty()) {
        spdlog::info("gc: reclaimed {} blob(s) ({} bytes) and {} manifest(s) in {} ms",
                     report->blobs.size(), report->bytes_reclaimed, report->manifests.size(),
                     report->duration.count());
      }
      if (on_run_) on_run_(report);
      lock.lock();
    }
  });
}

GarbageCollector::~GarbageCollector() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace portcullis::maintenance
