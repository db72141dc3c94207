// The metadata conformance suite: every test runs unchanged against each
// engine (SQLite and a real PostgreSQL 15 server, see store_engines.h).
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "metadata/migrations.h"
#include "store_engines.h"

namespace portcullis::metadata {
namespace {

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

template <class T>
T Ok(Result<T> r) {
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) throw std::runtime_error("unexpected error");
  return std::move(*r);
}
void Ok(Result<void> r) {
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) throw std::runtime_error("unexpected error");
}

template <class Engine>
class MetadataStoreTest : public ::testing::Test {
 protected:
  // An engine that cannot start (PostgreSQL not installed) fails each of its
  // tests here, loudly, and leaves the other engines' tests alone.
  void SetUp() override {
    try {
      engine_.emplace();
      db_ = engine_->Open();
    } catch (const std::exception& e) {
      FAIL() << Engine::kName << ": " << e.what();
    }
  }
  typename Engine::Store& db() { return *db_; }
  Engine& engine() { return *engine_; }
  void Reopen() {
    db_.reset();
    db_ = engine_->Open();
  }

  std::optional<Engine> engine_;
  std::unique_ptr<typename Engine::Store> db_;
};

struct EngineName {
  template <class Engine>
  static std::string GetName(int) {
    return Engine::kName;
  }
};

using Engines = ::testing::Types<SqliteEngine, PostgresEngine>;
TYPED_TEST_SUITE(MetadataStoreTest, Engines, EngineName);

// --- migrations -----------------------------------------------------------------

TYPED_TEST(MetadataStoreTest, NewDatabaseIsMigratedToTheLatestSchema) {
  ASSERT_FALSE(migrations().empty());
  EXPECT_EQ(this->db().schema_version(), static_cast<int>(migrations().size()));
  EXPECT_TRUE(this->engine().StorageExists());
}

TYPED_TEST(MetadataStoreTest, ReopeningIsIdempotentAndKeepsData) {
  Ok(this->db().link_blob("repo", Dg("a"), 5));
  this->Reopen();
  EXPECT_EQ(this->db().schema_version(), static_cast<int>(migrations().size()));
  this->Reopen();
  EXPECT_EQ(this->db().schema_version(), static_cast<int>(migrations().size()));
  EXPECT_EQ(Ok(this->db().linked_blob("repo", Dg("a"))), std::optional<int64_t>(5));
}

TYPED_TEST(MetadataStoreTest, RefusesADatabaseFromANewerBinary) {
  this->db_.reset();
  ASSERT_NO_THROW(this->engine().SetSchemaVersion(static_cast<int>(migrations().size()) + 1));
  EXPECT_THROW(this->engine().Open(), std::runtime_error);
}

TYPED_TEST(MetadataStoreTest, ThrowsWhenTheStoreCannotBeOpened) {
  EXPECT_THROW(TypeParam::OpenUnreachable(), std::runtime_error);
}

// --- blob links -------------------------------------------------------------------

TYPED_TEST(MetadataStoreTest, LinkedBlobIsVisibleOnlyInItsRepository) {
  Ok(this->db().link_blob("a", Dg("blob"), 42));
  EXPECT_EQ(Ok(this->db().linked_blob("a", Dg("blob"))), std::optional<int64_t>(42));
  EXPECT_EQ(Ok(this->db().linked_blob("b", Dg("blob"))), std::nullopt);
  EXPECT_EQ(Ok(this->db().linked_blob("a", Dg("other"))), std::nullopt);
}

TYPED_TEST(MetadataStoreTest, LinkingCreatesTheRepository) {
  EXPECT_FALSE(Ok(this->db().repository_exists("fresh")));
  Ok(this->db().link_blob("fresh", Dg("x"), 1));
  EXPECT_TRUE(Ok(this->db().repository_exists("fresh")));
}

