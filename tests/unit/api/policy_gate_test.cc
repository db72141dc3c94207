// PolicyGate over a real SQLite store and filesystem blob store, with an
// injected clock: facts gathered from stored images, verdicts cached until an
// input changes (policy version, clock reaching an exception's expiry),
// base-image lineage from recorded digests, blobs of refused images.
#include "api/policy_gate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "auth/admin.h"
#include "metadata/sqlite/sqlite_store.h"
#include "oci/digest.h"
#include "scanner/codec.h"
#include "storage/filesystem_store.h"
#include "temp_dir.h"

namespace portcullis::api {
namespace {

using ::testing::HasSubstr;
namespace json = boost::json;

constexpr int64_t kStart = 1800000000;  // 2027-01-15T08:00:00Z

struct Image {
  std::string digest;
  std::string config;
  std::vector<std::string> layers;  // blob digests
};

class PolicyGateTest : public ::testing::Test {
 protected:
  PolicyGateTest()
      : blobs_(dir_.path() / "blobs"),
        meta_(dir_.path() / "metadata.db"),
        clock_(std::chrono::system_clock::time_point(std::chrono::seconds(kStart))),
        access_(meta_, clock_),
        admin_(access_),
        signatures_(blobs_, meta_, cache_, clock_),
        gate_(blobs_, meta_, cache_, signatures_, clock_, nullptr) {}

  std::string put_blob(const std::string& bytes) {
    auto d = oci::Digest::of(crypto::HashAlgorithm::sha256, bytes);
    EXPECT_TRUE(blobs_.put(d, bytes));
    return d.str();
  }

