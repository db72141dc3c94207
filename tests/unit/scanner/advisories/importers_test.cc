// Importers: format detection, each format's content, and hostile input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "db_fixture.h"

namespace portcullis::scanner::advisories {
namespace {

using testing::DbTest;
using testing::debian12;
using ::testing::ElementsAre;
using testing::gzip;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::read_file;
using testing::vulndata;

constexpr const char* kLodash =
    R"({"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-02-14T18:59:10Z","aliases":["CVE-2021-23337"],)"
    R"("summary":"Command Injection in lodash","database_specific":{"severity":"HIGH"},)"
    R"("severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],)"
    R"("affected":[{"package":{"ecosystem":"npm","name":"lodash"},)"
    R"("ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]})";

constexpr const char* kMinimist =
    R"({"id":"GHSA-xvch-5gv4-984h","modified":"2025-01-01T00:00:00.5Z","aliases":["CVE-2021-44906"],)"
    R"("affected":[{"package":{"ecosystem":"npm","name":"minimist"},)"
    R"("ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.2.4"},)"
    R"({"introduced":"1.0.0"},{"fixed":"1.2.6"}]}]}]})";

class Importers : public DbTest {};

TEST_F(Importers, OsvJsonLinesAreOneRecordPerLine) {
  auto info = import_text("npm.jsonl", std::string(kLodash) + "\n\n" + kMinimist + "\r\n");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->name, "npm.jsonl");
  EXPECT_EQ(info->format, "osv");
  EXPECT_EQ(info->records, 2u);
  EXPECT_EQ(info->data_date, "2025-01-01T00:00:00.5Z");
  EXPECT_EQ(info->imported_at, 1'800'000'000);
  EXPECT_THAT(ids(match_one(pkg(kTypeNpm, "minimist", "1.2.5"))),
              ElementsAre("GHSA-xvch-5gv4-984h"));
}

TEST_F(Importers, OsvSingleRecordPrettyPrinted) {
  auto info = import_text(
      "one.json",
      "\xEF\xBB\xBF\n{\n  \"id\": \"GHSA-x\",\n  \"modified\": \"2020-01-01T00:00:00Z\",\n"
      "  \"affected\": [{\"package\": {\"ecosystem\": \"npm\", \"name\": \"a\"},"
      " \"versions\": [\"1.0.0\"]}]\n}\n");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->format, "osv");
  EXPECT_EQ(info->records, 1u);
  EXPECT_THAT(ids(match_one(pkg(kTypeNpm, "a", "1.0.0"))), ElementsAre("GHSA-x"));
}

TEST_F(Importers, OsvJsonArray) {
  auto info = import_text("all.json", std::string("[") + kLodash + ",\n" + kMinimist + "]");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->format, "osv");
  EXPECT_EQ(info->records, 2u);
}

TEST_F(Importers, GzipIsDetectedByContentIncludingSeveralMembers) {
  std::string two_members = gzip(std::string(kLodash) + "\n") + gzip(std::string(kMinimist) + "\n");
  auto info = import_text("data.bin", two_members);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->records, 2u);
  EXPECT_EQ(match_one(pkg(kTypeNpm, "lodash", "4.17.20")).size(), 1u);
}

TEST_F(Importers, OsvFieldsAreKept) {
  ASSERT_TRUE(import_text("npm.jsonl", kLodash));
  auto f = match_one(pkg(kTypeNpm, "lodash", "4.17.20"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].advisory_id, "GHSA-35jh-r3h4-6jhm");
  EXPECT_THAT(f[0].aliases, ElementsAre("CVE-2021-23337"));
  EXPECT_EQ(f[0].summary, "Command Injection in lodash");
  EXPECT_EQ(f[0].fixed_version, "4.17.21");
  EXPECT_EQ(f[0].cvss_vector, "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H");
  EXPECT_EQ(f[0].cvss_score, 7.2);
  EXPECT_EQ(f[0].severity, "high");
  EXPECT_EQ(f[0].rating, "HIGH");
  EXPECT_EQ(f[0].source, "npm.jsonl");
}

TEST_F(Importers, DetailsStandInForAMissingSummary) {
  ASSERT_TRUE(import_text(
      "d.json",
      R"({"id":"PYSEC-1","modified":"x","details":"  First line.\nSecond line.","affected":[{"package":{"ecosystem":"PyPI","name":"p"},"versions":["1.0"]}]})"));
  auto f = match_one(pkg(kTypePypi, "p", "1.0"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].summary, "First line.");
}

