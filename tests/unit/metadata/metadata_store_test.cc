// The metadata conformance suite: every test runs unchanged against each
// engine (SQLite and a real PostgreSQL 15 server, see store_engines.h).
#include <algorithm>
#include <atomic>
#include <barrier>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "audit/audit_chain.h"
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

TYPED_TEST(MetadataStoreTest, UploadsStartedBeforeAreListedOldestFirst) {
  Ok(this->db().create_upload("late", "repo", 3000));
  Ok(this->db().create_upload("early", "repo", 1000));
  Ok(this->db().create_upload("middle", "other", 2000));
  EXPECT_EQ(Ok(this->db().uploads_started_before(2500, 10)),
            (std::vector<std::string>{"early", "middle"}));
  EXPECT_EQ(Ok(this->db().uploads_started_before(2500, 1)), (std::vector<std::string>{"early"}));
  EXPECT_TRUE(Ok(this->db().uploads_started_before(1000, 10)).empty());
}

TYPED_TEST(MetadataStoreTest, BlobReferencesListLinkedBlobsAndManifestsPerRepository) {
  Ok(this->db().link_blob("b", Dg("layer"), 10));
  Ok(this->db().link_blob("a", Dg("layer"), 10));
  Ok(this->db().put_manifest("a", Manifest(Dg("m")), {{Dg("layer"), false}}, "v1"));
  using Ref = std::pair<std::string, std::string>;
  EXPECT_EQ(Ok(this->db().blob_references()),
            (std::vector<Ref>{{"a", Dg("layer")}, {"a", Dg("m")}, {"b", Dg("layer")}}));
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

// --- tag guards and audited registry writes ----------------------------------------

audit::AuditEvent Event(const std::string& action, const std::string& actor = "alice",
                        int64_t time_ms = 1000, const std::string& repository = "",
                        const std::string& result = "success") {
  audit::AuditEvent e;
  e.time_ms = time_ms;
  e.actor = actor;
  e.source_address = "192.0.2.7";
  e.action = action;
  e.repository = repository;
  e.reference = "ref";
  e.digest = Dg("d");
  e.result = result;
  e.detail = "detail \xe2\x9c\x93";
  return e;
}

// Records what a guard was shown and answers with `refuse` (empty: allow).
struct GuardSpy {
  std::vector<std::pair<std::string, std::optional<std::string>>> calls;
  std::optional<Error> refuse;
  TagGuard guard() {
    return [this](std::string_view tag, std::optional<std::string_view> current) -> Result<void> {
      calls.emplace_back(std::string(tag), current
                                               ? std::optional<std::string>(std::string(*current))
                                               : std::nullopt);
      if (refuse) return *refuse;
      return {};
    };
  }
};

Error Immutable() { return make_error(Errc::denied, "tag v1 is immutable (rule release)"); }

using GuardCall = std::pair<std::string, std::optional<std::string>>;

template <class Store>
std::vector<audit::ChainedEvent> AllAudit(Store& db) {
  return Ok(db.audit_rows(0, 1'000'000));
}

TYPED_TEST(MetadataStoreTest, PutManifestGuardSeesTheDigestTheTagPointsAtNow) {
  GuardSpy spy;
  Ok(this->db().put_manifest("repo", Manifest(Dg("one")), {}, "v1", {spy.guard(), nullptr}));
  Ok(this->db().put_manifest("repo", Manifest(Dg("two")), {}, "v1", {spy.guard(), nullptr}));
  Ok(this->db().put_manifest("repo", Manifest(Dg("untagged")), {}, "", {spy.guard(), nullptr}));
  EXPECT_EQ(spy.calls, (std::vector<GuardCall>{{"v1", std::nullopt}, {"v1", Dg("one")}}));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "v1")), std::optional<std::string>(Dg("two")));
}

TYPED_TEST(MetadataStoreTest, AGuardErrorAbortsPutManifestAndIsReturnedUnchanged) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("one")), {}, "v1"));
  GuardSpy spy;
  spy.refuse = Immutable();
  auto event = Event("push");
  auto r = this->db().put_manifest("repo", Manifest(Dg("two")), {{Dg("layer"), false}}, "v1",
                                   {spy.guard(), &event});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::denied);
  EXPECT_EQ(r.error().message, Immutable().message);
  EXPECT_EQ(spy.calls, (std::vector<GuardCall>{{"v1", Dg("one")}}));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "v1")), std::optional<std::string>(Dg("one")));
  EXPECT_EQ(Ok(this->db().get_manifest("repo", Dg("two"))), std::nullopt);
  EXPECT_EQ(Ok(this->db().linked_blob("repo", Dg("two"))), std::nullopt);
  EXPECT_TRUE(AllAudit(this->db()).empty());
  // Refusing a new tag in a new repository leaves nothing behind either.
  r = this->db().put_manifest("fresh", Manifest(Dg("x")), {}, "v1", {spy.guard(), nullptr});
  ASSERT_FALSE(r);
  EXPECT_EQ(Ok(this->db().get_manifest("fresh", Dg("x"))), std::nullopt);
  EXPECT_EQ(Ok(this->db().resolve_tag("fresh", "v1")), std::nullopt);
}

TYPED_TEST(MetadataStoreTest, DeleteManifestGuardSeesEveryTagOfTheDigestAndCanRefuse) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "a"));
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "b"));
  Ok(this->db().put_manifest("repo", Manifest(Dg("keep")), {}, "c"));
  Ok(this->db().put_manifest("other", Manifest(Dg("m")), {}, "d"));
  GuardSpy spy;
  spy.refuse = Immutable();
  auto event = Event("delete");
  auto r = this->db().delete_manifest("repo", Dg("m"), {spy.guard(), &event});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::denied);
  ASSERT_FALSE(spy.calls.empty());
  EXPECT_TRUE(Ok(this->db().get_manifest("repo", Dg("m"))));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "a")), std::optional<std::string>(Dg("m")));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "b")), std::optional<std::string>(Dg("m")));
  EXPECT_TRUE(AllAudit(this->db()).empty());

  GuardSpy allow;
  EXPECT_TRUE(Ok(this->db().delete_manifest("repo", Dg("m"), {allow.guard(), nullptr})));
  std::sort(allow.calls.begin(), allow.calls.end());
  EXPECT_EQ(allow.calls, (std::vector<GuardCall>{{"a", Dg("m")}, {"b", Dg("m")}}));
  EXPECT_EQ(Ok(this->db().get_manifest("repo", Dg("m"))), std::nullopt);
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "c")), std::optional<std::string>(Dg("keep")));
  EXPECT_EQ(Ok(this->db().resolve_tag("other", "d")), std::optional<std::string>(Dg("m")));
}

