// The blob store: content-addressed bytes plus resumable upload sessions.
// Implementations are thread-safe. A blob becomes visible (stat/open succeed)
// only once its bytes are durable and verified against its digest.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/digest.h"

namespace portcullis::storage {

// An open blob. Either a local file (the filesystem store: fd() >= 0, so the
// server can sendfile(2) it and libraries can hand its path to others), or a
// remote object read in ranges (fd() == -1). Not thread-safe; blocking.
class BlobReader {
 public:
  explicit BlobReader(uint64_t size) : size_(size) {}
  virtual ~BlobReader() = default;
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;
  uint64_t size() const { return size_; }
  // The descriptor of a local file, owned by the reader; -1 for a remote blob.
  virtual int fd() const { return -1; }
  // Gives up ownership of the descriptor (-1 when there is none).
  virtual int release() { return -1; }
  // Reads up to n bytes at offset. Returns fewer only at the end of the blob,
  // 0 at or past the end.
  virtual Result<std::size_t> read_at(uint64_t offset, char* buf, std::size_t n) = 0;

 private:
  uint64_t size_;
};

// Appends to one upload session. Not thread-safe; one writer per session at a
// time (the store refuses a second concurrent writer with blob_upload_invalid).
class UploadWriter {
 public:
  virtual ~UploadWriter() = default;
  virtual Result<void> write(const char* data, std::size_t size) = 0;
  // Bytes in the session so far, including what this writer wrote.
  virtual uint64_t size() const = 0;
  // Makes the written bytes durable and releases the session for the next writer.
  virtual Result<void> close() = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Size of a stored blob, or blob_unknown.
  virtual Result<uint64_t> stat(const oci::Digest& digest) = 0;
  virtual Result<std::unique_ptr<BlobReader>> open(const oci::Digest& digest) = 0;
  // False when open() does network I/O (callers on an event loop offload it).
  virtual bool open_is_local() const { return true; }
  // Where clients may fetch the blob directly (a presigned object-store URL),
  // when the store is configured to hand those out; nullopt otherwise.
  virtual std::optional<std::string> redirect_url(const oci::Digest&) const { return std::nullopt; }
  // Whole blob into memory; size_invalid when larger than limit.
  virtual Result<std::string> read_all(const oci::Digest& digest, std::size_t limit) = 0;
  // Stores bytes under digest after checking they hash to it (digest_invalid otherwise).
  virtual Result<void> put(const oci::Digest& digest, std::string_view bytes) = 0;
  virtual Result<void> remove(const oci::Digest& digest) = 0;
  // Every stored blob with its size and last modification (unix seconds), in
  // no particular order; stops early when `each` returns false. Entries that
  // are not blobs (stray files) are skipped and logged.
  using BlobVisitor = std::function<bool(const oci::Digest& digest, uint64_t size, int64_t mtime)>;
  virtual Result<void> list_blobs(const BlobVisitor& each) = 0;

  // Upload sessions. Ids are opaque, URL-safe and validated by the store.
  virtual Result<std::string> create_upload() = 0;
  // Current size of the session, or blob_upload_unknown.
  virtual Result<uint64_t> upload_size(std::string_view id) = 0;
  // Opens the session for appending at offset; range_invalid if offset is not its size.
  virtual Result<std::unique_ptr<UploadWriter>> append(std::string_view id, uint64_t offset) = 0;
  // Verifies the session's bytes against digest and moves them into place. On
  // digest mismatch the session is discarded and digest_invalid is returned.
  virtual Result<uint64_t> commit_upload(std::string_view id, const oci::Digest& digest) = 0;
  virtual Result<void> cancel_upload(std::string_view id) = 0;
};

}  // namespace portcullis::storage
