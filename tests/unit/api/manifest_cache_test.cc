#include "api/manifest_cache.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace portcullis::api {
namespace {

std::shared_ptr<const CachedManifest> Entry(const std::string& digest, std::size_t body_size = 16) {
  auto m = std::make_shared<CachedManifest>();
  m->digest = digest;
  m->media_type = "application/vnd.oci.image.manifest.v1+json";
  m->bytes = std::make_shared<const std::string>(body_size, 'm');
  m->headers = std::make_shared<const std::string>("Docker-Content-Digest: " + digest + "\r\n");
  return m;
}

TEST(ManifestCache, MissOnAnEmptyCache) {
  ManifestCache cache;
  EXPECT_EQ(cache.get("repo", "latest"), nullptr);
  EXPECT_EQ(cache.generation("repo"), 0u);
}

TEST(ManifestCache, GetReturnsWhatWasPut) {
  ManifestCache cache;
  auto e = Entry("sha256:aa");
  cache.put("repo", "latest", e, cache.generation("repo"));
  auto got = cache.get("repo", "latest");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->digest, "sha256:aa");
  EXPECT_EQ(*got->bytes, *e->bytes);
}

TEST(ManifestCache, EntriesAreKeyedByRepositoryAndReference) {
  ManifestCache cache;
  cache.put("a", "latest", Entry("sha256:a"), cache.generation("a"));
  cache.put("b", "latest", Entry("sha256:b"), cache.generation("b"));
  cache.put("a", "v1", Entry("sha256:a1"), cache.generation("a"));
  ASSERT_NE(cache.get("a", "latest"), nullptr);
  ASSERT_NE(cache.get("b", "latest"), nullptr);
  ASSERT_NE(cache.get("a", "v1"), nullptr);
  EXPECT_EQ(cache.get("a", "latest")->digest, "sha256:a");
  EXPECT_EQ(cache.get("b", "latest")->digest, "sha256:b");
  EXPECT_EQ(cache.get("a", "v1")->digest, "sha256:a1");
  EXPECT_EQ(cache.get("b", "v1"), nullptr);
}

TEST(ManifestCache, InvalidateDropsTheRepositoryEntriesOnly) {
  ManifestCache cache;
  cache.put("a", "latest", Entry("sha256:a"), 0);
  cache.put("a", "sha256:a", Entry("sha256:a"), 0);
  cache.put("b", "latest", Entry("sha256:b"), 0);
  cache.invalidate("a");
  EXPECT_EQ(cache.get("a", "latest"), nullptr);
  EXPECT_EQ(cache.get("a", "sha256:a"), nullptr);
  EXPECT_NE(cache.get("b", "latest"), nullptr);
}

TEST(ManifestCache, InvalidateAdvancesTheGeneration) {
  ManifestCache cache;
  auto g0 = cache.generation("never-seen");
  cache.invalidate("never-seen");
  auto g1 = cache.generation("never-seen");
  EXPECT_NE(g0, g1);
  cache.put("never-seen", "latest", Entry("sha256:x"), g1);
  cache.invalidate("never-seen");
  EXPECT_NE(cache.generation("never-seen"), g1);
}

TEST(ManifestCache, PutWithAStaleGenerationIsDropped) {
  ManifestCache cache;
  // A reader records the generation, then a writer invalidates before the
  // reader's put: the reader's (possibly stale) result must not be cached.
  auto seen = cache.generation("repo");
  cache.invalidate("repo");
  cache.put("repo", "latest", Entry("sha256:old"), seen);
  EXPECT_EQ(cache.get("repo", "latest"), nullptr);

  // The same race on a repository that already has entries.
  cache.put("repo", "latest", Entry("sha256:new"), cache.generation("repo"));
  ASSERT_NE(cache.get("repo", "latest"), nullptr);
  auto seen2 = cache.generation("repo");
  cache.invalidate("repo");
  cache.put("repo", "v1", Entry("sha256:old"), seen2);
  EXPECT_EQ(cache.get("repo", "v1"), nullptr);
  EXPECT_EQ(cache.get("repo", "latest"), nullptr);
}

TEST(ManifestCache, PutWithACurrentGenerationAfterInvalidateIsKept) {
  ManifestCache cache;
  cache.invalidate("repo");
  cache.put("repo", "latest", Entry("sha256:new"), cache.generation("repo"));
  ASSERT_NE(cache.get("repo", "latest"), nullptr);
  EXPECT_EQ(cache.get("repo", "latest")->digest, "sha256:new");
}

TEST(ManifestCache, StaysWithinItsMemoryBound) {
  // Room for a handful of 1 KiB entries, not for 100 of them.
  ManifestCache cache(8 * 1024);
  for (int i = 0; i < 100; ++i) {
    std::string ref = "t" + std::to_string(i);
    cache.put("repo", ref, Entry("sha256:" + ref, 1024), cache.generation("repo"));
  }
  int cached = 0;
  for (int i = 0; i < 100; ++i) {
    if (cache.get("repo", "t" + std::to_string(i))) ++cached;
  }
  EXPECT_GT(cached, 0);
  EXPECT_LE(cached * 1024, 8 * 1024);
  // The most recent put is always servable.
  EXPECT_NE(cache.get("repo", "t99"), nullptr);
}