TYPED_TEST(MetadataStoreTest, DeleteTagGuardSeesTheCurrentDigestAndCanRefuse) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "v1"));
  GuardSpy spy;
  spy.refuse = Immutable();
  EXPECT_FALSE(Ok(this->db().delete_tag("repo", "unknown", {spy.guard(), nullptr})));
  EXPECT_FALSE(Ok(this->db().delete_tag("no-repo", "v1", {spy.guard(), nullptr})));
  EXPECT_TRUE(spy.calls.empty());
  auto r = this->db().delete_tag("repo", "v1", {spy.guard(), nullptr});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::denied);
  EXPECT_EQ(spy.calls, (std::vector<GuardCall>{{"v1", Dg("m")}}));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "v1")), std::optional<std::string>(Dg("m")));
  spy.refuse.reset();
  EXPECT_TRUE(Ok(this->db().delete_tag("repo", "v1", {spy.guard(), nullptr})));
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "v1")), std::nullopt);
  EXPECT_TRUE(Ok(this->db().get_manifest("repo", Dg("m"))));
}

TYPED_TEST(MetadataStoreTest, RegistryWritesAppendTheirAuditEventOnlyWhenTheyWrite) {
  auto push = Event("push", "alice", 10, "repo");
  auto untag = Event("tag.delete", "bob", 20, "repo");
  auto del = Event("delete", "carol", 30, "repo");
  auto nothing = Event("delete", "mallory", 40, "repo");
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "v1", {{}, &push}));
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "v2"));  // no event given
  EXPECT_TRUE(Ok(this->db().delete_tag("repo", "v1", {{}, &untag})));
  EXPECT_TRUE(Ok(this->db().delete_manifest("repo", Dg("m"), {{}, &del})));
  // Nothing deleted, nothing recorded.
  EXPECT_FALSE(Ok(this->db().delete_tag("repo", "v1", {{}, &nothing})));
  EXPECT_FALSE(Ok(this->db().delete_manifest("repo", Dg("m"), {{}, &nothing})));
  EXPECT_FALSE(Ok(this->db().delete_manifest("no-repo", Dg("m"), {{}, &nothing})));
  // A refused write records nothing.
  GuardSpy refuse;
  refuse.refuse = Immutable();
  Ok(this->db().put_manifest("repo", Manifest(Dg("n")), {}, "v3"));
  EXPECT_FALSE(
      this->db().put_manifest("repo", Manifest(Dg("o")), {}, "v3", {refuse.guard(), &nothing}));
  EXPECT_FALSE(this->db().delete_tag("repo", "v3", {refuse.guard(), &nothing}));
  EXPECT_FALSE(this->db().delete_manifest("repo", Dg("n"), {refuse.guard(), &nothing}));

  auto rows = AllAudit(this->db());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].event, push);
  EXPECT_EQ(rows[1].event, untag);
  EXPECT_EQ(rows[2].event, del);
  EXPECT_EQ(rows[0].seq, 1u);
  EXPECT_EQ(rows[2].seq, 3u);
  EXPECT_TRUE(audit::verify_chain(rows).ok()) << audit::verify_chain(rows).message;
}

// --- access control ------------------------------------------------------------------

UserRecord User(const std::string& name, bool admin = false,
                const std::string& hash = "$argon2id$x") {
  return UserRecord{name, hash, admin, 1700000000};
}

TYPED_TEST(MetadataStoreTest, UsersAreCreatedUpdatedListedAndDeleted) {
  EXPECT_EQ(Ok(this->db().get_user("bob")), std::nullopt);
  EXPECT_TRUE(Ok(this->db().create_user(User("bob"), Event("user.create"))));
  EXPECT_TRUE(Ok(this->db().create_user(User("alice", true), Event("user.create"))));
  EXPECT_FALSE(Ok(this->db().create_user(User("bob", true, "other"), Event("user.create"))));
  auto bob = Ok(this->db().get_user("bob"));
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->name, "bob");
  EXPECT_EQ(bob->password_hash, "$argon2id$x");
  EXPECT_FALSE(bob->system_admin);
  EXPECT_EQ(bob->created_at, 1700000000);

  auto changed = User("bob", true, "$argon2id$new");
  changed.created_at = 5;  // not replaced
  EXPECT_TRUE(Ok(this->db().update_user(changed, Event("user.update"))));
  EXPECT_FALSE(Ok(this->db().update_user(User("nobody"), Event("user.update"))));
  bob = Ok(this->db().get_user("bob"));
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->password_hash, "$argon2id$new");
  EXPECT_TRUE(bob->system_admin);
  EXPECT_EQ(bob->created_at, 1700000000);
  EXPECT_EQ(Ok(this->db().get_user("nobody")), std::nullopt);

  auto users = Ok(this->db().list_users());
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_TRUE(users[0].system_admin);
  EXPECT_EQ(users[1].name, "bob");

  EXPECT_TRUE(Ok(this->db().delete_user("bob", Event("user.delete"))));
  EXPECT_FALSE(Ok(this->db().delete_user("bob", Event("user.delete"))));
  EXPECT_EQ(Ok(this->db().get_user("bob")), std::nullopt);
  EXPECT_EQ(Ok(this->db().list_users()).size(), 1u);
}

TYPED_TEST(MetadataStoreTest, DeletingAUserRemovesTheirRoleBindings) {
  Ok(this->db().create_user(User("bob"), Event("user.create")));
  Ok(this->db().create_user(User("carol"), Event("user.create")));
  Ok(this->db().put_namespace({"team-a", false, 1}, Event("namespace.put")));
  Ok(this->db().put_namespace({"team-b", false, 1}, Event("namespace.put")));
  Ok(this->db().put_role_binding({"team-a", "bob", "developer"}, Event("role.bind")));
  Ok(this->db().put_role_binding({"team-b", "bob", "reader"}, Event("role.bind")));
  Ok(this->db().put_role_binding({"team-a", "carol", "admin"}, Event("role.bind")));
  EXPECT_TRUE(Ok(this->db().delete_user("bob", Event("user.delete"))));
  auto bindings = Ok(this->db().list_role_bindings());
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].user, "carol");
  EXPECT_EQ(bindings[0].namespace_name, "team-a");
  EXPECT_EQ(bindings[0].role, "admin");
}

