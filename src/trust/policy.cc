#include "trust/policy.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "base/glob.h"

namespace portcullis::trust {

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::enforce: return "enforce";
    case Mode::warn: return "warn";
    case Mode::off: return "off";
  }
  return "off";
}

std::optional<Mode> parse_mode(std::string_view s) {
  if (s == "enforce") return Mode::enforce;
  if (s == "warn") return Mode::warn;
  if (s == "off") return Mode::off;
  return std::nullopt;
}

namespace {
bool matches_any(const std::vector<std::string>& patterns, std::string_view repository) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return glob_match(p, repository); });
}
}  // namespace

Result<TrustConfig> TrustConfig::create(std::vector<KeyEntry> keys, std::vector<Rule> rules) {
  std::set<std::string, std::less<>> key_ids, rule_names;
  for (const auto& k : keys) {
    if (!key_ids.insert(k.id).second) return make_error(Errc::denied, "duplicate key id " + k.id);
  }
  for (const auto& r : rules) {
    if (!rule_names.insert(r.name).second) {
      return make_error(Errc::denied, "duplicate trust policy " + r.name);
    }
    if (r.threshold < 1) return make_error(Errc::denied, "trust policy " + r.name + ": threshold must be at least 1");

  }
  TrustConfig c;
  c.keys_ = std::move(keys);
  c.rules_ = std::move(rules);
  return c;
}

const Rule* TrustConfig::rule_for(std::string_view repository) const {
  for (const auto& r : rules_) {
    if (matches_any(r.repositories, repository)) return r.mode == Mode::off ? nullptr : &r;
  }
  return nullptr;
}

std::vector<TrustedKey> TrustConfig::keys_for(const Rule& rule, std::string_view repository,
                                              int64_t now) const {
  std::vector<TrustedKey> out;
  for (const auto& k : keys_) {
    if (k.expires_at != 0 && now >= k.expires_at) continue;
    if (!matches_any(k.repositories, repository)) continue;
    if (!rule.key_ids.empty() &&
        std::find(rule.key_ids.begin(), rule.key_ids.end(), k.id) == rule.key_ids.end()) {
      continue;
    }
    out.push_back(TrustedKey{k.id, k.key});
  }
  return out;
}

Decision decide(const Rule& rule, const VerificationResult& result, bool signatures_present) {
  Decision d;
  d.rule = rule.name;
  d.mode = rule.mode;
  d.required = rule.threshold;
  d.found = static_cast<int>(result.distinct_keys());
  for (const auto& v : result.valid) d.signers.push_back(v.key_id);
  d.satisfied = d.found >= d.required;
  d.allowed = d.satisfied || rule.mode != Mode::enforce;
  if (d.satisfied) {
    d.message = fmt::format("signature policy '{}': {} of {} required signatures valid ({})",
                            rule.name, d.found, d.required, fmt::join(d.signers, ", "));
  } else if (!signatures_present) {
    d.message = fmt::format("signature policy '{}' requires {} valid signature(s) from trusted "
                            "keys; the image is not signed",
                            rule.name, d.required);
  } else {
    // The most telling reasons first: a signature by a trusted key that still
    // does not count (wrong image, wrong repository) says more than the
    // signatures of keys this rule does not trust.
    std::vector<std::string> problems = result.problems;
    std::stable_partition(problems.begin(), problems.end(), [](const std::string& p) {
      return p.find("does not verify") == std::string::npos;
    });
    std::string why;
    for (std::size_t i = 0; i < problems.size() && i < 3; ++i) {
      why += (i ? "; " : "") + problems[i];
    }
    d.message = fmt::format("signature policy '{}' requires {} valid signature(s) from trusted "
                            "keys; found {}{}{}",
                            rule.name, d.required, d.found, why.empty() ? "" : ": ", why);
  }
  return d;
}

}  // namespace portcullis::trust
