// Version orderings of each ecosystem, exactly as its own tools order them.
// Each compare returns <0, 0 or >0. Invalid input never crashes: it is
// ordered deterministically (and `valid_*` says whether it parsed).
#pragma once

#include <string_view>

namespace portcullis::scanner::versions {

// dpkg / apt: [epoch:]upstream[-revision], '~' sorts before everything.
int dpkg_compare(std::string_view a, std::string_view b);
bool dpkg_valid(std::string_view v);

// apk-tools (Alpine): digits, letters, _alpha/_beta/_pre/_rc/_p…, -rN.
int apk_compare(std::string_view a, std::string_view b);
bool apk_valid(std::string_view v);

// rpm: [epoch:]version[-release], rpmvercmp from librpm for each part.
int rpm_compare(std::string_view a, std::string_view b);

// SemVer 2.0.0 (npm, Go modules; a leading 'v' is accepted): precedence,
// build metadata ignored.
int semver_compare(std::string_view a, std::string_view b);
bool semver_valid(std::string_view v);

// PEP 440 (PyPI): epochs, pre/post/dev releases, local versions, normalisation.
int pep440_compare(std::string_view a, std::string_view b);
bool pep440_valid(std::string_view v);

// Maven ComparableVersion ordering.
int maven_compare(std::string_view a, std::string_view b);

// The ordering for an OSV ecosystem name ("Debian:12", "Alpine:v3.20", "npm",
// "PyPI", "Go", "Maven", "Red Hat", "Rocky Linux", "AlmaLinux", …): the part
// before ':' selects the ordering. Unknown ecosystems fall back to semver,
// then to a plain string comparison.
int compare_for_ecosystem(std::string_view ecosystem, std::string_view a, std::string_view b);

}  // namespace portcullis::scanner::versions