TYPED_TEST(MetadataStoreTest, RobotsAreCreatedListedAndDeleted) {
  RobotRecord ci{
      "ci",          "sha256:abc", R"([{"repository":"team-a/*","actions":["pull","push"]}])",
      4'000'000'000, "alice",      1700000000};
  RobotRecord bot{"bot", "sha256:def", "[]", 0, "bob", 1700000001};
  EXPECT_TRUE(Ok(this->db().create_robot(ci, Event("robot.create"))));
  EXPECT_TRUE(Ok(this->db().create_robot(bot, Event("robot.create"))));
  RobotRecord again = ci;
  again.secret_hash = "sha256:other";
  EXPECT_FALSE(Ok(this->db().create_robot(again, Event("robot.create"))));
  auto got = Ok(this->db().get_robot("ci"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "ci");
  EXPECT_EQ(got->secret_hash, "sha256:abc");
  EXPECT_EQ(got->permissions_json, ci.permissions_json);
  EXPECT_EQ(got->expires_at, 4'000'000'000);
  EXPECT_EQ(got->created_by, "alice");
  EXPECT_EQ(got->created_at, 1700000000);
  EXPECT_EQ(Ok(this->db().get_robot("nobody")), std::nullopt);
  auto robots = Ok(this->db().list_robots());
  ASSERT_EQ(robots.size(), 2u);
  EXPECT_EQ(robots[0].name, "bot");
  EXPECT_EQ(robots[1].name, "ci");
  EXPECT_TRUE(Ok(this->db().delete_robot("ci", Event("robot.delete"))));
  EXPECT_FALSE(Ok(this->db().delete_robot("ci", Event("robot.delete"))));
  EXPECT_EQ(Ok(this->db().get_robot("ci")), std::nullopt);
  EXPECT_EQ(Ok(this->db().list_robots()).size(), 1u);
}

TYPED_TEST(MetadataStoreTest, NamespacesAreUpsertedListedAndDeleted) {
  Ok(this->db().put_namespace({"team-b", false, 10}, Event("namespace.put")));
  Ok(this->db().put_namespace({"team-a", true, 20}, Event("namespace.put")));
  Ok(this->db().put_namespace({"team-b", true, 99}, Event("namespace.put")));
  auto all = Ok(this->db().list_namespaces());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "team-a");
  EXPECT_TRUE(all[0].anonymous_pull);
  EXPECT_EQ(all[0].created_at, 20);
  EXPECT_EQ(all[1].name, "team-b");
  EXPECT_TRUE(all[1].anonymous_pull);  // updated
  EXPECT_EQ(all[1].created_at, 10);    // kept
  EXPECT_TRUE(Ok(this->db().delete_namespace("team-b", Event("namespace.delete"))));
  EXPECT_FALSE(Ok(this->db().delete_namespace("team-b", Event("namespace.delete"))));
  all = Ok(this->db().list_namespaces());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "team-a");
}

TYPED_TEST(MetadataStoreTest, DeletingANamespaceRemovesItsBindingsAndTagRules) {
  Ok(this->db().put_namespace({"gone", false, 1}, Event("namespace.put")));
  Ok(this->db().put_namespace({"kept", false, 1}, Event("namespace.put")));
  Ok(this->db().put_role_binding({"gone", "bob", "admin"}, Event("role.bind")));
  Ok(this->db().put_role_binding({"kept", "bob", "reader"}, Event("role.bind")));
  EXPECT_TRUE(Ok(this->db().create_tag_rule({"gone", "release", "v*"}, Event("rule.create"))));
  EXPECT_TRUE(Ok(this->db().create_tag_rule({"kept", "release", "v*"}, Event("rule.create"))));
  EXPECT_TRUE(Ok(this->db().delete_namespace("gone", Event("namespace.delete"))));
  auto bindings = Ok(this->db().list_role_bindings());
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].namespace_name, "kept");
  auto rules = Ok(this->db().list_tag_rules());
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].namespace_name, "kept");
  // Recreating the namespace does not bring them back.
  Ok(this->db().put_namespace({"gone", false, 2}, Event("namespace.put")));
  EXPECT_EQ(Ok(this->db().list_role_bindings()).size(), 1u);
  EXPECT_EQ(Ok(this->db().list_tag_rules()).size(), 1u);
}

TYPED_TEST(MetadataStoreTest, RoleBindingsAreUpsertedListedAndDeleted) {
  Ok(this->db().put_namespace({"b", false, 1}, Event("namespace.put")));
  Ok(this->db().put_namespace({"a", false, 1}, Event("namespace.put")));
  Ok(this->db().put_role_binding({"b", "zed", "reader"}, Event("role.bind")));
  Ok(this->db().put_role_binding({"b", "amy", "developer"}, Event("role.bind")));
  Ok(this->db().put_role_binding({"a", "zed", "maintainer"}, Event("role.bind")));
  Ok(this->db().put_role_binding({"b", "zed", "admin"}, Event("role.bind")));  // replaces
  auto all = Ok(this->db().list_role_bindings());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].namespace_name + "/" + all[0].user + "=" + all[0].role, "a/zed=maintainer");
  EXPECT_EQ(all[1].namespace_name + "/" + all[1].user + "=" + all[1].role, "b/amy=developer");
  EXPECT_EQ(all[2].namespace_name + "/" + all[2].user + "=" + all[2].role, "b/zed=admin");
  EXPECT_TRUE(Ok(this->db().delete_role_binding("b", "zed", Event("role.unbind"))));
  EXPECT_FALSE(Ok(this->db().delete_role_binding("b", "zed", Event("role.unbind"))));
  EXPECT_FALSE(Ok(this->db().delete_role_binding("nowhere", "amy", Event("role.unbind"))));
  EXPECT_EQ(Ok(this->db().list_role_bindings()).size(), 2u);
}

TYPED_TEST(MetadataStoreTest, TagRulesListByNamespaceThenCreationOrder) {
  Ok(this->db().put_namespace({"b", false, 1}, Event("namespace.put")));
  Ok(this->db().put_namespace({"a", false, 1}, Event("namespace.put")));
  EXPECT_TRUE(Ok(this->db().create_tag_rule({"b", "zz-first", "v*"}, Event("rule.create"))));
  EXPECT_TRUE(Ok(this->db().create_tag_rule({"a", "only", "*"}, Event("rule.create"))));
  EXPECT_TRUE(
      Ok(this->db().create_tag_rule({"b", "aa-second", "release-*"}, Event("rule.create"))));
  EXPECT_TRUE(Ok(this->db().create_tag_rule({"b", "mm-third", "latest"}, Event("rule.create"))));
  // Names are unique within a namespace only.
  EXPECT_FALSE(Ok(this->db().create_tag_rule({"b", "zz-first", "other"}, Event("rule.create"))));
  EXPECT_TRUE(Ok(this->db().create_tag_rule({"a", "zz-first", "x"}, Event("rule.create"))));
  auto names = [&] {
    std::vector<std::string> out;
    for (const auto& r : Ok(this->db().list_tag_rules())) {
      out.push_back(r.namespace_name + "/" + r.name + ":" + r.pattern);
    }
    return out;
  };
  EXPECT_EQ(names(), (std::vector<std::string>{"a/only:*", "a/zz-first:x", "b/zz-first:v*",
                                               "b/aa-second:release-*", "b/mm-third:latest"}));
  EXPECT_TRUE(Ok(this->db().delete_tag_rule("b", "zz-first", Event("rule.delete"))));
  EXPECT_FALSE(Ok(this->db().delete_tag_rule("b", "zz-first", Event("rule.delete"))));
  EXPECT_FALSE(Ok(this->db().delete_tag_rule("nowhere", "only", Event("rule.delete"))));
  // A rule created after a deletion still comes last.
  EXPECT_TRUE(Ok(this->db().create_tag_rule({"b", "zz-first", "v2*"}, Event("rule.create"))));
  EXPECT_EQ(names(), (std::vector<std::string>{"a/only:*", "a/zz-first:x", "b/aa-second:release-*",
                                               "b/mm-third:latest", "b/zz-first:v2*"}));
}

TYPED_TEST(MetadataStoreTest, AccessGenerationIncreasesWithEveryChangeAndNotOnANoOp) {
  auto& db = this->db();
  int64_t last = Ok(db.access_generation());
  std::size_t events = 0;
  auto changed = [&](const char* what) {
    int64_t now = Ok(db.access_generation());
    EXPECT_GT(now, last) << what;
    last = now;
    ++events;
    EXPECT_EQ(AllAudit(db).size(), events) << what;
  };
  auto unchanged = [&](const char* what) {
    EXPECT_EQ(Ok(db.access_generation()), last) << what;
    EXPECT_EQ(AllAudit(db).size(), events) << what;
  };
  RobotRecord robot{"ci", "sha256:abc", "[]", 0, "alice", 1};

  EXPECT_TRUE(Ok(db.create_user(User("bob"), Event("user.create"))));
  changed("create_user");
  EXPECT_FALSE(Ok(db.create_user(User("bob"), Event("user.create"))));
  unchanged("create_user of an existing user");
  EXPECT_TRUE(Ok(db.update_user(User("bob", true), Event("user.update"))));
  changed("update_user");
  EXPECT_FALSE(Ok(db.update_user(User("nobody"), Event("user.update"))));
  unchanged("update_user of an unknown user");
  EXPECT_TRUE(Ok(db.create_robot(robot, Event("robot.create"))));
  changed("create_robot");
  EXPECT_FALSE(Ok(db.create_robot(robot, Event("robot.create"))));
  unchanged("create_robot of an existing robot");
  Ok(db.put_namespace({"team", false, 1}, Event("namespace.put")));
  changed("put_namespace (insert)");
  Ok(db.put_namespace({"team", true, 1}, Event("namespace.put")));
  changed("put_namespace (update)");
  Ok(db.put_role_binding({"team", "bob", "reader"}, Event("role.bind")));
  changed("put_role_binding (insert)");
  Ok(db.put_role_binding({"team", "bob", "admin"}, Event("role.bind")));
  changed("put_role_binding (update)");
  EXPECT_TRUE(Ok(db.create_tag_rule({"team", "release", "v*"}, Event("rule.create"))));
  changed("create_tag_rule");
  EXPECT_FALSE(Ok(db.create_tag_rule({"team", "release", "v*"}, Event("rule.create"))));
  unchanged("create_tag_rule of an existing rule");
  EXPECT_TRUE(Ok(db.delete_tag_rule("team", "release", Event("rule.delete"))));
  changed("delete_tag_rule");
  EXPECT_FALSE(Ok(db.delete_tag_rule("team", "release", Event("rule.delete"))));
  unchanged("delete_tag_rule of an unknown rule");
  EXPECT_TRUE(Ok(db.delete_role_binding("team", "bob", Event("role.unbind"))));
  changed("delete_role_binding");
  EXPECT_FALSE(Ok(db.delete_role_binding("team", "bob", Event("role.unbind"))));
  unchanged("delete_role_binding of an unknown binding");
  EXPECT_TRUE(Ok(db.delete_robot("ci", Event("robot.delete"))));
  changed("delete_robot");
  EXPECT_FALSE(Ok(db.delete_robot("ci", Event("robot.delete"))));
  unchanged("delete_robot of an unknown robot");
  EXPECT_TRUE(Ok(db.delete_user("bob", Event("user.delete"))));
  changed("delete_user");
  EXPECT_FALSE(Ok(db.delete_user("bob", Event("user.delete"))));
  unchanged("delete_user of an unknown user");
  EXPECT_TRUE(Ok(db.delete_namespace("team", Event("namespace.delete"))));
  changed("delete_namespace");
  EXPECT_FALSE(Ok(db.delete_namespace("team", Event("namespace.delete"))));
  unchanged("delete_namespace of an unknown namespace");

  // Registry writes and plain audit appends are not access changes.
  auto push = Event("push");
  Ok(db.put_manifest("repo", Manifest(Dg("m")), {}, "v1", {{}, &push}));
  Ok(db.append_audit({Event("pull")}));
  EXPECT_EQ(Ok(db.access_generation()), last);
}

TYPED_TEST(MetadataStoreTest, AccessChangesRecordTheirEventsInOrder) {
  auto create = Event("user.create", "root", 1);
  auto bind = Event("role.bind", "root", 2);
  auto del = Event("user.delete", "root", 3);
  Ok(this->db().put_namespace({"team", false, 1}, Event("namespace.put", "root", 0)));
  Ok(this->db().create_user(User("bob"), create));
  Ok(this->db().put_role_binding({"team", "bob", "reader"}, bind));
  Ok(this->db().delete_user("bob", del));
  auto rows = AllAudit(this->db());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].event, create);
  EXPECT_EQ(rows[2].event, bind);
  EXPECT_EQ(rows[3].event, del);
  this->Reopen();
  EXPECT_EQ(AllAudit(this->db()), rows);
  EXPECT_TRUE(audit::verify_chain(rows).ok());
}

// --- the audit log ---------------------------------------------------------------------

TYPED_TEST(MetadataStoreTest, AppendAuditStoresABatchInOrder) {
  Ok(this->db().append_audit({}));
  EXPECT_TRUE(AllAudit(this->db()).empty());
  std::vector<audit::AuditEvent> batch = {Event("pull", "a", 1), Event("pull", "b", 2),
                                          Event("pull", "c", 3)};
  Ok(this->db().append_audit(batch));
  Ok(this->db().append_audit({Event("login", "d", 4)}));
  auto rows = AllAudit(this->db());
  ASSERT_EQ(rows.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rows[i].seq, i + 1);
    EXPECT_EQ(rows[i].event, batch[i]);
  }
  EXPECT_EQ(rows[3].event.action, "login");
  EXPECT_EQ(rows[0].prev_hash, audit::kGenesisHash);
  EXPECT_EQ(rows[1].prev_hash, rows[0].hash);
}

TYPED_TEST(MetadataStoreTest, ListAuditFiltersEveryField) {
  Ok(this->db().append_audit({
      Event("push", "alice", 1000, "team/app", "success"),  // 1
      Event("pull", "bob", 2000, "team/app", "success"),    // 2
      Event("push", "bob", 3000, "team/lib", "denied"),     // 3
      Event("login", "alice", 4000, "", "failure"),         // 4
      Event("push", "alice", 5000, "team/app", "success"),  // 5
  }));
  auto seqs = [&](const AuditFilter& f) {
    std::vector<uint64_t> out;
    for (const auto& e : Ok(this->db().list_audit(f))) out.push_back(e.seq);
    return out;
  };
  using V = std::vector<uint64_t>;
  EXPECT_EQ(seqs({}), (V{1, 2, 3, 4, 5}));
  AuditFilter f;
  f.actor = "alice";
  EXPECT_EQ(seqs(f), (V{1, 4, 5}));
  f = {};
  f.action = "push";
  EXPECT_EQ(seqs(f), (V{1, 3, 5}));
  f = {};
  f.repository = "team/app";
  EXPECT_EQ(seqs(f), (V{1, 2, 5}));
  f = {};
  f.result = "denied";
  EXPECT_EQ(seqs(f), (V{3}));
  f = {};
  f.since_ms = 2000;
  EXPECT_EQ(seqs(f), (V{2, 3, 4, 5}));
  f = {};
  f.until_ms = 4000;
  EXPECT_EQ(seqs(f), (V{1, 2, 3}));
  f = {};
  f.since_ms = 2000;
  f.until_ms = 4000;
  EXPECT_EQ(seqs(f), (V{2, 3}));
  f = {};
  f.after_seq = 3;
  EXPECT_EQ(seqs(f), (V{4, 5}));
  f = {};
  f.limit = 2;
  EXPECT_EQ(seqs(f), (V{1, 2}));
  f.after_seq = 2;
  EXPECT_EQ(seqs(f), (V{3, 4}));
  f = {};
  f.actor = "alice";
  f.action = "push";
  f.repository = "team/app";
  f.result = "success";
  f.since_ms = 2000;
  EXPECT_EQ(seqs(f), (V{5}));
  f = {};
  f.actor = "nobody";
  EXPECT_TRUE(seqs(f).empty());
  f = {};
  f.limit = 0;
  EXPECT_TRUE(seqs(f).empty());
  // Whole rows, not just their seq.
  f = {};
  f.result = "denied";
  auto denied = Ok(this->db().list_audit(f));
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].event, Event("push", "bob", 3000, "team/lib", "denied"));
  EXPECT_EQ(denied[0], AllAudit(this->db())[2]);
}

TYPED_TEST(MetadataStoreTest, AuditRowsPagesThroughTheStoredChain) {
  std::vector<audit::AuditEvent> batch;
  for (int i = 0; i < 7; ++i) batch.push_back(Event("pull", "u" + std::to_string(i), i));
  Ok(this->db().append_audit(batch));
  auto page1 = Ok(this->db().audit_rows(0, 3));
  auto page2 = Ok(this->db().audit_rows(3, 3));
  auto page3 = Ok(this->db().audit_rows(6, 3));
  ASSERT_EQ(page1.size(), 3u);
  ASSERT_EQ(page2.size(), 3u);
  ASSERT_EQ(page3.size(), 1u);
  EXPECT_EQ(page1[0].seq, 1u);
  EXPECT_EQ(page2[0].seq, 4u);
  EXPECT_EQ(page3[0].seq, 7u);
  EXPECT_TRUE(Ok(this->db().audit_rows(7, 3)).empty());
  EXPECT_TRUE(Ok(this->db().audit_rows(0, 0)).empty());
  // Each page verifies on its own from the last event of the one before.
  EXPECT_TRUE(audit::verify_chain(page1).ok());
  EXPECT_TRUE(audit::verify_chain(page2, audit::head_of(page1.back())).ok());
  EXPECT_TRUE(audit::verify_chain(page3, audit::head_of(page2.back())).ok());
}

TYPED_TEST(MetadataStoreTest, TheChainTheStoreWritesVerifies) {
  auto push = Event("push", "alice", 1, "repo");
  auto untag = Event("tag.delete", "alice", 2, "repo");
  Ok(this->db().put_manifest("repo", Manifest(Dg("m")), {}, "v1", {{}, &push}));
  Ok(this->db().create_user(User("bob"), Event("user.create", "root", 3)));
  Ok(this->db().append_audit({Event("pull", "bob", 4, "repo"), Event("pull", "bob", 5, "repo")}));
  EXPECT_TRUE(Ok(this->db().delete_tag("repo", "v1", {{}, &untag})));
  auto rows = AllAudit(this->db());
  ASSERT_EQ(rows.size(), 5u);
  auto report = audit::verify_chain(rows, {}, audit::head_of(rows.back()));
  EXPECT_TRUE(report.ok()) << report.message;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].seq, i + 1);
    EXPECT_EQ(audit::chain_hash(rows[i].prev_hash, rows[i].seq, rows[i].event),
              std::optional<std::string>(rows[i].hash));
  }
  // The chain continues where it stopped after a restart.
  this->Reopen();
  Ok(this->db().append_audit({Event("pull", "bob", 6, "repo")}));
  rows = AllAudit(this->db());
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[5].prev_hash, rows[4].hash);
  EXPECT_TRUE(audit::verify_chain(rows).ok());
}

// --- concurrency of guards and the audit chain ---------------------------------------------

TYPED_TEST(MetadataStoreTest, ConcurrentAppendsFormOneChainWithoutGaps) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 15;
  constexpr int kEventsPerRound = 4;  // batch of 2, a push, an access change
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        if (!this->db().append_audit({Event("pull", "a" + id), Event("pull", "b" + id)})) {
          ++failures;
        }
        auto push = Event("push", "p" + id, i, "repo");
        if (!this->db().put_manifest("repo", Manifest(Dg(id)), {}, "latest", {{}, &push})) {
          ++failures;
        }
        auto created = this->db().create_user(User("u" + id), Event("user.create", "c" + id));
        if (!created || !*created) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = AllAudit(this->db());
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kThreads * kRounds * kEventsPerRound));
  for (std::size_t i = 0; i < rows.size(); ++i) ASSERT_EQ(rows[i].seq, i + 1);
  auto report = audit::verify_chain(rows);
  EXPECT_TRUE(report.ok()) << report.message;
  // Each thread's batch stayed together and in order.
  for (std::size_t i = 0; i + 1 < rows.size(); ++i) {
    if (rows[i].event.actor.starts_with("a")) {
      EXPECT_EQ(rows[i + 1].event.actor, "b" + rows[i].event.actor.substr(1));
    }
  }
  EXPECT_EQ(Ok(this->db().list_users()).size(), static_cast<std::size_t>(kThreads * kRounds));
}

TYPED_TEST(MetadataStoreTest, ConcurrentPushesOfANewImmutableTagLetExactlyOneWin) {
  // The guard of an immutable tag allows creating it, and re-pushing the same
  // digest, but never a move: with the check inside the write, exactly one
  // of the pushes racing to create each tag succeeds.
  constexpr int kThreads = 4;
  constexpr int kTags = 30;
  std::atomic<int> errors{0};
  std::vector<std::atomic<int>> wins(kTags);
  std::barrier start(kThreads);  // every push of a tag starts at once
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTags; ++i) {
        start.arrive_and_wait();
        std::string digest = Dg(std::to_string(t) + "-" + std::to_string(i));
        TagGuard immutable = [&](std::string_view, std::optional<std::string_view> current) {
          if (current && *current != digest) return Result<void>(Immutable());
          return Result<void>();
        };
        auto r = this->db().put_manifest("repo", Manifest(digest), {}, "v" + std::to_string(i),
                                         {immutable, nullptr});
        if (r) {
          ++wins[static_cast<std::size_t>(i)];
        } else if (r.error().code != Errc::denied) {
          ++errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  for (int i = 0; i < kTags; ++i) {
    EXPECT_EQ(wins[static_cast<std::size_t>(i)].load(), 1) << "tag v" << i;
    auto now = Ok(this->db().resolve_tag("repo", "v" + std::to_string(i)));
    ASSERT_TRUE(now);
    EXPECT_TRUE(Ok(this->db().get_manifest("repo", *now)));
  }
}

TYPED_TEST(MetadataStoreTest, ConcurrentCompareAndSetMovesOfATagNeverLoseAnUpdate) {
  // Each pusher moves the tag only if it still points where the pusher last
  // saw it: every successful move must start from a distinct digest, so the
  // successes form one unbroken line from the first digest to the last.
  Ok(this->db().put_manifest("repo", Manifest(Dg("start")), {}, "latest"));
  constexpr int kThreads = 4;
  constexpr int kAttempts = 25;
  std::mutex mu;
  std::map<std::string, std::string> moves;  // from -> to; guarded by mu
  std::atomic<int> errors{0};
  std::atomic<int> lost{0};
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAttempts; ++i) {
        start.arrive_and_wait();
        auto seen = this->db().resolve_tag("repo", "latest");
        if (!seen || !*seen) {
          ++errors;
          continue;
        }
        std::string from = **seen;
        std::string to = Dg(std::to_string(t) + "-" + std::to_string(i));
        TagGuard cas = [&](std::string_view, std::optional<std::string_view> current) {
          if (!current || *current != from) return Result<void>(Immutable());
          return Result<void>();
        };
        auto r = this->db().put_manifest("repo", Manifest(to), {}, "latest", {cas, nullptr});
        if (!r) {
          if (r.error().code != Errc::denied) ++errors;
          continue;
        }
        std::lock_guard lock(mu);
        if (!moves.emplace(from, to).second) ++lost;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(lost.load(), 0);
  ASSERT_FALSE(moves.empty());
  std::string at = Dg("start");
  std::size_t steps = 0;
  while (moves.count(at)) {
    at = moves[at];
    ++steps;
  }
  EXPECT_EQ(steps, moves.size());
  EXPECT_EQ(Ok(this->db().resolve_tag("repo", "latest")), std::optional<std::string>(at));
}

// --- garbage collection (BlobCollector) --------------------------------------

std::string Hex(char c) { return std::string(64, c); }

TYPED_TEST(MetadataStoreTest, UnreferencedUntouchedBlobsAreMarkedAndATouchCancelsTheMark) {
  auto& db = this->db();
  EXPECT_EQ(Ok(db.mark_blobs({Dg("a"), Dg("b")}, 1000, 2000, /*dry_run=*/true)),
            (std::vector<std::string>{Dg("a"), Dg("b")}));
  EXPECT_TRUE(Ok(db.marked_blobs(5000, 10)).empty()) << "a dry run marks nothing";
  EXPECT_EQ(Ok(db.mark_blobs({Dg("a"), Dg("b")}, 1000, 2000, false)),
            (std::vector<std::string>{Dg("a"), Dg("b")}));
  EXPECT_EQ(Ok(db.marked_blobs(2000, 10)), (std::vector<std::string>{Dg("a"), Dg("b")}));
  EXPECT_TRUE(Ok(db.marked_blobs(1999, 10)).empty()) << "marks younger than asked are left";
  EXPECT_TRUE(Ok(db.touch_blobs({Dg("a")}, 2500)));
  EXPECT_EQ(Ok(db.marked_blobs(5000, 10)), (std::vector<std::string>{Dg("b")}));
  // Touched at 2500: protected while the cutoff is at or before that.
  EXPECT_TRUE(Ok(db.mark_blobs({Dg("a")}, 2500, 3000, false)).empty());
  EXPECT_EQ(Ok(db.mark_blobs({Dg("a")}, 2501, 3000, false)), (std::vector<std::string>{Dg("a")}));
  // Marking again keeps the first mark's time.
  Ok(db.mark_blobs({Dg("b")}, 1000, 4000, false));
  EXPECT_EQ(Ok(db.marked_blobs(2000, 10)), (std::vector<std::string>{Dg("b")}));
}

