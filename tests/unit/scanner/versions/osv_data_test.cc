// The orderings against real advisory data: every query of the expected files
// in tests/data/vulndata/ (see its README) is matched against the OSV records
// by a minimal OSV range evaluator, and the set of matches must equal the
// reference's. The evaluator is deliberately tiny and lives here; the
// production matcher is in scanner/advisories.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>
#include <boost/json.hpp>

#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {
namespace {

namespace json = boost::json;

const std::string kDataDir = PC_VULNDATA_DIR;

// --- reading -----------------------------------------------------------------

std::string read_file(const std::string& path) {
  if (path.ends_with(".gz")) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) return {};
    std::string out;
    char buf[1 << 16];
    int n = 0;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    gzclose(f);
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    auto at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  for (auto line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// PEP 503: lower case, runs of '-', '_' and '.' become one '-'.
std::string pep503(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      if (out.empty() || out.back() != '-') out += '-';
    } else {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
  }
  return out;
}

std::string package_key(std::string_view ecosystem, std::string_view name) {
  return std::string(ecosystem) + "|" + (ecosystem == "PyPI" ? pep503(name) : std::string(name));
}

// --- a minimal OSV evaluator (https://ossf.github.io/osv-schema/) ------------

struct Event {
  enum Kind { kIntroduced, kFixed, kLastAffected, kLimit };
  Kind kind;
  std::string version;
};

struct Affected {
  std::string id;
  std::string ecosystem;
  std::vector<std::vector<Event>> ranges;  // SEMVER and ECOSYSTEM ranges only
  std::vector<std::string> versions;
};

std::vector<Event> events_of(const json::array& events) {
  std::vector<Event> out;
  for (const auto& e : events) {
    for (const auto& [key, value] : e.as_object()) {
      Event::Kind kind = key == "introduced"      ? Event::kIntroduced
                         : key == "fixed"         ? Event::kFixed
                         : key == "last_affected" ? Event::kLastAffected
                                                  : Event::kLimit;
      out.push_back({kind, std::string(value.as_string())});
    }
  }
  return out;
}

// package key -> the affected entries naming it, withdrawn records skipped.
std::multimap<std::string, Affected> load_osv(const std::string& path) {
  std::multimap<std::string, Affected> out;
  std::string text = read_file(path);
  for (auto line : lines(text)) {
    json::object record = json::parse(line).as_object();
    if (record.contains("withdrawn")) continue;
    for (const auto& a : record.at("affected").as_array()) {
      const json::object& affected = a.as_object();
      const json::object& package = affected.at("package").as_object();
      Affected entry;
      entry.id = record.at("id").as_string();
      entry.ecosystem = package.at("ecosystem").as_string();
      if (const auto* ranges = affected.if_contains("ranges")) {
        for (const auto& r : ranges->as_array()) {
          std::string_view type = r.at("type").as_string();
          if (type == "SEMVER" || type == "ECOSYSTEM") {
            entry.ranges.push_back(events_of(r.at("events").as_array()));
          }
        }
      }
      if (const auto* versions = affected.if_contains("versions")) {
        for (const auto& v : versions->as_array()) entry.versions.emplace_back(v.as_string());
      }
      out.emplace(package_key(entry.ecosystem, package.at("name").as_string()), std::move(entry));
    }
  }
  return out;
}

// The OSV spec's evaluation: events in version order ("0" first), introduced
// turns the version affected, fixed and last_affected turn it back off; a
// version must also be below one of the limits, when there are any.
bool in_range(std::vector<Event> events, std::string_view ecosystem, std::string_view v) {
  auto cmp = [ecosystem](std::string_view a, std::string_view b) {
    if (a == b) return 0;
    if (a == "0") return -1;
    if (b == "0") return 1;
    return compare_for_ecosystem(ecosystem, a, b);
  };
  std::stable_sort(events.begin(), events.end(), [&cmp](const Event& x, const Event& y) {
    return cmp(x.version, y.version) < 0;
  });
  bool affected = false;
  bool limited = false;
  bool under_limit = false;
  for (const Event& e : events) {
    switch (e.kind) {
      case Event::kIntroduced:
        if (e.version == "0" || cmp(v, e.version) >= 0) affected = true;
        break;
      case Event::kFixed:
        if (cmp(v, e.version) >= 0) affected = false;
        break;
      case Event::kLastAffected:
        if (cmp(v, e.version) > 0) affected = false;
        break;
      case Event::kLimit:
        limited = true;
        if (e.version == "*" || cmp(v, e.version) < 0) under_limit = true;
        break;
    }
  }
  return affected && (!limited || under_limit);
}

bool matches(const Affected& a, std::string_view version) {
  if (std::find(a.versions.begin(), a.versions.end(), version) != a.versions.end()) return true;
  return std::any_of(a.ranges.begin(), a.ranges.end(), [&](const std::vector<Event>& range) {
    return in_range(range, a.ecosystem, version);
  });
}

// --- the comparison with the expected files ----------------------------------

struct Agreement {
  std::set<std::string> expected;  // "ecosystem|name|version|id"
  std::set<std::string> actual;
  std::size_t queries = 0;
};

Agreement run(const std::string& osv, const std::string& queries, const std::string& expected) {
  Agreement out;
  auto db = load_osv(kDataDir + "/" + osv);
  std::string query_text = read_file(kDataDir + "/" + queries);
  for (auto line : lines(query_text)) {
    if (line.front() == '#') continue;
    auto f = split(line, '\t');
    if (f.size() < 3 || f[0] == "ecosystem") continue;
    ++out.queries;
    auto [first, last] = db.equal_range(package_key(f[0], f[1]));
    for (auto it = first; it != last; ++it) {
      if (matches(it->second, f[2])) {
        out.actual.insert(std::string(f[0]) + "|" + std::string(f[1]) + "|" + std::string(f[2]) +
                          "|" + it->second.id);
      }
    }
  }
  std::string expected_text = read_file(kDataDir + "/" + expected);
  for (auto line : lines(expected_text)) {
    auto f = split(line, '\t');
    if (line.front() == '#' || f.size() < 4 || f[0] == "ecosystem") continue;
    out.expected.insert(std::string(f[0]) + "|" + std::string(f[1]) + "|" + std::string(f[2]) +
                        "|" + std::string(f[3]));
  }
  return out;
}

void expect_agreement(const Agreement& a, std::size_t expected_rows) {
  ASSERT_GT(a.queries, 0u) << "no queries read from " << kDataDir;
  EXPECT_EQ(a.expected.size(), expected_rows);
  std::vector<std::string> missing;
  std::vector<std::string> extra;
  std::set_difference(a.expected.begin(), a.expected.end(), a.actual.begin(), a.actual.end(),
                      std::back_inserter(missing));
  std::set_difference(a.actual.begin(), a.actual.end(), a.expected.begin(), a.expected.end(),
                      std::back_inserter(extra));
  std::size_t agreed = a.expected.size() - missing.size();
  ::testing::Test::RecordProperty("agreement",
                                  std::to_string(agreed) + "/" + std::to_string(a.expected.size()));
  std::ostringstream detail;
  for (std::size_t i = 0; i < std::min<std::size_t>(missing.size(), 20); ++i) {
    detail << "\n  missing " << missing[i];
  }
  for (std::size_t i = 0; i < std::min<std::size_t>(extra.size(), 20); ++i) {
    detail << "\n  extra   " << extra[i];
  }
  EXPECT_TRUE(missing.empty() && extra.empty())
      << a.queries << " queries; agreement " << agreed << "/" << a.expected.size() << ", "
      << missing.size() << " missing, " << extra.size() << " extra" << detail.str();
}

TEST(OsvData, NpmMatchesEqualNodeSemverReference) {
  auto a = run("npm/npm.osv.jsonl", "npm/expected/queries-npm-all-versions.tsv",
               "npm/expected/expected-npm-all-versions.tsv");
  EXPECT_EQ(a.queries, 2617u);
  expect_agreement(a, 4649);
}

TEST(OsvData, PypiMatchesEqualPep440Reference) {
  auto a = run("pypi/pypi.osv.jsonl.gz", "pypi/expected/queries-pypi.tsv",
               "pypi/expected/expected-pypi.tsv");
  EXPECT_EQ(a.queries, 2674u);
  expect_agreement(a, 14319);
}

TEST(OsvData, AlpineMatchesEqualApkReference) {
  auto a = run("alpine/alpine-v3.20.osv.jsonl", "alpine/expected/queries-alpine-v3.20.tsv",
               "alpine/expected/expected-alpine-v3.20.tsv");
  EXPECT_EQ(a.queries, 276u);
  expect_agreement(a, 6757);
}

}  // namespace
}  // namespace portcullis::scanner::versions
