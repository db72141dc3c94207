#include "policy/lineage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portcullis::policy {
namespace {

using ::testing::HasSubstr;

std::vector<ApprovedBase> bases() {
  ApprovedBase debian{"debian",
                      "base/debian",
                      "12",
                      "sha256:d2",
                      {{"sha256:d1", {"sha256:L1"}, 100}, {"sha256:d2", {"sha256:L1b"}, 200}}};
  ApprovedBase tools{
      "tools", "base/tools", "1", "sha256:t1", {{"sha256:t1", {"sha256:L1b", "sha256:T"}, 300}}};
  return {debian, tools};
}

TEST(Lineage, LayerPrefixFindsTheBaseAndItsCurrentDigest) {
  auto l = derive_lineage({"sha256:L1b", "sha256:X"}, {}, bases());
  ASSERT_TRUE(l.known) << l.message;
  EXPECT_EQ(l.base, "debian");
  EXPECT_EQ(l.base_digest, "sha256:d2");
  EXPECT_TRUE(l.current);
  EXPECT_FALSE(l.via_annotation);
  EXPECT_THAT(l.message, HasSubstr("built on approved base 'debian' (base/debian:12@sha256:d2)"));
}

TEST(Lineage, HistoricDigestStillCounts) {
  auto l = derive_lineage({"sha256:L1", "sha256:X"}, {}, bases());
  ASSERT_TRUE(l.known);
  EXPECT_EQ(l.base_digest, "sha256:d1");
  EXPECT_FALSE(l.current);
  EXPECT_THAT(l.message, HasSubstr("previously approved digest"));
}

TEST(Lineage, LongestPrefixWins) {
  auto l = derive_lineage({"sha256:L1b", "sha256:T", "sha256:X"}, {}, bases());
  ASSERT_TRUE(l.known);
  EXPECT_EQ(l.base, "tools");
}

TEST(Lineage, TheBaseItselfDerivesFromItself) {
  EXPECT_TRUE(derive_lineage({"sha256:L1b"}, {}, bases()).known);
}

TEST(Lineage, OtherLayersAreUnknownBase) {
  auto l = derive_lineage({"sha256:Z", "sha256:L1b"}, {}, bases());
  EXPECT_FALSE(l.known);
  EXPECT_THAT(l.message, HasSubstr("unknown base"));
}

TEST(Lineage, ForgedAnnotationAloneIsNotTrusted) {
  std::map<std::string, std::string> a{{kBaseNameAnnotation, "registry.example/base/debian:12"},
                                       {kBaseDigestAnnotation, "sha256:d2"}};
  auto l = derive_lineage({"sha256:Z"}, a, bases());
  EXPECT_FALSE(l.known);
  EXPECT_THAT(l.message, HasSubstr("the annotations name approved base 'debian'"));
  EXPECT_THAT(l.message, HasSubstr("annotations alone are not trusted"));
}

TEST(Lineage, AnnotationConfirmedByLayersIsReported) {
  std::map<std::string, std::string> a{{kBaseNameAnnotation, "base/debian:12"},
                                       {kBaseDigestAnnotation, "sha256:d2"}};
  auto l = derive_lineage({"sha256:L1b", "sha256:X"}, a, bases());
  ASSERT_TRUE(l.known);
  EXPECT_TRUE(l.via_annotation);
  EXPECT_THAT(l.message, HasSubstr("as its annotations state"));
}

TEST(Lineage, NoLayersNoBases) {
  EXPECT_FALSE(derive_lineage({}, {}, bases()).known);
  EXPECT_FALSE(derive_lineage({"sha256:L1b"}, {}, {}).known);
}

}  // namespace
}  // namespace portcullis::policy