TYPED_TEST(MetadataStoreTest, BlobsAManifestIsOrReferencesAreNeverMarked) {
  auto& db = this->db();
  Ok(db.put_manifest("repo", Manifest(Dg("child")), {}, ""));
  Ok(db.put_manifest("other", Manifest(Dg("index")),
                     {{Dg("layer"), false}, {Dg("child"), true}}, "v1"));
  auto referenced = Ok(db.referenced_digests());
  EXPECT_EQ(referenced, (std::vector<std::string>{Dg("child"), Dg("index"), Dg("layer")}));
  EXPECT_EQ(Ok(db.mark_blobs({Dg("index"), Dg("layer"), Dg("child"), Dg("junk")}, 1000, 2000, false)),
            (std::vector<std::string>{Dg("junk")}));
}

TYPED_TEST(MetadataStoreTest, BeginBlobDeleteUnlinksEverywhereAndHoldsOffTouchesUntilFinished) {
  auto& db = this->db();
  Ok(db.link_blob("a", Dg("x"), 10));
  Ok(db.link_blob("b", Dg("x"), 10));
  Ok(db.link_blob("a", Dg("keep"), 10));
  Ok(db.mark_blobs({Dg("x")}, 50, 100, false));
  auto begun = Ok(db.begin_blob_delete({Dg("x"), Dg("keep")}, 50, 100, 150));
  ASSERT_EQ(begun.size(), 1u) << "keep was never marked";
  EXPECT_EQ(begun[0].digest, Dg("x"));
  EXPECT_EQ(begun[0].repositories, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(Ok(db.linked_blob("a", Dg("x"))));
  EXPECT_FALSE(Ok(db.linked_blob("b", Dg("x"))));
  EXPECT_TRUE(Ok(db.linked_blob("a", Dg("keep"))));
  EXPECT_FALSE(Ok(db.touch_blobs({Dg("keep"), Dg("x")}, 200))) << "x is being deleted";
  EXPECT_TRUE(Ok(db.deleting_blobs(150, 300)).empty())
      << "a deletion begun at 150 may still be in progress: not taken over";
  EXPECT_EQ(Ok(db.deleting_blobs(151, 300)), (std::vector<std::string>{Dg("x")}));
  EXPECT_TRUE(Ok(db.deleting_blobs(151, 300)).empty()) << "claimed once: its clock restarted at 300";
  EXPECT_EQ(Ok(db.deleting_blobs(301, 400)), (std::vector<std::string>{Dg("x")}));
  EXPECT_TRUE(Ok(db.marked_blobs(1000, 10)).empty());
  Ok(db.finish_blob_delete({Dg("x")}));
  EXPECT_TRUE(Ok(db.deleting_blobs(1000, 1000)).empty());
  EXPECT_TRUE(Ok(db.touch_blobs({Dg("keep"), Dg("x")}, 200)));
}

TYPED_TEST(MetadataStoreTest, BeginBlobDeleteLeavesTouchedYoungOrReferencedMarksAlone) {
  auto& db = this->db();
  Ok(db.mark_blobs({Dg("touched"), Dg("young"), Dg("used")}, 50, 100, false));
  Ok(db.touch_blobs({Dg("touched")}, 150));
  // Referenced by a manifest written without touching it first: live again.
  Ok(db.put_manifest("repo", Manifest(Dg("m")), {{Dg("used"), false}}, "v1"));
  EXPECT_TRUE(Ok(db.begin_blob_delete({Dg("touched"), Dg("never-marked"), Dg("used")}, 120, 200, 200))
                  .empty());
  EXPECT_TRUE(Ok(db.begin_blob_delete({Dg("young")}, 120, 99, 200)).empty())
      << "marked after marked_before";
  EXPECT_EQ(Ok(db.marked_blobs(1000, 10)), (std::vector<std::string>{Dg("young")}));
  EXPECT_TRUE(Ok(db.deleting_blobs(1000, 1000)).empty());
}

TYPED_TEST(MetadataStoreTest, GarbageManifestsFollowTagsIndexesSubjectsAndAge) {
  auto& db = this->db();
  const std::string tagged = "sha256:" + Hex('1'), untagged = "sha256:" + Hex('2'),
                    young = "sha256:" + Hex('3'), index = "sha256:" + Hex('4'),
                    child = "sha256:" + Hex('5'), referrer = "sha256:" + Hex('6'),
                    orphan = "sha256:" + Hex('7'), sig = "sha256:" + Hex('8'),
                    orphan_sig = "sha256:" + Hex('9');
  Ok(db.put_manifest("r", Manifest(tagged, 100), {}, "v1"));
  Ok(db.put_manifest("r", Manifest(untagged, 100), {}, ""));
  Ok(db.put_manifest("r", Manifest(young, 900), {}, ""));
  Ok(db.put_manifest("r", Manifest(child, 100), {}, ""));
  Ok(db.put_manifest("r", Manifest(index, 100), {{child, true}}, "multi"));
  Ok(db.put_manifest("r", Manifest(referrer, 100, untagged), {}, ""));
  Ok(db.put_manifest("r", Manifest(orphan, 100, "sha256:" + Hex('f')), {}, ""));
  Ok(db.put_manifest("r", Manifest(sig, 100), {}, "sha256-" + Hex('2') + ".sig"));
  Ok(db.put_manifest("r", Manifest(orphan_sig, 100), {}, "sha256-" + Hex('e') + ".sig"));
  using Rows = std::vector<std::pair<std::string, std::string>>;

  ManifestGcRule keep{false, 500, 500};
  EXPECT_EQ(Ok(db.manifest_gc_candidates(keep)), (Rows{{"r", orphan}, {"r", orphan_sig}}))
      << "with untagged: keep only referrers whose subject is gone";
  ManifestGcRule young_orphans{false, 500, 50};
  EXPECT_TRUE(Ok(db.manifest_gc_candidates(young_orphans)).empty())
      << "referrers may arrive before their subject: the grace period protects them";

  ManifestGcRule del{true, 500, 500};
  EXPECT_EQ(Ok(db.manifest_gc_candidates(del)),
            (Rows{{"r", untagged}, {"r", orphan}, {"r", orphan_sig}}));
  EXPECT_FALSE(Ok(db.delete_manifest_if_garbage("r", tagged, del)));
  EXPECT_FALSE(Ok(db.delete_manifest_if_garbage("r", child, del))) << "child of a stored index";
  EXPECT_FALSE(Ok(db.delete_manifest_if_garbage("nope", untagged, del)));

  // A push touching the untagged manifest (e.g. re-tagging it) keeps it.
  Ok(db.touch_blobs({untagged}, 600));
  EXPECT_FALSE(Ok(db.delete_manifest_if_garbage("r", untagged, del)));
  ManifestGcRule later{true, 700, 700};
  audit::AuditEvent event;
  event.time_ms = 1;
  event.actor = "gc";
  event.action = "delete";
  event.repository = "r";
  event.digest = untagged;
  event.result = "success";
  EXPECT_TRUE(Ok(db.delete_manifest_if_garbage("r", untagged, later, {{}, &event})));
  EXPECT_FALSE(Ok(db.get_manifest("r", untagged)));
  AuditFilter by_gc;
  by_gc.actor = "gc";
  EXPECT_EQ(Ok(db.list_audit(by_gc)).size(), 1u) << "the deletion is audited in its transaction";

  // Its signature and referrer die with it; then nothing else is garbage.
  std::set<std::string> gone;
  for (int pass = 0; pass < 3; ++pass) {
    for (const auto& [repo, digest] : Ok(db.manifest_gc_candidates(later))) {
      if (Ok(db.delete_manifest_if_garbage(repo, digest, later))) gone.insert(digest);
    }
  }
  EXPECT_EQ(gone, (std::set<std::string>{referrer, orphan, sig, orphan_sig}));
  EXPECT_FALSE(Ok(db.resolve_tag("r", "sha256-" + Hex('2') + ".sig"))) << "cosign tag removed";
  for (const auto& live : {tagged, young, index, child}) {
    EXPECT_TRUE(Ok(db.get_manifest("r", live))) << live;
  }
  // Untagging the index frees it, then its child.
  Ok(db.delete_tag("r", "multi"));
  ManifestGcRule all{true, 1000, 1000};
  EXPECT_EQ(Ok(db.manifest_gc_candidates(all)), (Rows{{"r", young}, {"r", index}}));
  EXPECT_TRUE(Ok(db.delete_manifest_if_garbage("r", index, all)));
  EXPECT_EQ(Ok(db.manifest_gc_candidates(all)), (Rows{{"r", young}, {"r", child}}));
  EXPECT_EQ(Ok(db.referenced_digests()),
            (std::vector<std::string>{tagged, young, child}));
}

// --- registry policy ------------------------------------------------------------

TYPED_TEST(MetadataStoreTest, PolicyVersionsAreNumberedKeptAndAudited) {
  auto& db = this->db();
  EXPECT_EQ(Ok(db.latest_policy_version()), std::nullopt);
  int64_t gen = Ok(db.access_generation());
  PolicyVersionRecord v;
  v.files_json = R"({"a.yaml":"rules: []"})";
  v.author = "alice";
  v.comment = "first";
  v.created_at = 10;
  EXPECT_EQ(Ok(db.put_policy_version(v, Event("policy.put"))), 1);
  EXPECT_GT(Ok(db.access_generation()), gen);
  v.files_json = R"({"a.yaml":"rules: [x]"})";
  v.comment = "second";
  v.created_at = 20;
  EXPECT_EQ(Ok(db.put_policy_version(v, Event("policy.put"))), 2);
  auto latest = Ok(db.latest_policy_version());
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->files_json, v.files_json);
  EXPECT_EQ(latest->author, "alice");
  EXPECT_EQ(latest->comment, "second");
  EXPECT_EQ(latest->created_at, 20);
  auto first = Ok(db.get_policy_version(1));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->comment, "first");
  EXPECT_EQ(Ok(db.get_policy_version(3)), std::nullopt);
  auto all = Ok(db.list_policy_versions(10));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].version, 2);
  EXPECT_EQ(Ok(db.list_policy_versions(1)).size(), 1u);
  EXPECT_EQ(AllAudit(db).size(), 2u);
  this->Reopen();
  EXPECT_EQ(Ok(this->db().latest_policy_version())->version, 2);
}

