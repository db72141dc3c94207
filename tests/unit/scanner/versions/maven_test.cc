// Maven ComparableVersion ordering. The vectors were checked against
// maven-artifact 3.8.7's ComparableVersion.
#include <string_view>

#include <gtest/gtest.h>

#include "ordering_test_util.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {
namespace {

using test::expect_ladder;
using test::expect_vectors;

TEST(MavenCompare, KnownQualifiersInOrderThenUnknownOnesAlphabetically) {
  expect_ladder(maven_compare, {
                                   {"1-alpha2snapshot"},
                                   {"1-alpha2", "1-a2", "1-ALPHA-2", "1alpha2", "1a2"},
                                   {"1-alpha-123"},
                                   {"1-beta-2", "1-b2", "1b2"},
                                   {"1-beta123"},
                                   {"1-m2", "1-milestone-2", "1m2"},
                                   {"1-m11"},
                                   {"1-rc", "1-cr", "1-RC", "1rc", "1cr"},
                                   {"1-cr2", "1-rc2", "1-rc-2"},
                                   {"1-rc123"},
                                   {"1-SNAPSHOT", "1-snapshot"},
                                   {"1", "1.0", "1.0.0", "1-0", "1-ga", "1-final", "1-release",
                                    "1GA", "1.FINAL", "1.0-RELEASE"},
                                   {"1-sp", "1-SP"},
                                   {"1-sp2"},
                                   {"1-sp123"},
                                   {"1-abc"},
                                   {"1-def"},
                                   {"1-pom-1"},
                                   {"1-1-snapshot"},
                                   {"1-1"},
                                   {"1-2"},
                                   {"1-123"},
                               });
}

TEST(MavenCompare, NumbersAndSeparators) {
  expect_ladder(maven_compare, {
                                   {"1"},
                                   {"1.0.1", "1.0.01"},
                                   {"1.1", "1.1.0"},
                                   {"1.2"},
                                   {"1.2.0.1"},
                                   {"1.9"},
                                   {"1.10"},
                                   {"1.123"},
                                   {"2-SNAPSHOT"},
                                   {"2", "2.0", "02.00"},
                                   {"2-1"},
                                   {"2.0.1-SNAPSHOT"},
                                   {"2.0.1"},
                                   {"2.0.1-xyz"},
                                   {"2.0.1-123"},
                                   {"2.0.2"},
                                   {"10"},
                                   {"2147483648"},
                                   {"9223372036854775808"},
                                   {"99999999999999999999999"},
                               });
}

TEST(MavenCompare, EqualSpellings) {
  expect_vectors(maven_compare,
                 {
                     {"1", "=", "1"},
                     {"1", "=", "1.0"},
                     {"1", "=", "1.0.0"},
                     {"1.0", "=", "1.0.0"},
                     {"1", "=", "1-0"},
                     {"1", "=", "1.0-0"},
                     {"1.0", "=", "1.0-0"},
                     {"1a", "=", "1-a"},
                     {"1a", "=", "1.0-a"},
                     {"1a", "=", "1.0.0-a"},
                     {"1.0a", "=", "1-a"},
                     {"1x", "=", "1-x"},
                     {"1x", "=", "1.0-x"},
                     {"1x", "=", "1.0.0-x"},
                     {"1ga", "=", "1"},
                     {"1release", "=", "1"},
                     {"1final", "=", "1"},
                     {"1cr", "=", "1rc"},
                     {"1a1", "=", "1-alpha-1"},
                     {"1b2", "=", "1-beta-2"},
                     {"1m3", "=", "1-milestone-3"},
                     {"1X", "=", "1x"},
                     {"1A", "=", "1a"},
                     {"1B", "=", "1b"},
                     {"1M", "=", "1m"},
                     {"1Ga", "=", "1"},
                     {"1GA", "=", "1"},
                     {"1RELEASE", "=", "1"},
                     {"1Final", "=", "1"},
                     {"1FinaL", "=", "1"},
                     {"1FINAL", "=", "1"},
                     {"1Cr", "=", "1Rc"},
                     {"1cR", "=", "1rC"},
                     {"1m3", "=", "1Milestone3"},
                     {"1m3", "=", "1MileStone3"},
                     {"1m3", "=", "1MILESTONE3"},
                     {"1-abcdefghijklmnopqrstuvwxyz", "=", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
                 });
}

TEST(MavenCompare, ComparisonVectors) {
  expect_vectors(maven_compare, {
                                    {"1", "<", "2"},
                                    {"1.5", "<", "2"},
                                    {"1", "<", "2.5"},
                                    {"1.0", "<", "1.1"},
                                    {"1.1", "<", "1.2"},
                                    {"1.0.0", "<", "1.1"},
                                    {"1.0.1", "<", "1.1"},
                                    {"1.1", "<", "1.2.0"},
                                    {"1.0-alpha-1", "<", "1.0"},
                                    {"1.0-alpha-1", "<", "1.0-alpha-2"},
                                    {"1.0-alpha-1", "<", "1.0-beta-1"},
                                    {"1.0-beta-1", "<", "1.0-SNAPSHOT"},
                                    {"1.0-SNAPSHOT", "<", "1.0"},
                                    {"1.0-alpha-1-SNAPSHOT", "<", "1.0-alpha-1"},
                                    {"1.0", "<", "1.0-1"},
                                    {"1.0-1", "<", "1.0-2"},
                                    {"1.0.0", "<", "1.0-1"},
                                    {"2.0-1", "<", "2.0.1"},
                                    {"2.0.1-klm", "<", "2.0.1-lmn"},
                                    {"2.0.1", "<", "2.0.1-xyz"},
                                    {"2.0.1", "<", "2.0.1-123"},
                                    {"2.0.1-xyz", "<", "2.0.1-123"},
                                    {"1.0.0.RC1", "<", "1.0.0"},
                                    {"2.17.0", ">", "2.16.0"},
                                    {"2.17.1", ">", "2.17.0"},
                                    {"2.15.0-rc1", "<", "2.15.0"},
                                    {"2.15.0-rc2", ">", "2.15.0-rc1"},
                                    {"5.3.18", "<", "5.3.20"},
                                    {"5.3.20.RELEASE", "=", "5.3.20"},
                                    {"2.13.4.2", ">", "2.13.4"},
                                    {"2.13.4.2", "<", "2.14.0-rc1"},
                                    {"31.1-jre", "<", "32.0.0-jre"},
                                    {"32.0.0-android", "<", "32.0.0-jre"},
                                    {"9.4.43.v20210629", "<", "9.4.44.v20210927"},
                                    {"1.2.3-SNAPSHOT", "<", "1.2.3"},
                                });
}

TEST(MavenCompare, AnyStringIsAVersion) {
  EXPECT_EQ(maven_compare("", ""), 0);
  EXPECT_EQ(maven_compare("", "0"), 0);
  EXPECT_EQ(maven_compare("..", "0"), 0);
  EXPECT_EQ(maven_compare("--", "-"), 0);
  EXPECT_LT(maven_compare("", "1"), 0);
  EXPECT_LT(maven_compare("\xff", "1-sp"), 0);    // a qualifier sorts below a number
  EXPECT_GT(maven_compare("1-\xff", "1-sp"), 0);  // unknown qualifiers above known ones
  EXPECT_LT(maven_compare("foo", "1"), 0);
}

}  // namespace
}  // namespace portcullis::scanner::versions
