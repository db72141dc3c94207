// apk-tools ordering (src/version.c): digits, letters, suffixes, ~hash, -rN.
#include <string_view>

#include <gtest/gtest.h>

#include "ordering_test_util.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {
namespace {

using test::expect_ladder;
using test::expect_vectors;

TEST(ApkCompare, PreReleaseSuffixesBeforeReleaseBeforeRevisionsHashesAndPostSuffixes) {
  expect_ladder(apk_compare, {
                                 {"1.0_alpha_pre2"},
                                 {"1.0_alpha"},
                                 {"1.0_alpha0"},
                                 {"1.0_alpha1"},
                                 {"1.0_alpha2"},
                                 {"1.0_alpha10"},
                                 {"1.0_beta"},
                                 {"1.0_beta1"},
                                 {"1.0_pre1"},
                                 {"1.0_pre20060124"},
                                 {"1.0_rc1"},
                                 {"1.0_rc1-r1"},
                                 {"1.0_rc2"},
                                 {"1.0", "01.0", "001.0"},
                                 {"1.0-r0"},
                                 {"1.0-r1"},
                                 {"1.0-r2"},
                                 {"1.0-r10"},
                                 {"1.0~0abc"},
                                 {"1.0~1234"},
                                 {"1.0~1234-r0"},
                                 {"1.0~1234-r1"},
                                 {"1.0~2345"},
                                 {"1.0_cvs"},
                                 {"1.0_svn"},
                                 {"1.0_git20240101"},
                                 {"1.0_hg"},
                                 {"1.0_p"},
                                 {"1.0_p1"},
                                 {"1.0_p1-r1"},
                                 {"1.0_p2"},
                                 {"1.0_p10"},
                                 {"1.0a_rc1"},
                                 {"1.0a"},
                                 {"1.0a-r1"},
                                 {"1.0b"},
                                 {"1.0z"},
                                 {"1.0.0"},
                                 {"1.0.1_rc1"},
                                 {"1.0.1"},
                                 {"1.1"},
                             });
}

TEST(ApkCompare, ComponentsWithLeadingZerosCompareAsStrings) {
  expect_ladder(apk_compare, {
                                 {"1.0", "01.0"},
                                 {"1.00"},
                                 {"1.001"},
                                 {"1.01"},
                                 {"1.010"},
                                 {"1.02"},
                                 {"1.1", "001.1"},
                                 {"1.2"},
                                 {"1.9"},
                                 {"1.10"},
                                 {"1.100"},
                                 {"2", "02"},
                                 {"10", "010"},
                                 {"20050718"},
                             });
  expect_vectors(apk_compare, {{"8.2.0", "<", "8.2.001"},
                               {"8.2.0015", "<", "8.2.002"},
                               {"1.2.07.8", "<", "1.2.12.04"},
                               {"1.2.12.04", "<", "1.2.12.05"},
                               {"1.06-r6", "<", "006"},
                               {"013", "<", "014-r1"},
                               {"087-r1", "<", "103"},
                               {"2.01.01_alpha10", ">", "0.94"},
                               {"02.08.01b", "<", "4.77"},
                               {"3.0.20060720", "<", "20060720"}});
}

TEST(ApkCompare, NumbersOfAnyLengthCompareByValue) {
  expect_ladder(apk_compare, {
                                 {"1.0.0_pre20191002222144-r0"},
                                 {"1.0.0_pre20210530193627-r0"},
                                 {"1.0.0"},
                                 {"2.1.9.200602141850"},
                                 {"20040406-r1"},
                                 {"20050405"},
                                 {"20060720"},
                             });
}

TEST(ApkCompare, GentooStyleVectors) {
  expect_vectors(apk_compare, {
                                  {"2.34", ">", "0.1.0_alpha"},
                                  {"23_foo", ">", "4_beta"},
                                  {"1.0", "<", "1.0bc"},
                                  {"0.1.0_alpha", "=", "0.1.0_alpha"},
                                  {"0.1.0_alpha2", ">", "0.1.0_alpha"},
                                  {"1.1", ">", "1.1_alpha1"},
                                  {"1.2.1", ">", "1.2"},
                                  {"0.12.3", ">", "0.12"},
                                  {"3.1_p16", "<", "3.1_p17"},
                                  {"1.2.2-r1", ">", "1.2.2"},
                                  {"2.3.0b-r1", "<", "2.3.0b-r2"},
                                  {"2.3.0b-r4", ">", "0.12.1"},
                                  {"4.2.52_p2-r1", "<", "4.2.52_p4-r2"},
                                  {"2.5.1-r8", "<", "2.5.1a-r1"},
                                  {"1.3.5-r10", ">", "1.3.5-r8"},
                                  {"3.9_pre20060124", ">", "0.01"},
                                  {"6b-r7", ">", "1.12-r7"},
                                  {"0.10.0-r1", ">", "0.10.0"},
                                  {"0.10.0", "<", "0.10.1_rc1"},
                                  {"1.1a", "<", "1.3a"},
                                  {"0.15.1b-r2", ">", "0.15.1b"},
                                  {"22.7-r1", "<", "22.7.3-r1"},
                                  {"22.7.3-r1", ">", "22.7"},
                                  {"2.1_pre20", "<", "2.1_pre26"},
                                  {"3.81", ">", "1.6d"},
                                  {"0.1_pre20060810", "<", "0.1_pre20060817"},
                                  {"0.59s-r11", "<", "0.65"},
                                  {"0.20070118", "<", "0.20070207_rc1"},
                                  {"0.20070207_rc1", "<", "1.0"},
                                  {"4.5_p1-r1", ">", "4.5_p1"},
                                  {"0.9.8c-r1", "<", "0.9.8d"},
                                  {"1.7", "<", "1.7b"},
                                  {"1.8.5", "<", "1.8.5_p2"},
                                  {"2.9.11_pre20051101-r3", ">", "2.9.11_pre20051101"},
                                  {"2.6.1.3-r1", ">", "2.6.1.3"},
                                  {"1.6.8_p12-r1", ">", "1.6.8_p9-r2"},
                                  {"0.9.28.1", ">", "0.9.28"},
                                  {"104-r11", ">", "104-r9"},
                                  {"2.12r-r4", "<", "2.12r-r5"},
                                  {"7.0.17", "<", "7.0.174"},
                                  {"1.3-r0", "<", "1.3.1-r0"},
                                  {"1.3_pre1-r1", "<", "1.3.2"},
                                  {"1.0_p10-r0", ">", "1.0_p9-r0"},
                                  {"6.0_pre1", "<", "6.0"},
                                  {"6.0_p1", ">", "6.0"},
                                  {"1.0~1234", "<", "1.0~2345"},
                                  {"1.0~1234-r1", "<", "1.0~2345-r0"},
                                  {"1.0~1234-r1", ">", "1.0~1234-r0"},
                              });
}

// Alpine v3.20 package versions and their security fixes.
TEST(ApkCompare, AlpineSecurityFixesSortAfterVulnerableBuilds) {
  expect_ladder(apk_compare, {
                                 {"1.36.1-r2"},
                                 {"1.36.1-r19"},
                                 {"1.36.1-r29"},
                                 {"1.36.1-r30"},
                                 {"1.37.0-r0"},
                             });
  expect_ladder(apk_compare, {
                                 {"9.6_p1-r0"},
                                 {"9.7_p1-r3"},
                                 {"9.7_p1-r4"},
                                 {"9.7_p1-r5"},
                                 {"9.8_p1-r0"},
                                 {"9.9_p1-r0"},
                             });
  expect_ladder(apk_compare, {
                                 {"6.4_p20240420-r0"},
                                 {"6.4_p20240420-r1"},
                                 {"6.4_p20240420-r2"},
                                 {"6.5_p20240601-r0"},
                             });
  expect_vectors(apk_compare, {{"2.12.5-r0", "<", "2.12.6-r0"},
                               {"3.3.1-r3", "<", "3.3.2-r0"},
                               {"8.9.0-r0", "<", "8.9.1-r0"},
                               {"2.6.2-r0", "<", "2.6.3-r0"},
                               {"3.12.3-r1", "<", "3.12.6-r0"},
                               {"1.2.13-r1", "<", "1.3.1-r0"},
                               {"5.6.1-r2", "<", "5.6.2-r0"},
                               {"1.24.0-r16", "<", "1.26.1-r0"},
                               {"2.45.2-r0", ">", "2.40.1-r0"}});
}

TEST(ApkCompare, InvalidVersionsCompareAsApkComparesThem) {
  // Compared token by token up to the first invalid one.
  EXPECT_EQ(apk_compare("1.0bc", "1.0bd"), 0);
  EXPECT_LT(apk_compare("1.0bc", "1.0b"), 0);
  EXPECT_EQ(apk_compare("", ""), 0);
  EXPECT_LT(apk_compare("", "0"), 0);
  EXPECT_LT(apk_compare("a", "0"), 0);
  EXPECT_GT(apk_compare("2.0-1", "1.0"), 0);
  EXPECT_LT(apk_compare("1.0_foo", "1.0"), 0);
  EXPECT_EQ(apk_compare("1.0 ", "1.0 "), 0);
}

TEST(ApkValid, AcceptsTheGrammar) {
  for (std::string_view v : {"0",
                             "1.2",
                             "1.2.3",
                             "1.2.3a",
                             "1.2.3_rc1",
                             "1.2.3_rc1_p2",
                             "0.1_pre2",
                             "0.1_pre2~1234abcd",
                             "0.1_p1_pre2",
                             "0.1_alpha1_pre2",
                             "0.1_git20240101_pre1",
                             "1.0-r0",
                             "1.0_p1-r12",
                             "1.0~cafe-r3",
                             "6.4_p20240420-r1",
                             "1.0.0_pre20191002222144-r0",
                             "1.0_cvs",
                             "1.0_svn",
                             "1.0_hg",
                             "1.0_beta"}) {
    EXPECT_TRUE(apk_valid(v)) << '"' << v << '"';
  }
}

TEST(ApkValid, RejectsEverythingElse) {
  for (std::string_view v : {"",
                             "0.1bc",
                             "0.1bc1",
                             "0.1a1",
                             "0.1a.1",
                             "0.1_pre2~",
                             "0.1_pre2~1234xbcd",
                             "0.1_pre2~1234abcd_pre1",
                             "0.1_pre2-r1~1234xbcd",
                             "0.1_foobar",
                             "0.1_foobar1",
                             "0.1-pre1.1",
                             "0.1-r",
                             "0.1-r2_pre1",
                             "0.1-r2_p3_pre1",
                             "0.1-r2-r3",
                             "0.1-r2.1",
                             ".1",
                             "a",
                             "_pre1",
                             "-r1",
                             "0.1_",
                             "0.1_-r0",
                             "0.1__alpha",
                             "0.1_1_alpha",
                             "1.0~CAFE",
                             "1.0-1",
                             "1.0.",
                             "1..0",
                             "1.0 ",
                             "v1.0",
                             "1.0_post1",
                             "1.0A"}) {
    EXPECT_FALSE(apk_valid(v)) << '"' << v << '"';
  }
}

}  // namespace
}  // namespace portcullis::scanner::versions
