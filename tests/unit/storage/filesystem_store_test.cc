#include "storage/filesystem_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include "temp_dir.h"

namespace portcullis::storage {
namespace {

namespace fs = std::filesystem;
using crypto::HashAlgorithm;
using oci::Digest;

oci::Digest Sha256(std::string_view content) { return Digest::of(HashAlgorithm::sha256, content); }
oci::Digest Sha512(std::string_view content) { return Digest::of(HashAlgorithm::sha512, content); }

using testutil::TempDir;

std::size_t CountFiles(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FilesystemBlobStoreTest : public ::testing::Test {
 protected:
  fs::path root() const { return dir_.path(); }
  FilesystemBlobStore& store() { return *store_; }
  // Simulates a process restart: a new store object on the same directory.
  void Restart() {
    store_.reset();
    store_ = std::make_unique<FilesystemBlobStore>(root());
  }

  // Appends chunk at offset through a fresh writer and closes it.
  void Append(const std::string& id, uint64_t offset, std::string_view chunk) {
    auto w = store().append(id, offset);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE((*w)->write(chunk.data(), chunk.size()));
    ASSERT_TRUE((*w)->close());
  }

  TempDir dir_;
  std::unique_ptr<FilesystemBlobStore> store_ = std::make_unique<FilesystemBlobStore>(dir_.path());
};

// --- put / stat / read --------------------------------------------------------

TEST_F(FilesystemBlobStoreTest, PutMakesTheBlobReadable) {
  std::string content = "hello blob";
  auto d = Sha256(content);
  ASSERT_TRUE(store().put(d, content));
  auto size = store().stat(d);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, content.size());
  auto bytes = store().read_all(d, 1024);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, content);
  auto file = store().open(d);
  ASSERT_TRUE(file);
  EXPECT_EQ((*file)->size(), content.size());
  std::string via_fd(content.size(), '\0');
  ASSERT_EQ(::pread((*file)->fd(), via_fd.data(), via_fd.size(), 0),
            static_cast<ssize_t>(content.size()));
  EXPECT_EQ(via_fd, content);
}

TEST_F(FilesystemBlobStoreTest, PutWithMismatchedDigestIsRejectedAndLeavesNothingVisible) {
  auto claimed = Sha256("the real content");
  auto r = store().put(claimed, "something else");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::digest_invalid);
  auto st = store().stat(claimed);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::blob_unknown);
  EXPECT_FALSE(store().stat(Sha256("something else")));
  EXPECT_EQ(CountFiles(root() / "blobs"), 0u);
  EXPECT_EQ(CountFiles(root() / "tmp"), 0u);
}

TEST_F(FilesystemBlobStoreTest, PuttingTheSameContentTwiceStoresOneCopy) {
  std::string content = "dedup me";
  auto d = Sha256(content);
  ASSERT_TRUE(store().put(d, content));
  ASSERT_TRUE(store().put(d, content));
  EXPECT_EQ(CountFiles(root() / "blobs"), 1u);
  EXPECT_EQ(CountFiles(root() / "tmp"), 0u);
  auto bytes = store().read_all(d, 1024);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, content);
}

TEST_F(FilesystemBlobStoreTest, StoringExistingContentAgainRefreshesItsModificationTime) {
  // Garbage collection's grace period must count from the newest upload.
  std::string content = "old but wanted again";
  auto d = Sha256(content);
  ASSERT_TRUE(store().put(d, content));
  auto path = root() / "blobs" / "sha256" / d.hex().substr(0, 2) / d.hex();
  auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(48);
  fs::last_write_time(path, old_time);
  ASSERT_TRUE(store().put(d, content));
  EXPECT_GT(fs::last_write_time(path), old_time + std::chrono::hours(47));
  fs::last_write_time(path, old_time);
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, content);
  ASSERT_TRUE(store().commit_upload(*id, d));
  EXPECT_GT(fs::last_write_time(path), old_time + std::chrono::hours(47));
}

