// Online garbage collection over a real filesystem blob store and a real
// SQLite metadata store, with an injected clock (the grace period, untagged
// age and mark delay are judged without sleeping).
#include "maintenance/gc.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "metadata/sqlite/sqlite_store.h"
#include "oci/digest.h"
#include "storage/filesystem_store.h"
#include "temp_dir.h"

namespace portcullis::maintenance {
namespace {

using namespace std::chrono_literals;

class GcTest : public ::testing::Test {
 protected:
  // Blobs are written at the real time; the clock starts two days later, so
  // everything stored by the test is older than a one-day grace period unless
  // a write touched it at the clock's time.
  GcTest() : clock_(std::chrono::system_clock::now() + 48h) {}

  // Stores content as a blob and links it into repo.
  std::string Blob(const std::string& repo, const std::string& content) {
    auto d = oci::Digest::of(crypto::HashAlgorithm::sha256, content);
    EXPECT_TRUE(blobs_.put(d, content));
    EXPECT_TRUE(meta_.link_blob(repo, d.str(), static_cast<int64_t>(content.size())));
    return d.str();
  }

  // Stores a manifest's bytes and rows; layers/children must exist already.
  std::string Manifest(const std::string& repo, const std::string& name, const std::string& tag,
                       std::vector<metadata::ManifestChild> children = {},
                       const std::string& subject = "", int64_t created_at = 0) {
    std::string bytes = "{\"manifest\":\"" + name + "\"}";
    auto d = oci::Digest::of(crypto::HashAlgorithm::sha256, bytes);
    EXPECT_TRUE(blobs_.put(d, bytes));
    metadata::ManifestRecord m;
    m.digest = d.str();
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.size = static_cast<int64_t>(bytes.size());
    m.subject = subject;
    m.created_at = created_at != 0 ? created_at : clock_.unix_seconds() - 30 * 86400;
    EXPECT_TRUE(meta_.put_manifest(repo, m, children, tag));
    return d.str();
  }

  bool Stored(const std::string& digest) {
    return static_cast<bool>(blobs_.stat(*oci::Digest::parse(digest)));
  }

  GcOptions Options() {
    GcOptions o;
    o.grace = 24h;
    o.mark_delay = 0s;
    return o;
  }

  testutil::TempDir dir_;
  storage::FilesystemBlobStore blobs_{dir_.path() / "data"};
  metadata::SqliteStore meta_{dir_.path() / "m.db"};
  ManualClock clock_;
};

TEST_F(GcTest, UnreferencedBlobsOlderThanTheGracePeriodGoAndEverythingLiveStays) {
  auto layer = Blob("app", "layer bytes");
  auto config = Blob("app", "config bytes");
  auto manifest = Manifest("app", "m", "v1", {{layer, false}, {config, false}});
  auto garbage = Blob("app", "an abandoned layer");
  auto shared = Blob("other", "a layer only another repository's manifest uses");
  Manifest("third", "m3", "latest", {{shared, false}});
  // Uploaded just now (the writer touched it first), not referenced yet.
  std::string fresh_bytes = "a layer whose manifest is not pushed yet";
  auto fresh = oci::Digest::of(crypto::HashAlgorithm::sha256, fresh_bytes).str();
  ASSERT_TRUE(touch_before_write(meta_, clock_, {fresh}));
  ASSERT_TRUE(blobs_.put(*oci::Digest::parse(fresh), fresh_bytes));

  auto report = collect_garbage(blobs_, meta_, clock_, Options());
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->blobs.size(), 1u);
  EXPECT_EQ(report->blobs[0].digest, garbage);
  EXPECT_EQ(report->bytes_reclaimed, std::string("an abandoned layer").size());
  EXPECT_EQ(report->blobs_scanned, 7u);
  EXPECT_FALSE(Stored(garbage));
  EXPECT_FALSE(*meta_.linked_blob("app", garbage)) << "no link left to missing bytes";
  for (const auto& live : {layer, config, manifest, shared, fresh}) EXPECT_TRUE(Stored(live)) << live;
  EXPECT_EQ(report->repositories, std::vector<std::string>{"app"});