// --- Debian security tracker JSON -----------------------------------------

class TrackerSample : public DbTest {
 protected:
  void SetUp() override {
    auto info = db_->import_file(vulndata("debian/tracker-json-format-sample.json"));
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->format, "debian-tracker");
  }
  std::vector<Finding> on(const Distro& d, const char* source, const char* version) {
    return match_one(pkg(kTypeDeb, source, version), d);
  }
  Distro bullseye{"debian", "11", "bullseye", ""};
};

TEST_F(TrackerSample, CountsIssuesThatSurviveDebsecansRules) {
  // 7 issues: CVE-2007-2383 is unimportant (and fixed "0"), CVE-2022-0456 has
  // an end-of-life note; the other 5 are stored.
  auto sources = db_->sources();
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].records, 5u);
  EXPECT_EQ(sources[0].data_date, "");
}

TEST_F(TrackerSample, ReleaseFixedVersionIsTheFix) {
  auto f = on(debian12(), "sope", "5.8.0-1");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].advisory_id, "CVE-2025-53603");
  EXPECT_EQ(f[0].fixed_version, "5.8.0-1+deb12u1");
  EXPECT_EQ(f[0].rating, "not yet assigned");
  EXPECT_EQ(f[0].severity, "unknown");
  EXPECT_THAT(f[0].summary, HasSubstr("Alinto SOPE"));
  EXPECT_THAT(on(debian12(), "sope", "5.8.0-1+deb12u1"), IsEmpty());
  // Each release its own fix.
  auto old = on(bullseye, "sope", "5.0.1-2");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].fixed_version, "5.0.1-2+deb11u1");
}

TEST_F(TrackerSample, ReleaseNotListedFallsBackToSidWithoutClaimingAFix) {
  // prototypejs is not in bookworm: sid's fix bounds it, but bookworm has no fix.
  auto f = on(debian12(), "prototypejs", "1.5.0-1");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].advisory_id, "CVE-2008-7220");
  EXPECT_EQ(f[0].fixed_version, "");
  EXPECT_EQ(f[0].rating, "high**");
  EXPECT_EQ(f[0].severity, "high");
  EXPECT_THAT(on(debian12(), "prototypejs", "1.6.0.2-1"), IsEmpty());
  EXPECT_EQ(on(debian12(), "txt2man", "1.5.5-4").size(), 1u);
  EXPECT_THAT(on(debian12(), "txt2man", "1.6.0-3"), IsEmpty());
}

TEST_F(TrackerSample, UnimportantAndEndOfLifeIssuesAreDropped) {
  // CVE-2007-2383: unimportant. CVE-2022-0456: an end-of-life note in buster
  // outranks "not yet assigned", so bookworm is dropped too (debsecan's fold).
  EXPECT_THAT(ids(on(debian12(), "prototypejs", "1.0-1")), ElementsAre("CVE-2008-7220"));
  EXPECT_THAT(on(debian12(), "chromium", "90.0.4430.212-1"), IsEmpty());
}

TEST_F(TrackerSample, IssueWithoutReleasesIsOpenEverywhere) {
  auto f = on(debian12(), "chromium-browser", "1.0");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].advisory_id, "CVE-2022-0358");
  EXPECT_EQ(f[0].fixed_version, "");
}

class Tracker : public DbTest {
 protected:
  std::vector<Finding> bookworm(const char* source, const char* version) {
    return match_one(pkg(kTypeDeb, source, version), debian12());
  }
};

TEST_F(Tracker, FixedVersionZeroInTheReleaseMeansNotAffected) {
  ASSERT_TRUE(import_text("t.json", R"({"p":{"CVE-2020-1":{"releases":{
      "bookworm":{"status":"resolved","fixed_version":"0","urgency":"low"},
      "sid":{"status":"resolved","fixed_version":"2.0-1","urgency":"low"}}}}})"));
  EXPECT_THAT(bookworm("p", "1.0-1"), IsEmpty());
  // Another release without an entry falls back to sid.
  EXPECT_EQ(match_one(pkg(kTypeDeb, "p", "1.0-1"), Distro{"debian", "11", "bullseye", ""}).size(),
            1u);
}