TEST_F(FilesystemBlobStoreTest, ListBlobsVisitsEveryBlobAndSkipsStrayFiles) {
  std::vector<std::string> want;
  for (std::string c : {"a", "b", "c"}) {
    ASSERT_TRUE(store().put(Sha256(c), c));
    want.push_back(Sha256(c).str());
  }
  ASSERT_TRUE(store().put(Sha512("d"), "d"));
  want.push_back(Sha512("d").str());
  fs::create_directories(root() / "blobs" / "sha256" / "zz");
  std::ofstream(root() / "blobs" / "sha256" / "zz" / "not-a-digest") << "x";
  std::vector<std::string> got;
  ASSERT_TRUE(store().list_blobs([&](const oci::Digest& d, uint64_t size, int64_t) {
    EXPECT_EQ(size, 1u);
    got.push_back(d.str());
    return true;
  }));
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

TEST_F(FilesystemBlobStoreTest, EmptyBlobIsStorable) {
  auto d = Sha256("");
  ASSERT_TRUE(store().put(d, ""));
  auto size = store().stat(d);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 0u);
  auto bytes = store().read_all(d, 0);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, "");
}

TEST_F(FilesystemBlobStoreTest, ReadAllRefusesBlobsLargerThanTheLimit) {
  std::string content(100, 'x');
  auto d = Sha256(content);
  ASSERT_TRUE(store().put(d, content));
  auto too_small = store().read_all(d, 99);
  ASSERT_FALSE(too_small);
  EXPECT_EQ(too_small.error().code, Errc::size_invalid);
  auto exact = store().read_all(d, 100);
  ASSERT_TRUE(exact);
  EXPECT_EQ(*exact, content);
}

TEST_F(FilesystemBlobStoreTest, UnknownBlobIsBlobUnknownEverywhere) {
  auto d = Sha256("never stored");
  auto st = store().stat(d);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::blob_unknown);
  auto op = store().open(d);
  ASSERT_FALSE(op);
  EXPECT_EQ(op.error().code, Errc::blob_unknown);
  auto rd = store().read_all(d, 1024);
  ASSERT_FALSE(rd);
  EXPECT_EQ(rd.error().code, Errc::blob_unknown);
  auto rm = store().remove(d);
  ASSERT_FALSE(rm);
  EXPECT_EQ(rm.error().code, Errc::blob_unknown);
}

TEST_F(FilesystemBlobStoreTest, RemoveMakesTheBlobUnknown) {
  auto d = Sha256("short-lived");
  ASSERT_TRUE(store().put(d, "short-lived"));
  ASSERT_TRUE(store().remove(d));
  auto st = store().stat(d);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::blob_unknown);
}

TEST_F(FilesystemBlobStoreTest, BlobsAreLaidOutByAlgorithmAndHexPrefix) {
  std::string content = "layout";
  auto d256 = Sha256(content);
  auto d512 = Sha512(content);
  ASSERT_TRUE(store().put(d256, content));
  ASSERT_TRUE(store().put(d512, content));
  fs::path p256 = root() / "blobs" / "sha256" / d256.hex().substr(0, 2) / d256.hex();
  fs::path p512 = root() / "blobs" / "sha512" / d512.hex().substr(0, 2) / d512.hex();
  ASSERT_TRUE(fs::is_regular_file(p256));
  ASSERT_TRUE(fs::is_regular_file(p512));
  EXPECT_EQ(ReadFile(p256), content);
  EXPECT_EQ(ReadFile(p512), content);
  EXPECT_EQ(store().blob_path(d256), p256);
  EXPECT_EQ(CountFiles(root() / "blobs"), 2u);
}