  metadata::AuditFilter by_gc;
  by_gc.actor = "gc";
  auto events = meta_.list_audit(by_gc);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].event.digest, garbage);
  EXPECT_EQ((*events)[0].event.repository, "app");
  EXPECT_EQ((*events)[0].event.action, "delete");

  // A second run finds nothing more.
  auto again = collect_garbage(blobs_, meta_, clock_, Options());
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->blobs.empty());
}

TEST_F(GcTest, ADryRunReportsWithoutChangingAnything) {
  auto garbage = Blob("app", "garbage");
  auto o = Options();
  o.dry_run = true;
  auto report = collect_garbage(blobs_, meta_, clock_, o);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->blobs.size(), 1u);
  EXPECT_EQ(report->blobs[0].digest, garbage);
  EXPECT_TRUE(Stored(garbage));
  EXPECT_TRUE(*meta_.linked_blob("app", garbage));
  EXPECT_TRUE(meta_.marked_blobs(clock_.unix_seconds() + 1000, 10)->empty());
}

TEST_F(GcTest, BlobsModifiedWithinTheGracePeriodAreKept) {
  auto garbage = Blob("app", "garbage");
  auto o = Options();
  o.grace = 72h;  // the blob was written 48 h before the clock
  auto report = collect_garbage(blobs_, meta_, clock_, o);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->blobs.empty());
  EXPECT_TRUE(Stored(garbage));
}

TEST_F(GcTest, UntaggedManifestsGoByAgeWithTheirChildrenReferrersAndBlobs) {
  auto layer = Blob("app", "platform layer");
  auto platform = Manifest("app", "amd64", "", {{layer, false}});
  auto index = Manifest("app", "index", "", {{platform, true}});
  auto sbom_layer = Blob("app", "sbom");
  auto sbom = Manifest("app", "sbom", "", {{sbom_layer, false}}, index);
  auto kept_layer = Blob("app", "tagged layer");
  auto tagged = Manifest("app", "tagged", "v1", {{kept_layer, false}});
  auto recent = Manifest("app", "recent", "", {}, "", clock_.unix_seconds() - 3600);

  auto keep = collect_garbage(blobs_, meta_, clock_, Options());
  ASSERT_TRUE(keep);
  EXPECT_TRUE(keep->manifests.empty()) << "gc.untagged: keep is the default";
  EXPECT_TRUE(keep->blobs.empty());

  auto o = Options();
  o.delete_untagged = true;
  o.untagged_age = 7 * 24h;
  auto report = collect_garbage(blobs_, meta_, clock_, o);
  ASSERT_TRUE(report) << report.error().message;
  std::set<std::string> manifests, blobs;
  for (const auto& m : report->manifests) manifests.insert(m.digest);
  for (const auto& b : report->blobs) blobs.insert(b.digest);
  EXPECT_EQ(manifests, (std::set<std::string>{index, platform, sbom}));
  EXPECT_EQ(blobs, (std::set<std::string>{index, platform, sbom, layer, sbom_layer}));
  for (const auto& gone : {index, platform, sbom, layer, sbom_layer}) EXPECT_FALSE(Stored(gone));
  for (const auto& live : {tagged, kept_layer, recent}) EXPECT_TRUE(Stored(live));
  EXPECT_TRUE(*meta_.get_manifest("app", recent)) << "younger than the untagged age";
}