TYPED_TEST(MetadataStoreTest, ApprovedBasesKeepTheirDigestHistory) {
  auto& db = this->db();
  Ok(db.put_approved_base({"debian", "base/debian", "12", 5}, Event("base.put")));
  Ok(db.put_approved_base({"alpine", "base/alpine", "3", 6}, Event("base.put")));
  EXPECT_TRUE(
      Ok(db.add_base_digest({"debian", Dg("d2"), R"(["sha256:L2"])", 200}, Event("base.digest"))));
  EXPECT_TRUE(
      Ok(db.add_base_digest({"debian", Dg("d1"), R"(["sha256:L1"])", 100}, Event("base.digest"))));
  int64_t gen = Ok(db.access_generation());
  EXPECT_FALSE(Ok(db.add_base_digest({"debian", Dg("d1"), "[]", 300}, Event("base.digest"))));
  EXPECT_FALSE(Ok(db.add_base_digest({"nobody", Dg("x"), "[]", 300}, Event("base.digest"))));
  EXPECT_EQ(Ok(db.access_generation()), gen);
  // Re-pointing a base keeps its history.
  Ok(db.put_approved_base({"debian", "base/debian", "bookworm", 7}, Event("base.put")));
  auto bases = Ok(db.list_approved_bases());
  ASSERT_EQ(bases.size(), 2u);
  EXPECT_EQ(bases[0].name, "alpine");
  EXPECT_EQ(bases[1].tag, "bookworm");
  EXPECT_EQ(bases[1].created_at, 5);
  auto history = Ok(db.list_base_digests());
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].digest, Dg("d1"));
  EXPECT_EQ(history[0].diff_ids_json, R"(["sha256:L1"])");
  EXPECT_EQ(history[1].approved_at, 200);
  EXPECT_TRUE(Ok(db.delete_approved_base("debian", Event("base.delete"))));
  EXPECT_FALSE(Ok(db.delete_approved_base("debian", Event("base.delete"))));
  EXPECT_TRUE(Ok(db.list_base_digests()).empty());
  EXPECT_EQ(Ok(db.list_approved_bases()).size(), 1u);
  EXPECT_EQ(AllAudit(db).size(), 6u);
}

