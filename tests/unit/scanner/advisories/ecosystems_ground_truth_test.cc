// Ground truth for OSV ecosystems: every query of vulndata's npm, PyPI and
// Alpine query files must give exactly the matches of the expected files
// (computed by reference implementations: node-semver, the OSV evaluation
// with PEP 440 and apk-tools orderings), with the same aliases and severity
// data; our fixed version must be one of the expected row's fixes.
// Alpine's secdb JSON/YAML importers must agree with the OSV conversion of
// the same data.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <boost/json.hpp>

#include "scanner/advisories/database.h"
#include "scanner/advisories/ecosystems.h"
#include "temp_dir.h"
#include "test_support.h"

namespace portcullis::scanner::advisories {
namespace {

using testing::read_file;
using testing::read_tsv;
using testing::split;
using testing::vulndata;

struct Expected {
  std::string published_id;
  std::string aliases;   // comma-separated, as the file has them
  std::string fixed;     // comma-separated list of the record's fixes
  std::string severity;  // the file's severity column
};

// key: ecosystem \t name \t version \t id (id as we display it)
using Rows = std::map<std::string, Expected>;

class GroundTruth : public ::testing::Test {
 protected:
  GroundTruth() : db_(dir_.path() / "advisories.db") {}

  void import(const std::string& relative) {
    auto info = db_.import_file(vulndata(relative));
    ASSERT_TRUE(info) << info.error().message;
  }

  // Matches every query (ecosystem, name, version) and returns our rows.
  Rows run(const std::string& queries_file, const char* type, std::optional<Distro> distro) {
    Inventory inv;
    inv.distro = std::move(distro);
    std::vector<std::string> ecosystems;
    for (const auto& q : read_tsv(vulndata(queries_file))) {
      Package p;
      p.type = type;
      p.name = q.at(1);
      p.version = q.at(2);
      inv.packages.push_back(std::move(p));
      ecosystems.push_back(q.at(0));
    }
    queries_ = inv.packages.size();
    Rows rows;
    for (const Finding& f : db_.match(inv)) {
      const Package& p = inv.packages[f.package_index];
      std::string aliases;
      for (const auto& a : f.aliases) aliases += (aliases.empty() ? "" : ",") + a;
      rows[ecosystems[f.package_index] + "\t" + p.name + "\t" + p.version + "\t" + f.advisory_id] =
          Expected{f.advisory_id, aliases, f.fixed_version, f.rating + "|" + f.cvss_vector};
    }
    return rows;
  }

  static Rows expected(const std::string& file) {
    Rows rows;
    for (const auto& r : read_tsv(vulndata(file), "ecosystem")) {
      rows[r.at(0) + "\t" + r.at(1) + "\t" + r.at(2) + "\t" + display_id(r.at(3))] =
          Expected{r.at(3), r.at(4), r.at(5), r.at(6)};
    }
    return rows;
  }

  // Compares keys exactly; then, on common keys, aliases (as a set with the
  // id), the fixed version (ours must be one of the file's) and severity
  // (`severity_of` turns our "rating|vector" into the file's column).
  void compare(const std::string& what, const Rows& ours, const Rows& want,
               std::string (*severity_of)(const std::string&)) {
    std::size_t missing = 0, extra = 0, alias_ok = 0, alias_exact = 0, fixed_ok = 0,
                severity_ok = 0, common = 0;
    for (const auto& [key, exp] : want) {
      auto it = ours.find(key);
      if (it == ours.end()) {
        if (++missing <= 10) ADD_FAILURE() << what << " missing: " << key;
        continue;
      }
      ++common;
      // Aliases: the same list in the same order; else (we show a CVE
      // instead of the published "ALPINE-CVE-…", or the file lists a record's
      // own id as its alias) the same set of ids.
      std::string id = key.substr(key.rfind('\t') + 1);
      bool alias_match = it->second.aliases == exp.aliases;
      if (alias_match) ++alias_exact;
      if (!alias_match) {
        auto mine = split(it->second.aliases, ',');
        auto theirs = split(exp.aliases, ',');
        std::set<std::string> a(mine.begin(), mine.end()), b(theirs.begin(), theirs.end());
        a.insert(id);
        b.insert(id);
        b.insert(exp.published_id);
        alias_match = a == b;
      }
      if (alias_match) {
        ++alias_ok;
      } else if (alias_ok + 10 > common) {
        ADD_FAILURE() << what << " aliases differ for " << key << ": " << it->second.aliases
                      << " vs " << exp.aliases;
      }
      auto fixes = split(exp.fixed == "(none)" ? "" : exp.fixed, ',');
      bool fixed_match = it->second.fixed.empty() ? fixes.empty()
                                                  : std::find(fixes.begin(), fixes.end(),
                                                              it->second.fixed) != fixes.end();
      if (fixed_match) {
        ++fixed_ok;
      } else if (fixed_ok + 10 > common) {
        ADD_FAILURE() << what << " fixed differs for " << key << ": " << it->second.fixed << " vs "
                      << exp.fixed;
      }
      if (severity_of(it->second.severity) == exp.severity) {
        ++severity_ok;
      } else if (severity_ok + 10 > common) {
        ADD_FAILURE() << what << " severity differs for " << key << ": " << it->second.severity
                      << " vs " << exp.severity;
      }
    }
    for (const auto& [key, row] : ours) {
      if (!want.count(key) && ++extra <= 10) ADD_FAILURE() << what << " extra: " << key;
    }
    std::cout << "[ agree    ] " << what << ": " << queries_ << " queries, " << common << "/"
              << want.size() << " expected matches found, " << extra << " extra; aliases "
              << alias_ok << " (" << alias_exact << " as the same list), fixed " << fixed_ok
              << ", severity " << severity_ok << " of " << common << "\n";
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(extra, 0u);
    EXPECT_EQ(alias_ok, common);
    EXPECT_EQ(fixed_ok, common);
    EXPECT_EQ(severity_ok, common);
  }

