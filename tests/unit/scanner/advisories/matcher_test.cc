// Matching: OSV range semantics, ecosystem selection per package type, the
// Debian rules, findings' fields, speed and concurrency.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "db_fixture.h"
#include "scanner/advisories/ecosystems.h"
#include "scanner/advisories/matcher.h"

namespace portcullis::scanner::advisories {
namespace {

using testing::DbTest;
using testing::debian12;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::vulndata;

// One OSV record affecting `name` in `ecosystem` with the given ranges JSON.
std::string record(const std::string& id, const std::string& ecosystem, const std::string& name,
                   const std::string& ranges, const std::string& extra = "") {
  return R"({"id":")" + id +
         R"(","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":")" +
         ecosystem + R"(","name":")" + name + R"("},"ranges":)" + ranges + extra + "}]}\n";
}

std::string events(const std::string& type, const std::string& list) {
  return R"([{"type":")" + type + R"(","events":[)" + list + "]}]";
}

class Osv : public DbTest {
 protected:
  // Whether npm package `name` at `version` is affected by the single record imported.
  bool npm(const char* name, const char* version) {
    return !match_one(pkg(kTypeNpm, name, version)).empty();
  }
};

TEST_F(Osv, IntroducedAndFixed) {
  ASSERT_TRUE(import_text(
      "r.jsonl",
      record("A", "npm", "a", events("SEMVER", R"({"introduced":"1.0.0"},{"fixed":"1.2.0"})"))));
  EXPECT_FALSE(npm("a", "0.9.9"));
  EXPECT_TRUE(npm("a", "1.0.0"));
  EXPECT_TRUE(npm("a", "1.1.9"));
  EXPECT_FALSE(npm("a", "1.2.0"));
  EXPECT_FALSE(npm("a", "2.0.0"));
}

TEST_F(Osv, IntroducedZeroIsBeforeEverything) {
  ASSERT_TRUE(import_text(
      "r.jsonl",
      record("A", "npm", "a", events("SEMVER", R"({"introduced":"0"},{"fixed":"1.0.0"})"))));
  EXPECT_TRUE(npm("a", "0.0.0-alpha"));
  EXPECT_TRUE(npm("a", "0.0.0"));
  EXPECT_TRUE(npm("a", "1.0.0-rc.1"));  // a pre-release is inside a release-bounded range
  EXPECT_FALSE(npm("a", "1.0.0"));
}

TEST_F(Osv, SeveralIntervalsInOneRangeAndEventsSortedByVersion) {
  // Written out of order: the evaluation sorts events by version first.
  ASSERT_TRUE(import_text(
      "r.jsonl",
      record(
          "A", "npm", "a",
          events(
              "SEMVER",
              R"({"fixed":"3.2.5"},{"introduced":"3.0.0"},{"fixed":"1.0.2"},{"introduced":"1.0.0"})"))));
  EXPECT_FALSE(npm("a", "0.5.0"));
  EXPECT_TRUE(npm("a", "1.0.1"));
  EXPECT_FALSE(npm("a", "1.0.2"));
  EXPECT_FALSE(npm("a", "2.9.9"));
  EXPECT_TRUE(npm("a", "3.2.4"));
  EXPECT_FALSE(npm("a", "3.2.5"));
}

TEST_F(Osv, LastAffectedIsInclusive) {
  ASSERT_TRUE(import_text(
      "r.jsonl", record("A", "npm", "a",
                        events("SEMVER", R"({"introduced":"0"},{"last_affected":"2.1.214"})"))));
  EXPECT_TRUE(npm("a", "2.1.214"));
  EXPECT_FALSE(npm("a", "2.1.215"));
  auto f = match_one(pkg(kTypeNpm, "a", "1.0.0"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].fixed_version, "");  // last_affected is not a fix
}

