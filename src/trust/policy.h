// Trust policy: which keys are trusted for which repositories, and how many
// distinct valid signatures an image in a repository needs before it may be
// pulled. Pure: an immutable snapshot built from the store's records, and a
// decision function over a verification result.
//
// Keys: id, owner, public key, repository patterns (glob, base/glob.h
// semantics: '*' spans '/'), optional expiry. A key vouches for a repository
// only when one of its patterns matches and it has not expired.
//
// Rules: name, repository patterns, key ids (empty: every key valid for the
// repository), threshold k, mode. The first rule (in creation order) whose
// pattern matches a repository applies; no matching rule, or mode `off`,
// means no signature requirement.
//
//   enforce  pulls of images without k distinct valid signatures are refused
//   warn     they are served, and the failed decision is recorded
//   off      the rule exists but is not evaluated
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "trust/cosign.h"
#include "trust/keys.h"

namespace portcullis::trust {

enum class Mode { enforce, warn, off };
std::string_view mode_name(Mode m);
std::optional<Mode> parse_mode(std::string_view s);

struct KeyEntry {
  std::string id;
  std::string owner;
  PublicKey key;
  std::vector<std::string> repositories;
  int64_t expires_at = 0;  // unix seconds; 0 = never
};

struct Rule {
  std::string name;
  std::vector<std::string> repositories;
  std::vector<std::string> key_ids;  // empty: any key valid for the repository
  int threshold = 1;
  Mode mode = Mode::enforce;
};

class TrustConfig {
 public:
  TrustConfig() = default;  // nothing configured: no requirement anywhere
  // Errc::denied for a threshold below 1 and duplicate key ids or rule names.
  // A rule naming keys that do not exist, or more signatures than it can
  // ever count, is kept: it simply cannot be satisfied (callers validate
  // changes before storing them; see auth::load_trust_config).
  static Result<TrustConfig> create(std::vector<KeyEntry> keys, std::vector<Rule> rules);

  // The rule for a repository (first match), nullptr when none applies or it is `off`.
  const Rule* rule_for(std::string_view repository) const;
  // The keys that count for `repository` under `rule` at `now` (unix seconds).
  std::vector<TrustedKey> keys_for(const Rule& rule, std::string_view repository,
                                   int64_t now) const;
  bool empty() const { return rules_.empty(); }
  const std::vector<KeyEntry>& keys() const { return keys_; }
  const std::vector<Rule>& rules() const { return rules_; }

 private:
  std::vector<KeyEntry> keys_;
  std::vector<Rule> rules_;
};

struct Decision {
  bool satisfied = true;  // k distinct valid signatures (or no rule)
  bool allowed = true;    // satisfied, or the rule only warns
  std::string rule;       // the rule that applied; "" for none
  Mode mode = Mode::off;
  int found = 0;
  int required = 0;
  std::vector<std::string> signers;  // key ids of the valid signatures
  std::string message;               // why (client-safe), always set when a rule applied
};

// The decision of `rule` given what verification found (`signatures_present`:
// whether a signature manifest existed at all).
Decision decide(const Rule& rule, const VerificationResult& result, bool signatures_present);

}  // namespace portcullis::trust