TYPED_TEST(MetadataStoreTest, LinkingTwiceIsHarmless) {
  Ok(this->db().link_blob("a", Dg("blob"), 42));
  Ok(this->db().link_blob("a", Dg("blob"), 42));
  EXPECT_EQ(Ok(this->db().linked_blob("a", Dg("blob"))), std::optional<int64_t>(42));
  EXPECT_TRUE(Ok(this->db().unlink_blob("a", Dg("blob"))));
  EXPECT_EQ(Ok(this->db().linked_blob("a", Dg("blob"))), std::nullopt);
}

TYPED_TEST(MetadataStoreTest, UnlinkRemovesTheLinkFromOneRepositoryOnly) {
  Ok(this->db().link_blob("a", Dg("blob"), 42));
  Ok(this->db().link_blob("b", Dg("blob"), 42));
  EXPECT_TRUE(Ok(this->db().unlink_blob("a", Dg("blob"))));
  EXPECT_EQ(Ok(this->db().linked_blob("a", Dg("blob"))), std::nullopt);
  EXPECT_EQ(Ok(this->db().linked_blob("b", Dg("blob"))), std::optional<int64_t>(42));
}

TYPED_TEST(MetadataStoreTest, UnlinkOfAnAbsentLinkReturnsFalse) {
  EXPECT_FALSE(Ok(this->db().unlink_blob("nowhere", Dg("blob"))));
  Ok(this->db().link_blob("a", Dg("blob"), 1));
  EXPECT_FALSE(Ok(this->db().unlink_blob("a", Dg("other"))));
}

TYPED_TEST(MetadataStoreTest, ManifestsAreReachableAsBlobsOfTheirRepository) {
  Ok(this->db().put_manifest("a", Manifest(Dg("m")), {}, ""));
  EXPECT_EQ(Ok(this->db().linked_blob("a", Dg("m"))), std::optional<int64_t>(512));
  EXPECT_EQ(Ok(this->db().linked_blob("b", Dg("m"))), std::nullopt);
}

// --- manifests and tags -----------------------------------------------------------

TYPED_TEST(MetadataStoreTest, PutManifestRecordsAllFieldsAndTheTag) {
  auto m = Manifest(Dg("m1"), 1234, Dg("subj"), "application/vnd.example");
  m.annotations_json = R"({"k":"v"})";
  std::vector<ManifestChild> children = {{Dg("config"), false}, {Dg("layer"), false}};
  Ok(this->db().put_manifest("repo", m, children, "v1"));

  auto got = Ok(this->db().get_manifest("repo", Dg("m1")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->digest, Dg("m1"));
  EXPECT_EQ(got->media_type, m.media_type);
  EXPECT_EQ(got->size, 512);
  EXPECT_EQ(got->artifact_type, "application/vnd.example");
  EXPECT_EQ(got->subject, Dg("subj"));
  EXPECT_EQ(got->annotations_json, R"({"k":"v"})");
  EXPECT_EQ(got->created_at, 1234);
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "v1")), std::optional<std::string>(Dg("m1")));
  EXPECT_TRUE(Ok(this->db().repository_exists("repo")));
}

TYPED_TEST(MetadataStoreTest, PutManifestWithoutTagCreatesNoTag) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("m1")), {}, ""));
  auto tags = Ok(this->db().list_tags("repo", "", 100));
  ASSERT_TRUE(tags);
  EXPECT_TRUE(tags->empty());
  EXPECT_TRUE(Ok(this->db().get_manifest("repo", Dg("m1"))));
}

TYPED_TEST(MetadataStoreTest, PutManifestWithChildManifests) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("amd64")), {}, ""));
  Ok(this->db().put_manifest("repo", Manifest(Dg("arm64")), {}, ""));
  std::vector<ManifestChild> children = {{Dg("amd64"), true}, {Dg("arm64"), true}};
  auto index = Manifest(Dg("index"));
  index.media_type = "application/vnd.oci.image.index.v1+json";
  Ok(this->db().put_manifest("repo", index, children, "latest"));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "latest")), std::optional<std::string>(Dg("index")));
  auto got = Ok(this->db().get_manifest("repo", Dg("index")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->media_type, "application/vnd.oci.image.index.v1+json");
}