TEST_F(Tracker, OpenInTheReleaseIsAffectedBelowSidsFixOrAlways) {
  ASSERT_TRUE(import_text("t.json", R"({"p":{
      "CVE-2020-1":{"releases":{"bookworm":{"status":"open","urgency":"medium","nodsa":"Minor issue"},
                                "sid":{"status":"resolved","fixed_version":"2.0-1","urgency":"medium"}}},
      "CVE-2020-2":{"releases":{"bookworm":{"status":"open","urgency":"low"},
                                "sid":{"status":"open","urgency":"low"}}}}})"));
  auto f = bookworm("p", "1.0-1");
  ASSERT_THAT(ids(f), ElementsAre("CVE-2020-1", "CVE-2020-2"));
  EXPECT_EQ(f[0].fixed_version, "");  // sid's fix is not a fix for bookworm
  EXPECT_EQ(f[0].severity, "medium");
  EXPECT_THAT(ids(bookworm("p", "2.0-1")), ElementsAre("CVE-2020-2"));
  EXPECT_THAT(ids(bookworm("p", "99:9")), ElementsAre("CVE-2020-2"));
}

TEST_F(Tracker, OnlyCveAndTempIssuesCount) {
  ASSERT_TRUE(import_text("t.json", R"({"p":{
      "CVE-2020-1":{"releases":{"bookworm":{"status":"open","urgency":"low"}}},
      "TEMP-0000000-ABCDEF":{"releases":{"bookworm":{"status":"open","urgency":"low"}}},
      "DSA-1234-1":{"releases":{"bookworm":{"status":"open","urgency":"low"}}}}})"));
  EXPECT_THAT(ids(bookworm("p", "1")), ElementsAre("CVE-2020-1", "TEMP-0000000-ABCDEF"));
}

TEST_F(Tracker, UrgencyFoldsOverAllReleases) {
  ASSERT_TRUE(import_text("t.json", R"({"p":{
      "CVE-2020-1":{"releases":{"bookworm":{"status":"open","urgency":"unimportant"},
                                "bullseye":{"status":"open","urgency":"low"}}},
      "CVE-2020-2":{"releases":{"bookworm":{"status":"open","urgency":"unimportant"},
                                "sid":{"status":"open","urgency":"not yet assigned"}}},
      "CVE-2020-3":{"releases":{"bookworm":{"status":"open","urgency":"not yet assigned"},
                                "sid":{"status":"open","urgency":"unimportant"}}},
      "CVE-2020-4":{"releases":{"bookworm":{"status":"open","urgency":"unimportant"}}}}})"));
  // low outranks unimportant (kept); "not yet assigned" ranks below
  // unimportant (dropped), whichever comes first; unimportant alone: dropped.
  EXPECT_THAT(ids(bookworm("p", "1")), ElementsAre("CVE-2020-1"));
}

TEST_F(Tracker, SidFixedZeroDropsTheIssueEverywhere) {
  ASSERT_TRUE(import_text("t.json", R"({"p":{"CVE-2020-1":{"releases":{
      "bookworm":{"status":"open","urgency":"high"},
      "sid":{"status":"resolved","fixed_version":"0","urgency":"high"}}}}})"));
  EXPECT_THAT(bookworm("p", "1"), IsEmpty());
}

TEST_F(Tracker, MalformedEntryNamesSourceAndIssue) {
  auto r = import_text("t.json", R"({"p":{"CVE-2020-1":{"releases":{"bookworm":{"status":7}}}}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::manifest_invalid);
  EXPECT_THAT(r.error().message, HasSubstr("t.json: p/CVE-2020-1: releases.bookworm"));
}

// --- Alpine secdb ------------------------------------------------------------

class Secdb : public DbTest {
 protected:
  std::vector<Finding> alpine(const char* name, const char* version, const char* origin = "") {
    return match_one(pkg(kTypeApk, name, version, origin), Distro{"alpine", "3.20.3", "", ""});
  }
};

TEST_F(Secdb, JsonSubsetImportsByOrigin) {
  auto info = db_->import_file(vulndata("alpine/secdb-v3.20-main-subset.json"));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->format, "alpine-secdb");
  EXPECT_GT(info->records, 400u);
  auto f = alpine("apk-tools", "2.12.5-r0");
  EXPECT_THAT(ids(f), ElementsAre("CVE-2021-36159"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].fixed_version, "2.12.6-r0");
  EXPECT_THAT(f[0].aliases, ElementsAre("ALPINE-CVE-2021-36159"));
  // libcrypto3's origin is openssl.
  EXPECT_FALSE(alpine("libcrypto3", "3.0.0-r0", "openssl").empty());
}

