// Filesystem blob store. On-disk layout under root:
//
//   <root>/
//     blobs/<algorithm>/<first 2 hex>/<hex>   verified content (manifests too)
//     uploads/<id>/data                       bytes received so far for a session
//     tmp/                                    staging for put(); same filesystem as blobs/
//
// Verify-then-commit: content is written to uploads/ or tmp/, hashed while
// streaming, fsync'd, then renamed into blobs/ and the directory fsync'd. A
// crash leaves at most stray files in uploads/ or tmp/, never a partial blob.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "crypto/hash.h"
#include "storage/blob_store.h"

namespace portcullis::storage {

class FilesystemBlobStore final : public BlobStore {
 public:
  // Creates the directories if needed. Throws on failure (start-up only).
  explicit FilesystemBlobStore(std::filesystem::path root);

  Result<uint64_t> stat(const oci::Digest& digest) override;
  Result<std::unique_ptr<BlobReader>> open(const oci::Digest& digest) override;
  Result<std::string> read_all(const oci::Digest& digest, std::size_t limit) override;
  Result<void> put(const oci::Digest& digest, std::string_view bytes) override;
  Result<void> remove(const oci::Digest& digest) override;
  Result<void> list_blobs(const BlobVisitor& each) override;

  Result<std::string> create_upload() override;
  Result<uint64_t> upload_size(std::string_view id) override;
  Result<std::unique_ptr<UploadWriter>> append(std::string_view id, uint64_t offset) override;
  Result<uint64_t> commit_upload(std::string_view id, const oci::Digest& digest) override;
  Result<void> cancel_upload(std::string_view id) override;

  std::filesystem::path blob_path(const oci::Digest& digest) const;

  // The running sha256 of a session's bytes, kept between requests so that
  // commit need not re-read them. Lost on restart: then rebuilt from the file.
  struct HashState {
    crypto::Hasher hasher{crypto::HashAlgorithm::sha256};
    uint64_t size = 0;
  };

 private:
  class Writer;
  friend class Writer;

  std::filesystem::path upload_dir(std::string_view id) const;
  Result<void> install(const std::filesystem::path& from, const oci::Digest& digest);
  // Takes the session's hash state for exclusive use; false if another writer has it.
  bool checkout(const std::string& id, std::unique_ptr<HashState>* state);
  void checkin(const std::string& id, std::unique_ptr<HashState> state);
  void forget(const std::string& id);

  std::filesystem::path root_;
  std::mutex mu_;
  // id -> state; a null entry means "checked out by a writer". Guarded by mu_.
  std::map<std::string, std::unique_ptr<HashState>, std::less<>> sessions_;
};

}  // namespace portcullis::storage
