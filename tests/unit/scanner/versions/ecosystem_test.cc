// Which ordering each OSV ecosystem gets.
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {
namespace {

TEST(SchemeForEcosystem, MapsOsvEcosystemNames) {
  const std::pair<std::string_view, Scheme> kCases[] = {
      {"Debian", Scheme::kDpkg},
      {"Debian:12", Scheme::kDpkg},
      {"Debian:13", Scheme::kDpkg},
      {"Ubuntu", Scheme::kDpkg},
      {"Ubuntu:22.04:LTS", Scheme::kDpkg},
      {"Ubuntu:Pro:18.04:LTS", Scheme::kDpkg},
      {"Alpine", Scheme::kApk},
      {"Alpine:v3.20", Scheme::kApk},
      {"Alpine:v3.11", Scheme::kApk},
      {"Wolfi", Scheme::kApk},
      {"Chainguard", Scheme::kApk},
      {"MinimOS", Scheme::kApk},
      {"Red Hat", Scheme::kRpm},
      {"Red Hat:enterprise_linux:9::appstream", Scheme::kRpm},
      {"Rocky Linux", Scheme::kRpm},
      {"Rocky Linux:9", Scheme::kRpm},
      {"AlmaLinux", Scheme::kRpm},
      {"AlmaLinux:8", Scheme::kRpm},
      {"openSUSE", Scheme::kRpm},
      {"openSUSE:Tumbleweed", Scheme::kRpm},
      {"SUSE", Scheme::kRpm},
      {"SUSE:Linux Enterprise Server 15 SP5", Scheme::kRpm},
      {"Mageia", Scheme::kRpm},
      {"Mageia:9", Scheme::kRpm},
      {"openEuler", Scheme::kRpm},
      {"openEuler:22.03-LTS", Scheme::kRpm},
      {"Photon OS", Scheme::kRpm},
      {"Photon OS:5.0", Scheme::kRpm},
      {"PyPI", Scheme::kPep440},
      {"Maven", Scheme::kMaven},
      {"npm", Scheme::kSemver},
      {"Go", Scheme::kSemver},
      {"crates.io", Scheme::kSemver},
      {"Packagist", Scheme::kSemver},
      {"NuGet", Scheme::kSemver},
      {"Hex", Scheme::kSemver},
      {"RubyGems", Scheme::kSemver},
      {"Unknown", Scheme::kSemver},
      {"", Scheme::kSemver},
      {":", Scheme::kSemver},
      {"debian:12", Scheme::kDpkg},
      {"ALPINE:v3.20", Scheme::kApk},
      {"pypi", Scheme::kPep440},
      {"maven", Scheme::kMaven},
      {"Debianish", Scheme::kSemver},
      {"Red", Scheme::kSemver},
  };
  for (const auto& [ecosystem, scheme] : kCases) {
    EXPECT_EQ(scheme_for_ecosystem(ecosystem), scheme) << '"' << ecosystem << '"';
  }
}

TEST(CompareForEcosystem, UsesEachEcosystemsOwnRules) {
  // The same pair of strings orders differently in different ecosystems.
  EXPECT_LT(compare_for_ecosystem("Debian:12", "1.0~rc1", "1.0"), 0);
  EXPECT_GT(compare_for_ecosystem("Red Hat", "1.0^git1", "1.0"), 0);
  EXPECT_LT(compare_for_ecosystem("Alpine:v3.20", "1.0_rc1", "1.0"), 0);
  EXPECT_LT(compare_for_ecosystem("Alpine:v3.20", "1.0", "1.0-r0"), 0);
  EXPECT_EQ(compare_for_ecosystem("Debian:12", "1.0", "1.0-0"), 0);
  EXPECT_LT(compare_for_ecosystem("PyPI", "1.0.dev1", "1.0a1"), 0);
  EXPECT_GT(compare_for_ecosystem("PyPI", "1.0-1", "1.0"), 0);  // 1.0.post1
  EXPECT_LT(compare_for_ecosystem("npm", "1.0.0-1", "1.0.0"), 0);
  EXPECT_LT(compare_for_ecosystem("Maven", "1.0-SNAPSHOT", "1.0"), 0);
  EXPECT_GT(compare_for_ecosystem("Maven", "1.0-1", "1.0"), 0);
  EXPECT_EQ(compare_for_ecosystem("Go", "v1.2.3", "1.2.3"), 0);
  EXPECT_LT(compare_for_ecosystem("Go", "v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4"), 0);
  EXPECT_LT(compare_for_ecosystem("crates.io", "0.9.0", "0.10.0"), 0);
  EXPECT_LT(compare_for_ecosystem("NuGet", "4.0.0.1", "4.0.1"), 0);
  EXPECT_GT(compare_for_ecosystem("Hex", "1.0.0", "1.0.0-rc.1"), 0);
  // Strings that are no SemVer at all compare by bytes.
  EXPECT_LT(compare_for_ecosystem("RubyGems", "abc", "abd"), 0);
  EXPECT_LT(compare_for_ecosystem("Unknown:1", "1.9.0", "1.10.0"), 0);
}

TEST(CompareForEcosystem, AgreesWithTheSchemeFunctions) {
  const std::string_view kVersions[] = {
      "0",     "1.0",         "1.0-1",        "1.0~rc1",   "1.0_rc1", "1.0rc1",
      "1:1.0", "1.0.0-alpha", "1.0-SNAPSHOT", "1.0+local", ""};
  for (auto a : kVersions) {
    for (auto b : kVersions) {
      EXPECT_EQ(compare_for_ecosystem("Debian:12", a, b), dpkg_compare(a, b));
      EXPECT_EQ(compare_for_ecosystem("Alpine:v3.20", a, b), apk_compare(a, b));
      EXPECT_EQ(compare_for_ecosystem("Rocky Linux:9", a, b), rpm_compare(a, b));
      EXPECT_EQ(compare_for_ecosystem("PyPI", a, b), pep440_compare(a, b));
      EXPECT_EQ(compare_for_ecosystem("Maven", a, b), maven_compare(a, b));
      EXPECT_EQ(compare_for_ecosystem("npm", a, b), semver_compare(a, b));
      EXPECT_EQ(compare(Scheme::kDpkg, a, b), dpkg_compare(a, b));
      EXPECT_EQ(compare(Scheme::kSemver, a, b), semver_compare(a, b));
    }
  }
}

// Every ordering must be usable for sorting: antisymmetric and transitive on
// the versions of its ecosystem, whatever their form.
TEST(Orderings, AreConsistentForSorting) {
  struct Case {
    Scheme scheme;
    std::vector<std::string_view> versions;
  };
  const Case kCases[] = {
      {Scheme::kDpkg,
       {"1.0", "1.0~rc1", "1.0-1", "1:0.9", "1.0+dfsg-1", "1.0.0", "1.00", "1.0a", "1.0~", "1.0-0",
        "2.36-9+deb12u4", "0", "", "a:1", "1.0-", "~", "+1"}},
      {Scheme::kApk,
       {"1.0", "1.0_rc1", "1.0-r1", "1.0~abc", "1.0_p1", "1.0a", "1.0.1", "01.0", "1.00",
        "1.0_alpha_pre2", "1.0_alpha", "2", "0.1", "1.0~abc-r2", "1.0_git1"}},
      {Scheme::kRpm,
       {"1.0", "1.0-1", "1:1.0-1", "1.0~rc1", "1.0^git1", "1.0a", "1.0.1", "1.01", "1.1",
        "1.0-1.el9", "1.0-1.el9_1", "0:1.0", "2.0-0"}},
      {Scheme::kSemver,
       {"1.0.0", "1.0.0-rc.1", "1.0.0-alpha", "v1.0.0", "1.0.0+b", "1.2", "1", "1.0.0.1", "latest",
        "", "abc", "1.2.3-", "0.0.0-0", "2.0.0-x.7.z.92"}},
      {Scheme::kPep440,
       {"1.0", "1.0.dev1", "1.0a1", "1.0.post1", "1.0+abc", "1!0.1", "1.0.0", "french toast", "",
        "1.0rc1.post1.dev1", "1.0+1", "0.9"}},
      {Scheme::kMaven,
       {"1.0", "1.0-SNAPSHOT", "1.0-alpha-1", "1.0-sp", "1.0-1", "1.0.1", "1-rc", "1-xyz", "1.0.0",
        "2-ga", "", "foo", "1.0-a1"}},
  };
  for (const auto& c : kCases) {
    for (auto a : c.versions) {
      EXPECT_EQ(compare(c.scheme, a, a), 0) << a;
      for (auto b : c.versions) {
        int ab = compare(c.scheme, a, b);
        EXPECT_EQ((ab > 0) - (ab < 0),
                  -((compare(c.scheme, b, a) > 0) - (compare(c.scheme, b, a) < 0)))
            << a << " / " << b;
        for (auto x : c.versions) {
          if (ab <= 0 && compare(c.scheme, b, x) <= 0) {
            EXPECT_LE(compare(c.scheme, a, x), 0) << a << " <= " << b << " <= " << x;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace portcullis::scanner::versions