TYPED_TEST(MetadataStoreTest, PuttingTheSameManifestAgainIsIdempotentAndCanAddATag) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {{Dg("c"), false}}, "a"));
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {{Dg("c"), false}}, "b"));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "a")), std::optional<std::string>(Dg("m")));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "b")), std::optional<std::string>(Dg("m")));
}

TYPED_TEST(MetadataStoreTest, ManifestsAreScopedToTheirRepository) {
  Ok(this->db().put_manifest("a", Manifest(Dg("m")), {}, "latest"));
  EXPECT_EQ(Ok(this->db().get_manifest("b", Dg("m"))), std::nullopt);
  EXPECT_EQ(Ok(this->db().resolve_tag("b", "latest")), std::nullopt);
  EXPECT_EQ(Ok(this->db().get_manifest("a", Dg("other"))), std::nullopt);
}

TYPED_TEST(MetadataStoreTest, TagMovesToTheNewestManifest) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("old")), {}, "latest"));
  Ok(this->db().put_manifest("repo", Manifest(Dg("new")), {}, "latest"));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "latest")), std::optional<std::string>(Dg("new")));
  // The old manifest stays addressable by digest.
  EXPECT_TRUE(Ok(this->db().get_manifest("repo", Dg("old"))));
  auto tags = Ok(this->db().list_tags("repo", "", 100));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, std::vector<std::string>{"latest"});
}

TYPED_TEST(MetadataStoreTest, ResolveOfAnUnknownTagIsEmpty) {
  EXPECT_EQ(Ok(this->db().resolve_tag("nope", "latest")), std::nullopt);
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "v1"));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "v2")), std::nullopt);
}

TYPED_TEST(MetadataStoreTest, TagsAreCaseSensitive) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("lower")), {}, "latest"));
  Ok(this->db().put_manifest("repo", Manifest(Dg("upper")), {}, "LATEST"));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "latest")), std::optional<std::string>(Dg("lower")));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "LATEST")), std::optional<std::string>(Dg("upper")));
}

TYPED_TEST(MetadataStoreTest, DeleteTagRemovesOnlyThatTag) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "a"));
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "b"));
  EXPECT_TRUE(Ok(this->db().delete_tag("repo", "a")));
  EXPECT_FALSE(Ok(this->db().delete_tag("repo", "a")));
  EXPECT_FALSE(Ok(this->db().delete_tag("other", "b")));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "a")), std::nullopt);
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "b")), std::optional<std::string>(Dg("m")));
  EXPECT_TRUE(Ok(this->db().get_manifest("repo", Dg("m"))));
}

TYPED_TEST(MetadataStoreTest, DeleteManifestRemovesItAndEveryTagPointingAtIt) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {{Dg("c"), false}}, "a"));
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "b"));
  Ok(this->db().put_manifest("repo", Manifest(Dg("keep")), {}, "c"));
  EXPECT_TRUE(Ok(this->db().delete_manifest("repo", Dg("m"))));
  EXPECT_EQ(Ok(this->db().get_manifest("repo", Dg("m"))), std::nullopt);
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "a")), std::nullopt);
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "b")), std::nullopt);
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "c")), std::optional<std::string>(Dg("keep")));
  EXPECT_EQ(Ok(this->db().linked_blob("repo", Dg("m"))), std::nullopt);
  auto tags = Ok(this->db().list_tags("repo", "", 100));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, std::vector<std::string>{"c"});
}

