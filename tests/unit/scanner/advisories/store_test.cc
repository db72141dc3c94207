// The database as stored: sources, re-import, data versions, persistence.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "db_fixture.h"

namespace portcullis::scanner::advisories {
namespace {

using testing::DbTest;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string npm_record(const std::string& id, const std::string& name,
                       const std::string& modified) {
  return R"({"id":")" + id + R"(","modified":")" + modified + R"(","aliases":["CVE-)" + id +
         R"("],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],)"
         R"("affected":[{"package":{"ecosystem":"npm","name":")" +
         name +
         R"("},"versions":["0.1.0"],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L"}],)"
         R"("ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"2.0.0"}]}]}]})"
         "\n";
}

class Storage : public DbTest {};

TEST_F(Storage, EmptyDatabaseHasNoSourcesAndMatchesNothing) {
  EXPECT_THAT(db_->sources(), IsEmpty());
  EXPECT_THAT(match_one(pkg(kTypeNpm, "a", "1.0.0")), IsEmpty());
  EXPECT_FALSE(db_->data_version().empty());
}

TEST_F(Storage, SourcesAreListedByNameWithTheirFacts) {
  ASSERT_TRUE(db_->import_file(write("z.jsonl", npm_record("1", "a", "2023-05-01T00:00:00Z") +
                                                    npm_record("2", "b", "2024-05-01T00:00:00Z")),
                               "zeta"));
  clock_.advance(std::chrono::seconds(60));
  ASSERT_TRUE(import_text("alpha.jsonl", npm_record("3", "c", "2022-01-01T00:00:00Z")));
  auto sources = db_->sources();
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].name, "alpha.jsonl");
  EXPECT_EQ(sources[0].imported_at, 1'800'000'060);
  EXPECT_EQ(sources[1].name, "zeta");
  EXPECT_EQ(sources[1].format, "osv");
  EXPECT_EQ(sources[1].records, 2u);
  EXPECT_EQ(sources[1].data_date, "2024-05-01T00:00:00Z");
  EXPECT_EQ(sources[1].imported_at, 1'800'000'000);
  EXPECT_EQ(match_one(pkg(kTypeNpm, "a", "1.5.0"))[0].source, "zeta");
}

TEST_F(Storage, ReimportReplacesTheSourcesRecords) {
  ASSERT_TRUE(import_text("npm.jsonl", npm_record("1", "a", "m") + npm_record("2", "b", "m")));
  ASSERT_EQ(match_one(pkg(kTypeNpm, "b", "1.0.0")).size(), 1u);
  ASSERT_TRUE(import_text("npm.jsonl", npm_record("1", "a", "m")));
  EXPECT_EQ(db_->sources()[0].records, 1u);
  EXPECT_THAT(match_one(pkg(kTypeNpm, "b", "1.0.0")), IsEmpty());
  EXPECT_EQ(match_one(pkg(kTypeNpm, "a", "1.0.0")).size(), 1u);
}

TEST_F(Storage, DuplicateIdWithinASourceKeepsTheLastRecord) {
  ASSERT_TRUE(import_text("npm.jsonl", npm_record("1", "a", "m") + npm_record("1", "b", "m")));
  EXPECT_EQ(db_->sources()[0].records, 1u);
  EXPECT_THAT(match_one(pkg(kTypeNpm, "a", "1.0.0")), IsEmpty());
  EXPECT_EQ(match_one(pkg(kTypeNpm, "b", "1.0.0")).size(), 1u);
}

TEST_F(Storage, DataVersionChangesWithEveryImportOnly) {
  std::string v0 = db_->data_version();
  EXPECT_EQ(db_->data_version(), v0);
  ASSERT_TRUE(import_text("npm.jsonl", npm_record("1", "a", "m")));
  std::string v1 = db_->data_version();
  EXPECT_NE(v1, v0);
  ASSERT_TRUE(import_text("npm.jsonl", npm_record("1", "a", "m")));
  EXPECT_NE(db_->data_version(), v1);
  std::string v2 = db_->data_version();
  EXPECT_FALSE(import_text("npm.jsonl", "{broken"));
  EXPECT_EQ(db_->data_version(), v2);  // a failed import changes nothing
}

TEST_F(Storage, EverythingSurvivesReopening) {
  ASSERT_TRUE(import_text("npm.jsonl", npm_record("7", "a", "2024-01-01T00:00:00Z")));
  std::string version = db_->data_version();
  auto before = match_one(pkg(kTypeNpm, "a", "0.1.0"));
  reopen();
  EXPECT_EQ(db_->data_version(), version);
  ASSERT_EQ(db_->sources().size(), 1u);
  auto after = match_one(pkg(kTypeNpm, "a", "0.1.0"));
  ASSERT_EQ(after.size(), 1u);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(after[0].advisory_id, "7");
  EXPECT_THAT(after[0].aliases, ElementsAre("CVE-7"));
  // The package's own severity, stored apart from the advisory's.
  EXPECT_EQ(after[0].cvss_vector, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L");
  EXPECT_EQ(after[0].cvss_score, before[0].cvss_score);
  EXPECT_EQ(after[0].fixed_version, "2.0.0");  // listed in `versions`; the range fix is above it
}

TEST_F(Storage, ImportsByAnotherProcessAreSeen) {
  // The CLI imports into the file the server has open.
  AdvisoryDatabase server(dir_.path() / "advisories.db");
  Inventory inv;
  inv.packages.push_back(pkg(kTypeNpm, "a", "1.0.0"));
  ASSERT_THAT(server.match(inv), IsEmpty());
  std::string before = server.data_version();
  ASSERT_TRUE(import_text("npm.jsonl", npm_record("1", "a", "m")));
  EXPECT_NE(server.data_version(), before);
  EXPECT_EQ(server.data_version(), db_->data_version());
  EXPECT_EQ(server.match(inv).size(), 1u);
  EXPECT_EQ(server.sources().size(), 1u);
}

TEST_F(Storage, NewDatabasesGetDistinctDataVersions) {
  testutil::TempDir other;
  AdvisoryDatabase second(other.path() / "x.db");
  EXPECT_NE(second.data_version(), db_->data_version());
}

TEST(StoreOpen, UnusablePathThrowsAtStartUp) {
  testutil::TempDir dir;
  EXPECT_THROW(AdvisoryDatabase(dir.path() / "missing-dir" / "x.db"), std::runtime_error);
}

}  // namespace
}  // namespace portcullis::scanner::advisories