TEST(ManifestCache, AnEntryLargerThanTheWholeBoundIsNotCached) {
  ManifestCache cache(4 * 1024);
  cache.put("repo", "small", Entry("sha256:s", 100), 0);
  cache.put("repo", "huge", Entry("sha256:h", 64 * 1024), 0);
  EXPECT_EQ(cache.get("repo", "huge"), nullptr);
}

TEST(ManifestCache, AZeroByteBoundCachesNothing) {
  ManifestCache cache(0);
  cache.put("repo", "latest", Entry("sha256:x", 1), 0);
  EXPECT_EQ(cache.get("repo", "latest"), nullptr);
}

TEST(ManifestCache, InvalidatedEntriesFreeTheirMemory) {
  // Fill close to the bound, invalidate, fill again: entries from before the
  // invalidation must not count against the bound (else the cache would
  // flush the second repository's entries).
  ManifestCache cache(10 * 1024);
  for (int i = 0; i < 6; ++i) {
    cache.put("a", "t" + std::to_string(i), Entry("sha256:a", 1024), cache.generation("a"));
  }
  cache.invalidate("a");
  for (int i = 0; i < 6; ++i) {
    cache.put("b", "t" + std::to_string(i), Entry("sha256:b", 1024), cache.generation("b"));
  }
  for (int i = 0; i < 6; ++i) {
    EXPECT_NE(cache.get("b", "t" + std::to_string(i)), nullptr) << i;
  }
}

TEST(ManifestCacheBlobs, GetBlobReturnsTheSizePutForThatRepository) {
  ManifestCache cache;
  EXPECT_EQ(cache.get_blob("repo", "sha256:b"), -1);
  cache.put_blob("repo", "sha256:b", 1234, cache.generation("repo"));
  EXPECT_EQ(cache.get_blob("repo", "sha256:b"), 1234);
  EXPECT_EQ(cache.get_blob("other", "sha256:b"), -1);
  EXPECT_EQ(cache.get_blob("repo", "sha256:c"), -1);
}

TEST(ManifestCacheBlobs, AZeroSizedBlobIsDistinctFromAMiss) {
  ManifestCache cache;
  cache.put_blob("repo", "sha256:empty", 0, 0);
  EXPECT_EQ(cache.get_blob("repo", "sha256:empty"), 0);
}

TEST(ManifestCacheBlobs, InvalidateDropsBlobLinks) {
  ManifestCache cache;
  cache.put_blob("repo", "sha256:b", 10, 0);
  cache.put_blob("other", "sha256:b", 10, 0);
  cache.invalidate("repo");
  EXPECT_EQ(cache.get_blob("repo", "sha256:b"), -1);
  EXPECT_EQ(cache.get_blob("other", "sha256:b"), 10);
}

TEST(ManifestCacheBlobs, PutBlobWithAStaleGenerationIsDropped) {
  ManifestCache cache;
  auto seen = cache.generation("repo");
  cache.invalidate("repo");  // e.g. the blob was unlinked meanwhile
  cache.put_blob("repo", "sha256:b", 10, seen);
  EXPECT_EQ(cache.get_blob("repo", "sha256:b"), -1);
}

TEST(ManifestCacheBlobs, AZeroByteBoundCachesNoBlobLinks) {
  ManifestCache cache(0);
  cache.put_blob("repo", "sha256:b", 10, 0);
  EXPECT_EQ(cache.get_blob("repo", "sha256:b"), -1);
}

TEST(ManifestCacheBlobs, BlobLinksStayWithinTheMemoryBound) {
  ManifestCache cache(4 * 1024);
  for (int i = 0; i < 1000; ++i) {
    cache.put_blob("repo", "sha256:" + std::to_string(i), i, 0);
  }
  int cached = 0;
  for (int i = 0; i < 1000; ++i) {
    if (cache.get_blob("repo", "sha256:" + std::to_string(i)) >= 0) ++cached;
  }
  EXPECT_GT(cached, 0);
  EXPECT_LT(cached, 1000);
  EXPECT_EQ(cache.get_blob("repo", "sha256:999"), 999);
}

TEST(ManifestCache, EveryInvalidationIsSeenByConcurrentReaders) {
  // Readers racing with a writer: no put from a reader may survive an
  // invalidation that happened after the reader recorded its generation.
  ManifestCache cache(1 << 20);
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        auto g = cache.generation("repo");
        if (!cache.get("repo", "latest")) cache.put("repo", "latest", Entry("sha256:x"), g);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) cache.invalidate("repo");
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GE(cache.generation("repo"), 2000u);
  cache.invalidate("repo");
  EXPECT_EQ(cache.get("repo", "latest"), nullptr);
}

}  // namespace
}  // namespace portcullis::api
