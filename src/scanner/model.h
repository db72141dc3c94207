// What the scanner finds in an image and what it reports. Plain data, no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace portcullis::scanner {

// Package types use purl type names.
inline constexpr const char* kTypeDeb = "deb";
inline constexpr const char* kTypeApk = "apk";
inline constexpr const char* kTypeRpm = "rpm";
inline constexpr const char* kTypeNpm = "npm";
inline constexpr const char* kTypePypi = "pypi";
inline constexpr const char* kTypeGolang = "golang";
inline constexpr const char* kTypeMaven = "maven";

struct Package {
  std::string type;            // one of kType*
  std::string name;            // binary package / module / artifact name (maven: "group:artifact")
  std::string version;         // as recorded (deb/rpm: with epoch when present, "1:2.3-4")
  std::string source_name;     // deb Source, apk origin, rpm source rpm name; empty = same as name
  std::string source_version;  // deb "Source: x (ver)", rpm source version; empty = same as version
  std::string arch;
  std::string layer_digest;    // the layer the package record came from
  std::string path;            // file inside the image it was read from (no leading '/')
  std::vector<std::string> licenses;
};

// From etc/os-release (or its fallbacks).
struct Distro {
  std::string id;                // "debian", "alpine", "rhel", "ubuntu", …
  std::string version_id;        // "12", "3.20.3", …
  std::string version_codename;  // "bookworm"
  std::string pretty_name;
};

struct Inventory {
  std::optional<Distro> distro;
  std::vector<Package> packages;
  // Problems that did not stop the scan (a malformed manifest, a symlink loop,
  // an rpm database format librpm cannot read), one readable line each.
  std::vector<std::string> warnings;
};

struct Finding {
  std::string advisory_id;            // e.g. "CVE-2024-1234", "GHSA-…", "PYSEC-…", "DEBIAN-CVE-…"
  std::vector<std::string> aliases;   // other ids of the same issue
  std::size_t package_index = 0;      // index into Inventory::packages
  std::string fixed_version;          // empty when no fix is known
  std::string severity;               // "critical", "high", "medium", "low", "negligible", "unknown"
  std::string cvss_vector;            // empty when unknown
  double cvss_score = -1;             // -1 when unknown
  std::string summary;
  std::string source;                 // advisory source name (see advisories/)
  std::string rating;                 // the source's own rating as written ("MODERATE", Debian
                                      // urgency "not yet assigned"), "" if none
};

}  // namespace portcullis::scanner

namespace portcullis::scanner {

// CVSS v3 qualitative rating of a base score: "none", "low", "medium",
// "high", "critical"; "unknown" for a negative score.
const char* severity_from_cvss(double score);

}  // namespace portcullis::scanner