TEST_F(Osv, LimitCapsTheRange) {
  ASSERT_TRUE(import_text(
      "r.jsonl",
      record("A", "npm", "a", events("SEMVER", R"({"introduced":"1.0.0"},{"limit":"2.0.0"})")) +
          record("B", "npm", "b", events("SEMVER", R"({"introduced":"1.0.0"},{"limit":"*"})")) +
          record(
              "C", "npm", "c",
              events(
                  "SEMVER",
                  R"({"introduced":"0"},{"fixed":"5.0.0"},{"limit":"2.0.0"},{"limit":"4.0.0"})"))));
  EXPECT_TRUE(npm("a", "1.9.9"));
  EXPECT_FALSE(npm("a", "2.0.0"));
  EXPECT_TRUE(npm("b", "99.0.0"));
  EXPECT_TRUE(npm("c", "3.0.0"));   // below one of the limits
  EXPECT_FALSE(npm("c", "4.5.0"));  // below no limit
}

TEST_F(Osv, VersionsListIsOredWithRanges) {
  ASSERT_TRUE(import_text(
      "r.jsonl",
      record("A", "npm", "a", events("SEMVER", R"({"introduced":"1.0.0"},{"fixed":"1.1.0"})"),
             R"(,"versions":["0.5.0","1.0.0"])")));
  EXPECT_TRUE(npm("a", "0.5.0"));  // listed, outside the range
  EXPECT_TRUE(npm("a", "1.0.5"));  // in the range, not listed
  EXPECT_FALSE(npm("a", "0.5.1"));
}

TEST_F(Osv, EcosystemRangesUseTheEcosystemsOrder) {
  // PEP 440: 1.0rc1 < 1.0 < 1.0.post1; as SemVer the strings would not order so.
  ASSERT_TRUE(import_text(
      "r.jsonl", record("PYSEC-1", "PyPI", "p",
                        events("ECOSYSTEM", R"({"introduced":"0"},{"fixed":"1.0.post1"})"))));
  EXPECT_FALSE(match_one(pkg(kTypePypi, "p", "1.0rc1")).empty());
  EXPECT_FALSE(match_one(pkg(kTypePypi, "p", "1.0")).empty());
  EXPECT_TRUE(match_one(pkg(kTypePypi, "p", "1.0.post1")).empty());
}

TEST_F(Osv, GitRangesAreIgnored) {
  ASSERT_TRUE(import_text(
      "r.jsonl", record("A", "npm", "a",
                        R"([{"type":"GIT","repo":"https://x","events":[{"introduced":"0"}]}])")));
  EXPECT_FALSE(npm("a", "1.0.0"));
}

TEST_F(Osv, WithdrawnRecordsNeverMatch) {
  ASSERT_TRUE(
      import_text("r.jsonl", record("A", "npm", "a", events("SEMVER", R"({"introduced":"0"})"), "")
                                 .insert(1, R"("withdrawn":"2024-02-01T00:00:00Z",)")));
  EXPECT_EQ(db_->sources()[0].records, 1u);  // stored, not matched
  EXPECT_FALSE(npm("a", "1.0.0"));
}

TEST_F(Osv, EcosystemMustMatchExactlyAndPypiNamesAreNormalised) {
  ASSERT_TRUE(
      import_text("r.jsonl", record("A", "NPM", "a", events("SEMVER", R"({"introduced":"0"})")) +
                                 record("PYSEC-1", "PyPI", "Django_REST.framework",
                                        events("ECOSYSTEM", R"({"introduced":"0"})"))));
  EXPECT_FALSE(npm("a", "1.0.0"));
  EXPECT_FALSE(match_one(pkg(kTypePypi, "django-rest-framework", "3.0")).empty());
  EXPECT_FALSE(match_one(pkg(kTypePypi, "Django.Rest_Framework", "3.0")).empty());
}

TEST_F(Osv, FixedVersionIsTheLowestFixAboveTheInstalledVersion) {
  ASSERT_TRUE(import_text(
      "r.jsonl",
      record(
          "PYSEC-1", "PyPI", "django",
          events(
              "ECOSYSTEM",
              R"({"introduced":"0"},{"fixed":"1.2.7"},{"introduced":"1.3"},{"fixed":"1.3.1"})"))));
  auto f = match_one(pkg(kTypePypi, "django", "1.0"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].fixed_version, "1.2.7");
  f = match_one(pkg(kTypePypi, "django", "1.3"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].fixed_version, "1.3.1");
}

TEST_F(Osv, SeveralAffectedEntriesOfOnePackageGiveOneFinding) {
  ASSERT_TRUE(import_text(
      "r.jsonl",
      R"({"id":"GHSA-1","modified":"m","affected":[)"
      R"({"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"3.0.0"},{"fixed":"3.0.1"}]}]},)"
      R"({"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.1.1"}]}]}]})"));
  auto f = match_one(pkg(kTypeNpm, "a", "3.0.0"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].fixed_version, "3.0.1");
}

