// CVSS base scores against published scores, and the severity of findings.
#include "scanner/advisories/severity.h"

#include <gtest/gtest.h>

namespace portcullis::scanner::advisories {
namespace {

struct Known {
  const char* vector;
  double score;
};

// Examples of the CVSS v3.1 specification document (FIRST) and vectors with
// the scores NVD / GitHub publish for them (the GHSA extract in vulndata).
constexpr Known kCvss3[] = {
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5},   // CVE-2014-0160 Heartbleed
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},   // CVE-2014-6271 Shellshock
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1},   // CVE-2013-1937
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1},   // CVE-2014-3566 POODLE
    {"CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.4},   // CVE-2015-1098 (macOS)
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0},  // scope change caps at 10
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0},   // no impact, no score
    {"CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8},
    {"CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 6.5},
    {"CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:U/C:H/I:H/A:H", 8.0},
    {"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3},
    {"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5},
    {"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1},
    {"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L", 5.3},
    {"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8},
    {"CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:U/C:H/I:L/A:H", 7.1},
    {"CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:N/I:N/A:L", 2.6},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:L/I:N/A:N", 4.0},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L", 5.6},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H", 7.4},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L", 3.7},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:L/A:N", 6.9},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:L", 5.0},
    {"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:N/I:L/A:N", 3.1},
    {"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2},
    {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 6.5},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L", 7.3},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", 6.5},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H", 9.1},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N", 5.3},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:N/A:N", 4.7},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N", 6.5},
    {"CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N", 4.2},
    {"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:L/A:N", 3.3},
    {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N", 8.1},
    {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:L", 6.5},
    {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9},  // CVE-2021-44228-like scope change
    {"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6},
    {"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H", 9.1},
};

TEST(Cvss3, ScoresKnownVectorsExactly) {
  for (const Known& k : kCvss3) {
    auto score = cvss3_base_score(k.vector);
    ASSERT_TRUE(score.has_value()) << k.vector;
    EXPECT_DOUBLE_EQ(*score, k.score) << k.vector;
  }
}

TEST(Cvss3, TemporalAndEnvironmentalMetricsDoNotChangeTheBaseScore) {
  EXPECT_EQ(cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C"), 9.8);
  EXPECT_EQ(cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CR:H/MAV:L"), 9.8);
  // Metric order is free.
  EXPECT_EQ(cvss3_base_score("CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N"), 9.8);
}

TEST(Cvss3, RejectsMalformedVectors) {
  for (const char* bad : {
           "",
           "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",                // no prefix
           "CVSS:2.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",       // wrong version
           "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",           // A missing
           "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L",   // repeated
           "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",       // undefined value
           "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:Q/C:H/I:H/A:H",       // undefined scope
           "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",      // trailing slash
           "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",  // unknown metric
           "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:",        // empty value
           "CVSS:3.1//AV:N",
       }) {
    EXPECT_FALSE(cvss3_base_score(bad).has_value()) << bad;
  }
}

TEST(Cvss2, ScoresKnownVectors) {
  EXPECT_EQ(cvss2_base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P"), 7.5);
  EXPECT_EQ(cvss2_base_score("AV:N/AC:M/Au:N/C:N/I:P/A:N"), 4.3);
  EXPECT_EQ(cvss2_base_score("AV:L/AC:L/Au:N/C:C/I:C/A:C"), 7.2);
  EXPECT_EQ(cvss2_base_score("AV:N/AC:L/Au:N/C:C/I:C/A:C"), 10.0);
  EXPECT_EQ(cvss2_base_score("AV:N/AC:L/Au:N/C:N/I:N/A:P"), 5.0);
  EXPECT_EQ(cvss2_base_score("AV:N/AC:H/Au:N/C:P/I:N/A:N"), 2.6);
  EXPECT_EQ(cvss2_base_score("(AV:N/AC:L/Au:N/C:P/I:P/A:P)"), 7.5);
  EXPECT_EQ(cvss2_base_score("AV:N/AC:L/Au:N/C:N/I:N/A:N"), 0.0);
  EXPECT_FALSE(cvss2_base_score("AV:N/AC:L/Au:N/C:P/I:P").has_value());
  EXPECT_FALSE(cvss2_base_score("AV:N/AC:L/Au:Q/C:P/I:P/A:P").has_value());
}

TEST(Rating, DatabaseWordsMapToSeverities) {
  EXPECT_EQ(severity_from_rating("CRITICAL"), "critical");
  EXPECT_EQ(severity_from_rating("HIGH"), "high");
  EXPECT_EQ(severity_from_rating("MODERATE"), "medium");
  EXPECT_EQ(severity_from_rating("medium"), "medium");
  EXPECT_EQ(severity_from_rating("LOW"), "low");
  EXPECT_EQ(severity_from_rating("high**"), "high");  // Debian tracker, NVD-derived
  EXPECT_EQ(severity_from_rating("unimportant"), "negligible");
  EXPECT_EQ(severity_from_rating("not yet assigned"), "unknown");
  EXPECT_EQ(severity_from_rating(""), "unknown");
}

TEST(Assess, CvssVectorDecidesOverTheRating) {
  std::vector<SeverityScore> adv = {{"CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:N/A:N"}};
  Assessment a = assess_severity({nullptr, &adv}, "LOW");
  EXPECT_EQ(a.cvss_score, 4.7);
  EXPECT_EQ(a.severity, "medium");
  EXPECT_EQ(a.cvss_vector, adv[0].score);
}

TEST(Assess, PackageSeverityOutranksTheAdvisorys) {
  std::vector<SeverityScore> pkg = {{"CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}};
  std::vector<SeverityScore> adv = {{"CVSS_V3", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L"}};
  Assessment a = assess_severity({&pkg, &adv}, "");
  EXPECT_EQ(a.cvss_score, 9.8);
  EXPECT_EQ(a.severity, "critical");
}

TEST(Assess, WithoutAScoreTheRatingDecides) {
  Assessment a = assess_severity({nullptr, nullptr}, "MODERATE");
  EXPECT_EQ(a.severity, "medium");
  EXPECT_EQ(a.cvss_score, -1);
  EXPECT_EQ(a.cvss_vector, "");

  std::vector<SeverityScore> v4 = {
      {"CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}};
  a = assess_severity({&v4}, "HIGH");
  EXPECT_EQ(a.severity, "high");
  EXPECT_EQ(a.cvss_score, -1);
  EXPECT_EQ(a.cvss_vector, v4[0].score);  // reported, not scored

  std::vector<SeverityScore> ubuntu = {{"Ubuntu", "medium"}};
  EXPECT_EQ(assess_severity({&ubuntu}, "").severity, "medium");
  EXPECT_EQ(assess_severity({}, "").severity, "unknown");
}

TEST(Assess, CvssV2HasNoCritical) {
  std::vector<SeverityScore> v2 = {{"CVSS_V2", "AV:N/AC:L/Au:N/C:C/I:C/A:C"}};
  Assessment a = assess_severity({&v2}, "");
  EXPECT_EQ(a.cvss_score, 10.0);
  EXPECT_EQ(a.severity, "high");
}

TEST(Assess, ZeroScoreIsNegligible) {
  std::vector<SeverityScore> none = {{"CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"}};
  EXPECT_EQ(assess_severity({&none}, "HIGH").severity, "negligible");
}

}  // namespace
}  // namespace portcullis::scanner::advisories
