// Alpine secdb (secdb.alpinelinux.org, from aports' `secfixes`), JSON or YAML:
//   {distroversion: "v3.20", reponame, packages: [{pkg: {name, secfixes: {version: [ids]}}}]}
// Each id listed under a version V of package P is fixed in V: P is affected
// below it. An entry may hold several ids separated by spaces ("CVE-… GNUTLS-SA-…");
// each is its own advisory. Ids under version "0" (not affected) are dropped;
// an id listed under several versions of one package takes the lowest (apk
// order). Advisory ids are "ALPINE-<id>" (an id that already starts with
// "ALPINE-" as it is) with the id as alias, as OSV's Alpine records are.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "base/error.h"
#include "scanner/advisories/database.h"
#include "scanner/advisories/record.h"

namespace portcullis::scanner::advisories {

struct SecdbPackage {
  std::string name;
  std::vector<std::pair<std::string, std::vector<std::string>>> secfixes;  // version -> ids
};

struct SecdbDocument {
  std::string distroversion;  // "v3.20"
  std::string reponame;       // "main"
  std::vector<SecdbPackage> packages;
};

bool looks_like_secdb(const boost::json::object& doc);

// Errors name the package (index and name) and the field.
Result<SecdbDocument> secdb_from_json(const boost::json::object& doc, std::size_t max_records);
// yaml-cpp underneath; YAML anchors are expanded, so visiting more than
// limits.max_yaml_nodes nodes is an error (Errc::size_invalid).
Result<SecdbDocument> secdb_from_yaml(const std::string& text, const ImportLimits& limits);

Result<std::vector<Advisory>> advisories_from_secdb(const SecdbDocument& doc);

}  // namespace portcullis::scanner::advisories
