// S3 blob store: blobs and upload sessions as objects in one bucket, under an
// optional key prefix. Layout:
//
//   <prefix>/
//     blobs/<algorithm>/<first 2 hex>/<hex>   verified content (manifests too)
//     _uploads/<id>/state                     session state, JSON: size, running
//                                             SHA-256 state, multipart upload id,
//                                             completed parts (number, size, ETag),
//                                             tail segments (number, size)
//     _uploads/<id>/tail.<n>                  bytes after the last part, one segment
//                                             per append (less than part_size in all)
//     _uploads/<id>/data                      the assembled upload, during commit only
//
// Every bit of session state lives in the bucket, so any process sharing the
// bucket can continue or finish a session another one started.
//
// Crash consistency: the state object is the commit point of an append. A
// writer uploads new multipart parts (reading the saved tail segments back
// once, when they start a part) and one new tail segment with the bytes
// left, then replaces the state (one PUT, atomic in S3), then deletes the
// segments now inside parts. An append costs its own bytes once, not the
// whole tail. A crash before the state PUT leaves the session at its previous
// offset; parts and the segment uploaded meanwhile are overwritten by the
// next writer (same numbers) or left out of the completed object. A blob key is only written once
// the session's digest has been verified (from the saved hash state, or by reading the assembled
// object back for non-SHA-256 digests): by a PUT whose x-amz-content-sha256 the store checks, or by
// a server-side copy of the verified assembled object.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "crypto/hash.h"
#include "storage/blob_store.h"
#include "storage/s3/client.h"

namespace portcullis::storage {

struct S3Options {
  s3::ClientOptions client;
  std::string prefix;  // key prefix inside the bucket ("" or e.g. "registry/prod")
  // Size of each multipart part of an upload (S3: at least 5 MiB except the
  // last); also the most a session keeps in its tail object.
  std::size_t part_size = 16 * 1024 * 1024;
  // Objects up to this size are copied with one CopyObject (S3's limit is
  // 5 GiB); larger ones with a multipart UploadPartCopy of copy_part_size parts.
  uint64_t copy_single_max = uint64_t{5} << 30;
  uint64_t copy_part_size = uint64_t{1} << 30;
  // Blob GETs are answered with a redirect to a presigned URL valid
  // presign_expiry, instead of streaming through the registry.
  bool redirect = false;
  std::chrono::seconds presign_expiry{900};
};

class S3BlobStore final : public BlobStore {
 public:
  // Checks that the bucket is reachable (HEAD). Throws std::runtime_error
  // otherwise (start-up only).
  explicit S3BlobStore(S3Options options);
  ~S3BlobStore() override;

  Result<uint64_t> stat(const oci::Digest& digest) override;
  Result<std::unique_ptr<BlobReader>> open(const oci::Digest& digest) override;
  bool open_is_local() const override { return false; }
  Result<std::string> read_all(const oci::Digest& digest, std::size_t limit) override;
  Result<void> put(const oci::Digest& digest, std::string_view bytes) override;
  Result<void> remove(const oci::Digest& digest) override;
  Result<void> list_blobs(const BlobVisitor& each) override;

  Result<std::string> create_upload() override;
  Result<uint64_t> upload_size(std::string_view id) override;
  Result<std::unique_ptr<UploadWriter>> append(std::string_view id, uint64_t offset) override;
  Result<uint64_t> commit_upload(std::string_view id, const oci::Digest& digest) override;
  Result<void> cancel_upload(std::string_view id) override;

  // With options.redirect: a presigned GET URL of the blob (no check that it exists).
  std::optional<std::string> redirect_url(const oci::Digest& digest) const override;

  std::string blob_key(const oci::Digest& digest) const;

  struct Session;  // the parsed state object (s3_store.cc)

 private:
  class Writer;
  class Reader;
  friend class Writer;
  friend class Reader;

  std::string key(std::string_view relative) const;
  std::string upload_key(std::string_view id, std::string_view name) const;
  Result<Session> load_session(std::string_view id);
  Result<void> save_session(std::string_view id, const Session& s);
  Result<std::string> load_tail(std::string_view id, const Session& s);
  Result<void> delete_object(const std::string& key);
  Result<std::string> upload_part(const std::string& key, const std::string& upload_id, int number,
                                  std::string_view bytes);
  Result<std::string> start_multipart(const std::string& key);
  Result<void> complete_multipart(const std::string& key, const std::string& upload_id,
                                  const std::vector<std::pair<int, std::string>>& parts);
  void abort_multipart(const std::string& key, const std::string& upload_id);
  Result<void> copy_object(const std::string& from, const std::string& to, uint64_t size);
  Result<void> discard_session(std::string_view id, const Session& s);
  Result<std::string> hash_object(const std::string& key, crypto::HashAlgorithm algorithm);
  bool checkout(const std::string& id);
  void checkin(const std::string& id);

  S3Options options_;
  s3::Client client_;
  std::mutex mu_;
  std::set<std::string, std::less<>>
      writing_;  // sessions with a writer in this process; guarded by mu_
};

}  // namespace portcullis::storage
