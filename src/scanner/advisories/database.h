// The local advisory database: imported offline from files, matched against
// inventories. Thread-safe: match() may run concurrently with itself; import
// takes an exclusive lock and bumps data_version().
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "scanner/model.h"

namespace portcullis::scanner::advisories {

struct SourceInfo {
  std::string name;         // e.g. "debian-12.osv.jsonl.gz" or the name given at import
  std::string format;       // "osv", "debian-tracker", "alpine-secdb"
  std::string data_date;    // newest "modified" in the data (ISO 8601), "" if unknown
  int64_t imported_at = 0;  // unix seconds
  std::size_t records = 0;
};

class AdvisoryDatabase {
 public:
  // Opens (creating) the SQLite database at path. Throws on failure (start-up).
  explicit AdvisoryDatabase(const std::filesystem::path& path);
  ~AdvisoryDatabase();

  // Imports one file: OSV JSON (one record or an array), OSV JSON lines (also
  // .gz), Debian security tracker JSON, Alpine secdb JSON or YAML. The format is
  // detected from the content. Re-importing a source replaces its records.
  // `name` defaults to the file name.
  Result<SourceInfo> import_file(const std::filesystem::path& file, const std::string& name = "");

  std::vector<SourceInfo> sources() const;
  // Changes with every import; recorded with each scan result.
  std::string data_version() const;

  // Findings for an inventory (see matcher rules in the implementation).
  std::vector<Finding> match(const Inventory& inventory) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portcullis::scanner::advisories
