// The local advisory database: imported offline from files, matched against
// inventories. Thread-safe: match() may run concurrently with itself; import
// takes an exclusive lock and bumps data_version().
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "scanner/model.h"

namespace portcullis::scanner::advisories {

struct SourceInfo {
  std::string name;         // e.g. "debian-12.osv.jsonl.gz" or the name given at import
  std::string format;       // "osv", "debian-tracker", "alpine-secdb"
  std::string data_date;    // newest "modified" in the data (ISO 8601), "" if unknown
  int64_t imported_at = 0;  // unix seconds
  std::size_t records = 0;  // advisories stored (withdrawn ones included)
};

// Bounds on what one import may read. A file over a bound is rejected with
// Errc::size_invalid and a message naming the bound.
struct ImportLimits {
  uint64_t max_file_bytes = 1ull << 30;          // the file as stored (compressed or not)
  uint64_t max_decompressed_bytes = 8ull << 30;  // all bytes read from it after gunzip
  std::size_t max_document_bytes = 256u << 20;   // one JSON/YAML document (held in memory)
  std::size_t max_record_bytes = 16u << 20;      // one line of JSON lines
  std::size_t max_records = 5'000'000;           // records (lines, array elements, issues)
  std::size_t max_yaml_nodes = 20'000'000;       // YAML nodes visited (aliases expand)
};

struct Options {
  ImportLimits limits;
  // Stamps imported_at; nullptr = the system clock. Not owned; must outlive
  // the database.
  const Clock* clock = nullptr;
};

class AdvisoryDatabase {
 public:
  // Opens (creating) the SQLite database at path. Throws on failure (start-up).
  explicit AdvisoryDatabase(const std::filesystem::path& path);
  AdvisoryDatabase(const std::filesystem::path& path, Options options);
  ~AdvisoryDatabase();
  AdvisoryDatabase(const AdvisoryDatabase&) = delete;
  AdvisoryDatabase& operator=(const AdvisoryDatabase&) = delete;

  // Imports one file: OSV JSON (one record or an array), OSV JSON lines (also
  // .gz), Debian security tracker JSON, Alpine secdb JSON or YAML. The format is
  // detected from the content. Re-importing a source replaces its records.
  // `name` defaults to the file name.
  // All or nothing: a malformed record fails the whole import, with an error
  // naming the file and the line (JSON lines) or record, and the source keeps
  // its previous records. Errors: Errc::not_found (no such file),
  // Errc::unsupported (format not recognised), Errc::size_invalid (a bound of
  // ImportLimits exceeded), Errc::manifest_invalid (malformed content,
  // corrupt or truncated gzip), Errc::internal (database failure).
  Result<SourceInfo> import_file(const std::filesystem::path& file, const std::string& name = "");

  // Sorted by name.
  std::vector<SourceInfo> sources() const;
  // Changes with every import; recorded with each scan result.
  std::string data_version() const;

  // Findings for an inventory (see matcher.h for the rules), ordered by
  // package index, then advisory id. The in-memory index is (re)built on the
  // first match after an import. If rebuilding fails (database error), the
  // previous index keeps serving and try_match() reports the error; match()
  // logs it and returns what the previous index finds (nothing if none).
  std::vector<Finding> match(const Inventory& inventory) const;
  Result<std::vector<Finding>> try_match(const Inventory& inventory) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portcullis::scanner::advisories
