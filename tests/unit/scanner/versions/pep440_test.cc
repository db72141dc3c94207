// PEP 440 (https://peps.python.org/pep-0440/). The vectors were checked
// against the `packaging` library's Version.
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "ordering_test_util.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {
namespace {

using test::expect_ladder;
using test::expect_vectors;

// The example of PEP 440's "Summary of permitted suffixes and relative ordering".
TEST(Pep440Compare, SpecificationOrderingExample) {
  expect_ladder(pep440_compare, {
                                    {"1.dev0"},
                                    {"1.0.dev456"},
                                    {"1.0a1"},
                                    {"1.0a2.dev456"},
                                    {"1.0a12.dev456"},
                                    {"1.0a12"},
                                    {"1.0b1.dev456"},
                                    {"1.0b2"},
                                    {"1.0b2.post345.dev456"},
                                    {"1.0b2.post345"},
                                    {"1.0rc1.dev456"},
                                    {"1.0rc1"},
                                    {"1.0"},
                                    {"1.0+abc.5"},
                                    {"1.0+abc.7"},
                                    {"1.0+5"},
                                    {"1.0.post456.dev34"},
                                    {"1.0.post456"},
                                    {"1.0.15"},
                                    {"1.1.dev1"},
                                });
}

// Dev < pre < release < post at each level, across epochs.
TEST(Pep440Compare, EpochsDevPrePostAndLocalVersions) {
  expect_ladder(pep440_compare, {
                                    {"1.0.dev456"},
                                    {"1.0a1"},
                                    {"1.0a2.dev456"},
                                    {"1.0a12.dev456"},
                                    {"1.0a12"},
                                    {"1.0b1.dev456"},
                                    {"1.0b2"},
                                    {"1.0b2.post345.dev456"},
                                    {"1.0b2.post345", "1.0b2-345"},
                                    {"1.0b2-346"},
                                    {"1.0c1.dev456"},
                                    {"1.0c1", "1.0rc1"},
                                    {"1.0rc2"},
                                    {"1.0c3"},
                                    {"1.0"},
                                    {"1.0.post456.dev34"},
                                    {"1.0.post456"},
                                    {"1.1.dev1"},
                                    {"1.2+123abc"},
                                    {"1.2+123abc456"},
                                    {"1.2+abc"},
                                    {"1.2+abc123"},
                                    {"1.2+abc123def"},
                                    {"1.2+1234.abc"},
                                    {"1.2+123456"},
                                    {"1.2.r32+123456"},
                                    {"1.2.rev33+123456"},
                                    {"1!1.0.dev456"},
                                    {"1!1.0a1"},
                                    {"1!1.0b2-346"},
                                    {"1!1.0c3"},
                                    {"1!1.0"},
                                    {"1!1.0.post456"},
                                    {"1!1.2+123456"},
                                    {"1!1.2.rev33+123456"},
                                    {"2!0.1"},
                                });
}

TEST(Pep440Compare, SpellingsOfTheSameVersionAreEqual) {
  expect_ladder(
      pep440_compare,
      {
          {"0.9"},
          {"1.0.dev0", "1.0-dev", "1.0_dev0", "1.0dev", "1.0.DEV"},
          {"1.0a0", "1.0a", "1.0.alpha", "1.0-ALPHA-0", "1.0_a_0", "1.0a.0"},
          {"1.0a1", "1.0alpha1", "1.0-a1", "1.0.a.1", "1.0A1"},
          {"1.0b1", "1.0beta1", "1.0-b-1", "1.0BETA.1"},
          {"1.0rc0", "1.0c", "1.0pre", "1.0preview", "1.0-rc", "1.0.RC0"},
          {"1.0rc1", "1.0c1", "1.0pre1", "1.0preview1", "1.0-rc.1"},
          {"1", "1.0", "1.0.0", "1.0.0.0", "v1.0", "V1", "0!1.0", "01.00", " 1.0 ", "\t1.0\n"},
          {"1.0.post0", "1.0.post", "1.0-post", "1.0post", "1.0.r", "1.0-0"},
          {"1.0.post1", "1.0-1", "1.0-r1", "1.0.rev1", "1.0_post_1", "1.0post1", "1.0-POST-1",
           "1.0r1"},
          {"1.0.post2.dev0", "1.0-2-dev", "1.0.post2.dev"},
          {"1.0.post2"},
          {"1.0.1"},
          {"1!0.1", "01!0.1", "1!0.1.0"},
      });
}

TEST(Pep440Compare, LocalVersionsCompareSegmentBySegment) {
  expect_ladder(pep440_compare, {
                                    {"1.0"},
                                    {"1.0+a", "1.0+A"},
                                    {"1.0+a.b", "1.0+a-b", "1.0+a_b"},
                                    {"1.0+a.1", "1.0+a-01", "1.0+A_1"},
                                    {"1.0+abc"},
                                    {"1.0+ubuntu"},
                                    {"1.0+ubuntu.1", "1.0+ubuntu-1"},
                                    {"1.0+ubuntu.2"},
                                    {"1.0+0", "1.0+00"},
                                    {"1.0+1", "1.0+01"},
                                    {"1.0+1.a"},
                                    {"1.0+1.0"},
                                    {"1.0+2"},
                                    {"1.0+10"},
                                    {"1.0+99999999999999999999999"},
                                    {"1.0.post0"},
                                });
}

TEST(Pep440Compare, ReleaseSegmentsCompareNumericallyWithImplicitZeros) {
  expect_ladder(pep440_compare, {
                                    {"0", "0.0", "00.0.0"},
                                    {"0.0.1"},
                                    {"0.1", "0.1.0"},
                                    {"0.9"},
                                    {"0.10", "0.010"},
                                    {"1.0", "1"},
                                    {"1.0.1"},
                                    {"1.1"},
                                    {"1.9"},
                                    {"1.10"},
                                    {"2.0"},
                                    {"2020.1"},
                                    {"20240101"},
                                    {"99999999999999999999999"},
                                });
}

// Django, Pillow and urllib3 releases named by PyPA advisories.
TEST(Pep440Compare, PypiReleases) {
  expect_vectors(pep440_compare, {{"1.11.29", "<", "2.0a1"},
                                  {"2.2.28", "<", "3.0"},
                                  {"3.2.25", "<", "4.0a1"},
                                  {"4.2rc1", "<", "4.2"},
                                  {"4.2", "<", "4.2.1"},
                                  {"5.0b1", "<", "5.0rc1"},
                                  {"8.1.2", "<", "8.2.0"},
                                  {"10.0.0", ">", "9.5.0"},
                                  {"1.26.17", "<", "1.26.18"},
                                  {"2.0.0a1", "<", "2.0.0"},
                                  {"2.0.0a1", ">", "1.26.19"},
                                  {"0.9.7", "<", "0.10"},
                                  {"2.3.post1", ">", "2.3"},
                                  {"1.0.0-beta.2", "<", "1.0.0"}});
}

TEST(Pep440Normalize, GivesTheCanonicalForm) {
  const std::pair<std::string_view, std::string_view> kCases[] = {
      {"1.1RC1", "1.1rc1"},
      {"00", "0"},
      {"09000", "9000"},
      {"1.0.00", "1.0.0"},
      {"1.1.a1", "1.1a1"},
      {"1.1-a1", "1.1a1"},
      {"1.1_a1", "1.1a1"},
      {"1.0a.1", "1.0a1"},
      {"1.0a-1", "1.0a1"},
      {"1.1a", "1.1a0"},
      {"1.1alpha1", "1.1a1"},
      {"1.1beta2", "1.1b2"},
      {"1.1c3", "1.1rc3"},
      {"1.1pre3", "1.1rc3"},
      {"1.1preview3", "1.1rc3"},
      {"1.2-post2", "1.2.post2"},
      {"1.2post2", "1.2.post2"},
      {"1.2.post", "1.2.post0"},
      {"1.0-r4", "1.0.post4"},
      {"1.0-rev4", "1.0.post4"},
      {"1.0-1", "1.0.post1"},
      {"1.2-dev2", "1.2.dev2"},
      {"1.2dev2", "1.2.dev2"},
      {"1.2.dev", "1.2.dev0"},
      {"1.0+ubuntu-1", "1.0+ubuntu.1"},
      {"1.0+ubuntu_1", "1.0+ubuntu.1"},
      {"1.0+Ubuntu.01", "1.0+ubuntu.1"},
      {"v1.0", "1.0"},
      {"V1.0", "1.0"},
      {"  1.0\n", "1.0"},
      {"0!1.0", "1.0"},
      {"01!1.0", "1!1.0"},
      {"1!1.0", "1!1.0"},
      {"1.0RC1.POST2.DEV3+LOCAL", "1.0rc1.post2.dev3+local"},
      {"2.0.0-beta.2", "2.0.0b2"},
  };
  for (const auto& [input, canonical] : kCases) {
    auto got = pep440_normalize(input);
    ASSERT_TRUE(got.has_value()) << '"' << input << '"';
    EXPECT_EQ(*got, canonical) << '"' << input << '"';
  }
}

TEST(Pep440Valid, RejectsWhatPep440Rejects) {
  for (std::string_view v : {"",
                             "french toast",
                             "1.0-",
                             "1.0.",
                             "1.0+",
                             "1.0+_foo",
                             "1.0+foo&bar",
                             "1.0+1+1",
                             "1.0a1a1",
                             "1.0.post1.post2",
                             "1.0.dev1.dev2",
                             "1!",
                             "!1.0",
                             "1.0.post1a1",
                             "1.0dev1a1",
                             "1.0rc1rc2",
                             "1.0+abc.",
                             "1.0+.abc",
                             "a1.0",
                             "1.0 beta",
                             "1..0",
                             "1.0_",
                             "vv1.0",
                             "1.0.x",
                             "1.0-beta-2-x",
                             "1.0--1",
                             "1.0-+abc"}) {
    EXPECT_FALSE(pep440_valid(v)) << '"' << v << '"';
    EXPECT_FALSE(pep440_normalize(v).has_value()) << '"' << v << '"';
  }
  // Separators may trail a part that has no number.
  for (std::string_view v : {"1.0.post1.dev2+abc.1", "1.0-dev-", "1.0-r-", "1.0a.", "1.0a-+abc"}) {
    EXPECT_TRUE(pep440_valid(v)) << '"' << v << '"';
  }
}

TEST(Pep440Compare, InvalidVersionsSortBeforeEveryValidOne) {
  expect_ladder(pep440_compare, {
                                    {"dev"},
                                    {"french toast"},
                                    {"latest"},
                                    {"0.dev0"},
                                    {"1.0"},
                                });
}

}  // namespace
}  // namespace portcullis::scanner::versions