TYPED_TEST(MetadataStoreTest, DeleteManifestOfAnAbsentManifestReturnsFalse) {
  EXPECT_FALSE(Ok(this->db().delete_manifest("nowhere", Dg("m"))));
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, ""));
  EXPECT_FALSE(Ok(this->db().delete_manifest("repo", Dg("other"))));
  EXPECT_TRUE(Ok(this->db().delete_manifest("repo", Dg("m"))));
  EXPECT_FALSE(Ok(this->db().delete_manifest("repo", Dg("m"))));
}

TYPED_TEST(MetadataStoreTest, DeleteManifestInOneRepositoryLeavesOthersAlone) {
  Ok(this->db().put_manifest("a", Manifest(Dg("m")), {}, "latest"));
  Ok(this->db().put_manifest("b", Manifest(Dg("m")), {}, "latest"));
  EXPECT_TRUE(Ok(this->db().delete_manifest("a", Dg("m"))));
  EXPECT_TRUE(Ok(this->db().get_manifest("b", Dg("m"))));
  EXPECT_EQ(Ok(this->db().resolve_tag("b", "latest")), std::optional<std::string>(Dg("m")));
}

TYPED_TEST(MetadataStoreTest, ListTagsIsSortedAndPaginated) {
  for (const char* tag : {"v3", "latest", "v1", "v10", "v2", "alpha"}) {
    Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, tag));
  }
  auto all = Ok(this->db().list_tags("repo", "", 100));
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, (std::vector<std::string>{"alpha", "latest", "v1", "v10", "v2", "v3"}));

  auto page1 = Ok(this->db().list_tags("repo", "", 2));
  ASSERT_TRUE(page1);
  EXPECT_EQ(*page1, (std::vector<std::string>{"alpha", "latest"}));
  auto page2 = Ok(this->db().list_tags("repo", page1->back(), 2));
  ASSERT_TRUE(page2);
  EXPECT_EQ(*page2, (std::vector<std::string>{"v1", "v10"}));
  auto page3 = Ok(this->db().list_tags("repo", page2->back(), 2));
  ASSERT_TRUE(page3);
  EXPECT_EQ(*page3, (std::vector<std::string>{"v2", "v3"}));
  auto page4 = Ok(this->db().list_tags("repo", page3->back(), 2));
  ASSERT_TRUE(page4);
  EXPECT_TRUE(page4->empty());
}

TYPED_TEST(MetadataStoreTest, ListTagsLastNeedNotBeAnExistingTag) {
  for (const char* tag : {"a", "c", "e"})
    Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, tag));
  auto after_b = Ok(this->db().list_tags("repo", "b", 10));
  ASSERT_TRUE(after_b);
  EXPECT_EQ(*after_b, (std::vector<std::string>{"c", "e"}));
}

TYPED_TEST(MetadataStoreTest, ListTagsWithZeroPageSizeIsEmpty) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "a"));
  auto none = Ok(this->db().list_tags("repo", "", 0));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TYPED_TEST(MetadataStoreTest, ListTagsOfAnUnknownRepositoryIsNullopt) {
  EXPECT_EQ(Ok(this->db().list_tags("unknown", "", 10)), std::nullopt);
  // A repository that exists but has no tags lists as empty, not unknown.
  Ok(this->db().link_blob("untagged", Dg("b"), 1));
  auto tags = Ok(this->db().list_tags("untagged", "", 10));
  ASSERT_TRUE(tags);
  EXPECT_TRUE(tags->empty());
}

TYPED_TEST(MetadataStoreTest, ListTagsIsScopedToTheRepository) {
  Ok(this->db().put_manifest("a", Manifest(Dg("m")), {}, "from-a"));
  Ok(this->db().put_manifest("b", Manifest(Dg("m")), {}, "from-b"));
  auto tags = Ok(this->db().list_tags("a", "", 10));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, std::vector<std::string>{"from-a"});
}

// --- repositories -----------------------------------------------------------------