TEST_F(Secdb, NotAffectedLowestFixAndSplitIds) {
  ASSERT_TRUE(import_text("s.json", R"({"distroversion":"v3.20","reponame":"main","packages":[
      {"pkg":{"name":"gnutls","secfixes":{
         "0":["CVE-2021-0001"],
         "3.6.14-r0":["CVE-2020-13777 GNUTLS-SA-2020-06-03"],
         "3.6.13-r0":["CVE-2020-13777"]}}},
      {"pkg":{"name":"empty","secfixes":null}}]})"));
  auto f = alpine("gnutls", "3.6.12-r0");
  ASSERT_THAT(ids(f), ElementsAre("ALPINE-GNUTLS-SA-2020-06-03", "CVE-2020-13777"));
  EXPECT_EQ(f[1].fixed_version, "3.6.13-r0");  // the lowest of its two fixes
  EXPECT_THAT(ids(alpine("gnutls", "3.6.13-r0")), ElementsAre("ALPINE-GNUTLS-SA-2020-06-03"));
  EXPECT_THAT(alpine("gnutls", "3.6.14-r0"), IsEmpty());
}

TEST_F(Secdb, YamlOfficialFile) {
  auto info = db_->import_file(vulndata("alpine/alpine-secdb-v3.11-main.yaml"));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->format, "alpine-secdb");
  auto f = match_one(pkg(kTypeApk, "ansible", "2.9.2-r0"), Distro{"alpine", "3.11.6", "", ""});
  ASSERT_THAT(ids(f), ElementsAre("CVE-2019-14904", "CVE-2019-14905"));
  EXPECT_EQ(f[0].fixed_version, "2.9.3-r0");
}

TEST_F(Secdb, MalformedPackageIsNamed) {
  auto r = import_text("s.yaml",
                       "distroversion: v3.11\npackages:\n  - pkg:\n      name: foo\n      "
                       "secfixes:\n        1.0-r0: {a: b}\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::manifest_invalid);
  EXPECT_THAT(r.error().message, HasSubstr("s.yaml: packages[0] (foo)"));
  EXPECT_THAT(r.error().message, HasSubstr("line 6"));
}

// --- hostile and malformed input -----------------------------------------------

class Hostile : public DbTest {
 protected:
  Error import_error(const std::string& name, const std::string& content) {
    auto r = import_text(name, content);
    EXPECT_FALSE(r) << name << " imported";
    return r ? Error{Errc::internal, ""} : r.error();
  }
};

TEST_F(Hostile, EmptyAndBlankFilesAreNotAFormat) {
  EXPECT_EQ(import_error("e", "").code, Errc::unsupported);
  EXPECT_EQ(import_error("b", " \n\n\t\n").code, Errc::unsupported);
  EXPECT_EQ(import_error("o", "{}").code, Errc::unsupported);
  EXPECT_EQ(import_error("y", "just: yaml\n").code, Errc::unsupported);
}

TEST_F(Hostile, MissingFileAndDirectory) {
  auto r = db_->import_file(dir_.path() / "nope.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  r = db_->import_file(dir_.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST_F(Hostile, MalformedLineIsNamedAndNothingIsImported) {
  ASSERT_TRUE(import_text("npm.jsonl", kLodash));
  std::string bad = std::string(kLodash) + "\n" + kMinimist + "\n{\"id\": \"GHSA-broken\", \n";
  auto r = import_text("npm.jsonl", bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::manifest_invalid);
  EXPECT_THAT(r.error().message, HasSubstr("npm.jsonl: line 3: invalid JSON"));
  // All or nothing: the previous import of the source is untouched.
  auto sources = db_->sources();
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].records, 1u);
  EXPECT_EQ(match_one(pkg(kTypeNpm, "lodash", "1.0.0")).size(), 1u);
  EXPECT_THAT(match_one(pkg(kTypeNpm, "minimist", "1.0.0")), IsEmpty());
}

