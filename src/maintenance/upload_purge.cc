#include "maintenance/upload_purge.h"

#include <spdlog/spdlog.h>

namespace portcullis::maintenance {

Result<std::size_t> purge_uploads(storage::BlobStore& blobs, metadata::UploadIndex& uploads,
                                  const Clock& clock, std::chrono::seconds max_age) {
  const int64_t cutoff = clock.unix_seconds() - max_age.count();
  std::size_t purged = 0;
  constexpr std::size_t kBatch = 500;
  for (;;) {
    auto ids = uploads.uploads_started_before(cutoff, kBatch);
    if (!ids) return ids.error();
    for (const auto& id : *ids) {
      auto cancelled = blobs.cancel_upload(id);
      if (!cancelled && cancelled.error().code != Errc::blob_upload_unknown) {
        spdlog::warn("uploads: cannot remove session {}: {}", id, cancelled.error().message);
      }
      if (auto r = uploads.delete_upload(id); !r) return r.error();
      ++purged;
    }
    if (ids->size() < kBatch) break;
  }
  return purged;
}

UploadPurger::UploadPurger(storage::BlobStore& blobs, metadata::UploadIndex& uploads,
                           const Clock& clock, std::chrono::seconds max_age,
                           std::chrono::seconds interval)
    : blobs_(blobs), uploads_(uploads), clock_(clock), max_age_(max_age), interval_(interval) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      auto n = purge_uploads(blobs_, uploads_, clock_, max_age_);
      if (!n) {
        spdlog::warn("uploads: purge failed: {}", n.error().message);
      } else if (*n > 0) {
        spdlog::info("uploads: purged {} abandoned upload session(s) older than {} h", *n,
                     max_age_.count() / 3600);
      }
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

UploadPurger::~UploadPurger() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace portcullis::maintenance
