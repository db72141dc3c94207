// A fresh advisory database in a temporary directory, with helpers to import
// text and to match single packages.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "scanner/advisories/database.h"
#include "temp_dir.h"
#include "test_support.h"

namespace portcullis::scanner::advisories::testing {

class DbTest : public ::testing::Test {
 protected:
  DbTest() : clock_(std::chrono::system_clock::from_time_t(1'800'000'000)) { reopen(); }

  void reopen(ImportLimits limits = {}) {
    db_.reset();
    Options options;
    options.limits = limits;
    options.clock = &clock_;
    db_ = std::make_unique<AdvisoryDatabase>(dir_.path() / "advisories.db", options);
  }

  std::filesystem::path write(const std::string& name, const std::string& content) {
    auto p = dir_.path() / name;
    write_file(p, content);
    return p;
  }

  // Imports `content` as a file called `name`.
  Result<SourceInfo> import_text(const std::string& name, const std::string& content) {
    return db_->import_file(write(name, content));
  }

  std::vector<Finding> match_one(Package p, std::optional<Distro> distro = std::nullopt) {
    Inventory inv;
    inv.distro = std::move(distro);
    inv.packages.push_back(std::move(p));
    return db_->match(inv);
  }

  std::vector<std::string> ids(const std::vector<Finding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings) out.push_back(f.advisory_id);
    return out;
  }

  testutil::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<AdvisoryDatabase> db_;

 public:
  static Package pkg(const char* type, std::string name, std::string version,
                     std::string source = "", std::string source_version = "") {
    Package p;
    p.type = type;
    p.name = std::move(name);
    p.version = std::move(version);
    p.source_name = std::move(source);
    p.source_version = std::move(source_version);
    return p;
  }
};

}  // namespace portcullis::scanner::advisories::testing