TEST_F(Osv, PackageTypesMapToEcosystems) {
  ASSERT_TRUE(import_text(
      "r.jsonl",
      record("GO-1", "Go", "golang.org/x/net",
             events("SEMVER", R"({"introduced":"0"},{"fixed":"0.17.0"})")) +
          record("GHSA-m", "Maven", "org.apache.logging.log4j:log4j-core",
                 events("ECOSYSTEM", R"({"introduced":"2.0-beta9"},{"fixed":"2.15.0"})"))));
  EXPECT_FALSE(match_one(pkg(kTypeGolang, "golang.org/x/net", "v0.16.0")).empty());
  EXPECT_TRUE(match_one(pkg(kTypeGolang, "golang.org/x/net", "v0.17.0")).empty());
  EXPECT_FALSE(match_one(pkg(kTypeMaven, "org.apache.logging.log4j:log4j-core", "2.14.1")).empty());
  EXPECT_TRUE(match_one(pkg(kTypeMaven, "org.apache.logging.log4j:log4j-core", "2.15.0")).empty());
  EXPECT_TRUE(match_one(pkg("cargo", "golang.org/x/net", "0.1.0")).empty());
}

// --- distributions -------------------------------------------------------------

class Distros : public DbTest {};

TEST_F(Distros, DebianMatchesBySourceNameAndSourceVersion) {
  ASSERT_TRUE(import_text(
      "d.jsonl",
      record("DEBIAN-CVE-2024-1", "Debian:12", "openssl",
             events("ECOSYSTEM", R"({"introduced":"0"},{"fixed":"3.0.15-1~deb12u1"})"),
             R"(,"ecosystem_specific":{"urgency":"not yet assigned","status":"resolved"})") +
          record("DEBIAN-CVE-2024-9", "Debian:12", "other",
                 events("ECOSYSTEM", R"({"introduced":"0"},{"fixed":"1.0"})"))));
  // libssl3 3.0.14-1~deb12u2+b1 (binNMU) from source openssl 3.0.14-1~deb12u2.
  auto f = match_one(pkg(kTypeDeb, "libssl3", "3.0.14-1~deb12u2+b1", "openssl", "3.0.14-1~deb12u2"),
                     debian12());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].advisory_id, "CVE-2024-1");  // the CVE, as Debian's tools show it
  EXPECT_THAT(f[0].aliases, ElementsAre("DEBIAN-CVE-2024-1"));
  EXPECT_EQ(f[0].fixed_version, "3.0.15-1~deb12u1");
  EXPECT_EQ(f[0].rating, "not yet assigned");
  // Source version defaults to the binary's.
  EXPECT_EQ(match_one(pkg(kTypeDeb, "libssl3", "3.0.14-1", "openssl"), debian12()).size(), 1u);
  EXPECT_TRUE(
      match_one(pkg(kTypeDeb, "libssl3", "3.0.15-1~deb12u1", "openssl"), debian12()).empty());
  // The binary name is not the key while the source has data.
  EXPECT_TRUE(match_one(pkg(kTypeDeb, "openssl", "1.0", "other", "9.9"), debian12()).empty());
  // Other releases, other distributions, no distro: not matched.
  EXPECT_TRUE(
      match_one(pkg(kTypeDeb, "openssl", "1.0"), Distro{"debian", "11", "bullseye", ""}).empty());
  EXPECT_TRUE(match_one(pkg(kTypeDeb, "openssl", "1.0")).empty());
  // Debian testing has no VERSION_ID: the code name decides.
  EXPECT_EQ(match_one(pkg(kTypeDeb, "openssl", "1.0"), Distro{"debian", "", "bookworm", ""}).size(),
            1u);
}

