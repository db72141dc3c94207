// One conformance suite for every blob store: the same contract cases run
// against the filesystem store and the S3 store on a real object store
// (tests/harness/start-s3.sh: Ceph RGW, or Swift with S3_BACKEND=swift).
// "Another replica" is a second store object on the same storage, with no
// state shared in memory: what it sees, it read from the storage.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "s3_server.h"
#include "storage/filesystem_store.h"
#include "storage/s3_store.h"
#include "temp_dir.h"

namespace portcullis::storage {
namespace {

using crypto::HashAlgorithm;
using oci::Digest;

constexpr std::size_t kMiB = 1024 * 1024;

Digest Sha256(std::string_view content) { return Digest::of(HashAlgorithm::sha256, content); }
Digest Sha512(std::string_view content) { return Digest::of(HashAlgorithm::sha512, content); }

// Deterministic bytes that differ at every offset (catches misplaced ranges).
std::string Pattern(std::size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

class FilesystemEngine {
 public:
  std::unique_ptr<BlobStore> Open() { return std::make_unique<FilesystemBlobStore>(dir_.path()); }

 private:
  testutil::TempDir dir_;
};

class S3Engine {
 public:
  // Each test gets its own key prefix in the shared bucket.
  S3Engine() : prefix_("conformance/" + crypto::random_hex(8)) {}
  std::unique_ptr<BlobStore> Open() { return std::make_unique<S3BlobStore>(Options()); }
  S3Options Options() const {
    const auto& ep = testutil::S3Server::instance().endpoint();
    S3Options o;
    o.client.endpoint = ep.endpoint;
    o.client.region = ep.region;
    o.client.bucket = ep.bucket;
    o.client.access_key = ep.access_key;
    o.client.secret_key = ep.secret_key;
    o.prefix = prefix_;
    o.part_size = 5 * kMiB;  // the S3 minimum: multipart paths with small test blobs
    return o;
  }

 private:
  std::string prefix_;
};

template <class Engine>
class BlobStoreConformance : public ::testing::Test {
 protected:
  BlobStore& store() { return *store_; }
  std::unique_ptr<BlobStore> Replica() { return engine_.Open(); }

  void Append(BlobStore& s, const std::string& id, uint64_t offset, std::string_view chunk) {
    auto w = s.append(id, offset);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE((*w)->write(chunk.data(), chunk.size()));
    EXPECT_EQ((*w)->size(), offset + chunk.size());
    ASSERT_TRUE((*w)->close());
  }

  std::string ReadRange(BlobStore& s, const Digest& d, uint64_t offset, std::size_t n) {
    auto r = s.open(d);
    EXPECT_TRUE(r);
    if (!r) return "";
    std::string out(n, '\0');
    auto got = (*r)->read_at(offset, out.data(), n);
    EXPECT_TRUE(got);
    if (!got) return "";
    out.resize(*got);
    return out;
  }

  Engine engine_;
  std::unique_ptr<BlobStore> store_ = engine_.Open();
};

using Engines = ::testing::Types<FilesystemEngine, S3Engine>;
class EngineNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, FilesystemEngine> ? "Filesystem" : "S3";
  }
};
TYPED_TEST_SUITE(BlobStoreConformance, Engines, EngineNames);

// --- put / stat / open / read / remove ---------------------------------------------

TYPED_TEST(BlobStoreConformance, PutBlobIsReadableWholeAndInRanges) {
  std::string content = Pattern(100000, 1);
  auto d = Sha256(content);
  ASSERT_TRUE(this->store().put(d, content));
  auto size = this->store().stat(d);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, content.size());
  auto all = this->store().read_all(d, content.size());
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, content);
  EXPECT_EQ(this->ReadRange(this->store(), d, 0, 10), content.substr(0, 10));
  EXPECT_EQ(this->ReadRange(this->store(), d, 4321, 5000), content.substr(4321, 5000));
  // A read running past the end is short; one at the end is empty.
  EXPECT_EQ(this->ReadRange(this->store(), d, content.size() - 7, 100),
            content.substr(content.size() - 7));
  EXPECT_EQ(this->ReadRange(this->store(), d, content.size(), 100), "");
  auto reader = this->store().open(d);
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->size(), content.size());
}

TYPED_TEST(BlobStoreConformance, PutWithWrongDigestIsRejectedAndStoresNothing) {
  auto claimed = Sha256("the real content");
  auto r = this->store().put(claimed, "other content");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::digest_invalid);
  auto st = this->store().stat(claimed);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::blob_unknown);
  EXPECT_FALSE(this->store().stat(Sha256("other content")));
}

