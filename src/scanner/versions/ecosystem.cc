// Which ordering an OSV ecosystem uses (https://ossf.github.io/osv-schema/,
// "Affected versions" and the ecosystem list).
#include <array>
#include <string_view>

#include "scanner/versions/chars.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (detail::to_lower(a[i]) != detail::to_lower(b[i])) return false;
  }
  return true;
}

}  // namespace

Scheme scheme_for_ecosystem(std::string_view ecosystem) {
  static constexpr std::array<std::pair<std::string_view, Scheme>, 16> kEcosystems{{
      {"Debian", Scheme::kDpkg},
      {"Ubuntu", Scheme::kDpkg},
      {"Alpine", Scheme::kApk},
      {"Wolfi", Scheme::kApk},
      {"Chainguard", Scheme::kApk},
      {"MinimOS", Scheme::kApk},
      {"Red Hat", Scheme::kRpm},
      {"Rocky Linux", Scheme::kRpm},
      {"AlmaLinux", Scheme::kRpm},
      {"openSUSE", Scheme::kRpm},
      {"SUSE", Scheme::kRpm},
      {"Mageia", Scheme::kRpm},
      {"openEuler", Scheme::kRpm},
      {"Photon OS", Scheme::kRpm},
      {"PyPI", Scheme::kPep440},
      {"Maven", Scheme::kMaven},
  }};
  // npm, Go, crates.io, Packagist, NuGet, Hex, RubyGems and the rest: kSemver.
  std::string_view name = ecosystem.substr(0, ecosystem.find(':'));
  for (const auto& [known, scheme] : kEcosystems) {
    if (equal_ignoring_case(name, known)) return scheme;
  }
  return Scheme::kSemver;
}

int compare(Scheme scheme, std::string_view a, std::string_view b) {
  switch (scheme) {
    case Scheme::kDpkg:
      return dpkg_compare(a, b);
    case Scheme::kApk:
      return apk_compare(a, b);
    case Scheme::kRpm:
      return rpm_compare(a, b);
    case Scheme::kPep440:
      return pep440_compare(a, b);
    case Scheme::kMaven:
      return maven_compare(a, b);
    case Scheme::kSemver:
      break;
  }
  return semver_compare(a, b);
}

int compare_for_ecosystem(std::string_view ecosystem, std::string_view a, std::string_view b) {
  return compare(scheme_for_ecosystem(ecosystem), a, b);
}

}  // namespace portcullis::scanner::versions