TEST_F(FilesystemBlobStoreTest, StagingFilesOlderThanAnHourAreRemovedAtStartUp) {
  auto stale_file = root() / "tmp" / "deadbeef";
  auto stale_dir = root() / "tmp" / "olddir";
  std::ofstream(stale_file) << "partial";
  fs::create_directories(stale_dir);
  std::ofstream(stale_dir / "x") << "partial";
  const auto two_hours_ago = fs::file_time_type::clock::now() - std::chrono::hours(2);
  fs::last_write_time(stale_file, two_hours_ago);
  fs::last_write_time(stale_dir, two_hours_ago);
  // Another process on the same root may be staging right now: kept.
  auto fresh_file = root() / "tmp" / "cafef00d";
  std::ofstream(fresh_file) << "being written";
  // A committed blob and an upload session must survive the clean-up.
  auto d = Sha256("keep");
  ASSERT_TRUE(store().put(d, "keep"));
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "in progress");

  Restart();
  EXPECT_FALSE(fs::exists(stale_file));
  EXPECT_FALSE(fs::exists(stale_dir));
  EXPECT_TRUE(fs::exists(fresh_file)) << "a fresh staging file belongs to a running writer";
  EXPECT_TRUE(fs::is_directory(root() / "tmp"));
  EXPECT_TRUE(store().stat(d));
  auto size = store().upload_size(*id);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 11u);
}

TEST_F(FilesystemBlobStoreTest, ConstructorCreatesTheLayoutInANewDirectory) {
  auto nested = root() / "a" / "b";
  FilesystemBlobStore s(nested);
  EXPECT_TRUE(fs::is_directory(nested / "blobs"));
  EXPECT_TRUE(fs::is_directory(nested / "uploads"));
  EXPECT_TRUE(fs::is_directory(nested / "tmp"));
}

// --- upload sessions ------------------------------------------------------------

TEST_F(FilesystemBlobStoreTest, CreateUploadStartsAnEmptySessionWithAUrlSafeId) {
  auto a = store().create_upload();
  auto b = store().create_upload();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(a->empty());
  for (char c : *a) {
    bool url_safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~';
    EXPECT_TRUE(url_safe) << *a;
  }
  auto size = store().upload_size(*a);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 0u);
}

TEST_F(FilesystemBlobStoreTest, UnknownOrMalformedUploadIdsAreBlobUploadUnknown) {
  auto d = Sha256("");
  for (std::string id : {std::string(32, '0'), std::string("../../etc"), std::string(""),
                         std::string("ABCDEF0123456789ABCDEF0123456789"), std::string("../tmp")}) {
    auto size = store().upload_size(id);
    ASSERT_FALSE(size) << id;
    EXPECT_EQ(size.error().code, Errc::blob_upload_unknown) << id;
    auto w = store().append(id, 0);
    ASSERT_FALSE(w) << id;
    EXPECT_EQ(w.error().code, Errc::blob_upload_unknown) << id;
    auto c = store().commit_upload(id, d);
    ASSERT_FALSE(c) << id;
    EXPECT_EQ(c.error().code, Errc::blob_upload_unknown) << id;
    auto x = store().cancel_upload(id);
    ASSERT_FALSE(x) << id;
    EXPECT_EQ(x.error().code, Errc::blob_upload_unknown) << id;
  }
}

TEST_F(FilesystemBlobStoreTest, AppendAtTheWrongOffsetIsRangeInvalidAndHarmless) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "abc");
  for (uint64_t offset : {0u, 2u, 4u, 100u}) {
    auto w = store().append(*id, offset);
    ASSERT_FALSE(w) << offset;
    EXPECT_EQ(w.error().code, Errc::range_invalid) << offset;
  }
  // The session is unchanged and still accepts the right offset.
  auto size = store().upload_size(*id);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 3u);
  Append(*id, 3, "def");
  auto committed = store().commit_upload(*id, Sha256("abcdef"));
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, 6u);
}

TEST_F(FilesystemBlobStoreTest, ChunkedUploadCommitsTheConcatenation) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  std::vector<std::string> chunks = {"first chunk|", std::string(100000, 'x'), "|", "last"};
  std::string all;
  for (const auto& c : chunks) {
    Append(*id, all.size(), c);
    all += c;
    auto size = store().upload_size(*id);
    ASSERT_TRUE(size);
    EXPECT_EQ(*size, all.size());
  }
  auto d = Sha256(all);
  auto committed = store().commit_upload(*id, d);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, all.size());
  auto bytes = store().read_all(d, all.size());
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, all);
  // The session is finished.
  auto gone = store().upload_size(*id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::blob_upload_unknown);
  EXPECT_FALSE(fs::exists(root() / "uploads" / *id));
}