TEST_F(Hostile, InvalidRecordsAreRejectedWithTheirIdAndField) {
  struct Case {
    const char* record;
    const char* message;
  } cases[] = {
      {R"({"id":"X-1","modified":"m","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]})",
       "X-1: affected[0]: ranges[0]: events[0] has more than one of"},
      {R"({"id":"X-2","modified":"m","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":{}}]}]})",
       "X-2: affected[0]: ranges[0]: \"events\" is not an array"},
      {R"({"id":"X-3","modified":"m","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"fixed":1}]}]}]})",
       "X-3: affected[0]: ranges[0]: events[0].fixed is not a non-empty string"},
      {R"({"id":"X-4","modified":"m","affected":[{"package":{"ecosystem":"npm","name":"a"},"versions":[1]}]})",
       "X-4: affected[0]: versions[0] is not a string"},
      {R"({"id":"X-5","modified":"m","affected":{}})", "X-5: \"affected\" is not an array"},
      {R"({"id":"X-6","modified":7})", "X-6: \"modified\" is not a string"},
      {R"({"id":"X-7","modified":"m","aliases":"CVE-1"})", "X-7: \"aliases\" is not an array"},
      {R"({"id":"X-8","modified":"m","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"events":[]}]}]})",
       "X-8: affected[0]: ranges[0]: \"type\" is missing"},
      {R"({"id":"X-9","modified":"m","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"other":"1"}]}]}]})",
       "X-9: affected[0]: ranges[0]: events[0] has none of"},
  };
  for (const Case& c : cases) {
    // Second line, after a valid record, so that the file is JSON lines.
    auto r = import_text("bad.jsonl", std::string(kLodash) + "\n" + c.record + "\n");
    ASSERT_FALSE(r) << c.record;
    EXPECT_EQ(r.error().code, Errc::manifest_invalid);
    EXPECT_THAT(r.error().message, HasSubstr(std::string("bad.jsonl: line 2: ") + c.message));
  }
  // A line that is JSON but no record at all.
  auto r = import_text("bad.jsonl", std::string(kLodash) + "\n[1,2]\n");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("bad.jsonl: line 2: not a JSON object"));
}

TEST_F(Hostile, GitRangesAreIgnoredNotValidated) {
  // PyPA data has GIT ranges that do not follow the schema; they cannot be
  // evaluated anyway.
  auto info = import_text(
      "git.json",
      R"({"id":"G-1","modified":"m","affected":[{"package":{"ecosystem":"PyPI","name":"a"},)"
      R"("ranges":[{"type":"GIT","events":[{"introduced":"0","fixed":"abc"}]}]}]})");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_THAT(match_one(pkg(kTypePypi, "a", "1.0")), IsEmpty());
}

TEST_F(Hostile, TruncatedAndCorruptGzip) {
  std::string gz = gzip(std::string(kLodash) + "\n" + kMinimist + "\n");
  auto e = import_error("t.gz", gz.substr(0, gz.size() - 12));
  EXPECT_EQ(e.code, Errc::manifest_invalid);
  EXPECT_THAT(e.message, HasSubstr("truncated gzip"));

  std::string corrupt = gz;
  for (std::size_t i = 12; i < corrupt.size() - 8; i += 7)
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  e = import_error("c.gz", corrupt);
  EXPECT_EQ(e.code, Errc::manifest_invalid);

  e = import_error("trailing.gz", gz + "garbage");
  EXPECT_EQ(e.code, Errc::manifest_invalid);
  EXPECT_THAT(e.message, HasSubstr("trailing data"));

  e = import_error("header-only.gz", gz.substr(0, 5));
  EXPECT_EQ(e.code, Errc::manifest_invalid);
}

