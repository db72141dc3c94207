// The Debian security tracker's JSON (https://security-tracker.debian.org/tracker/data/json):
//   {source: {issue: {description, releases: {codename: {status, fixed_version, urgency,
//   nodsa…}}}}}
// converted with the rules of debsecan and the tracker's debsecan feed
// (security_db.py, calculateDebsecan1):
//   - only issues named CVE-… or TEMP-… count;
//   - the urgencies of all releases of an issue fold into one (high > medium
//     > low > unimportant > end-of-life > not yet assigned, "**" ignored,
//     others "unknown"); an issue whose fold is unimportant or end-of-life is
//     dropped, for every release; so is one whose sid fixed_version is "0";
//   - per release: fixed_version "0" = not affected; a fixed_version V =
//     affected below V, fixed in V; no fixed_version = affected below sid's
//     fixed version (not a fix of this release: a `limit`), or always if sid
//     has none either.
// Each release becomes an affected entry of ecosystem "Debian:<number>"; sid
// gives one more of ecosystem "Debian", which applies to every release that
// has no entry of its own (a package the tracker does not list for it).
#pragma once

#include <vector>

#include <boost/json.hpp>

#include "base/error.h"
#include "scanner/advisories/record.h"

namespace portcullis::scanner::advisories {

// Whether a parsed JSON document has the tracker's shape (checked on its
// first members).
bool looks_like_debian_tracker(const boost::json::object& doc);

// One Advisory per issue id (an issue of several source packages has one
// affected entry set per package). Errors name "<source>/<issue>" and the
// field; more than max_issues (source, issue) pairs is Errc::size_invalid.
Result<std::vector<Advisory>> advisories_from_debian_tracker(const boost::json::object& doc,
                                                             std::size_t max_issues);

}  // namespace portcullis::scanner::advisories
