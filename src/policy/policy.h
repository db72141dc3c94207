// The registry policy: rules, kept as YAML files an organisation reviews like
// code (policy/loader.h), that decide what may be pushed and pulled, and why.
// Pure: facts about one image in one repository go in, a decision with every
// rule's outcome and reason comes out. Gathering the facts (config blob,
// scan results, signature verification, base-image lineage) and enforcing
// the decision happen in api/.
//
// Every rule whose repository patterns match applies (not only the first).
// A rule combines requirements; it passes when every one of them passes.
//
//   enforce  a failing rule denies the pull (and, for onPush rules, the push)
//   warn     the failure is recorded, the content is served
//   off      the rule is not evaluated
//
// Quarantine: while the scan an enforce rule needs (vulnerabilities, scan)
// has not finished, the rule is pending and the image is refused with
// "quarantined: scanning" — unless the rule sets quarantine: false.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::policy {

enum class Mode { enforce, warn, off };
std::string_view mode_name(Mode m);

// Severity ranks, lowest first: negligible 0 … critical 4. "unknown" (and
// anything unrecognised) is -1; how such findings count is the
// requirement's unknown_severity. "none" (CVSS 0.0) never counts.
int severity_rank(std::string_view severity);           // -1 for unknown / unrecognised
std::optional<int> parse_severity(std::string_view s);  // only the five named levels
std::string_view severity_name(int rank);

struct VulnerabilityException {
  std::string id;  // CVE / GHSA / … id; matches a finding's id or any alias
  std::string reason;
  std::string owner;
  int64_t expires_at = 0;  // unix seconds: stops counting at this instant
};

struct VulnerabilityRequirement {
  std::optional<int> severity_threshold;  // findings at or above this rank fail
  std::optional<double> cvss_threshold;   // findings with a CVSS score at or above fail
  bool fixable_only = false;              // only findings with a known fixed version count
  // The rank a finding of unknown severity counts as against
  // severity_threshold (advisory data without severities, such as Debian's
  // changelog-derived data); nullopt: such findings never reach it. Default:
  // critical, so unknown severities fail closed.
  std::optional<int> unknown_severity = 4;
  std::vector<VulnerabilityException> exceptions;
};

struct SignatureRequirement {
  std::vector<std::string> keys;  // trusted key ids; empty: any key valid for the repository
  int threshold = 1;              // distinct valid signatures
};

struct BaseImageRequirement {
  std::vector<std::string> allowed;  // approved base names; empty: any approved base
};

struct KeyPattern {
  std::string key;
  std::string pattern;  // glob (base/glob.h): '*' any run of characters
};

struct Rule {
  std::string name;
  std::string file;  // where it was defined, for messages
  int line = 0;
  std::vector<std::string> repositories;  // globs
  Mode mode = Mode::enforce;
  bool on_push = false;    // labels/annotations/baseImages/maxAge also refuse the PUT
  bool quarantine = true;  // refuse pulls while the scan this rule needs is running
  std::optional<VulnerabilityRequirement> vulnerabilities;
  std::optional<SignatureRequirement> signatures;
  std::optional<BaseImageRequirement> base_images;
  std::optional<std::vector<KeyPattern>> labels;       // image config labels
  std::optional<std::vector<KeyPattern>> annotations;  // manifest annotations
  std::optional<int> max_age_days;
  bool scan_required = false;

  bool applies_to(std::string_view repository) const;
};

struct Policy {
  std::vector<Rule> rules;  // file name order, then order within the file
  std::vector<const Rule*> rules_for(std::string_view repository) const;  // mode != off
};

// ---- facts ------------------------------------------------------------------

struct FindingFact {
  std::string id;
  std::vector<std::string> aliases;
  std::string package;  // name@version, for reasons
  std::string fixed_version;
  std::string severity;  // scanner severity name
  double cvss = -1;      // -1: unknown
};

enum class ScanState { missing, pending, failed, done };

struct ScanFacts {
  ScanState state = ScanState::missing;
  std::string error;         // failed: why
  std::string data_version;  // advisory data the findings were matched against
  std::vector<FindingFact> findings;
};

// Which approved base an image was built on (policy/lineage.h).
struct Lineage {
  bool known = false;
  std::string base;         // approved base name
  std::string reference;    // its repository:tag
  std::string base_digest;  // the (possibly historic) digest whose layers are the prefix
  bool current = false;     // base_digest is what the tag points at now
  bool via_annotation = false;
  std::string message;  // always set: "built on …" or "unknown base …"
};

struct SignatureOutcome {
  bool satisfied = false;
  std::string message;
};

struct Facts {
  std::string repository;
  std::string digest;
  bool is_index = false;      // config-derived requirements are checked on the platform images
  bool config_known = false;  // labels/created/diff_ids read from the image config
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::optional<int64_t> created;  // unix seconds
  ScanFacts scan;
  Lineage lineage;
  // Verifies the image's signatures under a requirement; called only for
  // rules that have one. Unset: signatures count as missing.
  std::function<SignatureOutcome(const SignatureRequirement&)> verify_signatures;
  int64_t now = 0;  // unix seconds
};

// ---- decisions --------------------------------------------------------------

enum class Phase { pull, push };

struct Check {
  std::string requirement;  // "vulnerabilities", "signatures", "baseImages", "labels",
                            // "annotations", "maxAge", "scan"
  bool passed = false;
  bool pending = false;  // waiting for the scan (quarantine)
  std::string reason;
};

struct RuleOutcome {
  std::string rule;
  Mode mode = Mode::enforce;
  bool passed = true;
  bool pending = false;
  std::vector<Check> checks;
  std::string reason;  // the failing checks' reasons, "; "-joined ("" when passed)
};

struct Decision {
  bool allowed = true;
  bool quarantined = false;        // refused only because an enforce rule waits for the scan
  std::vector<RuleOutcome> rules;  // every applicable rule, in policy order
  std::string message;             // client-safe reason when refused, or the warnings
  // The decision may change by the clock alone at this time (an exception
  // expires, the image becomes too old); 0 = never.
  int64_t valid_until = 0;
};

// pull: every applicable rule. push: only onPush rules, and only their
// labels/annotations/baseImages/maxAge requirements.
Decision evaluate(const Policy& policy, const Facts& facts, Phase phase);

// A decision as the one-line text used in audit details and CLI output.
std::string summarize(const Decision& d);

}  // namespace portcullis::policy