TYPED_TEST(BlobStoreConformance, UnknownBlobIsBlobUnknownEverywhere) {
  auto d = Sha256("never stored");
  EXPECT_EQ(this->store().stat(d).error().code, Errc::blob_unknown);
  EXPECT_EQ(this->store().open(d).error().code, Errc::blob_unknown);
  EXPECT_EQ(this->store().read_all(d, 100).error().code, Errc::blob_unknown);
  EXPECT_EQ(this->store().remove(d).error().code, Errc::blob_unknown);
}

TYPED_TEST(BlobStoreConformance, ReadAllRefusesBlobsOverTheLimit) {
  std::string content(2000, 'x');
  auto d = Sha256(content);
  ASSERT_TRUE(this->store().put(d, content));
  auto r = this->store().read_all(d, 1999);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::size_invalid);
}

TYPED_TEST(BlobStoreConformance, EmptyBlobCanBeStoredAndRead) {
  auto d = Sha256("");
  ASSERT_TRUE(this->store().put(d, ""));
  EXPECT_EQ(*this->store().stat(d), 0u);
  auto all = this->store().read_all(d, 10);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, "");
  EXPECT_EQ(this->ReadRange(this->store(), d, 0, 10), "");
}

TYPED_TEST(BlobStoreConformance, RemoveDeletesTheBlob) {
  auto d = Sha256("to be removed");
  ASSERT_TRUE(this->store().put(d, "to be removed"));
  ASSERT_TRUE(this->store().remove(d));
  EXPECT_EQ(this->store().stat(d).error().code, Errc::blob_unknown);
  EXPECT_EQ(this->store().remove(d).error().code, Errc::blob_unknown);
}

TYPED_TEST(BlobStoreConformance, ListBlobsVisitsEveryBlobWithSizeAndTime) {
  std::map<std::string, uint64_t> want;
  for (std::string c : {"a", "bb", "ccc"}) {
    ASSERT_TRUE(this->store().put(Sha256(c), c));
    want[Sha256(c).str()] = c.size();
  }
  ASSERT_TRUE(this->store().put(Sha512("dddd"), "dddd"));
  want[Sha512("dddd").str()] = 4;
  auto id = this->store().create_upload();  // sessions are not blobs
  ASSERT_TRUE(id);
  this->Append(this->store(), *id, 0, "pending");
  std::map<std::string, uint64_t> got;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ASSERT_TRUE(this->store().list_blobs([&](const Digest& d, uint64_t size, int64_t mtime) {
    got[d.str()] = size;
    EXPECT_LT(std::abs(mtime - now), 3600) << d.str();
    return true;
  }));
  EXPECT_EQ(got, want);
  int visited = 0;
  ASSERT_TRUE(this->store().list_blobs([&](const Digest&, uint64_t, int64_t) {
    ++visited;
    return false;  // stop after the first
  }));
  EXPECT_EQ(visited, 1);
}

// --- upload sessions ------------------------------------------------------------------

TYPED_TEST(BlobStoreConformance, ChunkedUploadCommitsToTheBlob) {
  std::string content = Pattern(300000, 2);
  auto d = Sha256(content);
  auto id = this->store().create_upload();
  ASSERT_TRUE(id);
  EXPECT_EQ(*this->store().upload_size(*id), 0u);
  uint64_t at = 0;
  for (std::size_t chunk : {1u, 999u, 100000u, 199000u}) {
    this->Append(this->store(), *id, at, std::string_view(content).substr(at, chunk));
    at += chunk;
    EXPECT_EQ(*this->store().upload_size(*id), at);
  }
  ASSERT_EQ(at, content.size());
  auto committed = this->store().commit_upload(*id, d);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, content.size());
  EXPECT_EQ(*this->store().read_all(d, content.size()), content);
  EXPECT_EQ(this->store().upload_size(*id).error().code, Errc::blob_upload_unknown);
}