  // Stores an image in `repo` (tagged `tag`): one layer blob per diff_id.
  Image push(const std::string& repo, const std::string& tag,
             const std::vector<std::string>& diff_ids, const json::object& labels = {},
             const std::string& created = "2027-01-01T00:00:00Z") {
    Image img;
    json::array ids;
    for (const auto& id : diff_ids) ids.emplace_back(id);
    json::object config{{"architecture", "amd64"},
                        {"os", "linux"},
                        {"created", created},
                        {"config", json::object{{"Labels", labels}}},
                        {"rootfs", json::object{{"type", "layers"}, {"diff_ids", ids}}}};
    std::string config_bytes = json::serialize(config);
    img.config = put_blob(config_bytes);
    EXPECT_TRUE(meta_.link_blob(repo, img.config, static_cast<int64_t>(config_bytes.size())));
    json::array layers;
    std::vector<metadata::ManifestChild> children{{img.config, false}};
    for (const auto& id : diff_ids) {
      std::string bytes = "layer " + id;
      std::string d = put_blob(bytes);
      img.layers.push_back(d);
      EXPECT_TRUE(meta_.link_blob(repo, d, static_cast<int64_t>(bytes.size())));
      children.push_back({d, false});
      layers.push_back(json::object{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                    {"digest", d},
                                    {"size", bytes.size()}});
    }
    json::object manifest{
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
        {"config", json::object{{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                {"digest", img.config},
                                {"size", config_bytes.size()}}},
        {"layers", layers}};
    std::string bytes = json::serialize(manifest);
    img.digest = put_blob(bytes);
    metadata::ManifestRecord rec{img.digest,
                                 "application/vnd.oci.image.manifest.v1+json",
                                 static_cast<int64_t>(bytes.size()),
                                 "",
                                 "",
                                 "",
                                 kStart};
    EXPECT_TRUE(meta_.put_manifest(repo, rec, children, tag));
    cache_.invalidate(repo);
    return img;
  }

  void scanned(const std::string& digest, const std::vector<scanner::Finding>& findings) {
    scanner::Inventory inv;
    inv.packages.push_back({"deb", "openssl", "3.0.11-1", "", "", "amd64", "", "", {}});
    metadata::ScanRecord r{digest,
                           "done",
                           scanner::inventory_to_json(inv),
                           scanner::findings_to_json(findings),
                           "data-1",
                           "",
                           kStart};
    ASSERT_TRUE(meta_.put_scan(r));
  }

  static scanner::Finding finding(std::string id, std::string severity) {
    scanner::Finding f;
    f.advisory_id = std::move(id);
    f.severity = std::move(severity);
    f.fixed_version = "3.0.13-1";
    return f;
  }

  void set_policy(const std::string& yaml) {
    auto v = admin_.put_policy(auth::Actor::local_operator(), {{"p.yaml", yaml}}, "");
    ASSERT_TRUE(v) << v.error().message;
  }

  std::shared_ptr<const auth::AccessSnapshot> snap() { return access_.snapshot().value(); }

  testutil::TempDir dir_;
  storage::FilesystemBlobStore blobs_;
  metadata::SqliteStore meta_;
  ManualClock clock_;
  auth::AccessService access_;
  auth::Admin admin_;
  ManifestCache cache_;
  SignatureGate signatures_;
  PolicyGate gate_;
};

TEST_F(PolicyGateTest, ExceptionExpiryEndsTheCachedVerdictWithTheInjectedClock) {
  set_policy(R"(rules:
  - name: no-high
    repositories: ["prod/*"]
    vulnerabilities:
      severityThreshold: high
      exceptions:
        - {id: CVE-1, reason: unreachable, owner: sec, expires: "2027-01-15T09:00:00Z"}
)");
  auto img = push("prod/app", "v1", {"sha256:L1"});
  scanned(img.digest, {finding("CVE-1", "high")});
  auto s = snap();
  auto v = gate_.evaluate("prod/app", img.digest, *s, policy::Phase::pull);
  EXPECT_TRUE(v.decision.allowed) << v.decision.message;
  EXPECT_THAT(v.inputs, HasSubstr("policy v1"));
  EXPECT_THAT(v.inputs, HasSubstr("advisory data data-1"));
  ASSERT_TRUE(gate_.lookup("prod/app", img.digest, *s));  // cached

  clock_.advance(std::chrono::minutes(59));
  ASSERT_TRUE(gate_.lookup("prod/app", img.digest, *s));
  clock_.advance(std::chrono::minutes(1));  // 09:00: the exception stops counting
  EXPECT_FALSE(gate_.lookup("prod/app", img.digest, *s));
  v = gate_.evaluate("prod/app", img.digest, *s, policy::Phase::pull);
  EXPECT_FALSE(v.decision.allowed);
  EXPECT_THAT(v.decision.message, HasSubstr("CVE-1 (high) in openssl@3.0.11-1"));
}

TEST_F(PolicyGateTest, ANewPolicyVersionInvalidatesCachedVerdicts) {
  set_policy("rules:\n  - {name: a, repositories: ['prod/*'], maxAge: 365}\n");
  auto img = push("prod/app", "v1", {"sha256:L1"});
  auto s = snap();
  EXPECT_TRUE(gate_.evaluate("prod/app", img.digest, *s, policy::Phase::pull).decision.allowed);
  ASSERT_TRUE(gate_.lookup("prod/app", img.digest, *s));
  set_policy("rules:\n  - {name: a, repositories: ['prod/*'], maxAge: 7}\n");
  auto s2 = snap();
  EXPECT_EQ(s2->policy_version, 2);
  EXPECT_FALSE(gate_.lookup("prod/app", img.digest, *s2));
  auto v = gate_.evaluate("prod/app", img.digest, *s2, policy::Phase::pull);
  EXPECT_FALSE(v.decision.allowed);
  EXPECT_THAT(v.decision.message,
              HasSubstr("maxAge: created 2027-01-01T00:00:00Z is more than 7 days ago"));
}

TEST_F(PolicyGateTest, UnscannedImagesFailAndPendingOnesAreQuarantined) {
  set_policy("rules:\n  - {name: s, repositories: ['prod/*'], scan: required}\n");
  auto img = push("prod/app", "v1", {"sha256:L1"});
  auto v = gate_.evaluate("prod/app", img.digest, *snap(), policy::Phase::pull);
  EXPECT_FALSE(v.decision.allowed);
  EXPECT_FALSE(v.decision.quarantined);
  ASSERT_TRUE(meta_.put_scan({img.digest, "queued", "", "", "", "", kStart}));
  v = gate_.evaluate("prod/app", img.digest, *snap(), policy::Phase::pull);
  EXPECT_TRUE(v.decision.quarantined);
  EXPECT_THAT(v.decision.message, HasSubstr("quarantined: scanning"));
}

TEST_F(PolicyGateTest, LineageFromRecordedBaseDigestsAndForgedAnnotations) {
  auto base = push("base/debian", "12", {"sha256:B1"});
  ASSERT_TRUE(
      admin_.put_approved_base(auth::Actor::local_operator(), "debian", "base/debian", "12"));
  EXPECT_TRUE(gate_.track_bases(*snap()));
  ASSERT_TRUE(access_.reload());
  EXPECT_FALSE(gate_.track_bases(*snap()));  // recorded once
  set_policy("rules:\n  - {name: b, repositories: ['apps/*'], onPush: true, baseImages: {}}\n");
  auto derived = push("apps/x", "v1", {"sha256:B1", "sha256:X"});
  auto v = gate_.evaluate("apps/x", derived.digest, *snap(), policy::Phase::pull);
  EXPECT_TRUE(v.decision.allowed) << v.decision.message;
  EXPECT_TRUE(v.lineage.known);
  EXPECT_EQ(v.lineage.base_digest, base.digest);
  EXPECT_TRUE(v.lineage.current);

  // The base tag moves: the old digest stays approved.
  push("base/debian", "12", {"sha256:B2"});
  EXPECT_TRUE(gate_.track_bases(*snap(), "base/debian", "12"));
  ASSERT_TRUE(access_.reload());
  v = gate_.evaluate("apps/x", derived.digest, *snap(), policy::Phase::pull);
  EXPECT_TRUE(v.decision.allowed);
  EXPECT_FALSE(v.lineage.current);

  // Annotations naming the base over other layers: unknown base, also on push.
  std::string forged =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      derived.config +
      R"(","size":1},"layers":[],"annotations":{)"
      R"("org.opencontainers.image.base.name":"base/debian:12"}})";
  auto other = push("apps/y", "v1", {"sha256:Z"});
  std::string forged_other = forged;
  forged_other.replace(forged_other.find(derived.config), derived.config.size(), other.config);
  auto p = gate_.evaluate_push("apps/y", "sha256:00", forged_other,
                               "application/vnd.oci.image.manifest.v1+json", *snap());
  EXPECT_FALSE(p.decision.allowed);
  EXPECT_THAT(p.decision.message, HasSubstr("the annotations name approved base 'debian'"));
}

TEST_F(PolicyGateTest, BlobsAreRefusedOnlyWhenEveryImageUsingThemIsRefused) {
  set_policy("rules:\n  - {name: labelled, repositories: ['prod/*'], labels: {team: '*'}}\n");
  auto good = push("prod/app", "good", {"sha256:S", "sha256:G"}, json::object{{"team", "a"}});
  auto bad = push("prod/app", "bad", {"sha256:S", "sha256:B"});
  auto s = snap();
  EXPECT_TRUE(gate_.evaluate("prod/app", good.digest, *s, policy::Phase::pull).decision.allowed);
  EXPECT_FALSE(gate_.evaluate("prod/app", bad.digest, *s, policy::Phase::pull).decision.allowed);
  // Layer 0 is shared with the allowed image; layer 1 belongs only to the refused one.
  EXPECT_FALSE(gate_.blob_refusal("prod/app", bad.layers[0], *s));
  auto refusal = gate_.blob_refusal("prod/app", bad.layers[1], *s);
  ASSERT_TRUE(refusal);
  EXPECT_THAT(*refusal, HasSubstr("label team is missing"));
  auto cached = gate_.cached_blob_refusal("prod/app", bad.layers[1], *s);
  ASSERT_TRUE(cached);
  EXPECT_TRUE(*cached);
  EXPECT_FALSE(gate_.blob_refusal("prod/app", good.layers[1], *s));
}

}  // namespace
}  // namespace portcullis::api
