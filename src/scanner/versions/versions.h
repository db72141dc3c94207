// Version orderings of each ecosystem, exactly as its own tools order them.
// Each compare returns <0, 0 or >0. Invalid input never crashes: it is
// ordered deterministically (and `valid_*` says whether it parsed).
//
// Every function here is pure: no I/O, no global state, safe to call from any
// thread. Numbers of any length compare by value (no overflow).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portcullis::scanner::versions {

// dpkg / apt: [epoch:]upstream[-revision], '~' sorts before everything.
// Ordering is dpkg's verrevcmp on upstream and revision, after the epoch.
// Surrounding whitespace is ignored. Invalid input is split leniently: an
// epoch only when everything before the first ':' is digits, the revision
// after the last '-'.
int dpkg_compare(std::string_view a, std::string_view b);
// What `dpkg --validate-version` accepts (its warnings count as invalid).
bool dpkg_valid(std::string_view v);

// apk-tools (Alpine): digits, letters, _alpha/_beta/_pre/_rc/_p…, ~hash, -rN.
// As apk-tools' src/version.c: two versions are compared token by token up
// to the first invalid token, so invalid versions compare as apk itself does.
int apk_compare(std::string_view a, std::string_view b);
bool apk_valid(std::string_view v);

// rpm: [epoch:]version[-release], rpmvercmp from librpm for each part. A
// missing epoch is 0; a missing release sorts before any release (rpm itself
// ignores the release when one side has none, which is not an ordering).
int rpm_compare(std::string_view a, std::string_view b);

// SemVer 2.0.0 (npm, Go modules; a leading 'v' or 'V' is accepted): precedence,
// build metadata ignored.
// Invalid input: numeric dot-separated releases of any length (missing parts
// are 0, "1.2" = "1.2.0") with an optional "-prerelease" and "+build" still
// compare by value; anything else sorts after all of them, by bytes.
int semver_compare(std::string_view a, std::string_view b);
bool semver_valid(std::string_view v);

// PEP 440 (PyPI): epochs, pre/post/dev releases, local versions, normalisation.
// Ordering as the `packaging` library's Version. Invalid versions sort before
// every valid one, by bytes among themselves.
int pep440_compare(std::string_view a, std::string_view b);
bool pep440_valid(std::string_view v);
// The normalised form ("1.0-1" -> "1.0.post1", "V1.0RC1" -> "1.0rc1"), or
// nullopt when v is not a PEP 440 version.
std::optional<std::string> pep440_normalize(std::string_view v);

// Maven ComparableVersion ordering (maven-artifact 3.8). Every string is a
// Maven version.
int maven_compare(std::string_view a, std::string_view b);

// The ordering families, for callers that resolve the ecosystem once.
enum class Scheme { kDpkg, kApk, kRpm, kSemver, kPep440, kMaven };

// The scheme of an OSV ecosystem name; the part before ':' selects it,
// case-insensitively. Unknown ecosystems get kSemver.
//   Debian, Ubuntu                                   -> kDpkg
//   Alpine, Wolfi, Chainguard, MinimOS               -> kApk
//   Red Hat, Rocky Linux, AlmaLinux, openSUSE, SUSE,
//   Mageia, openEuler, Photon OS                     -> kRpm
//   PyPI                                             -> kPep440
//   Maven                                            -> kMaven
//   npm, Go, crates.io, Packagist, NuGet, Hex,
//   RubyGems, anything else                          -> kSemver
Scheme scheme_for_ecosystem(std::string_view ecosystem);

int compare(Scheme scheme, std::string_view a, std::string_view b);

// The ordering for an OSV ecosystem name ("Debian:12", "Alpine:v3.20", "npm",
// "PyPI", "Go", "Maven", "Red Hat", "Rocky Linux", "AlmaLinux", …): the part
// before ':' selects the ordering. Unknown ecosystems fall back to semver,
// then to a plain string comparison.
int compare_for_ecosystem(std::string_view ecosystem, std::string_view a, std::string_view b);

}  // namespace portcullis::scanner::versions