TEST_F(FilesystemBlobStoreTest, WriterReportsTheSessionSizeIncludingEarlierChunks) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "12345");
  auto w = store().append(*id, 5);
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)->size(), 5u);
  ASSERT_TRUE((*w)->write("678", 3));
  EXPECT_EQ((*w)->size(), 8u);
  ASSERT_TRUE((*w)->close());
}

TEST_F(FilesystemBlobStoreTest, SeveralWritesThroughOneWriterAreAppendedInOrder) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  auto w = store().append(*id, 0);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write("ab", 2));
  ASSERT_TRUE((*w)->write("cd", 2));
  ASSERT_TRUE((*w)->close());
  auto committed = store().commit_upload(*id, Sha256("abcd"));
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, 4u);
}

TEST_F(FilesystemBlobStoreTest, CommitWithWrongDigestDiscardsTheSessionAndStoresNothing) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "actual bytes");
  auto claimed = Sha256("claimed bytes");
  auto r = store().commit_upload(*id, claimed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::digest_invalid);
  auto gone = store().upload_size(*id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::blob_upload_unknown);
  EXPECT_FALSE(store().stat(claimed));
  EXPECT_FALSE(store().stat(Sha256("actual bytes")));
  EXPECT_EQ(CountFiles(root() / "blobs"), 0u);
  EXPECT_EQ(CountFiles(root() / "uploads"), 0u);
  // Retrying with the right digest is too late: the session is gone.
  auto retry = store().commit_upload(*id, Sha256("actual bytes"));
  ASSERT_FALSE(retry);
  EXPECT_EQ(retry.error().code, Errc::blob_upload_unknown);
}

TEST_F(FilesystemBlobStoreTest, ASecondConcurrentWriterIsRefused) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  auto first = store().append(*id, 0);
  ASSERT_TRUE(first);
  auto second = store().append(*id, 0);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::blob_upload_invalid);
  // Committing under an open writer is refused too.
  auto commit = store().commit_upload(*id, Sha256(""));
  ASSERT_FALSE(commit);
  EXPECT_EQ(commit.error().code, Errc::blob_upload_invalid);

  ASSERT_TRUE((*first)->write("xy", 2));
  ASSERT_TRUE((*first)->close());
  // Once the first writer is done, the session is free again.
  Append(*id, 2, "z");
  auto committed = store().commit_upload(*id, Sha256("xyz"));
  ASSERT_TRUE(committed) << committed.error().message;
}

TEST_F(FilesystemBlobStoreTest, ASecondWriterIsRefusedAfterARestartToo) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "abc");
  Restart();
  auto first = store().append(*id, 3);
  ASSERT_TRUE(first) << first.error().message;
  auto second = store().append(*id, 3);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::blob_upload_invalid);
}

TEST_F(FilesystemBlobStoreTest, DestroyingAWriterWithoutCloseReleasesTheSession) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  {
    auto w = store().append(*id, 0);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write("abc", 3));
  }
  Append(*id, 3, "def");
  auto committed = store().commit_upload(*id, Sha256("abcdef"));
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, 6u);
}

TEST_F(FilesystemBlobStoreTest, UploadSessionSurvivesARestart) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "before restart|");
  Restart();
  auto size = store().upload_size(*id);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 15u);
  // Appending at the old offset is refused; at the right one it continues.
  auto wrong = store().append(*id, 0);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::range_invalid);
  Append(*id, 15, "after restart");
  auto d = Sha256("before restart|after restart");
  auto committed = store().commit_upload(*id, d);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, 28u);
  auto bytes = store().read_all(d, 1024);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, "before restart|after restart");
}

TEST_F(FilesystemBlobStoreTest, UploadSessionCanBeCommittedDirectlyAfterARestart) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "one");
  Append(*id, 3, "two");
  Restart();
  auto committed = store().commit_upload(*id, Sha256("onetwo"));
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, 6u);
}

TEST_F(FilesystemBlobStoreTest, RestartedSessionStillDetectsAWrongDigest) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "one");
  Restart();
  Append(*id, 3, "two");
  auto r = store().commit_upload(*id, Sha256("onetwo!"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::digest_invalid);
  EXPECT_FALSE(store().stat(Sha256("onetwo")));
}

