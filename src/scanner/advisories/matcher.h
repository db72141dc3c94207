// Matching an inventory against advisories. Pure logic over an immutable
// in-memory index: (ecosystem, package) -> affected entries.
//
// Which entries a package is checked against (query_for):
//   deb, distro debian  -> "Debian:<VERSION_ID>" by SOURCE name and source
//                          version (each defaults to the binary's), plus
//                          "Debian" entries of advisories that have no
//                          "Debian:<n>" entry for that package; when nothing
//                          at all is listed under the source name, the binary
//                          name and version are looked up instead (debsecan)
//   deb, distro ubuntu  -> "Ubuntu:<VERSION_ID>:LTS", "Ubuntu:<VERSION_ID>", by source
//   apk, distro alpine  -> "Alpine:v<major.minor>" by origin (source_name), then name
//   rpm                 -> "Rocky Linux:<major>", "AlmaLinux:<major>", "Mageia:<v>",
//                          "Photon OS:<v>" by source rpm name, then name
//   npm -> "npm", pypi -> "PyPI" (PEP 503 names), golang -> "Go",
//   maven -> "Maven" ("group:artifact")
// Anything else (an rpm of an unsupported distribution, a deb without a
// distro) is not matched.
//
// When an entry matches (OSV "IsVulnerable"): the version is in `versions`
// (exact string) OR inside a range. SEMVER ranges order by SemVer 2.0.0,
// ECOSYSTEM ranges by the ecosystem's order (versions/versions.h). Events
// are sorted by version (introduced "0" first, ties keep their order);
// introduced <= v turns affected on, fixed <= v turns it off,
// last_affected < v turns it off; with limit events, v must be below one of
// them ('*' = infinity). Withdrawn advisories never match; entries with
// status kStatusNotAffected never match.
//
// Each finding is one (package, advisory id as displayed) pair: several
// records of one id (two sources, or "DEBIAN-CVE-X" and "CVE-X") merge. Its
// fixed version is the lowest `fixed` event above the installed version
// among the entries that matched ("" if none); severity per
// severity.h:assess_severity from the matched entry's then the advisory's
// severity entries and rating.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scanner/advisories/record.h"
#include "scanner/advisories/severity.h"
#include "scanner/advisories/store.h"
#include "scanner/model.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::advisories {

struct PackageQuery {
  std::vector<std::string> ecosystems;  // release-specific, e.g. {"Debian:12"}
  std::string any_release;              // e.g. "Debian"; "" for none
  std::string name;                     // looked-up name (source name, PEP 503 name, …)
  std::string version;
  std::string fallback_name;  // looked up when nothing is listed under name
  std::string fallback_version;
};

std::optional<PackageQuery> query_for(const Package& package, const std::optional<Distro>& distro);

class MatchIndex {
 public:
  // Takes the stored data apart into the index.
  static std::shared_ptr<const MatchIndex> build(StoredData data);

  std::vector<Finding> match(const Inventory& inventory) const;

  uint64_t generation() const { return generation_; }
  std::size_t entry_count() const { return entry_count_; }

 private:
  // Positions on one bucket's order: every version its events name gets an
  // even position 2·rank (equal versions share it); a version between two
  // of them gets the odd position in between. A query then costs one
  // binary search of real comparisons per order, and events compare as
  // integers.
  static constexpr uint32_t kBeforeAll = 0;          // introduced "0"
  static constexpr uint32_t kAfterAll = UINT32_MAX;  // a limit containing '*'
  struct CompiledEvent {
    EventKind kind = EventKind::introduced;
    uint32_t position = 0;
    std::string version;
  };
  struct CompiledRange {
    uint32_t order = 0;                 // index into the bucket's orders
    std::vector<CompiledEvent> events;  // sorted by position; no limit events
    std::vector<uint32_t> limits;       // positions
  };
  struct Order {
    versions::Scheme scheme{};        // SEMVER ranges: SemVer; ECOSYSTEM: the ecosystem's
    std::vector<std::string> sorted;  // distinct strings, in version order
    std::vector<uint32_t> rank;       // per sorted string, from 1; equal versions share one
    uint32_t position_of(std::string_view version) const;
  };
  struct Entry {
    uint32_t advisory = 0;  // index into advisories_
    std::vector<CompiledRange> ranges;
    std::vector<std::string> versions;  // sorted, for binary search
    std::string rating;                 // the entry's, else the advisory's
    Assessment severity;                // computed once, at build
    bool not_affected = false;
    // Of an entry for every release ("Debian"): the releases that have an
    // entry of their own for the same advisory and package ("Debian:12").
    std::vector<std::string> own_releases;
  };
  struct Bucket {
    std::vector<Order> orders;
    std::vector<Entry> entries;
  };
  struct AdvisoryInfo {
    std::string id;                    // as displayed
    std::vector<std::string> aliases;  // the published id too, when it differs
    std::string summary;
    std::string rating;
    std::string source;
    std::vector<SeverityScore> severity;
  };
  // The installed version's position on each of a bucket's orders.
  using Positions = std::vector<uint32_t>;
  static bool affects(const Entry& e, std::string_view version, const Positions& at);
  const Bucket* find(const std::string& ecosystem, const std::string& name) const;
  // Appends the package's findings; true when entries were listed under the
  // query's own name (its findings then depend on name and version only).
  bool match_package(std::size_t index, const PackageQuery& query, std::vector<Finding>& out) const;

  uint64_t generation_ = 0;
  std::size_t entry_count_ = 0;
  std::vector<AdvisoryInfo> advisories_;
  std::unordered_map<std::string, Bucket> buckets_;  // key: ecosystem + '\n' + package
};

}  // namespace portcullis::scanner::advisories
