// The advisory model that every importer produces, the store keeps and the
// matcher indexes: the OSV schema reduced to what matching and reporting use.
// Plain data, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::scanner::advisories {

enum class EventKind : uint8_t { introduced, fixed, last_affected, limit };

// "introduced", "fixed", "last_affected", "limit".
std::string_view event_kind_name(EventKind kind);
std::optional<EventKind> parse_event_kind(std::string_view name);

struct Event {
  EventKind kind = EventKind::introduced;
  std::string
      version;  // introduced "0" sorts before everything; a limit containing '*' is infinity
};

// A range that orders versions: type "SEMVER" (SemVer 2.0.0 precedence) or
// "ECOSYSTEM" (the ecosystem's own order). GIT ranges need the repository's
// commit graph; importers drop them.
struct Range {
  std::string type;
  std::vector<Event> events;  // as written; the matcher sorts them
};

// One OSV `severity` entry: type "CVSS_V3", "CVSS_V2", "CVSS_V4", or a
// database's own (e.g. "Ubuntu") whose score is a rating word.
struct SeverityScore {
  std::string type;
  std::string score;
};

// Status of an affected entry that says the package is known NOT to be
// affected (Debian tracker `fixed_version "0"`): it never matches, but it
// keeps a release-independent entry of the same advisory from applying.
inline constexpr std::string_view kStatusNotAffected = "not-affected";

struct Affected {
  // The OSV ecosystem ("Debian:12", "Alpine:v3.20", "npm", "PyPI", …). A
  // distribution name without a release ("Debian") applies to every release
  // of it that has no entry of its own for the same advisory and package.
  std::string ecosystem;
  std::string package;
  std::vector<Range> ranges;
  std::vector<std::string> versions;    // affected versions, ORed with the ranges
  std::vector<SeverityScore> severity;  // per-package severity (OSV affected[].severity)
  std::string status;  // the source's status ("resolved", "open", …) or kStatusNotAffected
  std::string rating;  // the source's rating for this package (Debian urgency, …)
};

struct Advisory {
  std::string id;        // as published: "GHSA-…", "PYSEC-…", "DEBIAN-CVE-…", "CVE-…"
  std::string modified;  // ISO 8601 as written, "" if absent
  std::string published;
  std::string withdrawn;             // non-empty: withdrawn, never matched
  std::vector<std::string> aliases;  // OSV aliases, then upstream; no duplicates
  std::string summary;
  std::vector<SeverityScore> severity;
  std::string rating;  // the database's own rating (OSV database_specific.severity), "" if none
  std::vector<Affected> affected;
};

}  // namespace portcullis::scanner::advisories
