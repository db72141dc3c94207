// rpm version ordering: librpm's own rpmvercmp on epoch, version and release,
// split as rpm splits an EVR string.
#include <string>
#include <string_view>

#include <rpm/rpmver.h>

#include "scanner/versions/chars.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {

namespace {

struct Evr {
  std::string epoch = "0";
  std::string version;
  std::string release;  // empty = none
};

// As rpm's parseEVR: the epoch is the leading digits when a ':' follows them
// (an empty one is 0), the release follows the last '-' after it.
Evr split(std::string_view evr) {
  Evr parts;
  std::size_t digits = detail::span(evr, detail::is_digit);
  if (digits < evr.size() && evr[digits] == ':') {
    if (digits > 0) parts.epoch = std::string(evr.substr(0, digits));
    evr.remove_prefix(digits + 1);
  }
  auto hyphen = evr.rfind('-');
  if (hyphen != std::string_view::npos) {
    parts.release = std::string(evr.substr(hyphen + 1));
    evr = evr.substr(0, hyphen);
  }
  parts.version = std::string(evr);
  return parts;
}

}  // namespace

int rpm_compare(std::string_view a, std::string_view b) {
  Evr ea = split(a);
  Evr eb = split(b);
  if (int r = rpmvercmp(ea.epoch.c_str(), eb.epoch.c_str()); r != 0) return detail::sign(r);
  if (int r = rpmvercmp(ea.version.c_str(), eb.version.c_str()); r != 0) return detail::sign(r);
  return detail::sign(rpmvercmp(ea.release.c_str(), eb.release.c_str()));
}

}  // namespace portcullis::scanner::versions
