// Severity of a finding: CVSS base scores computed from vector strings (the
// FIRST specifications' formulas), and the rating words of the databases.
// Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scanner/advisories/record.h"

namespace portcullis::scanner::advisories {

// CVSS v3.0 / v3.1 base score of "CVSS:3.x/AV:…/AC:…/PR:…/UI:…/S:…/C:…/I:…/A:…"
// (temporal and environmental metrics may follow; they do not change the
// base score). nullopt when the prefix is not CVSS:3.0/3.1, a base metric is
// missing or has an undefined value, or any metric is repeated or unknown.
// Both versions round up as v3.1 specifies (v3.0's definition of Roundup,
// without v3.0 implementations' floating-point slips).
std::optional<double> cvss3_base_score(std::string_view vector);

// CVSS v2 base score of "AV:N/AC:L/Au:N/C:P/I:P/A:P" (optionally in
// parentheses or after "CVSS:2.0/"; temporal/environmental metrics allowed).
std::optional<double> cvss2_base_score(std::string_view vector);

// A database's rating word as a severity: "critical", "high", "medium",
// "low", "negligible" or "unknown". Case and a trailing "**" (the Debian
// tracker's NVD-derived mark) are ignored; "moderate"/"important" and
// "unimportant" are understood.
std::string severity_from_rating(std::string_view rating);

struct Assessment {
  std::string severity = "unknown";  // as Finding::severity
  std::string cvss_vector;           // "" when the data has none
  double cvss_score = -1;            // -1 when not computable
};

// The severity of a finding from the severity entries that apply (a
// package's own first, then the advisory's) and the source's rating: the
// first CVSS v3 vector that scores, else a CVSS v2 one; a CVSS v4 vector is
// reported but not scored. Without a score the rating decides (an entry of
// another type, e.g. "Ubuntu", counts as a rating).
Assessment assess_severity(const std::vector<const std::vector<SeverityScore>*>& entries,
                           std::string_view rating);

}  // namespace portcullis::scanner::advisories