TYPED_TEST(BlobStoreConformance, LargeUploadMovesAcrossReplicasAndCommits) {
  // Larger than two S3 parts, in chunks that do not line up with parts; each
  // chunk written by a different store object (replica).
  std::string content = Pattern(13 * kMiB + 12345, 3);
  auto d = Sha256(content);
  auto id = this->store().create_upload();
  ASSERT_TRUE(id);
  std::vector<std::size_t> chunks = {3 * kMiB + 1, 4 * kMiB, 1, 6 * kMiB - 2, 12345};
  uint64_t at = 0;
  for (std::size_t chunk : chunks) {
    auto replica = this->Replica();
    EXPECT_EQ(*replica->upload_size(*id), at);
    this->Append(*replica, *id, at, std::string_view(content).substr(at, chunk));
    at += chunk;
  }
  ASSERT_EQ(at, content.size());
  auto other = this->Replica();
  auto committed = other->commit_upload(*id, d);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, content.size());
  EXPECT_EQ(*this->store().stat(d), content.size());
  auto all = this->store().read_all(d, content.size());
  ASSERT_TRUE(all);
  EXPECT_TRUE(*all == content);
  EXPECT_EQ(this->ReadRange(this->store(), d, 5 * kMiB - 3, 10), content.substr(5 * kMiB - 3, 10));
}

TYPED_TEST(BlobStoreConformance, ManySmallAppendsAcrossPartBoundariesCommit) {
  // S3: the small appends pile up as tail segments until they fill a part.
  std::string content = Pattern(13 * (kMiB + 1), 9);
  auto id = this->store().create_upload();
  ASSERT_TRUE(id);
  for (uint64_t at = 0; at < content.size(); at += kMiB + 1) {
    this->Append(this->store(), *id, at, std::string_view(content).substr(at, kMiB + 1));
  }
  EXPECT_EQ(*this->store().upload_size(*id), content.size());
  auto d = Sha256(content);
  ASSERT_TRUE(this->Replica()->commit_upload(*id, d));
  EXPECT_TRUE(*this->store().read_all(d, content.size()) == content);
}

TYPED_TEST(BlobStoreConformance, UploadWrittenInOneLargeWriteCommits) {
  std::string content = Pattern(11 * kMiB, 4);
  auto d = Sha256(content);
  auto id = this->store().create_upload();
  ASSERT_TRUE(id);
  this->Append(this->store(), *id, 0, content);
  ASSERT_TRUE(this->store().commit_upload(*id, d));
  EXPECT_TRUE(*this->store().read_all(d, content.size()) == content);
}

TYPED_TEST(BlobStoreConformance, Sha512UploadsAreVerifiedToo) {
  for (std::size_t n : {std::size_t{1000}, 6 * kMiB}) {
    std::string content = Pattern(n, 5);
    auto id = this->store().create_upload();
    ASSERT_TRUE(id);
    this->Append(this->store(), *id, 0, content);
    auto committed = this->store().commit_upload(*id, Sha512(content));
    ASSERT_TRUE(committed) << committed.error().message;
    EXPECT_EQ(*this->store().stat(Sha512(content)), n);
    auto bad = this->store().create_upload();
    ASSERT_TRUE(bad);
    this->Append(this->store(), *bad, 0, content);
    auto r = this->store().commit_upload(*bad, Sha512(content + "x"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::digest_invalid);
    EXPECT_FALSE(this->store().stat(Sha512(content + "x")));
  }
}

TYPED_TEST(BlobStoreConformance, CommitWithWrongDigestDiscardsTheSessionAndStoresNothing) {
  for (std::size_t n : {std::size_t{10}, 7 * kMiB}) {
    std::string content = Pattern(n, 6);
    auto id = this->store().create_upload();
    ASSERT_TRUE(id);
    this->Append(this->store(), *id, 0, content);
    auto wrong = Sha256("something else");
    auto r = this->store().commit_upload(*id, wrong);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::digest_invalid);
    EXPECT_EQ(this->store().stat(wrong).error().code, Errc::blob_unknown);
    EXPECT_EQ(this->store().stat(Sha256(content)).error().code, Errc::blob_unknown);
    EXPECT_EQ(this->store().upload_size(*id).error().code, Errc::blob_upload_unknown);
  }
}

TYPED_TEST(BlobStoreConformance, AppendAtTheWrongOffsetIsRangeInvalidAndChangesNothing) {
  auto id = this->store().create_upload();
  ASSERT_TRUE(id);
  this->Append(this->store(), *id, 0, "12345");
  for (uint64_t offset : {0u, 4u, 6u}) {
    auto w = this->store().append(*id, offset);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, Errc::range_invalid);
  }
  EXPECT_EQ(*this->store().upload_size(*id), 5u);
  this->Append(this->store(), *id, 5, "678");
  ASSERT_TRUE(this->store().commit_upload(*id, Sha256("12345678")));
}

