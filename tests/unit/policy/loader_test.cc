#include "policy/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portcullis::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

LoadResult load(const std::string& text, const std::string& name = "p.yaml") {
  return load_policy({{name, text}});
}

// The single error of a one-problem file.
std::string only_error(const std::string& text) {
  auto r = load(text);
  EXPECT_FALSE(r.policy);
  EXPECT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(r.errors);
  return r.errors.empty() ? "" : r.errors[0];
}

TEST(PolicyLoader, FullRuleLoadsEveryField) {
  auto r = load(R"(rules:
  - name: prod-gate
    repositories: ["prod/*", "release/app"]
    mode: warn
    quarantine: false
    onPush: true
    vulnerabilities:
      severityThreshold: high
      cvssThreshold: 7.5
      fixableOnly: true
      exceptions:
        - id: CVE-2024-1
          reason: not reachable
          owner: sec@example.com
          expires: 2027-01-31
    signatures:
      keys: [k1, k2]
      threshold: 2
    baseImages:
      allowed: [debian]
    labels:
      org.opencontainers.image.source: "https://github.com/*"
    annotations:
      team: "*"
    maxAge: 90
    scan: required
)");
  ASSERT_TRUE(r.policy) << ::testing::PrintToString(r.errors);
  ASSERT_EQ(r.policy->rules.size(), 1u);
  const Rule& rule = r.policy->rules[0];
  EXPECT_EQ(rule.name, "prod-gate");
  EXPECT_EQ(rule.file, "p.yaml");
  EXPECT_EQ(rule.line, 2);
  EXPECT_THAT(rule.repositories, ElementsAre("prod/*", "release/app"));
  EXPECT_EQ(rule.mode, Mode::warn);
  EXPECT_FALSE(rule.quarantine);
  EXPECT_TRUE(rule.on_push);
  ASSERT_TRUE(rule.vulnerabilities);
  EXPECT_EQ(rule.vulnerabilities->severity_threshold, severity_rank("high"));
  EXPECT_DOUBLE_EQ(*rule.vulnerabilities->cvss_threshold, 7.5);
  EXPECT_TRUE(rule.vulnerabilities->fixable_only);
  ASSERT_EQ(rule.vulnerabilities->exceptions.size(), 1u);
  EXPECT_EQ(rule.vulnerabilities->exceptions[0].id, "CVE-2024-1");
  EXPECT_EQ(rule.vulnerabilities->exceptions[0].owner, "sec@example.com");
  // Valid through the end of 2027-01-31 (UTC).
  EXPECT_EQ(rule.vulnerabilities->exceptions[0].expires_at, 1801353600 + 86400);
  ASSERT_TRUE(rule.signatures);
  EXPECT_THAT(rule.signatures->keys, ElementsAre("k1", "k2"));
  EXPECT_EQ(rule.signatures->threshold, 2);
  ASSERT_TRUE(rule.base_images);
  EXPECT_THAT(rule.base_images->allowed, ElementsAre("debian"));
  ASSERT_TRUE(rule.labels);
  EXPECT_EQ((*rule.labels)[0].key, "org.opencontainers.image.source");
  EXPECT_EQ((*rule.labels)[0].pattern, "https://github.com/*");
  ASSERT_TRUE(rule.annotations);
  EXPECT_EQ(rule.max_age_days, 90);
  EXPECT_TRUE(rule.scan_required);
}

TEST(PolicyLoader, DefaultsAreEnforceWithQuarantine) {
  auto r = load("rules:\n  - name: a\n    repositories: ['*']\n    scan: required\n");
  ASSERT_TRUE(r.policy);
  EXPECT_EQ(r.policy->rules[0].mode, Mode::enforce);
  EXPECT_TRUE(r.policy->rules[0].quarantine);
  EXPECT_FALSE(r.policy->rules[0].on_push);
}

TEST(PolicyLoader, FilesAreTakenInNameOrder) {
  auto r = load_policy({{"b.yaml", "rules:\n  - {name: second, repositories: ['*'], maxAge: 1}\n"},
                        {"a.yaml", "rules:\n  - {name: first, repositories: ['*'], maxAge: 1}\n"}});
  ASSERT_TRUE(r.policy);
  ASSERT_EQ(r.policy->rules.size(), 2u);
  EXPECT_EQ(r.policy->rules[0].name, "first");
  EXPECT_EQ(r.policy->rules[1].file, "b.yaml");
}