TYPED_TEST(MetadataStoreTest, ManifestsUsingABlobAreScopedToTheRepository) {
  Ok(this->db().put_manifest("repo", Manifest(Dg("m2")), {{Dg("layer"), false}, {Dg("cfg"), false}},
                             ""));
  Ok(this->db().put_manifest("repo", Manifest(Dg("m1")), {{Dg("layer"), false}}, ""));
  Ok(this->db().put_manifest("other", Manifest(Dg("m3")), {{Dg("layer"), false}}, ""));
  Ok(this->db().put_manifest("repo", Manifest(Dg("idx")), {{Dg("m1"), true}}, ""));
  EXPECT_EQ(Ok(this->db().manifests_using_blob("repo", Dg("layer"), 10)),
            (std::vector<std::string>{Dg("m1"), Dg("m2")}));
  EXPECT_EQ(Ok(this->db().manifests_using_blob("repo", Dg("layer"), 1)).size(), 1u);
  EXPECT_TRUE(Ok(this->db().manifests_using_blob("repo", Dg("m1"), 10)).empty());
  EXPECT_TRUE(Ok(this->db().manifests_using_blob("nowhere", Dg("layer"), 10)).empty());
}

TYPED_TEST(MetadataStoreTest, PolicyVerdictsAreReplacedAndListedInPages) {
  auto& db = this->db();
  int64_t gen = Ok(db.access_generation());
  Ok(db.put_policy_verdict(
      {"b/app", Dg("2"), "denied", "denied; r [enforce]: fail", "policy v1", 10}));
  Ok(db.put_policy_verdict({"a/app", Dg("1"), "allowed", "allowed", "policy v1", 11}));
  Ok(db.put_policy_verdict({"b/app", Dg("1"), "quarantined", "quarantined", "policy v1", 12}));
  Ok(db.put_policy_verdict({"b/app", Dg("2"), "allowed", "allowed", "policy v2", 13}));
  EXPECT_EQ(Ok(db.access_generation()), gen);
  EXPECT_TRUE(AllAudit(db).empty());
  auto all = Ok(db.list_policy_verdicts("", "", "", 10));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].repository, "a/app");
  EXPECT_EQ(all[2].digest, Dg("2"));
  EXPECT_EQ(all[2].outcome, "allowed");
  EXPECT_EQ(all[2].inputs, "policy v2");
  EXPECT_EQ(all[2].evaluated_at, 13);
  auto b = Ok(db.list_policy_verdicts("b/app", "", "", 1));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].digest, Dg("1"));
  auto next = Ok(db.list_policy_verdicts("b/app", b[0].repository, b[0].digest, 10));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].digest, Dg("2"));
  EXPECT_TRUE(Ok(db.list_policy_verdicts("c/app", "", "", 10)).empty());
}

}  // namespace
}  // namespace portcullis::metadata