TEST_F(GcTest, APushThatTouchesAMarkedBlobDuringTheMarkDelayWins) {
  auto layer = Blob("app", "layer a client decided not to upload again");
  auto o = Options();
  o.mark_delay = 60s;
  bool slept = false;
  o.sleep = [&](std::chrono::seconds d) {
    // The client's manifest PUT arrives while the blob is marked.
    slept = true;
    EXPECT_EQ(meta_.marked_blobs(clock_.unix_seconds(), 10)->size(), 1u);
    EXPECT_TRUE(touch_before_write(meta_, clock_, {layer}));
    Manifest("app", "m", "v1", {{layer, false}});
    clock_.advance(d);
    return true;
  };
  auto report = collect_garbage(blobs_, meta_, clock_, o);
  ASSERT_TRUE(report);
  EXPECT_TRUE(slept);
  EXPECT_TRUE(report->blobs.empty());
  EXPECT_TRUE(Stored(layer));
  EXPECT_TRUE(*meta_.linked_blob("app", layer));
}

TEST_F(GcTest, AWriterWaitsForADeletionInProgressAndThenStoresTheBlobAgain) {
  std::string bytes = "re-pushed after the mark";
  auto digest = Blob("app", bytes);
  ASSERT_EQ(meta_.mark_blobs({digest}, clock_.unix_seconds(), clock_.unix_seconds(), false)->size(), 1u);
  ASSERT_EQ(meta_.begin_blob_delete({digest}, clock_.unix_seconds(), clock_.unix_seconds(),
                                   clock_.unix_seconds())->size(), 1u);
  // The upload's commit: touch first, then store and link.
  auto writer = std::async(std::launch::async, [&] {
    auto t = touch_before_write(meta_, clock_, {digest}, 10s);
    if (!t) return false;
    auto d = oci::Digest::parse(digest);
    return blobs_.put(*d, bytes) && meta_.link_blob("app", digest, static_cast<int64_t>(bytes.size()));
  });
  EXPECT_EQ(writer.wait_for(200ms), std::future_status::timeout) << "the writer must wait";
  ASSERT_TRUE(blobs_.remove(*oci::Digest::parse(digest)));
  ASSERT_TRUE(meta_.finish_blob_delete({digest}));
  EXPECT_TRUE(writer.get());
  EXPECT_TRUE(Stored(digest)) << "stored again, not lost";
  auto report = collect_garbage(blobs_, meta_, clock_, Options());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->blobs.empty()) << "touched now: inside the grace period";
  EXPECT_TRUE(Stored(digest));
}

TEST_F(GcTest, ADeletionLeftHalfDoneIsFinishedByTheNextRun) {
  auto digest = Blob("app", "collector stopped here");
  ASSERT_EQ(meta_.mark_blobs({digest}, clock_.unix_seconds(), clock_.unix_seconds(), false)->size(), 1u);
  ASSERT_EQ(meta_.begin_blob_delete({digest}, clock_.unix_seconds(), clock_.unix_seconds(),
                                   clock_.unix_seconds())->size(), 1u);
  // A collector may still be at work on it: the next run leaves it alone...
  auto report = collect_garbage(blobs_, meta_, clock_, Options());
  ASSERT_TRUE(report);
  EXPECT_TRUE(Stored(digest));
  // ...until the deletion is older than any live collector's.
  clock_.advance(2h);
  report = collect_garbage(blobs_, meta_, clock_, Options());
  ASSERT_TRUE(report);
  EXPECT_FALSE(Stored(digest));
  EXPECT_TRUE(meta_.deleting_blobs(clock_.unix_seconds() + 1, clock_.unix_seconds())->empty());
  EXPECT_TRUE(*meta_.touch_blobs({digest}, clock_.unix_seconds()));
}

TEST_F(GcTest, TheScheduledCollectorRunsEveryIntervalAndReports) {
  auto garbage = Blob("app", "scheduled garbage");
  std::promise<Result<GcReport>> first;
  std::atomic<bool> reported{false};
  {
    GarbageCollector collector(blobs_, meta_, clock_, Options(), 1s,
                               [&](const Result<GcReport>& r) {
                                 if (!reported.exchange(true)) first.set_value(r);
                               });
    auto f = first.get_future();
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->blobs.size(), 1u);
  }  // stops promptly
  EXPECT_FALSE(Stored(garbage));
}

}  // namespace
}  // namespace portcullis::maintenance
