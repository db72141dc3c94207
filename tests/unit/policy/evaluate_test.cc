#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/loader.h"
#include "policy/policy.h"

namespace portcullis::policy {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1800000000;  // 2027-01-15T08:00:00Z
constexpr int64_t kDay = 86400;

Policy policy_of(const std::string& yaml) {
  auto r = load_policy({{"p.yaml", yaml}});
  EXPECT_TRUE(r.policy) << ::testing::PrintToString(r.errors);
  return r.policy ? *r.policy : Policy{};
}

Facts scanned(std::vector<FindingFact> findings) {
  Facts f;
  f.repository = "prod/app";
  f.digest = "sha256:aa";
  f.config_known = true;
  f.created = kNow - 10 * kDay;
  f.scan.state = ScanState::done;
  f.scan.data_version = "v1";
  f.scan.findings = std::move(findings);
  f.now = kNow;
  return f;
}

FindingFact finding(std::string id, std::string severity, std::string fixed = "",
                    double cvss = -1) {
  return {std::move(id), {}, "openssl@3.0.11-1", std::move(fixed), std::move(severity), cvss};
}

const char* kHigh = R"(rules:
  - name: no-high
    repositories: ["prod/*"]
    vulnerabilities:
      severityThreshold: high
)";

TEST(PolicyEvaluate, HighFindingDeniesUnderHighThreshold) {
  auto d = evaluate(policy_of(kHigh), scanned({finding("CVE-1", "high", "3.0.13-1")}), Phase::pull);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(d.quarantined);
  EXPECT_THAT(
      d.message,
      HasSubstr(
          "policy rule 'no-high': vulnerabilities: 1 finding(s) at or "
          "above severity high in openssl: CVE-1 (high) in openssl@3.0.11-1 fixed in 3.0.13-1"));
  ASSERT_EQ(d.rules.size(), 1u);
  EXPECT_FALSE(d.rules[0].passed);
}

TEST(PolicyEvaluate, MediumFindingPassesHighThreshold) {
  auto d = evaluate(policy_of(kHigh),
                    scanned({finding("CVE-1", "medium"), finding("CVE-2", "none")}), Phase::pull);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.rules[0].passed);
}

TEST(PolicyEvaluate, UnknownSeverityFailsClosedByDefault) {
  auto d = evaluate(policy_of(kHigh), scanned({finding("CVE-2", "unknown", "1.1")}), Phase::pull);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("CVE-2 (unknown, counted as critical)"));
}

TEST(PolicyEvaluate, UnknownSeverityCanBeRatedOrIgnored) {
  auto rated = policy_of(
      "rules:\n  - name: a\n    repositories: ['*']\n    vulnerabilities:\n"
      "      severityThreshold: high\n      unknownSeverity: medium\n");
  EXPECT_TRUE(evaluate(rated, scanned({finding("CVE-2", "unknown")}), Phase::pull).allowed);
  auto strict = policy_of(
      "rules:\n  - name: a\n    repositories: ['*']\n    vulnerabilities:\n"
      "      severityThreshold: low\n      unknownSeverity: medium\n");
  EXPECT_FALSE(evaluate(strict, scanned({finding("CVE-2", "unknown")}), Phase::pull).allowed);
  auto ignored = policy_of(
      "rules:\n  - name: a\n    repositories: ['*']\n    vulnerabilities:\n"
      "      severityThreshold: negligible\n      unknownSeverity: ignore\n");
  EXPECT_TRUE(evaluate(ignored, scanned({finding("CVE-2", "unknown")}), Phase::pull).allowed);
}

TEST(PolicyEvaluate, RepositoriesOutsideTheRuleAreNotGated) {
  auto f = scanned({finding("CVE-1", "critical")});
  f.repository = "dev/app";
  auto d = evaluate(policy_of(kHigh), f, Phase::pull);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.rules.empty());
}

TEST(PolicyEvaluate, CvssThresholdCountsScores) {
  auto p = policy_of(
      "rules:\n  - name: c\n    repositories: ['*']\n    vulnerabilities:\n"
      "      cvssThreshold: 9.0\n");
  EXPECT_TRUE(evaluate(p, scanned({finding("CVE-1", "critical", "", 8.9)}), Phase::pull).allowed);
  EXPECT_FALSE(evaluate(p, scanned({finding("CVE-1", "low", "", 9.8)}), Phase::pull).allowed);
}

TEST(PolicyEvaluate, FixableOnlyIgnoresUnfixedFindings) {
  auto p = policy_of(
      "rules:\n  - name: f\n    repositories: ['*']\n    vulnerabilities:\n"
      "      severityThreshold: high\n      fixableOnly: true\n");
  EXPECT_TRUE(evaluate(p, scanned({finding("CVE-1", "critical")}), Phase::pull).allowed);
  EXPECT_FALSE(evaluate(p, scanned({finding("CVE-1", "critical", "1.2")}), Phase::pull).allowed);
}

