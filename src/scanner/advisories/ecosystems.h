// Names: OSV ecosystems of distributions, package-name normalisation, and the
// advisory id a finding shows. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portcullis::scanner::advisories {

// PEP 503: lower case, runs of '-', '_', '.' become one '-'.
std::string pep503_normalize(std::string_view name);

// Debian release number of a code name: "bookworm" -> "12". nullopt for
// names it does not know (and for "sid", which has no number).
std::optional<std::string> debian_release_number(std::string_view codename);

// "Alpine:v3.20" for VERSION_ID "3.20.3" (or "3.20", "v3.20"); nullopt when
// it has no major.minor.
std::optional<std::string> alpine_ecosystem(std::string_view version_id);

// The id a finding shows. Distribution copies of a CVE ("DEBIAN-CVE-…",
// "ALPINE-CVE-…", "UBUNTU-CVE-…") show the CVE id, as Debian's own tools and
// the expected files do; every other id is shown as published.
std::string display_id(std::string_view id);

}  // namespace portcullis::scanner::advisories
