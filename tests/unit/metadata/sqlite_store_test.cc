#include "metadata/sqlite/sqlite_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "metadata/migrations.h"
#include "temp_dir.h"

namespace portcullis::metadata {
namespace {

namespace fs = std::filesystem;

using testutil::TempDir;

// Digests are opaque strings to the metadata store; readable fakes suffice.
std::string Dg(const std::string& name) { return "sha256:" + name; }

ManifestRecord Manifest(const std::string& digest, int64_t created_at = 100,
                        const std::string& subject = "", const std::string& artifact_type = "") {
  ManifestRecord m;
  m.digest = digest;
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.size = 512;
  m.artifact_type = artifact_type;
  m.subject = subject;
  m.annotations_json = "";
  m.created_at = created_at;
  return m;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  fs::path db_path() const { return dir_.path() / "metadata.db"; }
  SqliteStore& db() { return *db_; }
  void Reopen() {
    db_.reset();
    db_ = std::make_unique<SqliteStore>(db_path());
  }

  template <class T>
  static T Ok(Result<T> r) {
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (!r) throw std::runtime_error("unexpected error");
    return std::move(*r);
  }
  static void Ok(Result<void> r) {
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (!r) throw std::runtime_error("unexpected error");
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> db_ = std::make_unique<SqliteStore>(db_path());
};

// --- migrations -----------------------------------------------------------------

TEST_F(SqliteStoreTest, NewDatabaseIsMigratedToTheLatestSchema) {
  ASSERT_FALSE(migrations().empty());
  EXPECT_EQ(db().schema_version(), static_cast<int>(migrations().size()));
  EXPECT_TRUE(fs::exists(db_path()));
}

TEST_F(SqliteStoreTest, ReopeningIsIdempotentAndKeepsData) {
  Ok(db().link_blob("repo", Dg("a"), 5));
  Reopen();
  EXPECT_EQ(db().schema_version(), static_cast<int>(migrations().size()));
  Reopen();
  EXPECT_EQ(db().schema_version(), static_cast<int>(migrations().size()));
  EXPECT_EQ(Ok(db().linked_blob("repo", Dg("a"))), std::optional<int64_t>(5));
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerBinary) {
  db_.reset();
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    std::string sql = "PRAGMA user_version=" + std::to_string(migrations().size() + 1);
    ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  EXPECT_THROW(SqliteStore{db_path()}, std::runtime_error);
}

TEST(SqliteStoreOpen, ThrowsWhenTheFileCannotBeCreated) {
  EXPECT_THROW(SqliteStore{"/nonexistent-dir-for-portcullis-tests/x/metadata.db"},
               std::runtime_error);
}

// --- blob links -------------------------------------------------------------------

TEST_F(SqliteStoreTest, LinkedBlobIsVisibleOnlyInItsRepository) {
  Ok(db().link_blob("a", Dg("blob"), 42));
  EXPECT_EQ(Ok(db().linked_blob("a", Dg("blob"))), std::optional<int64_t>(42));
  EXPECT_EQ(Ok(db().linked_blob("b", Dg("blob"))), std::nullopt);
  EXPECT_EQ(Ok(db().linked_blob("a", Dg("other"))), std::nullopt);
}

TEST_F(SqliteStoreTest, LinkingCreatesTheRepository) {
  EXPECT_FALSE(Ok(db().repository_exists("fresh")));
  Ok(db().link_blob("fresh", Dg("x"), 1));
  EXPECT_TRUE(Ok(db().repository_exists("fresh")));
}

TEST_F(SqliteStoreTest, LinkingTwiceIsHarmless) {
  Ok(db().link_blob("a", Dg("blob"), 42));
  Ok(db().link_blob("a", Dg("blob"), 42));
  EXPECT_EQ(Ok(db().linked_blob("a", Dg("blob"))), std::optional<int64_t>(42));
  EXPECT_TRUE(Ok(db().unlink_blob("a", Dg("blob"))));
  EXPECT_EQ(Ok(db().linked_blob("a", Dg("blob"))), std::nullopt);
}

TEST_F(SqliteStoreTest, UnlinkRemovesTheLinkFromOneRepositoryOnly) {
  Ok(db().link_blob("a", Dg("blob"), 42));
  Ok(db().link_blob("b", Dg("blob"), 42));
  EXPECT_TRUE(Ok(db().unlink_blob("a", Dg("blob"))));
  EXPECT_EQ(Ok(db().linked_blob("a", Dg("blob"))), std::nullopt);
  EXPECT_EQ(Ok(db().linked_blob("b", Dg("blob"))), std::optional<int64_t>(42));
}

TEST_F(SqliteStoreTest, UnlinkOfAnAbsentLinkReturnsFalse) {
  EXPECT_FALSE(Ok(db().unlink_blob("nowhere", Dg("blob"))));
  Ok(db().link_blob("a", Dg("blob"), 1));
  EXPECT_FALSE(Ok(db().unlink_blob("a", Dg("other"))));
}

TEST_F(SqliteStoreTest, ManifestsAreReachableAsBlobsOfTheirRepository) {
  Ok(db().put_manifest("a", Manifest(Dg("m")), {}, ""));
  EXPECT_EQ(Ok(db().linked_blob("a", Dg("m"))), std::optional<int64_t>(512));
  EXPECT_EQ(Ok(db().linked_blob("b", Dg("m"))), std::nullopt);
}

// --- manifests and tags -----------------------------------------------------------

TEST_F(SqliteStoreTest, PutManifestRecordsAllFieldsAndTheTag) {
  auto m = Manifest(Dg("m1"), 1234, Dg("subj"), "application/vnd.example");
  m.annotations_json = R"({"k":"v"})";
  std::vector<ManifestChild> children = {{Dg("config"), false}, {Dg("layer"), false}};
  Ok(db().put_manifest("repo", m, children, "v1"));

  auto got = Ok(db().get_manifest("repo", Dg("m1")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->digest, Dg("m1"));
  EXPECT_EQ(got->media_type, m.media_type);
  EXPECT_EQ(got->size, 512);
  EXPECT_EQ(got->artifact_type, "application/vnd.example");
  EXPECT_EQ(got->subject, Dg("subj"));
  EXPECT_EQ(got->annotations_json, R"({"k":"v"})");
  EXPECT_EQ(got->created_at, 1234);
  EXPECT_EQ(Ok(db().resolve_tag("repo", "v1")), std::optional<std::string>(Dg("m1")));
  EXPECT_TRUE(Ok(db().repository_exists("repo")));
}

TEST_F(SqliteStoreTest, PutManifestWithoutTagCreatesNoTag) {
  Ok(db().put_manifest("repo", Manifest(Dg("m1")), {}, ""));
  auto tags = Ok(db().list_tags("repo", "", 100));
  ASSERT_TRUE(tags);
  EXPECT_TRUE(tags->empty());
  EXPECT_TRUE(Ok(db().get_manifest("repo", Dg("m1"))));
}

TEST_F(SqliteStoreTest, PutManifestWithChildManifests) {
  Ok(db().put_manifest("repo", Manifest(Dg("amd64")), {}, ""));
  Ok(db().put_manifest("repo", Manifest(Dg("arm64")), {}, ""));
  std::vector<ManifestChild> children = {{Dg("amd64"), true}, {Dg("arm64"), true}};
  auto index = Manifest(Dg("index"));
  index.media_type = "application/vnd.oci.image.index.v1+json";
  Ok(db().put_manifest("repo", index, children, "latest"));
  EXPECT_EQ(Ok(db().resolve_tag("repo", "latest")), std::optional<std::string>(Dg("index")));
  auto got = Ok(db().get_manifest("repo", Dg("index")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->media_type, "application/vnd.oci.image.index.v1+json");
}

TEST_F(SqliteStoreTest, PuttingTheSameManifestAgainIsIdempotentAndCanAddATag) {
  Ok(db().put_manifest("repo", Manifest(Dg("m")), {{Dg("c"), false}}, "a"));
  Ok(db().put_manifest("repo", Manifest(Dg("m")), {{Dg("c"), false}}, "b"));
  EXPECT_EQ(Ok(db().resolve_tag("repo", "a")), std::optional<std::string>(Dg("m")));
  EXPECT_EQ(Ok(db().resolve_tag("repo", "b")), std::optional<std::string>(Dg("m")));
}

TEST_F(SqliteStoreTest, ManifestsAreScopedToTheirRepository) {
  Ok(db().put_manifest("a", Manifest(Dg("m")), {}, "latest"));
  EXPECT_EQ(Ok(db().get_manifest("b", Dg("m"))), std::nullopt);
  EXPECT_EQ(Ok(db().resolve_tag("b", "latest")), std::nullopt);
  EXPECT_EQ(Ok(db().get_manifest("a", Dg("other"))), std::nullopt);
}

TEST_F(SqliteStoreTest, TagMovesToTheNewestManifest) {
  Ok(db().put_manifest("repo", Manifest(Dg("old")), {}, "latest"));
  Ok(db().put_manifest("repo", Manifest(Dg("new")), {}, "latest"));
  EXPECT_EQ(Ok(db().resolve_tag("repo", "latest")), std::optional<std::string>(Dg("new")));
  // The old manifest stays addressable by digest.
  EXPECT_TRUE(Ok(db().get_manifest("repo", Dg("old"))));
  auto tags = Ok(db().list_tags("repo", "", 100));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, std::vector<std::string>{"latest"});
}

TEST_F(SqliteStoreTest, ResolveOfAnUnknownTagIsEmpty) {
  EXPECT_EQ(Ok(db().resolve_tag("nope", "latest")), std::nullopt);
  Ok(db().put_manifest("repo", Manifest(Dg("m")), {}, "v1"));
  EXPECT_EQ(Ok(db().resolve_tag("repo", "v2")), std::nullopt);
}

TEST_F(SqliteStoreTest, TagsAreCaseSensitive) {
  Ok(db().put_manifest("repo", Manifest(Dg("lower")), {}, "latest"));
  Ok(db().put_manifest("repo", Manifest(Dg("upper")), {}, "LATEST"));
  EXPECT_EQ(Ok(db().resolve_tag("repo", "latest")), std::optional<std::string>(Dg("lower")));
  EXPECT_EQ(Ok(db().resolve_tag("repo", "LATEST")), std::optional<std::string>(Dg("upper")));
}

TEST_F(SqliteStoreTest, DeleteTagRemovesOnlyThatTag) {
  Ok(db().put_manifest("repo", Manifest(Dg("m")), {}, "a"));
  Ok(db().put_manifest("repo", Manifest(Dg("m")), {}, "b"));
  EXPECT_TRUE(Ok(db().delete_tag("repo", "a")));
  EXPECT_FALSE(Ok(db().delete_tag("repo", "a")));
  EXPECT_FALSE(Ok(db().delete_tag("other", "b")));
  EXPECT_EQ(Ok(db().resolve_tag("repo", "a")), std::nullopt);
  EXPECT_EQ(Ok(db().resolve_tag("repo", "b")), std::optional<std::string>(Dg("m")));
  EXPECT_TRUE(Ok(db().get_manifest("repo", Dg("m"))));
}

TEST_F(SqliteStoreTest, DeleteManifestRemovesItAndEveryTagPointingAtIt) {
  Ok(db().put_manifest("repo", Manifest(Dg("m")), {{Dg("c"), false}}, "a"));
  Ok(db().put_manifest("repo", Manifest(Dg("m")), {}, "b"));
  Ok(db().put_manifest("repo", Manifest(Dg("keep")), {}, "c"));
  EXPECT_TRUE(Ok(db().delete_manifest("repo", Dg("m"))));
  EXPECT_EQ(Ok(db().get_manifest("repo", Dg("m"))), std::nullopt);
  EXPECT_EQ(Ok(db().resolve_tag("repo", "a")), std::nullopt);
  EXPECT_EQ(Ok(db().resolve_tag("repo", "b")), std::nullopt);
  EXPECT_EQ(Ok(db().resolve_tag("repo", "c")), std::optional<std::string>(Dg("keep")));
  EXPECT_EQ(Ok(db().linked_blob("repo", Dg("m"))), std::nullopt);
  auto tags = Ok(db().list_tags("repo", "", 100));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, std::vector<std::string>{"c"});
}

TEST_F(SqliteStoreTest, DeleteManifestOfAnAbsentManifestReturnsFalse) {
  EXPECT_FALSE(Ok(db().delete_manifest("nowhere", Dg("m"))));
  Ok(db().put_manifest("repo", Manifest(Dg("m")), {}, ""));
  EXPECT_FALSE(Ok(db().delete_manifest("repo", Dg("other"))));
  EXPECT_TRUE(Ok(db().delete_manifest("repo", Dg("m"))));
  EXPECT_FALSE(Ok(db().delete_manifest("repo", Dg("m"))));
}

TEST_F(SqliteStoreTest, DeleteManifestInOneRepositoryLeavesOthersAlone) {
  Ok(db().put_manifest("a", Manifest(Dg("m")), {}, "latest"));
  Ok(db().put_manifest("b", Manifest(Dg("m")), {}, "latest"));
  EXPECT_TRUE(Ok(db().delete_manifest("a", Dg("m"))));
  EXPECT_TRUE(Ok(db().get_manifest("b", Dg("m"))));
  EXPECT_EQ(Ok(db().resolve_tag("b", "latest")), std::optional<std::string>(Dg("m")));
}

TEST_F(SqliteStoreTest, ListTagsIsSortedAndPaginated) {
  for (const char* tag : {"v3", "latest", "v1", "v10", "v2", "alpha"}) {
    Ok(db().put_manifest("repo", Manifest(Dg("m")), {}, tag));
  }
  auto all = Ok(db().list_tags("repo", "", 100));
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, (std::vector<std::string>{"alpha", "latest", "v1", "v10", "v2", "v3"}));

  auto page1 = Ok(db().list_tags("repo", "", 2));
  ASSERT_TRUE(page1);
  EXPECT_EQ(*page1, (std::vector<std::string>{"alpha", "latest"}));
  auto page2 = Ok(db().list_tags("repo", page1->back(), 2));
  ASSERT_TRUE(page2);
  EXPECT_EQ(*page2, (std::vector<std::string>{"v1", "v10"}));
  auto page3 = Ok(db().list_tags("repo", page2->back(), 2));
  ASSERT_TRUE(page3);
  EXPECT_EQ(*page3, (std::vector<std::string>{"v2", "v3"}));
  auto page4 = Ok(db().list_tags("repo", page3->back(), 2));
  ASSERT_TRUE(page4);
  EXPECT_TRUE(page4->empty());
}

TEST_F(SqliteStoreTest, ListTagsLastNeedNotBeAnExistingTag) {
  for (const char* tag : {"a", "c", "e"}) Ok(db().put_manifest("repo", Manifest(Dg("m")), {}, tag));
  auto after_b = Ok(db().list_tags("repo", "b", 10));
  ASSERT_TRUE(after_b);
  EXPECT_EQ(*after_b, (std::vector<std::string>{"c", "e"}));
}

TEST_F(SqliteStoreTest, ListTagsWithZeroPageSizeIsEmpty) {
  Ok(db().put_manifest("repo", Manifest(Dg("m")), {}, "a"));
  auto none = Ok(db().list_tags("repo", "", 0));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(SqliteStoreTest, ListTagsOfAnUnknownRepositoryIsNullopt) {
  EXPECT_EQ(Ok(db().list_tags("unknown", "", 10)), std::nullopt);
  // A repository that exists but has no tags lists as empty, not unknown.
  Ok(db().link_blob("untagged", Dg("b"), 1));
  auto tags = Ok(db().list_tags("untagged", "", 10));
  ASSERT_TRUE(tags);
  EXPECT_TRUE(tags->empty());
}

TEST_F(SqliteStoreTest, ListTagsIsScopedToTheRepository) {
  Ok(db().put_manifest("a", Manifest(Dg("m")), {}, "from-a"));
  Ok(db().put_manifest("b", Manifest(Dg("m")), {}, "from-b"));
  auto tags = Ok(db().list_tags("a", "", 10));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, std::vector<std::string>{"from-a"});
}

// --- repositories -----------------------------------------------------------------

TEST_F(SqliteStoreTest, ListRepositoriesIsSortedAndPaginated) {
  for (const char* repo : {"zeta", "alpha/one", "alpha", "mid/x/y", "beta"}) {
    Ok(db().link_blob(repo, Dg("b"), 1));
  }
  auto all = Ok(db().list_repositories("", 100));
  EXPECT_EQ(all, (std::vector<std::string>{"alpha", "alpha/one", "beta", "mid/x/y", "zeta"}));
  auto p1 = Ok(db().list_repositories("", 2));
  EXPECT_EQ(p1, (std::vector<std::string>{"alpha", "alpha/one"}));
  auto p2 = Ok(db().list_repositories(p1.back(), 2));
  EXPECT_EQ(p2, (std::vector<std::string>{"beta", "mid/x/y"}));
  auto p3 = Ok(db().list_repositories(p2.back(), 2));
  EXPECT_EQ(p3, (std::vector<std::string>{"zeta"}));
  EXPECT_TRUE(Ok(db().list_repositories("zeta", 2)).empty());
}

TEST_F(SqliteStoreTest, ListRepositoriesIncludesRepositoriesWithOnlyManifests) {
  Ok(db().put_manifest("manifests-only", Manifest(Dg("m")), {}, ""));
  EXPECT_EQ(Ok(db().list_repositories("", 10)), std::vector<std::string>{"manifests-only"});
}

TEST_F(SqliteStoreTest, ListRepositoriesOfAnEmptyStoreIsEmpty) {
  EXPECT_TRUE(Ok(db().list_repositories("", 10)).empty());
}

// --- referrers --------------------------------------------------------------------

TEST_F(SqliteStoreTest, ListReferrersReturnsManifestsWithThatSubject) {
  Ok(db().put_manifest("repo", Manifest(Dg("image")), {}, "latest"));
  Ok(db().put_manifest("repo", Manifest(Dg("sig"), 10, Dg("image"), "application/vnd.sig"), {}, ""));
  Ok(db().put_manifest("repo", Manifest(Dg("sbom"), 20, Dg("image"), "application/vnd.sbom"), {},
                       ""));
  Ok(db().put_manifest("repo", Manifest(Dg("unrelated"), 30, Dg("other"), "application/vnd.sig"),
                       {}, ""));
  auto refs = Ok(db().list_referrers("repo", Dg("image"), ""));
  ASSERT_EQ(refs.size(), 2u);
  std::vector<std::string> digests = {refs[0].digest, refs[1].digest};
  std::sort(digests.begin(), digests.end());
  EXPECT_EQ(digests, (std::vector<std::string>{Dg("sbom"), Dg("sig")}));
  for (const auto& r : refs) {
    EXPECT_EQ(r.subject, Dg("image"));
    EXPECT_FALSE(r.artifact_type.empty());
  }
}

TEST_F(SqliteStoreTest, ListReferrersFiltersByArtifactType) {
  Ok(db().put_manifest("repo", Manifest(Dg("sig1"), 10, Dg("image"), "application/vnd.sig"), {}, ""));
  Ok(db().put_manifest("repo", Manifest(Dg("sig2"), 11, Dg("image"), "application/vnd.sig"), {}, ""));
  Ok(db().put_manifest("repo", Manifest(Dg("sbom"), 20, Dg("image"), "application/vnd.sbom"), {},
                       ""));
  auto sigs = Ok(db().list_referrers("repo", Dg("image"), "application/vnd.sig"));
  ASSERT_EQ(sigs.size(), 2u);
  for (const auto& r : sigs) EXPECT_EQ(r.artifact_type, "application/vnd.sig");
  auto sboms = Ok(db().list_referrers("repo", Dg("image"), "application/vnd.sbom"));
  ASSERT_EQ(sboms.size(), 1u);
  EXPECT_EQ(sboms[0].digest, Dg("sbom"));
  EXPECT_TRUE(Ok(db().list_referrers("repo", Dg("image"), "application/vnd.none")).empty());
}

TEST_F(SqliteStoreTest, ListReferrersIsScopedToTheRepository) {
  Ok(db().put_manifest("a", Manifest(Dg("sig"), 10, Dg("image"), "application/vnd.sig"), {}, ""));
  EXPECT_TRUE(Ok(db().list_referrers("b", Dg("image"), "")).empty());
  EXPECT_TRUE(Ok(db().list_referrers("unknown", Dg("image"), "")).empty());
  EXPECT_EQ(Ok(db().list_referrers("a", Dg("image"), "")).size(), 1u);
}

TEST_F(SqliteStoreTest, DeletedReferrersAreNoLongerListed) {
  Ok(db().put_manifest("repo", Manifest(Dg("sig"), 10, Dg("image"), "application/vnd.sig"), {}, ""));
  EXPECT_TRUE(Ok(db().delete_manifest("repo", Dg("sig"))));
  EXPECT_TRUE(Ok(db().list_referrers("repo", Dg("image"), "")).empty());
}

// --- uploads ----------------------------------------------------------------------

TEST_F(SqliteStoreTest, UploadsAreCreatedLookedUpAndDeleted) {
  Ok(db().create_upload("id-1", "team/app", 1000));
  Ok(db().create_upload("id-2", "other", 1001));
  EXPECT_EQ(Ok(db().upload_repository("id-1")), std::optional<std::string>("team/app"));
  EXPECT_EQ(Ok(db().upload_repository("id-2")), std::optional<std::string>("other"));
  EXPECT_EQ(Ok(db().upload_repository("id-3")), std::nullopt);
  Ok(db().delete_upload("id-1"));
  EXPECT_EQ(Ok(db().upload_repository("id-1")), std::nullopt);
  EXPECT_EQ(Ok(db().upload_repository("id-2")), std::optional<std::string>("other"));
  // Deleting an absent upload is not an error.
  Ok(db().delete_upload("id-1"));
}

TEST_F(SqliteStoreTest, UploadsSurviveReopening) {
  Ok(db().create_upload("id-1", "repo", 1000));
  Reopen();
  EXPECT_EQ(Ok(db().upload_repository("id-1")), std::optional<std::string>("repo"));
}

TEST_F(SqliteStoreTest, DuplicateUploadIdIsAnError) {
  Ok(db().create_upload("id-1", "repo", 1000));
  auto again = db().create_upload("id-1", "repo", 1001);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::internal);
  EXPECT_EQ(Ok(db().upload_repository("id-1")), std::optional<std::string>("repo"));
  // The store is still usable after the failed transaction.
  Ok(db().create_upload("id-2", "repo", 1002));
  Ok(db().link_blob("repo", Dg("b"), 1));
}

TEST_F(SqliteStoreTest, AnUploadAloneDoesNotListARepositoryInTheCatalog) {
  Ok(db().create_upload("id-1", "pending", 1000));
  EXPECT_TRUE(Ok(db().list_repositories("", 10)).empty());
}

}  // namespace
}  // namespace portcullis::metadata