TEST(PolicyEvaluate, ExceptionCoversUntilItExpires) {
  auto p = policy_of(R"(rules:
  - name: no-high
    repositories: ["prod/*"]
    vulnerabilities:
      severityThreshold: high
      exceptions:
        - id: CVE-1
          reason: not reachable from the network
          owner: sec@example.com
          expires: 2027-01-20T00:00:00Z
)");
  auto f = scanned({finding("CVE-1", "high")});
  auto d = evaluate(p, f, Phase::pull);
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_THAT(d.rules[0].checks[0].reason, HasSubstr("1 covered by exceptions"));
  EXPECT_EQ(d.valid_until, 1800403200);  // the decision is good only until the expiry
  f.now = 1800403200;                    // the exception expires: no restart needed
  d = evaluate(p, f, Phase::pull);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("CVE-1"));
}

TEST(PolicyEvaluate, ExceptionMatchesAnAlias) {
  auto p = policy_of(
      "rules:\n  - name: a\n    repositories: ['*']\n    vulnerabilities:\n"
      "      severityThreshold: high\n      exceptions:\n"
      "        - {id: CVE-9, reason: r, owner: o, expires: 2099-01-01}\n");
  auto f = finding("DEBIAN-CVE-9", "high");
  f.aliases = {"CVE-9"};
  EXPECT_TRUE(evaluate(p, scanned({f}), Phase::pull).allowed);
}

TEST(PolicyEvaluate, PendingScanQuarantinesUnderEnforce) {
  auto f = scanned({});
  f.scan.state = ScanState::pending;
  auto d = evaluate(policy_of(kHigh), f, Phase::pull);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.quarantined);
  EXPECT_THAT(d.message, HasSubstr("quarantined: scanning"));
}

TEST(PolicyEvaluate, QuarantineOffServesWhileScanning) {
  auto p = policy_of(
      "rules:\n  - name: a\n    repositories: ['*']\n    quarantine: false\n"
      "    vulnerabilities:\n      severityThreshold: high\n");
  auto f = scanned({});
  f.scan.state = ScanState::pending;
  EXPECT_TRUE(evaluate(p, f, Phase::pull).allowed);
}

TEST(PolicyEvaluate, WarnRuleNeverQuarantinesOrDenies) {
  auto p = policy_of(
      "rules:\n  - name: a\n    repositories: ['*']\n    mode: warn\n"
      "    vulnerabilities:\n      severityThreshold: low\n");
  auto d = evaluate(p, scanned({finding("CVE-1", "critical")}), Phase::pull);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.rules[0].passed);
  EXPECT_THAT(d.message, HasSubstr("warn: policy rule 'a'"));
  auto f = scanned({});
  f.scan.state = ScanState::pending;
  EXPECT_TRUE(evaluate(p, f, Phase::pull).allowed);
}

TEST(PolicyEvaluate, OffRuleIsNotEvaluated) {
  auto p = policy_of(
      "rules:\n  - name: a\n    repositories: ['*']\n    mode: off\n"
      "    scan: required\n");
  auto f = scanned({});
  f.scan.state = ScanState::missing;
  auto d = evaluate(p, f, Phase::pull);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.rules.empty());
}

TEST(PolicyEvaluate, ScanRequiredFailsUnscannedAndFailedScans) {
  auto p = policy_of("rules:\n  - name: s\n    repositories: ['*']\n    scan: required\n");
  auto f = scanned({});
  f.scan.state = ScanState::missing;
  auto d = evaluate(p, f, Phase::pull);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(d.quarantined);
  EXPECT_THAT(d.message, HasSubstr("scan: image has not been scanned"));
  f.scan.state = ScanState::failed;
  f.scan.error = "layer unreadable";
  EXPECT_THAT(evaluate(p, f, Phase::pull).message, HasSubstr("scan failed: layer unreadable"));
  f.scan.state = ScanState::done;
  EXPECT_TRUE(evaluate(p, f, Phase::pull).allowed);
}

TEST(PolicyEvaluate, UnscannedImageFailsAVulnerabilityRule) {
  auto f = scanned({});
  f.scan.state = ScanState::missing;
  auto d = evaluate(policy_of(kHigh), f, Phase::pull);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.message, HasSubstr("not been scanned"));
}

const char* kLabels = R"(rules:
  - name: provenance
    repositories: ["*"]
    onPush: true
    labels:
      org.opencontainers.image.source: "https://github.com/example/*"
    annotations:
      team: "*"
)";