TYPED_TEST(BlobStoreConformance, SecondConcurrentWriterIsRefused) {
  auto id = this->store().create_upload();
  ASSERT_TRUE(id);
  auto first = this->store().append(*id, 0);
  ASSERT_TRUE(first);
  auto second = this->store().append(*id, 0);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::blob_upload_invalid);
  auto commit = this->store().commit_upload(*id, Sha256(""));
  ASSERT_FALSE(commit);
  EXPECT_EQ(commit.error().code, Errc::blob_upload_invalid);
  ASSERT_TRUE((*first)->write("ab", 2));
  ASSERT_TRUE((*first)->close());
  this->Append(this->store(), *id, 2, "c");
  ASSERT_TRUE(this->store().commit_upload(*id, Sha256("abc")));
}

TYPED_TEST(BlobStoreConformance, WriterThatWritesNothingKeepsTheSession) {
  auto id = this->store().create_upload();
  ASSERT_TRUE(id);
  this->Append(this->store(), *id, 0, "abc");
  {
    auto w = this->store().append(*id, 3);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->close());
  }
  EXPECT_EQ(*this->store().upload_size(*id), 3u);
  ASSERT_TRUE(this->store().commit_upload(*id, Sha256("abc")));
}

TYPED_TEST(BlobStoreConformance, EmptyUploadCommitsTheEmptyBlob) {
  auto id = this->store().create_upload();
  ASSERT_TRUE(id);
  auto r = this->store().commit_upload(*id, Sha256(""));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 0u);
  EXPECT_EQ(*this->store().stat(Sha256("")), 0u);
}

TYPED_TEST(BlobStoreConformance, UploadingExistingContentAgainKeepsOneReadableBlob) {
  std::string content = Pattern(6 * kMiB, 7);
  auto d = Sha256(content);
  ASSERT_TRUE(this->store().put(d, content));
  auto id = this->store().create_upload();
  ASSERT_TRUE(id);
  this->Append(this->store(), *id, 0, content);
  ASSERT_TRUE(this->store().commit_upload(*id, d));
  EXPECT_TRUE(*this->store().read_all(d, content.size()) == content);
  int count = 0;
  ASSERT_TRUE(this->store().list_blobs([&](const Digest& seen, uint64_t, int64_t) {
    count += seen == d;
    return true;
  }));
  EXPECT_EQ(count, 1);
}

TYPED_TEST(BlobStoreConformance, CancelRemovesTheSession) {
  for (std::size_t n : {std::size_t{10}, 6 * kMiB}) {
    auto id = this->store().create_upload();
    ASSERT_TRUE(id);
    this->Append(this->store(), *id, 0, Pattern(n, 8));
    ASSERT_TRUE(this->Replica()->cancel_upload(*id));
    EXPECT_EQ(this->store().upload_size(*id).error().code, Errc::blob_upload_unknown);
    EXPECT_EQ(this->store().append(*id, n).error().code, Errc::blob_upload_unknown);
    EXPECT_EQ(this->store().commit_upload(*id, Sha256(Pattern(n, 8))).error().code,
              Errc::blob_upload_unknown);
    EXPECT_EQ(this->store().cancel_upload(*id).error().code, Errc::blob_upload_unknown);
  }
}

TYPED_TEST(BlobStoreConformance, MalformedUploadIdsAreUnknown) {
  const std::vector<std::string> ids = {"", "../../etc/passwd", "abc", std::string(32, 'g'),
                                        std::string(64, 'a')};
  for (const std::string& id : ids) {
    EXPECT_EQ(this->store().upload_size(id).error().code, Errc::blob_upload_unknown) << id;
    EXPECT_EQ(this->store().append(id, 0).error().code, Errc::blob_upload_unknown) << id;
    EXPECT_EQ(this->store().commit_upload(id, Sha256("")).error().code, Errc::blob_upload_unknown)
        << id;
    EXPECT_EQ(this->store().cancel_upload(id).error().code, Errc::blob_upload_unknown) << id;
  }
}

TYPED_TEST(BlobStoreConformance, UploadIdsAreDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = this->store().create_upload();
    ASSERT_TRUE(id);
    ids.insert(*id);
  }
  EXPECT_EQ(ids.size(), 5u);
}

}  // namespace
}  // namespace portcullis::storage