TEST(PolicyLoader, SyntaxErrorNamesFileAndLine) {
  auto e = only_error("rules:\n  - name: a\n    repositories: [x\n");
  EXPECT_THAT(e, HasSubstr("p.yaml:"));
  EXPECT_THAT(e, HasSubstr("(syntax)"));
}

TEST(PolicyLoader, UnknownTopLevelField) {
  EXPECT_EQ(only_error("rules: []\nrulez: []\n"),
            "p.yaml:2: rulez: unknown field (expected one of: rules)");
}

TEST(PolicyLoader, UnknownRuleFieldNamesTheRuleAndLine) {
  auto e =
      only_error("rules:\n  - name: a\n    repositories: ['*']\n    maxAge: 3\n    maxage: 4\n");
  EXPECT_THAT(e, HasSubstr("p.yaml:5: rules[0].maxage: unknown field"));
}

TEST(PolicyLoader, BadSeverityThreshold) {
  EXPECT_EQ(only_error("rules:\n  - name: a\n    repositories: ['*']\n    vulnerabilities:\n"
                       "      severityThreshold: hihg\n"),
            "p.yaml:5: rules[0] (a).vulnerabilities.severityThreshold: must be one of negligible, "
            "low, medium, high, critical (got \"hihg\")");
}

TEST(PolicyLoader, BadCvssThreshold) {
  auto e = only_error(
      "rules:\n  - name: a\n    repositories: ['*']\n    vulnerabilities:\n"
      "      cvssThreshold: 11\n");
  EXPECT_EQ(e,
            "p.yaml:5: rules[0] (a).vulnerabilities.cvssThreshold: must be a number from 0.0 "
            "to 10.0 (got \"11\")");
}

TEST(PolicyLoader, BadUnknownSeverity) {
  EXPECT_EQ(only_error("rules:\n  - name: a\n    repositories: ['*']\n    vulnerabilities:\n"
                       "      severityThreshold: high\n      unknownSeverity: fatal\n"),
            "p.yaml:6: rules[0] (a).vulnerabilities.unknownSeverity: must be one of negligible, "
            "low, medium, high, critical or ignore (got \"fatal\")");
}

TEST(PolicyLoader, VulnerabilitiesNeedAThreshold) {
  auto e = only_error(
      "rules:\n  - name: a\n    repositories: ['*']\n    vulnerabilities:\n"
      "      fixableOnly: true\n");
  EXPECT_EQ(
      e, "p.yaml:5: rules[0] (a).vulnerabilities: needs severityThreshold, cvssThreshold or both");
}

TEST(PolicyLoader, BadMode) {
  EXPECT_EQ(only_error("rules:\n  - name: a\n    repositories: ['*']\n    mode: enforcing\n"
                       "    maxAge: 3\n"),
            "p.yaml:4: rules[0] (a).mode: must be enforce, warn or off (got \"enforcing\")");
}

TEST(PolicyLoader, ExceptionFieldsAreRequiredAndDatesValidated) {
  auto r = load(
      "rules:\n  - name: a\n    repositories: ['*']\n    vulnerabilities:\n"
      "      severityThreshold: high\n      exceptions:\n"
      "        - id: CVE-1\n          reason: r\n          expires: 2027-01-01\n"
      "        - id: CVE-2\n          reason: r\n          owner: o\n"
      "          expires: 2027-02-30\n");
  ASSERT_FALSE(r.policy);
  EXPECT_THAT(
      r.errors,
      ElementsAre("p.yaml:7: rules[0] (a).vulnerabilities.exceptions[0].owner: is required",
                  "p.yaml:13: rules[0] (a).vulnerabilities.exceptions[1].expires: must be a "
                  "date YYYY-MM-DD or an RFC 3339 time (got \"2027-02-30\")"));
}

TEST(PolicyLoader, MissingNameAndRepositories) {
  auto r = load("rules:\n  - maxAge: 3\n");
  ASSERT_FALSE(r.policy);
  EXPECT_THAT(r.errors, ElementsAre("p.yaml:2: rules[0].name: is required",
                                    "p.yaml:2: rules[0].repositories: is required (repository "
                                    "patterns such as \"prod/*\")"));
}