TEST(PolicyEvaluate, LabelsAndAnnotationsPatterns) {
  auto p = policy_of(kLabels);
  auto f = scanned({});
  f.labels["org.opencontainers.image.source"] = "https://github.com/example/app";
  f.annotations["team"] = "payments";
  EXPECT_TRUE(evaluate(p, f, Phase::push).allowed);
  f.labels["org.opencontainers.image.source"] = "https://evil.example/app";
  auto d = evaluate(p, f, Phase::push);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.message,
              HasSubstr("label org.opencontainers.image.source=\"https://evil.example/app\" "
                        "does not match \"https://github.com/example/*\""));
  f.annotations.clear();
  EXPECT_THAT(evaluate(p, f, Phase::push).message, HasSubstr("annotation team is missing"));
}

TEST(PolicyEvaluate, PushPhaseChecksOnlyOnPushRulesAndTheirPushRequirements) {
  auto p = policy_of(R"(rules:
  - name: age
    repositories: ["*"]
    onPush: true
    maxAge: 30
    scan: required
  - name: labels-at-pull
    repositories: ["*"]
    labels: {a: "*"}
)");
  auto f = scanned({});
  f.scan.state = ScanState::missing;  // not checked on push
  auto d = evaluate(p, f, Phase::push);
  EXPECT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.rules.size(), 1u);
  EXPECT_EQ(d.rules[0].checks.size(), 1u);
  f.created = kNow - 31 * kDay;
  d = evaluate(p, f, Phase::push);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.message,
              HasSubstr("maxAge: created 2026-12-15T08:00:00Z is more than 30 days ago"));
}

TEST(PolicyEvaluate, MaxAgeDecisionExpiresWhenTheImageGetsTooOld) {
  auto p = policy_of("rules:\n  - name: a\n    repositories: ['*']\n    maxAge: 30\n");
  auto f = scanned({});
  auto d = evaluate(p, f, Phase::pull);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.valid_until, *f.created + 30 * kDay);
  f.created.reset();
  EXPECT_THAT(evaluate(p, f, Phase::pull).message, HasSubstr("no created time"));
}

TEST(PolicyEvaluate, SignaturesUseTheVerifier) {
  auto p = policy_of(
      "rules:\n  - name: signed\n    repositories: ['*']\n    signatures:\n"
      "      keys: [k1, k2]\n      threshold: 2\n");
  auto f = scanned({});
  SignatureRequirement seen;
  f.verify_signatures = [&](const SignatureRequirement& r) {
    seen = r;
    return SignatureOutcome{false, "found 1 valid signature(s), 2 required"};
  };
  auto d = evaluate(p, f, Phase::pull);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(seen.threshold, 2);
  EXPECT_THAT(d.message, HasSubstr("signatures: found 1 valid signature(s), 2 required"));
  f.verify_signatures = [](const SignatureRequirement&) { return SignatureOutcome{true, "ok"}; };
  EXPECT_TRUE(evaluate(p, f, Phase::pull).allowed);
}

TEST(PolicyEvaluate, BaseImagesNeedAKnownAllowedLineage) {
  auto p = policy_of(
      "rules:\n  - name: b\n    repositories: ['*']\n    baseImages:\n"
      "      allowed: [debian]\n");
  auto f = scanned({});
  f.lineage.message = "unknown base: no approved base";
  EXPECT_THAT(evaluate(p, f, Phase::pull).message, HasSubstr("baseImages: unknown base"));
  f.lineage = {
      true, "alpine", "base/alpine:3", "sha256:1", true, false, "built on approved base 'alpine'"};
  EXPECT_THAT(evaluate(p, f, Phase::pull).message, HasSubstr("which this rule does not allow"));
  f.lineage.base = "debian";
  EXPECT_TRUE(evaluate(p, f, Phase::pull).allowed);
}

TEST(PolicyEvaluate, QuarantineHoldsUntilEveryVerdictIsIn) {
  auto p = policy_of(R"(rules:
  - name: vulns
    repositories: ["*"]
    vulnerabilities: {severityThreshold: high}
  - name: signed
    repositories: ["*"]
    signatures: {}
)");
  auto f = scanned({});
  f.scan.state = ScanState::pending;
  auto d = evaluate(p, f, Phase::pull);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.quarantined);
  EXPECT_THAT(d.message, HasSubstr("quarantined: scanning"));
  f.scan.state = ScanState::done;
  d = evaluate(p, f, Phase::pull);
  EXPECT_FALSE(d.quarantined);
  EXPECT_THAT(d.message, HasSubstr("signatures cannot be verified"));
}

}  // namespace
}  // namespace portcullis::policy
