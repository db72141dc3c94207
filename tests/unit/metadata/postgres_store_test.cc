// What only the PostgreSQL engine has: several stores (replicas) on one
// database, a connection pool, and a server that can drop connections.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "metadata/migrations.h"
#include "store_engines.h"

namespace portcullis::metadata {
namespace {

std::string Dg(const std::string& name) { return "sha256:" + name; }

ManifestRecord Manifest(const std::string& digest) {
  ManifestRecord m;
  m.digest = digest;
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.size = 512;
  m.created_at = 100;
  return m;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      engine_.emplace();
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }
  PostgresEngine& engine() { return *engine_; }
  // Ends every server session on this test's database but the asking one.
  void TerminateConnections() {
    engine().Query(
        "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  }

  std::optional<PostgresEngine> engine_;
};

TEST_F(PostgresStoreTest, MigrationsFromStoresOpenedAtOnceRunOnce) {
  constexpr int kReplicas = 4;
  std::atomic<bool> go{false};
  std::atomic<int> failures{0};
  std::vector<std::unique_ptr<PostgresStore>> stores(kReplicas);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      try {
        stores[static_cast<std::size_t>(i)] = engine().Open(2);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  const auto latest = static_cast<int>(migrations().size());
  for (auto& s : stores) EXPECT_EQ(s->schema_version(), latest);
  EXPECT_EQ(engine().Query("SELECT count(*) FROM schema_migrations"), std::to_string(latest));
  EXPECT_EQ(engine().Query("SELECT count(DISTINCT version) FROM schema_migrations"),
            std::to_string(latest));
  // The replicas share the data.
  ASSERT_TRUE(stores[0]->link_blob("repo", Dg("a"), 3));
  EXPECT_EQ(stores[3]->linked_blob("repo", Dg("a")).value(), std::optional<int64_t>(3));
}

TEST_F(PostgresStoreTest, ATagMovedOnOneReplicaIsSeenByAnotherAtOnce) {
  auto a = engine().Open(2);
  auto b = engine().Open(2);
  ASSERT_TRUE(a->put_manifest("repo", Manifest(Dg("one")), {}, "latest"));
  EXPECT_EQ(b->resolve_tag("repo", "latest").value(), std::optional<std::string>(Dg("one")));
  ASSERT_TRUE(b->put_manifest("repo", Manifest(Dg("two")), {}, "latest"));
  EXPECT_EQ(a->resolve_tag("repo", "latest").value(), std::optional<std::string>(Dg("two")));
}

TEST_F(PostgresStoreTest, TwoReplicasCreatingTheSameRepositoriesAtOnceBothSucceed) {
  auto a = engine().Open(2);
  auto b = engine().Open(2);
  constexpr int kRepos = 100;
  std::atomic<int> failures{0};
  auto worker = [&](PostgresStore* s, const std::string& blob) {
    for (int i = 0; i < kRepos; ++i) {
      if (!s->link_blob("r" + std::to_string(i), Dg(blob), 1)) ++failures;
      if (!s->create_upload(blob + std::to_string(i), "u" + std::to_string(i), 1)) ++failures;
    }
  };
  std::thread ta(worker, a.get(), "a"), tb(worker, b.get(), "b");
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(engine().Query("SELECT count(*) FROM repositories"), std::to_string(2 * kRepos));
  for (int i = 0; i < kRepos; ++i) {
    EXPECT_TRUE(a->linked_blob("r" + std::to_string(i), Dg("b")).value());
    EXPECT_TRUE(b->linked_blob("r" + std::to_string(i), Dg("a")).value());
  }
}

TEST_F(PostgresStoreTest, ReconnectsAfterTheServerDropsItsConnections) {
  auto db = engine().Open(2);
  ASSERT_TRUE(db->link_blob("repo", Dg("a"), 5));
  // Both pooled connections in use once, so both have prepared statements.
  std::thread t1([&] { EXPECT_TRUE(db->linked_blob("repo", Dg("a"))); });
  std::thread t2([&] { EXPECT_TRUE(db->linked_blob("repo", Dg("a"))); });
  t1.join();
  t2.join();
  TerminateConnections();
  for (int round = 0; round < 2; ++round) {
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        auto r = db->linked_blob("repo", Dg("a"));
        if (!r || *r != std::optional<int64_t>(5)) ++failures;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0) << "round " << round;
    ASSERT_TRUE(db->put_manifest("repo", Manifest(Dg("m" + std::to_string(round))), {}, "t"));
    TerminateConnections();
  }
  EXPECT_EQ(db->resolve_tag("repo", "t").value(), std::optional<std::string>(Dg("m1")));
}

TEST_F(PostgresStoreTest, MoreCallersThanConnectionsWaitTheirTurn) {
  auto db = engine().Open(2);
  constexpr int kThreads = 8;
  constexpr int kCalls = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        std::string blob = Dg(std::to_string(t) + "-" + std::to_string(i));
        if (!db->link_blob("repo", blob, i)) ++failures;
        auto got = db->linked_blob("repo", blob);
        if (!got || *got != std::optional<int64_t>(i)) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(engine().Query("SELECT count(*) FROM repo_blobs"), std::to_string(kThreads * kCalls));
  // Never more sessions than the pool holds.
  EXPECT_EQ(
      engine().Query("SELECT count(*) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND application_name = 'portcullis'"),
      "2");
}

TEST_F(PostgresStoreTest, EngineErrorsReachTheCallerWithoutDetail) {
  auto db = engine().Open(1);
  ASSERT_TRUE(db->create_upload("id", "repo", 1));
  auto again = db->create_upload("id", "repo", 2);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::internal);
  EXPECT_EQ(again.error().message, "metadata store error");
}

TEST_F(PostgresStoreTest, ValuesAreParametersNotSql) {
  auto db = engine().Open(1);
  const std::string evil = "x'); DROP TABLE tags; --";
  ASSERT_TRUE(db->put_manifest(evil, Manifest(Dg(evil)), {{Dg(evil), false}}, evil));
  EXPECT_EQ(db->resolve_tag(evil, evil).value(), std::optional<std::string>(Dg(evil)));
  EXPECT_EQ(engine().Query("SELECT to_regclass('tags') IS NOT NULL"), "t");
}

TEST_F(PostgresStoreTest, ExistingDataSurvivesANewReplicaStarting) {
  auto first = engine().Open(1);
  ASSERT_TRUE(first->put_manifest("repo", Manifest(Dg("m")), {}, "v1"));
  auto second = engine().Open(1);
  EXPECT_EQ(second->resolve_tag("repo", "v1").value(), std::optional<std::string>(Dg("m")));
  EXPECT_EQ(engine().Query("SELECT count(*) FROM schema_migrations"),
            std::to_string(migrations().size()));
}

}  // namespace
}  // namespace portcullis::metadata
