#include "policy/policy.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <set>

#include <fmt/format.h>

#include "base/glob.h"

namespace portcullis::policy {

namespace {

constexpr std::array<std::string_view, 5> kSeverities = {"negligible", "low", "medium", "high",
                                                         "critical"};
constexpr int64_t kDay = 86400;

void lower_bound_until(int64_t& until, int64_t t) {
  if (t > 0 && (until == 0 || t < until)) until = t;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string format_date(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const VulnerabilityException* exception_for(const VulnerabilityRequirement& req,
                                            const FindingFact& f) {
  for (const auto& e : req.exceptions) {
    if (e.id == f.id) return &e;
    for (const auto& a : f.aliases) {
      if (e.id == a) return &e;
    }
  }
  return nullptr;
}

Check check_scan_state(const std::string& requirement, const Rule& rule, const ScanFacts& scan,
                       bool* done) {
  Check c{requirement, false, false, ""};
  *done = false;
  switch (scan.state) {
    case ScanState::done:
      *done = true;
      c.passed = true;
      return c;
    case ScanState::pending:
      if (rule.quarantine) {
        c.pending = true;
        c.reason = "quarantined: scanning";
      } else if (requirement == "scan") {
        c.reason = "not scanned yet";
      } else {
        // quarantine: false — served until the verdict arrives.
        c.passed = true;
        c.reason = "scan not finished yet (quarantine off)";
      }
      return c;
    case ScanState::failed:
      c.reason = "scan failed: " + scan.error;
      return c;
    case ScanState::missing:
      c.reason = "image has not been scanned";
      return c;
  }
  return c;
}

Check check_vulnerabilities(const Rule& rule, const VulnerabilityRequirement& req,
                            const Facts& facts, int64_t& until) {
  bool done = false;
  Check c = check_scan_state("vulnerabilities", rule, facts.scan, &done);
  if (!done) return c;
  std::vector<std::string> failing;
  std::set<std::string> packages;
  std::size_t excepted = 0;
  for (const auto& f : facts.scan.findings) {
    if (req.fixable_only && f.fixed_version.empty()) continue;
    bool over = false;
    int rank = severity_rank(f.severity);
    bool unknown = rank < 0 && f.severity != "none";
    if (unknown) rank = req.unknown_severity.value_or(-1);
    if (req.severity_threshold && rank >= 0 && rank >= *req.severity_threshold) over = true;
    if (req.cvss_threshold && f.cvss >= 0 && f.cvss >= *req.cvss_threshold) over = true;
    if (!over) continue;
    if (const auto* e = exception_for(req, f)) {
      if (e->expires_at > facts.now) {
        ++excepted;
        lower_bound_until(until, e->expires_at);
        continue;
      }
    }
    packages.insert(f.package.substr(0, f.package.find('@')));
    std::string item = fmt::format("{} ({}", f.id, f.severity);
    if (unknown && req.unknown_severity) item += ", counted as " + std::string(severity_name(rank));
    if (f.cvss >= 0) item += fmt::format(", CVSS {:.1f}", f.cvss);
    item += fmt::format(") in {}", f.package);
    if (!f.fixed_version.empty()) item += " fixed in " + f.fixed_version;
    failing.push_back(std::move(item));
  }
  std::string threshold;
  if (req.severity_threshold)
    threshold = "severity " + std::string(severity_name(*req.severity_threshold));
  if (req.cvss_threshold) {
    if (!threshold.empty()) threshold += " or ";
    threshold += fmt::format("CVSS {:.1f}", *req.cvss_threshold);
  }
  if (failing.empty()) {
    c.passed = true;
    c.reason =
        fmt::format("no {}finding at or above {}", req.fixable_only ? "fixable " : "", threshold);
    if (excepted) c.reason += fmt::format(" ({} covered by exceptions)", excepted);
    return c;
  }
  c.passed = false;
  std::sort(failing.begin(), failing.end());
  failing.erase(std::unique(failing.begin(), failing.end()), failing.end());
  std::size_t total = failing.size();
  constexpr std::size_t kShown = 5;
  if (failing.size() > kShown) failing.resize(kShown);
  std::vector<std::string> names(packages.begin(), packages.end());
  c.reason = fmt::format("{} {}finding(s) at or above {} in {}: {}{}", total,
                         req.fixable_only ? "fixable " : "", threshold, join(names, ", "),
                         join(failing, ", "),
                         total > kShown ? fmt::format(", and {} more", total - kShown) : "");
  return c;
}

Check check_patterns(const char* requirement, const char* what,
                     const std::vector<KeyPattern>& wanted,
                     const std::map<std::string, std::string>& have) {
  Check c{requirement, true, false, ""};
  std::vector<std::string> problems;
  for (const auto& kp : wanted) {
    auto it = have.find(kp.key);
    if (it == have.end()) {
      problems.push_back(fmt::format("{} {} is missing", what, kp.key));
    } else if (!glob_match(kp.pattern, it->second)) {
      problems.push_back(
          fmt::format("{} {}=\"{}\" does not match \"{}\"", what, kp.key, it->second, kp.pattern));
    }
  }
  if (!problems.empty()) {
    c.passed = false;
    c.reason = join(problems, ", ");
  } else {
    c.reason = fmt::format("required {}s present", what);
  }
  return c;
}

Check check_max_age(int days, const Facts& facts, int64_t& until) {
  Check c{"maxAge", false, false, ""};
  if (!facts.created) {
    c.reason = "image config has no created time";
    return c;
  }
  int64_t limit = *facts.created + int64_t{days} * kDay;
  if (facts.now >= limit) {
    c.reason =
        fmt::format("created {} is more than {} days ago", format_date(*facts.created), days);
    return c;
  }
  lower_bound_until(until, limit);
  c.passed = true;
  c.reason = fmt::format("created {} (within {} days)", format_date(*facts.created), days);
  return c;
}

Check check_base(const BaseImageRequirement& req, const Lineage& lineage) {
  Check c{"baseImages", false, false, lineage.message};
  if (!lineage.known) return c;
  if (!req.allowed.empty() &&
      std::find(req.allowed.begin(), req.allowed.end(), lineage.base) == req.allowed.end()) {
    c.reason = fmt::format("{}, which this rule does not allow (allowed: {})", lineage.message,
                           join(req.allowed, ", "));
    return c;
  }
  c.passed = true;
  return c;
}

}  // namespace

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::enforce:
      return "enforce";
    case Mode::warn:
      return "warn";
    case Mode::off:
      return "off";
  }
  return "off";
}

int severity_rank(std::string_view severity) {
  for (std::size_t i = 0; i < kSeverities.size(); ++i) {
    if (kSeverities[i] == severity) return static_cast<int>(i);
  }
  return -1;
}

std::optional<int> parse_severity(std::string_view s) {
  int r = severity_rank(s);
  if (r < 0) return std::nullopt;
  return r;
}

std::string_view severity_name(int rank) {
  if (rank < 0 || rank >= static_cast<int>(kSeverities.size())) return "unknown";
  return kSeverities[static_cast<std::size_t>(rank)];
}

bool Rule::applies_to(std::string_view repository) const {
  for (const auto& p : repositories) {
    if (glob_match(p, repository)) return true;
  }
  return false;
}

std::vector<const Rule*> Policy::rules_for(std::string_view repository) const {
  std::vector<const Rule*> out;
  for (const auto& r : rules) {
    if (r.mode != Mode::off && r.applies_to(repository)) out.push_back(&r);
  }
  return out;
}

Decision evaluate(const Policy& policy, const Facts& facts, Phase phase) {
  Decision d;
  std::vector<std::string> denials, pending, warnings;
  for (const Rule* rule : policy.rules_for(facts.repository)) {
    if (phase == Phase::push && !rule->on_push) continue;
    RuleOutcome out;
    out.rule = rule->name;
    out.mode = rule->mode;
    bool config_checks = !facts.is_index;  // platform images carry the config
    if (phase == Phase::pull) {
      if (rule->scan_required) {
        bool done = false;
        Check c = check_scan_state("scan", *rule, facts.scan, &done);
        if (done) c.reason = "scanned against advisory data " + facts.scan.data_version;
        out.checks.push_back(std::move(c));
      }
      if (rule->vulnerabilities) {
        out.checks.push_back(
            check_vulnerabilities(*rule, *rule->vulnerabilities, facts, d.valid_until));
      }
      if (rule->signatures) {
        Check c{"signatures", false, false, "signatures cannot be verified"};
        if (facts.verify_signatures) {
          auto s = facts.verify_signatures(*rule->signatures);
          c.passed = s.satisfied;
          c.reason = s.message;
        }
        out.checks.push_back(std::move(c));
      }
    }
    if (config_checks) {
      if (rule->labels) {
        Check c = facts.config_known
                      ? check_patterns("labels", "label", *rule->labels, facts.labels)
                      : Check{"labels", false, false, "image config unreadable"};
        out.checks.push_back(std::move(c));
      }
      if (rule->base_images) out.checks.push_back(check_base(*rule->base_images, facts.lineage));
      if (rule->max_age_days) {
        out.checks.push_back(check_max_age(*rule->max_age_days, facts, d.valid_until));
      }
    }
    if (rule->annotations) {
      out.checks.push_back(
          check_patterns("annotations", "annotation", *rule->annotations, facts.annotations));
    }
    std::vector<std::string> failed;
    for (const auto& c : out.checks) {
      if (c.pending) {
        out.pending = true;
        out.passed = false;
      } else if (!c.passed) {
        out.passed = false;
        failed.push_back(fmt::format("{}: {}", c.requirement, c.reason));
      }
    }
    if (out.pending) {
      out.reason = "quarantined: scanning";
      if (!failed.empty()) out.reason += "; so far " + join(failed, "; ");
    } else if (!failed.empty()) {
      out.reason = join(failed, "; ");
    }
    if (!out.passed) {
      std::string line = fmt::format("policy rule '{}': {}", out.rule, out.reason);
      if (rule->mode == Mode::enforce) {
        (out.pending ? pending : denials).push_back(std::move(line));
      } else {
        warnings.push_back(std::move(line));
      }
    }
    d.rules.push_back(std::move(out));
  }
  // Until every verdict is in, the answer is "quarantined", whatever is
  // already known to fail: the decision is not final yet.
  if (!pending.empty()) {
    d.allowed = false;
    d.quarantined = true;
    d.message = "quarantined: scanning (" + join(pending, "; ") + ")";
  } else if (!denials.empty()) {
    d.allowed = false;
    d.message = join(denials, "; ");
  } else if (!warnings.empty()) {
    d.message = "warn: " + join(warnings, "; ");
  }
  return d;
}

std::string summarize(const Decision& d) {
  std::string out = d.allowed ? "allowed" : (d.quarantined ? "quarantined" : "denied");
  for (const auto& r : d.rules) {
    out +=
        fmt::format("; {} [{}]: {}", r.rule, mode_name(r.mode),
                    r.passed ? std::string("pass") : (r.pending ? "pending" : "fail: " + r.reason));
  }
  return out;
}

}  // namespace portcullis::policy
