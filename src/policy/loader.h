// Loading and validating policy files (YAML). Pure: the caller reads the
// files (server: the policy directory; API: an uploaded version).
//
// Every problem is reported, each as "file:line: field: message", e.g.
//   prod.yaml:12: rules[1].vulnerabilities.severityThreshold: must be one of
//   negligible, low, medium, high, critical (got "hihg")
// A policy with any problem is rejected as a whole, so a bad version never
// replaces a good one. The format is documented in docs/policy.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace portcullis::policy {

struct PolicyFile {
  std::string name;     // file name (no directory), for messages and ordering
  std::string content;  // YAML text
};

struct LoadResult {
  std::optional<Policy> policy;     // set when errors is empty
  std::vector<std::string> errors;  // "file:line: field: message"
};

// Files are taken in name order; rule names must be unique across them.
LoadResult load_policy(std::vector<PolicyFile> files);

// "YYYY-MM-DD" (valid through the end of that UTC day) or RFC 3339
// "YYYY-MM-DDTHH:MM:SSZ" / with a numeric offset. nullopt when malformed.
std::optional<int64_t> parse_expiry(const std::string& text);

}  // namespace portcullis::policy
