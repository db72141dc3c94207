// SemVer 2.0.0 (https://semver.org/spec/v2.0.0.html). The vectors were checked
// against node-semver.
#include <string_view>

#include <gtest/gtest.h>

#include "ordering_test_util.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {
namespace {

using test::expect_ladder;
using test::expect_vectors;

// Section 11 of the specification, in its own order.
TEST(SemverCompare, SpecificationPrecedenceExample) {
  expect_ladder(semver_compare, {
                                    {"1.0.0-alpha"},
                                    {"1.0.0-alpha.1"},
                                    {"1.0.0-alpha.beta"},
                                    {"1.0.0-beta"},
                                    {"1.0.0-beta.2"},
                                    {"1.0.0-beta.11"},
                                    {"1.0.0-rc.1"},
                                    {"1.0.0"},
                                    {"2.0.0"},
                                    {"2.1.0"},
                                    {"2.1.1"},
                                });
}

TEST(SemverCompare, MajorMinorPatchCompareNumerically) {
  expect_ladder(semver_compare,
                {
                    {"0.0.0"},
                    {"0.0.1"},
                    {"0.0.9"},
                    {"0.0.10"},
                    {"0.1.0"},
                    {"0.9.99"},
                    {"0.10.0"},
                    {"1.0.0", "v1.0.0", "V1.0.0"},
                    {"1.2.3"},
                    {"1.2.10"},
                    {"1.10.2"},
                    {"2.0.0"},
                    {"10.0.0"},
                    {"4294967296.0.0"},
                    {"9999999999999999999.0.0"},
                    {"99999999999999999999999.999999999999999999.99999999999999999"},
                });
}

TEST(SemverCompare, PrereleaseIdentifiersNumericBelowAlphanumeric) {
  expect_ladder(semver_compare, {
                                    {"1.0.0-0"},
                                    {"1.0.0-0.0"},
                                    {"1.0.0-0.1"},
                                    {"1.0.0-1"},
                                    {"1.0.0-2"},
                                    {"1.0.0-10"},
                                    {"1.0.0-99999999999999999999"},
                                    {"1.0.0--"},
                                    {"1.0.0-0a"},
                                    {"1.0.0-1a"},
                                    {"1.0.0-A"},
                                    {"1.0.0-Z"},
                                    {"1.0.0-a"},
                                    {"1.0.0-a.0"},
                                    {"1.0.0-a.1"},
                                    {"1.0.0-a.a"},
                                    {"1.0.0-a.b"},
                                    {"1.0.0-a-b"},
                                    {"1.0.0-alpha"},
                                    {"1.0.0-alpha.0valid"},
                                    {"1.0.0-alpha-a.b-c-somethinglong"},
                                    {"1.0.0-alpha0.valid"},
                                    {"1.0.0-rc.1", "1.0.0-rc.1+build.1"},
                                    {"1.0.0", "1.0.0+20130313144700", "1.0.0+exp.sha.5114f85"},
                                });
}

TEST(SemverCompare, BuildMetadataIsIgnored) {
  expect_vectors(semver_compare,
                 {{"1.0.0+build.1", "=", "1.0.0+build.2"},
                  {"1.0.0-alpha+001", "=", "1.0.0-alpha"},
                  {"2.0.0+build.1848", "=", "2.0.0"},
                  {"1.0.0+0.build.1-rc.10000aaa-kk-0.1", "=", "1.0.0"},
                  {"1.2.3----RC-SNAPSHOT.12.9.1--.12+788", "<", "1.2.3"},
                  {"1.2.3----R-S.12.9.1--.12+meta", "<", "1.2.3----RC-SNAPSHOT.12.9.1--.12"},
                  {"v2.0.0+incompatible", "=", "v2.0.0"}});
}

// Go pseudo-versions are pre-releases of the next patch (or v0.0.0).
TEST(SemverCompare, GoPseudoVersionsOrderByTimestamp) {
  expect_ladder(semver_compare, {
                                    {"v0.0.0-20190101000000-000000000000"},
                                    {"v0.0.0-20191109021931-daa7c04131f5"},
                                    {"v0.0.0-20200101120000-abcdef123456"},
                                    {"v0.1.0"},
                                    {"v1.2.3"},
                                    {"v1.2.4-0.20191109021931-daa7c04131f5"},
                                    {"v1.2.4-0.20200101120000-abcdef123456"},
                                    {"v1.2.4-pre"},
                                    {"v1.2.4-pre.0.20200101120000-abcdef123456"},
                                    {"v1.2.4"},
                                    {"v2.0.0+incompatible", "v2.0.0"},
                                });
}

// npm releases of packages with advisories in tests/data/vulndata/npm.
TEST(SemverCompare, NpmReleases) {
  expect_ladder(semver_compare, {
                                    {"4.17.4"},
                                    {"4.17.11"},
                                    {"4.17.15"},
                                    {"4.17.20"},
                                    {"4.17.21"},
                                    {"5.0.0-alpha.1"},
                                    {"5.0.0-beta.1"},
                                    {"5.0.0-rc.0"},
                                    {"5.0.0"},
                                });
  expect_vectors(semver_compare, {{"0.0.10", ">", "0.0.8"},
                                  {"1.2.6", ">", "1.2.5"},
                                  {"7.5.2", "<", "7.5.10"},
                                  {"3.0.0-rc.1", "<", "3.0.0"},
                                  {"1.0.0-rc.10", ">", "1.0.0-rc.9"},
                                  {"1.0.0-rc.10", "<", "1.0.0-rc.a"}});
}

// The valid and invalid examples of the regular expression that
// semver.org suggests.
TEST(SemverValid, AcceptsTheSpecificationsValidExamples) {
  for (std::string_view v : {"0.0.4",
                             "1.2.3",
                             "10.20.30",
                             "1.1.2-prerelease+meta",
                             "1.1.2+meta",
                             "1.1.2+meta-valid",
                             "1.0.0-alpha",
                             "1.0.0-beta",
                             "1.0.0-alpha.beta",
                             "1.0.0-alpha.beta.1",
                             "1.0.0-alpha.1",
                             "1.0.0-alpha0.valid",
                             "1.0.0-alpha.0valid",
                             "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
                             "1.0.0-rc.1+build.1",
                             "2.0.0-rc.1+build.123",
                             "1.2.3-beta",
                             "10.2.3-DEV-SNAPSHOT",
                             "1.2.3-SNAPSHOT-123",
                             "1.0.0",
                             "2.0.0",
                             "1.1.7",
                             "2.0.0+build.1848",
                             "2.0.1-alpha.1227",
                             "1.0.0-alpha+beta",
                             "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
                             "1.2.3----R-S.12.9.1--.12+meta",
                             "1.2.3----RC-SNAPSHOT.12.9.1--.12",
                             "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
                             "99999999999999999999999.999999999999999999.99999999999999999",
                             "1.0.0-0A.is.legal",
                             "v1.2.3",
                             "v0.0.0-20191109021931-daa7c04131f5",
                             "v2.0.0+incompatible"}) {
    EXPECT_TRUE(semver_valid(v)) << '"' << v << '"';
  }
}

TEST(SemverValid, RejectsTheSpecificationsInvalidExamples) {
  for (std::string_view v :
       {"1",
        "1.2",
        "1.2.3-0123",
        "1.2.3-0123.0123",
        "1.1.2+.123",
        "+invalid",
        "-invalid",
        "-invalid+invalid",
        "-invalid.01",
        "alpha",
        "alpha.beta",
        "alpha.beta.1",
        "alpha.1",
        "alpha+beta",
        "alpha_beta",
        "alpha.",
        "alpha..",
        "beta",
        "1.0.0-alpha_beta",
        "-alpha.",
        "1.0.0-alpha..",
        "1.0.0-alpha..1",
        "1.0.0-alpha...1",
        "1.0.0-alpha....1",
        "1.0.0-alpha.....1",
        "1.0.0-alpha......1",
        "1.0.0-alpha.......1",
        "01.1.1",
        "1.01.1",
        "1.1.01",
        "1.2.3.DEV",
        "1.2-SNAPSHOT",
        "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
        "1.2-RC-SNAPSHOT",
        "-1.0.3-gamma+b7718",
        "+justmeta",
        "9.8.7+meta+meta",
        "9.8.7-whatever+meta+meta",
        "99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT."
        "12.09.1--------------------------------..12",
        "",
        "1.2.3-",
        "1.2.3+",
        "1.2.3.4",
        " 1.2.3",
        "vv1.2.3"}) {
    EXPECT_FALSE(semver_valid(v)) << '"' << v << '"';
  }
}

TEST(SemverCompare, InvalidNumericVersionsStillCompareByValue) {
  expect_ladder(semver_compare, {
                                    {"0", "0.0", "0.0.0", "v0"},
                                    {"1.2-rc.1"},
                                    {"1.2", "1.2.0", "=1.2.0", " 1.2.0 ", "01.02.00", "1.2.0.0"},
                                    {"1.2.0.1"},
                                    {"1.2.3"},
                                    {"1.2.3.4"},
                                    {"1.10"},
                                    // Nothing numeric: after every version, by bytes.
                                    {"1.2.3-"},
                                    {"latest"},
                                    {"x.y.z"},
                                });
}

}  // namespace
}  // namespace portcullis::scanner::versions