TEST_F(Distros, DebianLooksUpTheBinaryNameOnlyWhenTheSourceIsAbsent) {
  ASSERT_TRUE(
      import_text("d.jsonl", record("DEBIAN-CVE-2024-2", "Debian:12", "tool",
                                    events("ECOSYSTEM", R"({"introduced":"0"},{"fixed":"2.0"})"))));
  auto f = match_one(pkg(kTypeDeb, "tool", "1.5", "tool-src", "7.0"), debian12());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].fixed_version, "2.0");  // compared with the binary version
}

TEST_F(Distros, IdsOfOneIssueMergeAcrossRecordsAndSources) {
  ASSERT_TRUE(import_text(
      "a.jsonl", record("DEBIAN-CVE-2024-3", "Debian:12", "zlib",
                        events("ECOSYSTEM", R"({"introduced":"0"},{"fixed":"1:1.2.13.dfsg-2"})"))));
  ASSERT_TRUE(import_text(
      "b.json",
      R"({"zlib":{"CVE-2024-3":{"description":"zlib bug","releases":{)"
      R"("bookworm":{"status":"resolved","fixed_version":"1:1.2.13.dfsg-1+deb12u1","urgency":"low"}}}}})"));
  auto f = match_one(pkg(kTypeDeb, "zlib1g", "1:1.2.13.dfsg-1", "zlib"), debian12());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].advisory_id, "CVE-2024-3");
  EXPECT_EQ(f[0].fixed_version, "1:1.2.13.dfsg-1+deb12u1");  // the lower of both sources' fixes
  EXPECT_EQ(f[0].summary, "zlib bug");
}

TEST_F(Distros, AlpineByOriginAndMinorRelease) {
  ASSERT_TRUE(import_text(
      "a.jsonl", record("ALPINE-CVE-2024-4", "Alpine:v3.20", "openssl",
                        events("ECOSYSTEM", R"({"introduced":"0"},{"fixed":"3.3.2-r0"})"))));
  Distro alpine{"alpine", "3.20.3", "", ""};
  EXPECT_THAT(ids(match_one(pkg(kTypeApk, "libcrypto3", "3.3.1-r3", "openssl"), alpine)),
              ElementsAre("CVE-2024-4"));
  EXPECT_TRUE(match_one(pkg(kTypeApk, "libcrypto3", "3.3.2-r0", "openssl"), alpine).empty());
  EXPECT_TRUE(
      match_one(pkg(kTypeApk, "openssl", "3.3.1-r3"), Distro{"alpine", "3.19.1", "", ""}).empty());
}

TEST(QueryFor, EcosystemNames) {
  auto q = query_for(DbTest::pkg(kTypeDeb, "libc6", "2.36-9", "glibc"), debian12());
  ASSERT_TRUE(q);
  EXPECT_THAT(q->ecosystems, ElementsAre("Debian:12"));
  EXPECT_EQ(q->any_release, "Debian");
  EXPECT_EQ(q->name, "glibc");
  EXPECT_EQ(q->version, "2.36-9");
  EXPECT_EQ(q->fallback_name, "libc6");

  q = query_for(DbTest::pkg(kTypeDeb, "bash", "5.1-6ubuntu1", ""),
                Distro{"ubuntu", "22.04", "jammy", ""});
  ASSERT_TRUE(q);
  EXPECT_THAT(q->ecosystems, ElementsAre("Ubuntu:22.04:LTS", "Ubuntu:22.04"));

  q = query_for(DbTest::pkg(kTypeRpm, "openssl-libs", "1:3.0.7-27.el9", "openssl"),
                Distro{"rocky", "9.4", "", ""});
  ASSERT_TRUE(q);
  EXPECT_THAT(q->ecosystems, ElementsAre("Rocky Linux:9"));
  EXPECT_EQ(q->name, "openssl");

  q = query_for(DbTest::pkg(kTypePypi, "PyYAML", "6.0"), std::nullopt);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "pyyaml");
  EXPECT_FALSE(query_for(DbTest::pkg(kTypeRpm, "x", "1"), Distro{"rhel", "9.4", "", ""}));
  EXPECT_FALSE(query_for(DbTest::pkg(kTypeApk, "x", "1"), std::nullopt));
}

