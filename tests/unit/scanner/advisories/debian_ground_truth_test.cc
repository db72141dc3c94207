// Ground truth: the dpkg status files of vulndata/debian/fixtures, matched
// against the real Debian data in both its forms (OSV JSON lines, and the
// security tracker's JSON shape), must give exactly the findings of
// vulndata/debian/expected (computed by an independent implementation of
// debsecan's rules): every (binary, CVE) row with its fixed version, and the
// summary's counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <boost/json.hpp>

#include "scanner/advisories/database.h"
#include "temp_dir.h"
#include "test_support.h"

namespace portcullis::scanner::advisories {
namespace {

using testing::debian12;
using testing::installed_dpkg_packages;
using testing::read_file;
using testing::read_tsv;
using testing::vulndata;

constexpr const char* kOsvData = "debian-12.osv.jsonl.gz";
constexpr const char* kTrackerData = "debian-bookworm-tracker-format.json.gz";

// One database per data file, imported once for all fixtures.
struct SharedDb {
  testutil::TempDir dir;
  std::unique_ptr<AdvisoryDatabase> db;
  SourceInfo info;
};

SharedDb& shared_db(const std::string& data) {
  static std::map<std::string, std::unique_ptr<SharedDb>> dbs;
  auto& slot = dbs[data];
  if (!slot) {
    slot = std::make_unique<SharedDb>();
    slot->db = std::make_unique<AdvisoryDatabase>(slot->dir.path() / "advisories.db");
    auto info = slot->db->import_file(vulndata("debian/" + data));
    if (!info) throw std::runtime_error(info.error().message);
    slot->info = *info;
  }
  return *slot;
}

TEST(DebianData, BothFormsImportWithTheirCounts) {
  const SourceInfo& osv = shared_db(kOsvData).info;
  EXPECT_EQ(osv.format, "osv");
  EXPECT_EQ(osv.records, 22'196u);  // README: 22,196 records
  EXPECT_EQ(osv.data_date, "2026-11-27T06:02:22Z");
  const SourceInfo& tracker = shared_db(kTrackerData).info;
  EXPECT_EQ(tracker.format, "debian-tracker");
  EXPECT_EQ(tracker.records, 22'196u);  // the same CVEs, one advisory per CVE
}

using Param = std::tuple<std::string, std::string>;  // data file, fixture

class DebianGroundTruth : public ::testing::TestWithParam<Param> {};

TEST_P(DebianGroundTruth, FindingsEqualTheExpectedFile) {
  const auto& [data, fixture] = GetParam();
  Inventory inv;
  inv.distro = debian12();
  inv.packages =
      installed_dpkg_packages(read_file(vulndata("debian/fixtures/" + fixture + ".status")));
  std::vector<Finding> findings = shared_db(data).db->match(inv);

  // Our rows, in the expected file's columns.
  std::vector<std::string> ours;
  std::set<std::string> affected_binaries, affected_sources, cves;
  std::set<std::pair<std::string, std::string>> pairs, pairs_with_fix;
  for (const Finding& f : findings) {
    const Package& p = inv.packages[f.package_index];
    std::string source = p.source_name.empty() ? p.name : p.source_name;
    std::string source_version = p.source_version.empty() ? p.version : p.source_version;
    std::string status = f.fixed_version.empty() ? "open" : "resolved";
    ours.push_back(p.name + "\t" + p.version + "\t" + source + "\t" + source_version + "\t" +
                   f.advisory_id + "\t" + status + "\t" + f.fixed_version + "\t" + f.rating);
    affected_binaries.insert(p.name);
    affected_sources.insert(source);
    cves.insert(f.advisory_id);
    pairs.emplace(source, f.advisory_id);
    if (!f.fixed_version.empty()) pairs_with_fix.emplace(source, f.advisory_id);
  }
  std::vector<std::string> expected;
  for (const auto& row :
       read_tsv(vulndata("debian/expected/" + fixture + ".findings.tsv"), "binary")) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) line += (i ? "\t" : "") + row[i];
    expected.push_back(line);
  }
  std::sort(ours.begin(), ours.end());
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), ours.begin(), ours.end(),
                      std::back_inserter(missing));
  std::set_difference(ours.begin(), ours.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  std::cout << "[ agree    ] " << fixture << " x " << data << ": "
            << expected.size() - missing.size() << "/" << expected.size()
            << " expected rows found, " << extra.size() << " extra\n";
  for (std::size_t i = 0; i < missing.size() && i < 10; ++i)
    ADD_FAILURE() << "missing: " << missing[i];
  for (std::size_t i = 0; i < extra.size() && i < 10; ++i) ADD_FAILURE() << "extra: " << extra[i];
  EXPECT_EQ(missing.size(), 0u);
  EXPECT_EQ(extra.size(), 0u);

  // The summary's counts.
  auto summary =
      boost::json::parse(read_file(vulndata("debian/expected/" + fixture + ".summary.json")))
          .as_object();
  std::set<std::string> sources;
  for (const Package& p : inv.packages)
    sources.insert(p.source_name.empty() ? p.name : p.source_name);
  auto count = [&](const char* key) {
    return static_cast<std::size_t>(summary.at(key).as_int64());
  };
  EXPECT_EQ(inv.packages.size(), count("installed_binary_packages"));
  EXPECT_EQ(sources.size(), count("installed_source_packages"));
  EXPECT_EQ(findings.size(), count("finding_rows_binary_x_cve"));
  EXPECT_EQ(affected_binaries.size(), count("affected_binary_packages"));
  EXPECT_EQ(affected_sources.size(), count("affected_source_packages"));
  EXPECT_EQ(pairs.size(), count("distinct_source_cve_pairs"));
  EXPECT_EQ(cves.size(), count("distinct_cves"));
  EXPECT_EQ(pairs_with_fix.size(), count("with_fix_available"));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, DebianGroundTruth,
    ::testing::Combine(::testing::Values(kOsvData, kTrackerData),
                       ::testing::Values("mmdebstrap-minbase-bookworm-nosecurity",
                                         "mmdebstrap-minbase-apps-bookworm-nosecurity",
                                         "mmdebstrap-minbase-bookworm-security", "host-bookworm")),
    [](const ::testing::TestParamInfo<Param>& info) {
      std::string name =
          (std::get<0>(info.param) == kOsvData ? "Osv_" : "Tracker_") + std::get<1>(info.param);
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

}  // namespace
}  // namespace portcullis::scanner::advisories
