// rpm ordering: librpm's rpmvercmp on each of epoch, version and release.
#include <string_view>

#include <gtest/gtest.h>

#include "ordering_test_util.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {
namespace {

using test::expect_ladder;
using test::expect_vectors;

// The segment comparison itself: the vectors of rpm's tests/rpmvercmp.at.
TEST(RpmCompare, SegmentVectorsOfRpmsOwnTests) {
  expect_vectors(rpm_compare, {
                                  {"1.0", "=", "1.0"},
                                  {"1.0", "<", "2.0"},
                                  {"2.0.1", "=", "2.0.1"},
                                  {"2.0", "<", "2.0.1"},
                                  {"2.0.1a", "=", "2.0.1a"},
                                  {"2.0.1a", ">", "2.0.1"},
                                  {"5.5p1", "=", "5.5p1"},
                                  {"5.5p1", "<", "5.5p2"},
                                  {"5.5p10", "=", "5.5p10"},
                                  {"5.5p1", "<", "5.5p10"},
                                  {"10xyz", "<", "10.1xyz"},
                                  {"xyz10", "=", "xyz10"},
                                  {"xyz10", "<", "xyz10.1"},
                                  {"xyz.4", "=", "xyz.4"},
                                  {"xyz.4", "<", "8"},
                                  {"xyz.4", "<", "2"},
                                  {"5.5p2", "<", "5.6p1"},
                                  {"5.6p1", "<", "6.5p1"},
                                  {"6.0.rc1", ">", "6.0"},
                                  {"10b2", ">", "10a1"},
                                  {"10a2", "<", "10b2"},
                                  {"1.0aa", "=", "1.0aa"},
                                  {"1.0a", "<", "1.0aa"},
                                  {"10.0001", "=", "10.0001"},
                                  {"10.0001", "=", "10.1"},
                                  {"10.0001", "<", "10.0039"},
                                  {"4.999.9", "<", "5.0"},
                                  {"20101121", "=", "20101121"},
                                  {"20101121", "<", "20101122"},
                                  {"2_0", "=", "2_0"},
                                  {"2.0", "=", "2_0"},
                                  {"a", "=", "a"},
                                  {"a+", "=", "a+"},
                                  {"a+", "=", "a_"},
                                  {"+a", "=", "+a"},
                                  {"+a", "=", "_a"},
                                  {"+_", "=", "+_"},
                                  {"_+", "=", "+_"},
                                  {"+", "=", "_"},
                                  {"1.0~rc1", "=", "1.0~rc1"},
                                  {"1.0~rc1", "<", "1.0"},
                                  {"1.0~rc1", "<", "1.0~rc2"},
                                  {"1.0~rc1~git123", "=", "1.0~rc1~git123"},
                                  {"1.0~rc1~git123", "<", "1.0~rc1"},
                                  {"1.0^", "=", "1.0^"},
                                  {"1.0^", ">", "1.0"},
                                  {"1.0^git1", "=", "1.0^git1"},
                                  {"1.0^git1", ">", "1.0"},
                                  {"1.0^git1", "<", "1.0^git2"},
                                  {"1.0^git1", "<", "1.01"},
                                  {"1.0^20160101", "=", "1.0^20160101"},
                                  {"1.0^20160101", "<", "1.0.1"},
                                  {"1.0^20160101^git1", "=", "1.0^20160101^git1"},
                                  {"1.0^20160102", ">", "1.0^20160101^git1"},
                                  {"1.0~rc1^git1", "=", "1.0~rc1^git1"},
                                  {"1.0~rc1^git1", ">", "1.0~rc1"},
                                  {"1.0^git1~pre", "=", "1.0^git1~pre"},
                                  {"1.0^git1", ">", "1.0^git1~pre"},
                              });
}

TEST(RpmCompare, TildeSortsBeforeAndCaretAfterTheBaseVersion) {
  expect_ladder(rpm_compare, {
                                 {"1.0~~"},
                                 {"1.0~rc1~git123"},
                                 {"1.0~rc1"},
                                 {"1.0~rc1^git1"},
                                 {"1.0~rc2"},
                                 {"1.0", "1_0", "1.0.", "01.00"},
                                 {"1.0^"},
                                 {"1.0^git1~pre"},
                                 {"1.0^git1"},
                                 {"1.0^git2"},
                                 {"1.0^20160101", "1.0^020160101"},
                                 {"1.0^20160101^git1"},
                                 {"1.0^20160102"},
                                 {"1.0a"},
                                 {"1.0.1"},
                                 {"1.01", "1.1"},
                             });
}

TEST(RpmCompare, EpochThenVersionThenRelease) {
  expect_ladder(rpm_compare, {
                                 {"0.9-9"},
                                 {"1.0", "0:1.0", ":1.0"},  // no release sorts first
                                 {"1.0-0"},
                                 {"1.0-1", "0:1.0-1", "00:1.0-1"},
                                 {"1.0-1.el9"},
                                 {"1.0-1.el9_1"},
                                 {"1.0-2"},
                                 {"1.0-10"},
                                 {"1.1-1"},
                                 {"1:0.1-1", "01:0.1-1"},
                                 {"1:1.0-1"},
                                 {"2:0.1-1"},
                                 {"10:0.1-1"},
                             });
}

// Versions of Red Hat Enterprise Linux 9 packages and their errata.
TEST(RpmCompare, RhelErrataSortAfterTheVulnerableBuilds) {
  expect_ladder(rpm_compare, {
                                 {"1:3.0.7-16.el9_2"},
                                 {"1:3.0.7-24.el9"},
                                 {"1:3.0.7-25.el9_3"},
                                 {"1:3.0.7-27.el9"},
                                 {"1:3.2.2-6.el9_5"},
                             });
  expect_ladder(rpm_compare, {
                                 {"5.14.0-362.8.1.el9_3"},
                                 {"5.14.0-362.13.1.el9_3"},
                                 {"5.14.0-362.24.1.el9_3"},
                                 {"5.14.0-427.13.1.el9_4"},
                                 {"5.14.0-503.11.1.el9_5"},
                             });
  expect_vectors(rpm_compare, {{"7.76.1-26.el9_3.2", "<", "7.76.1-29.el9_4"},
                               {"2.9.13-5.el9_2", "<", "2.9.13-6.el9_4"},
                               {"2.34-100.el9_4.2", ">", "2.34-100.el9"},
                               {"1.2.11-40.el9", "<", "1.2.11-41.el9"},
                               {"3.6.3-1.el8", "<", "3.6.3-1.el9"},
                               {"1.0~rc1-1", "<", "1.0-1"},
                               {"1.0^git1-1", ">", "1.0-1"},
                               {"1.0-1", "<", "1.0-1^post"}});
}

TEST(RpmCompare, OrdersAnyStringWithoutFailing) {
  EXPECT_EQ(rpm_compare("", ""), 0);
  EXPECT_LT(rpm_compare("", "0"), 0);
  EXPECT_EQ(rpm_compare("-", ""), 0);
  EXPECT_EQ(rpm_compare("a:b-c", "a:b-c"), 0);
  EXPECT_EQ(rpm_compare("1.0-1", "1.0--1"), 0);  // separators only separate
  EXPECT_EQ(rpm_compare(std::string_view("1\0"
                                         "2",
                                         3),
                        "1"),
            0);  // rpm stops at a NUL
}

}  // namespace
}  // namespace portcullis::scanner::versions
