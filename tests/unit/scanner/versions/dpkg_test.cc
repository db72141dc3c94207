// dpkg ordering (deb-version(7), dpkg's lib/dpkg/version.c). The vectors were
// checked against `dpkg --compare-versions` and `dpkg --validate-version`.
#include <string_view>

#include <gtest/gtest.h>

#include "ordering_test_util.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {
namespace {

using test::expect_ladder;
using test::expect_vectors;

TEST(DpkgCompare, TildeSortsBeforeEndWhichSortsBeforeLettersAndOtherCharacters) {
  expect_ladder(dpkg_compare, {
                                  {"1.0~~"},
                                  {"1.0~~a"},
                                  {"1.0~"},
                                  {"1.0~a"},
                                  {"1.0~alpha"},
                                  {"1.0~alpha1"},
                                  {"1.0~alpha2"},
                                  {"1.0~alpha10"},
                                  {"1.0~b"},
                                  {"1.0~beta1"},
                                  {"1.0~rc1"},
                                  {"1.0~rc1+b1"},
                                  {"1.0~rc1.1"},
                                  {"1.0~rc2"},
                                  {"1.0", "1.00", "0:1.0", "1.0-0", "0:1.0-0", "1.0-00"},
                                  {"1.0-0+b1"},
                                  {"1.0-0.1"},
                                  {"1.0-1~bpo12+1"},
                                  {"1.0-1"},
                                  {"1.0-1a"},
                                  {"1.0-1+b1"},
                                  {"1.0-1+deb12u1"},
                                  {"1.0-1.1"},
                                  {"1.0-2"},
                                  {"1.0-10"},
                                  {"1.0A"},
                                  {"1.0Z"},
                                  {"1.0a"},
                                  {"1.0a1"},
                                  {"1.0aa"},
                                  {"1.0z"},
                                  {"1.0+"},
                                  {"1.0+dfsg"},
                                  {"1.0+dfsg-1"},
                                  {"1.0+dfsg1"},
                                  {"1.0+really0.9"},
                                  {"1.0-really-1"},
                                  {"1.0.0"},
                                  {"1.0.1~rc1"},
                                  {"1.0.1"},
                                  {"1.1"},
                              });
}

TEST(DpkgCompare, DigitRunsCompareByValue) {
  expect_ladder(dpkg_compare, {
                                  {"0", "00", "0:0", "000-0"},
                                  {"1", "01", "001", "1-0"},
                                  {"2", "02"},
                                  {"9", "009"},
                                  {"10", "010"},
                                  {"10.2"},
                                  {"10.10", "10.010"},
                                  {"99"},
                                  {"100"},
                                  {"2147483648"},
                                  {"18446744073709551616"},
                                  {"99999999999999999999999999999"},
                              });
}

TEST(DpkgCompare, EpochOutranksUpstreamAndRevision) {
  expect_ladder(dpkg_compare, {
                                  {"99999", "0:99999", "00:99999"},
                                  {"1:0~", "01:0~"},
                                  {"1:0", "1:0-0"},
                                  {"1:1.0-1"},
                                  {"1:9.2p1-2+deb12u3"},
                                  {"2:0.1"},
                                  {"10:0.1", "010:0.1"},
                                  {"2147483647:0"},
                              });
}

TEST(DpkgCompare, RevisionStartsAfterTheLastHyphen) {
  // Upstream "1.2" sorts before upstream "1.2-3": '-' is above the end.
  expect_ladder(dpkg_compare, {
                                  {"1.2-5"},
                                  {"1.2-3-4"},
                                  {"1.2-3-5"},
                              });
  expect_vectors(dpkg_compare, {{"1.2-5", "<", "1.2-3-5"},
                                {"1.2-5", "<", "1.2.0-5"},
                                {"0:0-0-0", ">", "0-0"},
                                {"0:0-0-0", "=", "0-0-0"},
                                {"0:0:0-0", "=", "0:0:0-0"},
                                {"1:2:123", "<", "1:12:3"}});
}

// The ordering facts of apt's test/libapt/versions.lst and cupt's tests.
TEST(DpkgCompare, AptAndCuptVectors) {
  expect_vectors(dpkg_compare, {
                                   {"7.6p2-4", ">", "7.6-0"},
                                   {"1.0.3-3", ">", "1.0-1"},
                                   {"1.3", ">", "1.2.2-2"},
                                   {"1.3", ">", "1.2.2"},
                                   {"1:0.4", ">", "10.3"},
                                   {"1:1.25-4", "<", "1:1.25-8"},
                                   {"0:1.18.36", "=", "1.18.36"},
                                   {"1.18.36", ">", "1.18.35"},
                                   {"0:1.18.36", ">", "1.18.35"},
                                   {"9:1.18.36:5.4-20", "<", "10:0.5.1-22"},
                                   {"9:1.18.36:5.4-20", "<", "9:1.18.36:5.5-1"},
                                   {"9:1.18.36:5.4-20", "<", "9:1.18.37:4.3-22"},
                                   {"1.18.36-0.17.35-18", ">", "1.18.36-19"},
                                   {"1:1.2.13-3", "<", "1:1.2.13-3.1"},
                                   {"2.0.7pre1-4", "<", "2.0.7r-1"},
                                   {"0-pre", "=", "0-pre"},
                                   {"0-pre", "<", "0-pree"},
                                   {"1.1.6r2-2", ">", "1.1.6r-1"},
                                   {"2.6b2-1", ">", "2.6b-2"},
                                   {"98.1p5-1", "<", "98.1-pre2-b6-2"},
                                   {"0.4a6-2", ">", "0.4-1"},
                                   {"1:3.0.5-2", "<", "1:3.0.5.1"},
                                   {"3.0~rc1-1", "<", "3.0-1"},
                                   {"1.0", "=", "1.0-0"},
                                   {"0.2", "<", "1.0-0"},
                                   {"1.0", "<", "1.0-0+b1"},
                                   {"1.0", ">", "1.0-0~"},
                                   {"0", "=", "0"},
                                   {"0", "=", "00"},
                                   {"1.2.3", "=", "1.2.3"},
                                   {"4.4.3-2", "=", "4.4.3-2"},
                                   {"1:2ab:5", "=", "1:2ab:5"},
                                   {"7:1-a:b-5", "=", "7:1-a:b-5"},
                                   {"57:1.2.3abYZ+~-4-5", "=", "57:1.2.3abYZ+~-4-5"},
                                   {"1.2.3", "=", "0:1.2.3"},
                                   {"1.2.3", "=", "1.2.3-0"},
                                   {"009", "=", "9"},
                                   {"009ab5", "=", "9ab5"},
                                   {"1.2.3", "<", "1.2.3-1"},
                                   {"1.2.3", "<", "1.2.4"},
                                   {"1.2.4", ">", "1.2.3"},
                                   {"1.2.24", ">", "1.2.3"},
                                   {"0.10.0", ">", "0.8.7"},
                                   {"3.2", ">", "2.3"},
                                   {"1.3.2a", ">", "1.3.2"},
                                   {"0.5.0~git", "<", "0.5.0~git2"},
                                   {"2a", "<", "21"},
                                   {"1.3.2a", "<", "1.3.2b"},
                                   {"1:1.2.3", ">", "1.2.4"},
                                   {"1:1.2.3", "<", "1:1.2.4"},
                                   {"1.2a+~bCd3", "<", "1.2a++"},
                                   {"1.2a+~bCd3", ">", "1.2a+~"},
                                   {"5:2", ">", "304-2"},
                                   {"5:2", "<", "304:2"},
                                   {"25:2", ">", "3:2"},
                                   {"1.2-5", "<", "1.2-3-5"},
                                   {"5.10.0", ">", "5.005"},
                                   {"3a9.8", "<", "3.10.2"},
                                   {"3a9.8", ">", "3~10"},
                                   {"1.4+OOo3.0.0~", "<", "1.4+OOo3.0.0-4"},
                                   {"2.4.7-1", "<", "2.4.7-z"},
                                   {"1.002-1+b2", ">", "1.00"},
                               });
}

// Version pairs from Debian 12 security and point-release updates.
TEST(DpkgCompare, DebianSecurityUpdatesSortAfterTheReleaseVersion) {
  expect_ladder(dpkg_compare, {
                                  {"3.0.9-1"},
                                  {"3.0.11-1~deb12u1"},
                                  {"3.0.11-1~deb12u2"},
                                  {"3.0.11-1"},
                                  {"3.0.13-1~deb12u1"},
                                  {"3.0.15-1~deb12u1"},
                                  {"3.0.16-1~deb12u1"},
                              });
  expect_ladder(dpkg_compare, {
                                  {"1:9.2p1-2"},
                                  {"1:9.2p1-2+deb12u1"},
                                  {"1:9.2p1-2+deb12u2"},
                                  {"1:9.2p1-2+deb12u3"},
                                  {"1:9.2p1-2+deb12u10"},
                                  {"1:9.3p1-1"},
                              });
  expect_ladder(dpkg_compare, {
                                  {"6.1.76-1"},
                                  {"6.1.90-1"},
                                  {"6.1.112-1"},
                                  {"6.1.187-1"},
                              });
  expect_ladder(dpkg_compare, {
                                  {"2.36-9"},
                                  {"2.36-9+deb12u1"},
                                  {"2.36-9+deb12u4"},
                                  {"2.36-9+deb12u10"},
                                  {"2.37-1"},
                              });
  expect_vectors(dpkg_compare, {{"1.2.13.dfsg-1", "<", "1:1.2.13.dfsg-1"},
                                {"7.88.1-10+deb12u5", ">", "7.88.1-10+deb12u4"},
                                {"7.88.1-10+deb12u5", "<", "7.88.1-10+deb12u12"},
                                {"2.9.14+dfsg-1.3~deb12u1", "<", "2.9.14+dfsg-1.3"},
                                {"5.36.0-7+deb12u1", ">", "5.36.0-7"},
                                {"1.20.1-2+deb12u2", "<", "1.20.1-2+deb12u3"},
                                {"252.30-1~deb12u2", ">", "252.22-1~deb12u1"}});
}

TEST(DpkgCompare, IgnoresSurroundingWhitespace) {
  expect_vectors(dpkg_compare, {{"  \t0:0-1", "=", "0:0-1"},
                                {"0:0-1\t  ", "=", "0:0-1"},
                                {"\t  0:0-1  \t", "=", "0-1"},
                                {" 1.0 ", "<", "1.1"}});
}

TEST(DpkgCompare, OrdersInvalidVersionsWithoutFailing) {
  // A non-numeric "epoch" stays part of the upstream version, and a letter
  // sorts above a digit.
  EXPECT_GT(dpkg_compare("a:1", "1"), 0);
  EXPECT_EQ(dpkg_compare("", ""), 0);
  EXPECT_EQ(dpkg_compare("", "0"), 0);
  EXPECT_LT(dpkg_compare("", "1"), 0);
  EXPECT_GT(dpkg_compare("1", " "), 0);
  EXPECT_EQ(dpkg_compare("1.0-", "1.0"), 0);
  EXPECT_EQ(dpkg_compare(":1.0", "1.0"), 0);
  EXPECT_GT(dpkg_compare("abc", "1"), 0);
  EXPECT_EQ(dpkg_compare("1.0 beta", "1.0 beta"), 0);
  EXPECT_GT(dpkg_compare("1.0\xff", "1.0z"), 0);
  EXPECT_EQ(dpkg_compare(std::string_view("1\0a", 3), std::string_view("1\0a", 3)), 0);
}

TEST(DpkgValid, AcceptsWhatDpkgAccepts) {
  for (std::string_view v : {"0",
                             "0:0",
                             "0:0-0",
                             "0:0.0-0.0",
                             "1:0",
                             "5:1",
                             "0:0-0-0",
                             "0:0-0-0-0",
                             "0:0:0-0",
                             "0:0:0:0-0",
                             "0:0:0-0-0",
                             "0:0-0:0-0",
                             "0:09azAZ.-+~:-0",
                             "0:0-azAZ09.+~",
                             "  \t0:0-1",
                             "0:0-1\t  ",
                             "1.0~rc1",
                             "1:9.2p1-2+deb12u3",
                             "2147483647:1",
                             "3.0.11-1~deb12u2",
                             "1.2.13.dfsg-1",
                             "9ab5"}) {
    EXPECT_TRUE(dpkg_valid(v)) << '"' << v << '"';
  }
}

TEST(DpkgValid, RejectsWhatDpkgRejects) {
  for (std::string_view v : {"", "  ", "0:", "0:0 0-1", "-1:0-1", "999999999999999999999999:0-1",
                             "2147483648:0", "a:0-0", "A:0-0", "-0", "0:-0", "0:abc3-0", "0:0-0:0",
                             ":1.0", "1.0-", "1.0 beta", "~1", "v1.0"}) {
    EXPECT_FALSE(dpkg_valid(v)) << '"' << v << '"';
  }
  for (char c : std::string_view("!#@$%&/|\\<>()[]{};,_=*^'")) {
    std::string upstream = "0:0a-0";
    upstream[3] = c;
    EXPECT_FALSE(dpkg_valid(upstream)) << upstream;
  }
  for (char c : std::string_view("!#@$%&/|\\<>()[]{}:;,_=*^'")) {
    std::string revision = "0:0-0";
    revision[4] = c;
    EXPECT_FALSE(dpkg_valid(revision)) << revision;
  }
}

}  // namespace
}  // namespace portcullis::scanner::versions