TEST(Names, Pep503AndDisplayIds) {
  EXPECT_EQ(pep503_normalize("Django_REST..framework"), "django-rest-framework");
  EXPECT_EQ(display_id("DEBIAN-CVE-2024-1"), "CVE-2024-1");
  EXPECT_EQ(display_id("ALPINE-CVE-2024-1"), "CVE-2024-1");
  EXPECT_EQ(display_id("ALPINE-GNUTLS-SA-2020-06-03"), "ALPINE-GNUTLS-SA-2020-06-03");
  EXPECT_EQ(display_id("DSA-5000-1"), "DSA-5000-1");
  EXPECT_EQ(alpine_ecosystem("3.20.3"), "Alpine:v3.20");
  EXPECT_EQ(alpine_ecosystem("v3.11"), "Alpine:v3.11");
  EXPECT_FALSE(alpine_ecosystem("edge"));
  EXPECT_EQ(debian_release_number("bookworm"), "12");
}

// --- findings, speed, concurrency ----------------------------------------------

TEST_F(Osv, FindingsAreOrderedByPackageThenId) {
  ASSERT_TRUE(import_text("r.jsonl",
                          record("B", "npm", "a", events("SEMVER", R"({"introduced":"0"})")) +
                              record("A", "npm", "a", events("SEMVER", R"({"introduced":"0"})")) +
                              record("C", "npm", "b", events("SEMVER", R"({"introduced":"0"})"))));
  Inventory inv;
  inv.packages = {pkg(kTypeNpm, "b", "1.0.0"), pkg(kTypeNpm, "x", "1.0.0"),
                  pkg(kTypeNpm, "a", "1.0.0")};
  auto f = db_->match(inv);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].package_index, 0u);
  EXPECT_EQ(f[0].advisory_id, "C");
  EXPECT_EQ(f[1].package_index, 2u);
  EXPECT_EQ(f[1].advisory_id, "A");
  EXPECT_EQ(f[2].advisory_id, "B");
}

class Scale : public DbTest {};

TEST_F(Scale, TenThousandPackagesMatchRepeatably) {
  ASSERT_TRUE(db_->import_file(vulndata("debian/debian-12.osv.jsonl.gz")));
  ASSERT_TRUE(db_->import_file(vulndata("npm/npm.osv.jsonl")));
  ASSERT_TRUE(db_->import_file(vulndata("pypi/pypi.osv.jsonl.gz")));
  // Distinct packages, so that no work is shared between repeats: the
  // host's 965 Debian packages, every npm and PyPI query of the ground-truth
  // files (5,291 versions of packages that have advisories), and packages
  // nothing is known about.
  Inventory inv;
  inv.distro = debian12();
  inv.packages = testing::installed_dpkg_packages(
      testing::read_file(vulndata("debian/fixtures/host-bookworm.status")));
  for (const auto& [file, type] : {std::pair{"npm/expected/queries-npm-all-versions.tsv", kTypeNpm},
                                   std::pair{"pypi/expected/queries-pypi.tsv", kTypePypi}}) {
    for (const auto& q : testing::read_tsv(vulndata(file)))
      inv.packages.push_back(pkg(type, q.at(1), q.at(2)));
  }
  for (int i = 0; inv.packages.size() < 10'000; ++i) {
    inv.packages.push_back(
        pkg(i % 2 ? kTypeNpm : kTypePypi, "unknown-" + std::to_string(i), "1.0.0"));
  }
  // Speed is measured by bench/scan_bench.cc; here only the result counts.
  std::size_t count = db_->match(inv).size();
  EXPECT_GT(count, 20'000u);
  EXPECT_EQ(db_->match(inv).size(), count);
}

TEST_F(Scale, ConcurrentMatchesAgreeAndImportsDoNotDisturbThem) {
  ASSERT_TRUE(db_->import_file(vulndata("npm/npm.osv.jsonl")));
  Inventory inv;
  for (const char* v : {"4.17.1", "4.17.20", "3.0.0"})
    inv.packages.push_back(pkg(kTypeNpm, "lodash", v));
  const auto expected = db_->match(inv);
  ASSERT_FALSE(expected.empty());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (db_->match(inv).size() != expected.size()) ++mismatches;
      }
    });
  }
  // Re-importing the same data replaces it with identical content.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(db_->import_file(vulndata("npm/npm.osv.jsonl")));
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace portcullis::scanner::advisories
