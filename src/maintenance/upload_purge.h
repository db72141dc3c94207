// Purging abandoned upload sessions: a client that starts an upload and never
// finishes it leaves a session (metadata row and partial bytes) behind. Those
// started longer ago than `max_age` are cancelled and forgotten, as
// Distribution's upload purging does (a session is judged by when it
// started, so keep max_age well above the longest upload expected).
//
// UploadPurger runs purge_uploads() every `interval` on its own thread until
// destroyed. Thread-safe with respect to the registry: cancelling a session
// that a client is still writing makes its next request BLOB_UPLOAD_UNKNOWN.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "base/error.h"
#include "metadata/metadata.h"
#include "storage/blob_store.h"

namespace portcullis::maintenance {

// Cancels sessions started more than max_age ago; returns how many.
Result<std::size_t> purge_uploads(storage::BlobStore& blobs, metadata::UploadIndex& uploads,
                                  const Clock& clock, std::chrono::seconds max_age);

class UploadPurger {
 public:
  UploadPurger(storage::BlobStore& blobs, metadata::UploadIndex& uploads, const Clock& clock,
               std::chrono::seconds max_age, std::chrono::seconds interval);
  ~UploadPurger();
  UploadPurger(const UploadPurger&) = delete;
  UploadPurger& operator=(const UploadPurger&) = delete;

 private:
  storage::BlobStore& blobs_;
  metadata::UploadIndex& uploads_;
  const Clock& clock_;
  std::chrono::seconds max_age_;
  std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace portcullis::maintenance