TEST_F(FilesystemBlobStoreTest, CommitVerifiesASha512Digest) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "sha512 ");
  Append(*id, 7, "content");
  auto d = Sha512("sha512 content");
  auto committed = store().commit_upload(*id, d);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, 14u);
  auto bytes = store().read_all(d, 1024);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, "sha512 content");
  EXPECT_TRUE(fs::is_regular_file(root() / "blobs" / "sha512" / d.hex().substr(0, 2) / d.hex()));
}

TEST_F(FilesystemBlobStoreTest, CommitRejectsAWrongSha512Digest) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "content");
  auto r = store().commit_upload(*id, Sha512("other"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::digest_invalid);
  EXPECT_FALSE(store().stat(Sha512("content")));
  EXPECT_FALSE(store().upload_size(*id));
}

TEST_F(FilesystemBlobStoreTest, CommittingAnEmptySessionStoresTheEmptyBlob) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  auto committed = store().commit_upload(*id, Sha256(""));
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, 0u);
  EXPECT_TRUE(store().stat(Sha256("")));
}

TEST_F(FilesystemBlobStoreTest, CommittingContentThatIsAlreadyStoredSucceeds) {
  auto d = Sha256("dup");
  ASSERT_TRUE(store().put(d, "dup"));
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "dup");
  auto committed = store().commit_upload(*id, d);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, 3u);
  EXPECT_EQ(CountFiles(root() / "blobs"), 1u);
  EXPECT_EQ(CountFiles(root() / "uploads"), 0u);
}

TEST_F(FilesystemBlobStoreTest, CancelDiscardsTheSession) {
  auto id = store().create_upload();
  ASSERT_TRUE(id);
  Append(*id, 0, "to be cancelled");
  ASSERT_TRUE(store().cancel_upload(*id));
  auto size = store().upload_size(*id);
  ASSERT_FALSE(size);
  EXPECT_EQ(size.error().code, Errc::blob_upload_unknown);
  auto w = store().append(*id, 15);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::blob_upload_unknown);
  auto c = store().commit_upload(*id, Sha256("to be cancelled"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::blob_upload_unknown);
  EXPECT_FALSE(store().stat(Sha256("to be cancelled")));
  EXPECT_EQ(CountFiles(root() / "uploads"), 0u);
}

TEST_F(FilesystemBlobStoreTest, SessionsAreIndependent) {
  auto a = store().create_upload();
  auto b = store().create_upload();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  auto wa = store().append(*a, 0);
  ASSERT_TRUE(wa);
  // A writer open on one session does not block another.
  Append(*b, 0, "bbb");
  ASSERT_TRUE((*wa)->write("a", 1));
  ASSERT_TRUE((*wa)->close());
  ASSERT_TRUE(store().cancel_upload(*a));
  auto committed = store().commit_upload(*b, Sha256("bbb"));
  ASSERT_TRUE(committed) << committed.error().message;
}

// A client racing a chunk against the commit of the same session must never
// change the bytes of a blob stored under a verified digest.
TEST_F(FilesystemBlobStoreTest, AppendRacingACommitNeverCorruptsTheCommittedBlob) {
  for (int round = 0; round < 200; ++round) {
    std::string content = "round " + std::to_string(round) + " content";
    auto d = Sha256(content);
    auto id = store().create_upload();
    ASSERT_TRUE(id);
    Append(*id, 0, content);
    std::atomic<bool> done{false};
    std::thread intruder([&] {
      while (!done) {
        auto w = store().append(*id, content.size());
        if (!w) continue;
        (void)(*w)->write("GARBAGE", 7);
        (void)(*w)->close();
      }
    });
    auto committed = store().commit_upload(*id, d);
    done = true;
    intruder.join();
    if (!committed) continue;  // the intruder won; the commit saw a mismatch
    auto bytes = store().read_all(d, 1 << 20);
    ASSERT_TRUE(bytes);
    ASSERT_EQ(Sha256(*bytes).str(), d.str()) << "round " << round << ": blob bytes do not match its digest";
  }
}

}  // namespace
}  // namespace portcullis::storage