  static std::string rating(const std::string& s) { return s.substr(0, s.find('|')); }
  static std::string vector(const std::string& s) { return s.substr(s.find('|') + 1); }
  static std::string nothing(const std::string&) { return ""; }

  testutil::TempDir dir_;
  AdvisoryDatabase db_;
  std::size_t queries_ = 0;
};

TEST_F(GroundTruth, NpmAllPublishedVersions) {
  import("npm/npm.osv.jsonl");
  compare("npm", run("npm/expected/queries-npm-all-versions.tsv", kTypeNpm, std::nullopt),
          expected("npm/expected/expected-npm-all-versions.tsv"), rating);
}

TEST_F(GroundTruth, PypiPopularPackages) {
  import("pypi/pypi.osv.jsonl.gz");
  compare("PyPI", run("pypi/expected/queries-pypi.tsv", kTypePypi, std::nullopt),
          expected("pypi/expected/expected-pypi.tsv"), vector);
}

TEST_F(GroundTruth, AlpineOsv) {
  import("alpine/alpine-v3.20.osv.jsonl");
  compare(
      "Alpine OSV",
      run("alpine/expected/queries-alpine-v3.20.tsv", kTypeApk, Distro{"alpine", "3.20.3", "", ""}),
      expected("alpine/expected/expected-alpine-v3.20.tsv"), nothing);
}

TEST_F(GroundTruth, AlpineSecdbJson) {
  import("alpine/secdb-v3.20-main-subset.json");
  compare(
      "Alpine secdb JSON",
      run("alpine/expected/queries-alpine-v3.20.tsv", kTypeApk, Distro{"alpine", "3.20.3", "", ""}),
      expected("alpine/expected/expected-alpine-v3.20.tsv"), nothing);
}

// The official v3.11 secdb YAML files against their OSV conversion: the
// same findings (id and fixed version) for every fixed version listed and
// for a version below all of them.
TEST(AlpineYaml, AgreesWithItsOsvConversion) {
  testutil::TempDir dir;
  AdvisoryDatabase yaml(dir.path() / "yaml.db");
  AdvisoryDatabase osv(dir.path() / "osv.db");
  ASSERT_TRUE(yaml.import_file(vulndata("alpine/alpine-secdb-v3.11-main.yaml")));
  ASSERT_TRUE(yaml.import_file(vulndata("alpine/alpine-secdb-v3.11-community.yaml")));
  ASSERT_TRUE(osv.import_file(vulndata("alpine/alpine-v3.11.osv.jsonl")));

  Inventory inv;
  inv.distro = Distro{"alpine", "3.11.13", "", ""};
  std::set<std::pair<std::string, std::string>> queries;
  std::string text = read_file(vulndata("alpine/alpine-v3.11.osv.jsonl"));
  for (const auto& line : split(text, '\n')) {
    if (line.empty()) continue;
    auto rec = boost::json::parse(line).as_object();
    for (const auto& a : rec.at("affected").as_array()) {
      std::string name(a.at("package").at("name").as_string());
      queries.emplace(name, "0.0.1-r0");
      for (const auto& r : a.at("ranges").as_array()) {
        for (const auto& e : r.at("events").as_array()) {
          if (const auto* fixed = e.as_object().if_contains("fixed")) {
            queries.emplace(name, std::string(fixed->as_string()));
          }
        }
      }
    }
  }
  for (const auto& [name, version] : queries) {
    Package p;
    p.type = kTypeApk;
    p.name = name;
    p.version = version;
    inv.packages.push_back(std::move(p));
  }
  auto rows = [&](const AdvisoryDatabase& db) {
    std::set<std::string> out;
    for (const Finding& f : db.match(inv)) {
      const Package& p = inv.packages[f.package_index];
      out.insert(p.name + " " + p.version + " " + f.advisory_id + " " + f.fixed_version);
    }
    return out;
  };
  auto from_yaml = rows(yaml);
  auto from_osv = rows(osv);
  std::cout << "[ agree    ] Alpine v3.11 YAML vs OSV: " << inv.packages.size() << " queries, "
            << from_yaml.size() << " vs " << from_osv.size() << " findings\n";
  EXPECT_GT(from_osv.size(), 2000u);
  EXPECT_EQ(from_yaml, from_osv);
}

}  // namespace
}  // namespace portcullis::scanner::advisories