TYPED_TEST(MetadataStoreTest, ListRepositoriesIsSortedAndPaginated) {
  for (const char* repo : {"zeta", "alpha/one", "alpha", "mid/x/y", "beta"}) {
    Ok(this->db().link_blob(repo, Dg("b"), 1));
  }
  auto all = Ok(this->db().list_repositories("", 100));
  EXPECT_EQ(all, (std::vector<std::string>{"alpha", "alpha/one", "beta", "mid/x/y", "zeta"}));
  auto p1 = Ok(this->db().list_repositories("", 2));
  EXPECT_EQ(p1, (std::vector<std::string>{"alpha", "alpha/one"}));
  auto p2 = Ok(this->db().list_repositories(p1.back(), 2));
  EXPECT_EQ(p2, (std::vector<std::string>{"beta", "mid/x/y"}));
  auto p3 = Ok(this->db().list_repositories(p2.back(), 2));
  EXPECT_EQ(p3, (std::vector<std::string>{"zeta"}));
  EXPECT_TRUE(Ok(this->db().list_repositories("zeta", 2)).empty());
}

TYPED_TEST(MetadataStoreTest, ListRepositoriesIncludesRepositoriesWithOnlyManifests) {
  Ok(this->db().put_manifest("manifests-only", Manifest(Dg("m")), {}, ""));
  EXPECT_EQ(Ok(this->db().list_repositories("", 10)), std::vector<std::string>{"manifests-only"});
}

TYPED_TEST(MetadataStoreTest, ListRepositoriesOfAnEmptyStoreIsEmpty) {
  EXPECT_TRUE(Ok(this->db().list_repositories("", 10)).empty());
}

// --- referrers --------------------------------------------------------------------

TYPED_TEST(MetadataStoreTest, ListReferrersReturnsManifestsWithThatSubject) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("image")), {}, "latest"));
  Ok(this->db().put_manifest("repo", Manifest(Dg("sig"), 10, Dg("image"), "application/vnd.sig"),
                             {}, ""));
  Ok(this->db().put_manifest("repo", Manifest(Dg("sbom"), 20, Dg("image"), "application/vnd.sbom"),
                             {}, ""));
  Ok(this->db().put_manifest(
      "repo", Manifest(Dg("unrelated"), 30, Dg("other"), "application/vnd.sig"), {}, ""));
  auto refs = Ok(this->db().list_referrers("repo", Dg("image"), ""));
  ASSERT_EQ(refs.size(), 2u);
  std::vector<std::string> digests = {refs[0].digest, refs[1].digest};
  std::sort(digests.begin(), digests.end());
  EXPECT_EQ(digests, (std::vector<std::string>{Dg("sbom"), Dg("sig")}));
  for (const auto& r : refs) {
    EXPECT_EQ(r.subject, Dg("image"));
    EXPECT_FALSE(r.artifact_type.empty());
  }
}

TYPED_TEST(MetadataStoreTest, ListReferrersFiltersByArtifactType) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("sig1"), 10, Dg("image"), "application/vnd.sig"),
                             {}, ""));
  Ok(this->db().put_manifest("repo", Manifest(Dg("sig2"), 11, Dg("image"), "application/vnd.sig"),
                             {}, ""));
  Ok(this->db().put_manifest("repo", Manifest(Dg("sbom"), 20, Dg("image"), "application/vnd.sbom"),
                             {}, ""));
  auto sigs = Ok(this->db().list_referrers("repo", Dg("image"), "application/vnd.sig"));
  ASSERT_EQ(sigs.size(), 2u);
  for (const auto& r : sigs) EXPECT_EQ(r.artifact_type, "application/vnd.sig");
  auto sboms = Ok(this->db().list_referrers("repo", Dg("image"), "application/vnd.sbom"));
  ASSERT_EQ(sboms.size(), 1u);
  EXPECT_EQ(sboms[0].digest, Dg("sbom"));
  EXPECT_TRUE(Ok(this->db().list_referrers("repo", Dg("image"), "application/vnd.none")).empty());
}