TEST(PolicyLoader, BadTypes) {
  auto r = load(
      "rules:\n  - name: a\n    repositories: prod\n    maxAge: soon\n"
      "    quarantine: maybe\n    labels: []\n");
  ASSERT_FALSE(r.policy);
  EXPECT_THAT(
      r.errors,
      ElementsAre("p.yaml:3: rules[0] (a).repositories: must be a list of strings",
                  "p.yaml:5: rules[0] (a).quarantine: must be true or false (got \"maybe\")",
                  "p.yaml:6: rules[0] (a).labels: must be a non-empty mapping of key: "
                  "value pattern (\"*\" for any value)",
                  "p.yaml:4: rules[0] (a).maxAge: must be an integer (got \"soon\")"));
}

TEST(PolicyLoader, SignatureThresholdAboveKeyCount) {
  EXPECT_EQ(only_error("rules:\n  - name: a\n    repositories: ['*']\n    signatures:\n"
                       "      keys: [k1]\n      threshold: 2\n"),
            "p.yaml:6: rules[0] (a).signatures.threshold: 2 signatures can never be found among 1 "
            "listed key(s)");
}

TEST(PolicyLoader, DuplicateRuleNamesAcrossFiles) {
  auto r = load_policy({{"a.yaml", "rules:\n  - {name: x, repositories: ['*'], maxAge: 1}\n"},
                        {"b.yaml", "rules:\n\n  - {name: x, repositories: ['*'], maxAge: 2}\n"}});
  ASSERT_FALSE(r.policy);
  EXPECT_THAT(r.errors, ElementsAre("b.yaml:3: rules[0].name: duplicate rule name \"x\" (first "
                                    "defined at a.yaml:2)"));
}

TEST(PolicyLoader, RuleWithoutRequirement) {
  EXPECT_EQ(only_error("rules:\n  - name: a\n    repositories: ['*']\n"),
            "p.yaml:2: rules[0] (a): has no requirement (vulnerabilities, signatures, baseImages, "
            "labels, annotations, maxAge or scan)");
}

TEST(PolicyLoader, OnPushNeedsAPushCheckableRequirement) {
  EXPECT_EQ(only_error("rules:\n  - name: a\n    repositories: ['*']\n    onPush: true\n"
                       "    scan: required\n"),
            "p.yaml:4: rules[0] (a).onPush: only labels, annotations, baseImages and maxAge can be "
            "checked on push, and this rule has none of them");
}

TEST(PolicyLoader, BadRuleName) {
  auto e = only_error("rules:\n  - name: 'a b'\n    repositories: ['*']\n    maxAge: 1\n");
  EXPECT_THAT(e, HasSubstr("p.yaml:2: rules[0].name: must be 1-128 characters"));
}

TEST(PolicyLoader, EveryProblemIsReportedAtOnce) {
  auto r = load(
      "rules:\n  - name: a\n    repositories: ['*']\n    maxAge: 0\n"
      "  - name: b\n    repositories: ['*']\n    scan: maybe\n");
  ASSERT_FALSE(r.policy);
  EXPECT_THAT(
      r.errors,
      ElementsAre("p.yaml:4: rules[0] (a).maxAge: must be between 1 and 36500 (got 0)",
                  "p.yaml:7: rules[1] (b).scan: must be required or optional (got \"maybe\")"));
}

TEST(PolicyLoader, NoFilesIsAnError) {
  auto r = load_policy({});
  EXPECT_FALSE(r.policy);
  EXPECT_EQ(r.errors.size(), 1u);
}

TEST(PolicyExpiry, DatesAndTimes) {
  EXPECT_EQ(parse_expiry("1970-01-01"), 86400);
  EXPECT_EQ(parse_expiry("2024-02-29T00:00:00Z"), 1709164800);
  EXPECT_EQ(parse_expiry("2024-02-29T02:00:00+02:00"), 1709164800);
  EXPECT_EQ(parse_expiry("2024-02-29T00:00:00.5Z"), 1709164800);
  EXPECT_FALSE(parse_expiry("2023-02-29"));
  EXPECT_FALSE(parse_expiry("2024-13-01"));
  EXPECT_FALSE(parse_expiry("2024-01-01T00:00:00"));
  EXPECT_FALSE(parse_expiry("tomorrow"));
}

}  // namespace
}  // namespace portcullis::policy