TEST_F(Hostile, DecompressionBombStopsAtTheLimit) {
  ImportLimits limits;
  limits.max_decompressed_bytes = 1 << 20;
  reopen(limits);
  std::string zeros(64 << 20, ' ');
  zeros.replace(0, std::string(kLodash).size(), kLodash);
  zeros[std::string(kLodash).size()] = '\n';
  std::string bomb = gzip(zeros, 9);
  EXPECT_LT(bomb.size(), 200'000u);
  auto e = import_error("bomb.gz", bomb);
  EXPECT_EQ(e.code, Errc::size_invalid);
  EXPECT_THAT(e.message, HasSubstr("limit"));
}

TEST_F(Hostile, SizeLimits) {
  ImportLimits limits;
  limits.max_file_bytes = 100;
  reopen(limits);
  EXPECT_EQ(import_error("big.json", std::string(kLodash)).code, Errc::size_invalid);

  limits = ImportLimits{};
  limits.max_record_bytes = 600;
  reopen(limits);
  std::string long_line = std::string(kMinimist) +
                          "\n{\"id\":\"X\",\"modified\":\"m\",\"summary\":\"" +
                          std::string(1000, 'x') + "\"}\n";
  auto e = import_error("long.jsonl", long_line);
  EXPECT_EQ(e.code, Errc::size_invalid);
  EXPECT_THAT(e.message, HasSubstr("line 2"));

  limits = ImportLimits{};
  limits.max_records = 1;
  reopen(limits);
  EXPECT_EQ(import_error("two.jsonl", std::string(kLodash) + "\n" + kMinimist).code,
            Errc::size_invalid);

  limits = ImportLimits{};
  limits.max_document_bytes = 64;
  reopen(limits);
  EXPECT_EQ(import_error("doc.json", std::string("[\n") + kLodash + "]").code, Errc::size_invalid);
}

TEST_F(Hostile, DeepNestingIsAnErrorNotACrash) {
  std::string deep_json =
      "{\"id\":\"X\",\"modified\":\"m\",\"database_specific\":" + std::string(200'000, '[') +
      std::string(200'000, ']') + "}";
  EXPECT_EQ(import_error("deep.json", deep_json).code, Errc::manifest_invalid);
  EXPECT_EQ(import_error("deep2.json", std::string(500'000, '[')).code, Errc::manifest_invalid);

  std::string deep_yaml = "distroversion: v3.1\npackages: " + std::string(100'000, '[') + "\n";
  EXPECT_EQ(import_error("deep.yaml", deep_yaml).code, Errc::manifest_invalid);
}

TEST_F(Hostile, YamlAliasExpansionIsBounded) {
  ImportLimits limits;
  limits.max_yaml_nodes = 100'000;
  reopen(limits);
  // One anchored package with 2,000 ids, referred to 2,000 times: a few
  // kilobytes of text, four million nodes to visit.
  std::string yaml = "distroversion: v3.20\nanchor: &p {name: x, secfixes: {1-r0: [";
  for (int i = 0; i < 2000; ++i) yaml += (i ? ",CVE-" : "CVE-") + std::to_string(i);
  yaml += "]}}\npackages:\n";
  for (int i = 0; i < 2000; ++i) yaml += "  - pkg: *p\n";
  auto e = import_error("laughs.yaml", yaml);
  EXPECT_EQ(e.code, Errc::size_invalid);
  EXPECT_THAT(e.message, HasSubstr("YAML nodes"));
}

TEST_F(Hostile, InvalidUtf8AndBinaryJunk) {
  EXPECT_EQ(import_error("u.json", std::string("{\"id\":\"X\",\"modified\":\"\xff\xfe\"}")).code,
            Errc::manifest_invalid);
  std::string junk;
  std::mt19937 rng(7);
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(rng()));
  junk[0] = 'x';
  auto r = import_text("junk.bin", junk);
  EXPECT_FALSE(r);
  EXPECT_THAT(import_error("after.json", std::string(kLodash) + " trailing").message,
              HasSubstr("line 1"));
}

TEST_F(Hostile, MutatedInputNeverCrashes) {
  // Byte flips, cuts, duplications and truncations of valid input of every
  // format: each import either succeeds or fails cleanly, and matching
  // still works afterwards.
  const std::string bases[] = {
      std::string(kLodash) + "\n" + kMinimist + "\n",
      read_file(vulndata("debian/tracker-json-format-sample.json")),
      read_file(vulndata("alpine/alpine-secdb-v3.11-main.yaml")).substr(0, 1500),
      R"({"distroversion":"v3.20","packages":[{"pkg":{"name":"a","secfixes":{"1.0-r1":["CVE-1 X-2"],"0":["CVE-3"]}}}]})",
  };
  std::mt19937 rng(1234);
  int failures = 0;
  for (int round = 0; round < 800; ++round) {
    std::string s = bases[round % 4];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      std::size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[at] = static_cast<char>(rng());
          break;
        case 1:
          s.erase(at, 1 + rng() % 8);
          break;
        case 2:
          s.insert(at, s.substr(rng() % s.size(), 1 + rng() % 16));
          break;
        case 3:
          s.resize(at);
          break;
      }
      if (s.empty()) s = "x";
    }
    auto r = import_text("fuzz", round % 8 < 4 ? s : gzip(s));
    if (!r) {
      ++failures;
      EXPECT_FALSE(r.error().message.empty());
      EXPECT_NE(r.error().code, Errc::internal) << r.error().message;
    }
    match_one(pkg(kTypeNpm, "lodash", "4.17.20"));
    match_one(pkg(kTypeDeb, "sope", "1.0"), debian12());
  }
  EXPECT_GT(failures, 200);
}

}  // namespace
}  // namespace portcullis::scanner::advisories