TYPED_TEST(MetadataStoreTest, ListReferrersIsScopedToTheRepository) {
  Ok(this->db().put_manifest("a", Manifest(Dg("sig"), 10, Dg("image"), "application/vnd.sig"), {},
                             ""));
  EXPECT_TRUE(Ok(this->db().list_referrers("b", Dg("image"), "")).empty());
  EXPECT_TRUE(Ok(this->db().list_referrers("unknown", Dg("image"), "")).empty());
  EXPECT_EQ(Ok(this->db().list_referrers("a", Dg("image"), "")).size(), 1u);
}

TYPED_TEST(MetadataStoreTest, DeletedReferrersAreNoLongerListed) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("sig"), 10, Dg("image"), "application/vnd.sig"),
                             {}, ""));
  EXPECT_TRUE(Ok(this->db().delete_manifest("repo", Dg("sig"))));
  EXPECT_TRUE(Ok(this->db().list_referrers("repo", Dg("image"), "")).empty());
}

// --- uploads ----------------------------------------------------------------------

TYPED_TEST(MetadataStoreTest, UploadsAreCreatedLookedUpAndDeleted) {
  Ok(this->db().create_upload("id-1", "team/app", 1000));
  Ok(this->db().create_upload("id-2", "other", 1001));
  EXPECT_EQ(Ok(this->db().upload_repository("id-1")), std::optional<std::string>("team/app"));
  EXPECT_EQ(Ok(this->db().upload_repository("id-2")), std::optional<std::string>("other"));
  EXPECT_EQ(Ok(this->db().upload_repository("id-3")), std::nullopt);
  Ok(this->db().delete_upload("id-1"));
  EXPECT_EQ(Ok(this->db().upload_repository("id-1")), std::nullopt);
  EXPECT_EQ(Ok(this->db().upload_repository("id-2")), std::optional<std::string>("other"));
  // Deleting an absent upload is not an error.
  Ok(this->db().delete_upload("id-1"));
}

TYPED_TEST(MetadataStoreTest, UploadsSurviveReopening) {
  Ok(this->db().create_upload("id-1", "repo", 1000));
  this->Reopen();
  EXPECT_EQ(Ok(this->db().upload_repository("id-1")), std::optional<std::string>("repo"));
}

TYPED_TEST(MetadataStoreTest, DuplicateUploadIdIsAnError) {
  Ok(this->db().create_upload("id-1", "repo", 1000));
  auto again = this->db().create_upload("id-1", "repo", 1001);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::internal);
  EXPECT_EQ(Ok(this->db().upload_repository("id-1")), std::optional<std::string>("repo"));
  // The store is still usable after the failed transaction.
  Ok(this->db().create_upload("id-2", "repo", 1002));
  Ok(this->db().link_blob("repo", Dg("b"), 1));
}

TYPED_TEST(MetadataStoreTest, AnUploadAloneDoesNotListARepositoryInTheCatalog) {
  Ok(this->db().create_upload("id-1", "pending", 1000));
  EXPECT_TRUE(Ok(this->db().list_repositories("", 10)).empty());
}

// --- scan results -----------------------------------------------------------------

ScanRecord Scan(const std::string& digest, const std::string& status,
                const std::string& data_version = "", int64_t updated_at = 100) {
  ScanRecord r;
  r.digest = digest;
  r.status = status;
  r.data_version = data_version;
  r.updated_at = updated_at;
  return r;
}

TYPED_TEST(MetadataStoreTest, PutScanRecordsAllFieldsAndReplacesTheWholeRecord) {
  EXPECT_EQ(Ok(this->db().get_scan(Dg("m"))), std::nullopt);
  auto r = Scan(Dg("m"), "done", "2024-01", 4'000'000'000);  // past 2038: needs 64 bits
  r.inventory = R"({"packages":[]})";
  r.findings = R"([{"id":"CVE-1"}])";
  Ok(this->db().put_scan(r));
  auto got = Ok(this->db().get_scan(Dg("m")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->digest, Dg("m"));
  EXPECT_EQ(got->status, "done");
  EXPECT_EQ(got->inventory, R"({"packages":[]})");
  EXPECT_EQ(got->findings, R"([{"id":"CVE-1"}])");
  EXPECT_EQ(got->data_version, "2024-01");
  EXPECT_EQ(got->error, "");
  EXPECT_EQ(got->updated_at, 4'000'000'000);

  auto failed = Scan(Dg("m"), "failed", "", 5);
  failed.error = "layer unreadable";
  Ok(this->db().put_scan(failed));
  got = Ok(this->db().get_scan(Dg("m")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, "failed");
  EXPECT_EQ(got->error, "layer unreadable");
  EXPECT_EQ(got->inventory, "");
  EXPECT_EQ(got->findings, "");
  EXPECT_EQ(got->updated_at, 5);
}

TYPED_TEST(MetadataStoreTest, StaleScansAreFinishedScansMatchedWithOtherData) {
  Ok(this->db().put_scan(Scan(Dg("current"), "done", "v2")));
  Ok(this->db().put_scan(Scan(Dg("old-b"), "done", "v1")));
  Ok(this->db().put_scan(Scan(Dg("old-a"), "done", "v1")));
  Ok(this->db().put_scan(Scan(Dg("queued"), "queued", "v1")));
  Ok(this->db().put_scan(Scan(Dg("failed"), "failed", "v1")));
  EXPECT_EQ(Ok(this->db().stale_scans("v2")), (std::vector<std::string>{Dg("old-a"), Dg("old-b")}));
  EXPECT_EQ(Ok(this->db().stale_scans("v1")), std::vector<std::string>{Dg("current")});
}

TYPED_TEST(MetadataStoreTest, UnfinishedScansAreQueuedOrRunningOldestFirst) {
  Ok(this->db().put_scan(Scan(Dg("running"), "running", "", 20)));
  Ok(this->db().put_scan(Scan(Dg("queued"), "queued", "", 10)));
  Ok(this->db().put_scan(Scan(Dg("done"), "done", "v1", 5)));
  Ok(this->db().put_scan(Scan(Dg("failed"), "failed", "", 1)));
  EXPECT_EQ(Ok(this->db().unfinished_scans()),
            (std::vector<std::string>{Dg("queued"), Dg("running")}));
}

// --- values the engines must keep exactly -------------------------------------------

TYPED_TEST(MetadataStoreTest, SizesBeyondFourGibibytesAndUtf8AnnotationsRoundTrip) {
  const int64_t big = int64_t{5} << 32;
  Ok(this->db().link_blob("repo", Dg("huge"), big));
  EXPECT_EQ(Ok(this->db().linked_blob("repo", Dg("huge"))), std::optional<int64_t>(big));
  auto m = Manifest(Dg("m"));
  m.annotations_json = "{\"org.opencontainers.image.title\":\"caf\xc3\xa9 \xe2\x9c\x93\"}";
  Ok(this->db().put_manifest("repo", m, {}, ""));
  auto got = Ok(this->db().get_manifest("repo", Dg("m")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->annotations_json, m.annotations_json);
}

TYPED_TEST(MetadataStoreTest, NamesSortBytewiseNotByLocale) {
  // OCI pagination is lexical: upper case before lower case, '-' and '/'
  // significant (a locale collation would interleave these).
  for (const char* tag : {"b", "B", "a-2", "a2", "A"}) {
    Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, tag));
  }
  auto tags = Ok(this->db().list_tags("repo", "", 10));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, (std::vector<std::string>{"A", "B", "a-2", "a2", "b"}));
  for (const char* repo : {"ab", "a/b", "a-b", "Ab"}) Ok(this->db().link_blob(repo, Dg("x"), 1));
  EXPECT_EQ(Ok(this->db().list_repositories("", 10)),
            (std::vector<std::string>{"Ab", "a-b", "a/b", "ab", "repo"}));
}

// --- concurrency ----------------------------------------------------------------------

TYPED_TEST(MetadataStoreTest, ConcurrentBlobLinksAllLand) {
  constexpr int kPerThread = 100;
  std::atomic<int> failures{0};
  auto worker = [&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::string own = "own-" + std::to_string(t);
      std::string blob = Dg(std::to_string(t) + "-" + std::to_string(i));
      // Both threads create the same fresh repositories at once, and link to one.
      if (!this->db().link_blob("fresh-" + std::to_string(i), blob, i)) ++failures;
      if (!this->db().link_blob("shared", blob, i)) ++failures;
      if (!this->db().link_blob(own, Dg("common"), 7)) ++failures;
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < 2; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::string blob = Dg(std::to_string(t) + "-" + std::to_string(i));
      EXPECT_EQ(Ok(this->db().linked_blob("shared", blob)), std::optional<int64_t>(i));
      EXPECT_EQ(Ok(this->db().linked_blob("fresh-" + std::to_string(i), blob)),
                std::optional<int64_t>(i));
    }
  }
  auto repos = Ok(this->db().list_repositories("", 1000));
  EXPECT_EQ(repos.size(), static_cast<std::size_t>(kPerThread + 3));
  EXPECT_TRUE(std::is_sorted(repos.begin(), repos.end()));
}

TYPED_TEST(MetadataStoreTest, ConcurrentTagMovesLeaveTheTagOnAPushedManifest) {
  constexpr int kPerThread = 50;
  std::atomic<int> failures{0};
  std::atomic<int> dangling{0};
  auto worker = [&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::string digest = Dg("t" + std::to_string(t) + "-" + std::to_string(i));
      if (!this->db().put_manifest("repo", Manifest(digest), {{Dg("layer"), false}}, "latest")) {
        ++failures;
      }
      // Whatever the tag points at now was pushed, in full.
      auto now = this->db().resolve_tag("repo", "latest");
      if (!now) {
        ++failures;
      } else if (!*now) {
        ++dangling;
      } else {
        auto m = this->db().get_manifest("repo", **now);
        if (!m || !*m) ++dangling;
      }
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(dangling.load(), 0);
  auto last = Ok(this->db().resolve_tag("repo", "latest"));
  std::set<std::string> finals = {Dg("t0-49"), Dg("t1-49")};
  ASSERT_TRUE(last);
  EXPECT_TRUE(finals.count(*last)) << *last;
  auto tags = Ok(this->db().list_tags("repo", "", 10));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, std::vector<std::string>{"latest"});
  for (int t = 0; t < 2; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_TRUE(Ok(
          this->db().get_manifest("repo", Dg("t" + std::to_string(t) + "-" + std::to_string(i)))));
    }
  }
}

TYPED_TEST(MetadataStoreTest, ConcurrentDeletesAndTagMovesKeepTagsOnExistingManifests) {
  constexpr int kRounds = 40;
  std::atomic<int> failures{0};
  std::thread pusher([&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!this->db().put_manifest("repo", Manifest(Dg("m" + std::to_string(i))), {}, "latest")) {
        ++failures;
      }
    }
  });
  std::thread deleter([&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!this->db().delete_manifest("repo", Dg("m" + std::to_string(i)))) ++failures;
    }
  });
  pusher.join();
  deleter.join();
  EXPECT_EQ(failures.load(), 0);
  // A tag never outlives the manifest it names.
  auto latest = Ok(this->db().resolve_tag("repo", "latest"));
  if (latest) {
    EXPECT_TRUE(Ok(this->db().get_manifest("repo", *latest)));
  }
}

}  // namespace
}  // namespace portcullis::metadata
