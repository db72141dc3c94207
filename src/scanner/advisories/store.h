// SQLite storage of imported advisories, in a file of its own.
//
// Layout (schema version 1; every child row goes with its parent through
// ON DELETE CASCADE, so replacing a source is one DELETE):
//   meta(key, value)              "instance" (random, per database file), "generation" (+1 per
//   import) sources(id, name UNIQUE, format, data_date, imported_at, records) └─ advisories(id,
//   source_id, vuln_id, modified, published, withdrawn, summary, rating)
//        UNIQUE (source_id, vuln_id)
//      ├─ aliases(advisory_id, seq, alias)
//      ├─ severities(advisory_id, affected_id NULL = the advisory's own, seq, type, score)
//      └─ affected(id, advisory_id, ecosystem, package, status, rating)
//           INDEX (ecosystem, package)
//         ├─ affected_versions(affected_id, version)
//         └─ ranges(id, affected_id, type)
//              └─ range_events(range_id, seq, kind, version)
//
// Not thread-safe: the owner serialises every call (AdvisoryDatabase holds a
// mutex around it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "metadata/sqlite/sqlite_db.h"
#include "scanner/advisories/database.h"
#include "scanner/advisories/record.h"


namespace portcullis::scanner::advisories {

struct StoredData {
  uint64_t generation = 0;
  std::vector<std::pair<int64_t, std::string>> sources;  // id, name
  std::vector<std::pair<int64_t, Advisory>> advisories;  // source id, advisory
};

class Store {
 public:
  // Opens (creating) the database and its schema. Throws std::runtime_error
  // on failure (start-up only).
  explicit Store(const std::filesystem::path& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // One source's import: a transaction that has already deleted the
  // source's previous rows. Destroyed without commit(), it rolls back. Only
  // one at a time per Store.
  class Import {
   public:
    ~Import();
    Import(const Import&) = delete;
    Import& operator=(const Import&) = delete;
    // A second advisory with the same id in this source replaces the first.
    Result<void> add(const Advisory& advisory);
    Result<SourceInfo> commit(const std::string& format, const std::string& data_date,
                              int64_t imported_at);

   private:
    friend class Store;
    Import(Store* store, int64_t source_id, SourceInfo info)
        : store_(store), source_id_(source_id), info_(std::move(info)) {}
    Store* store_;
    int64_t source_id_;
    SourceInfo info_;
    bool done_ = false;
  };

  // The format is only known once the file is read: commit() records it.
  Result<std::unique_ptr<Import>> begin_import(const std::string& name);
  Result<std::vector<SourceInfo>> sources();
  // Re-reads the data version: another process (the CLI) may have imported
  // into the same file.
  Result<void> refresh();
  // "<instance>-<generation>", as of the last refresh(), import or load().
  const std::string& data_version() const { return data_version_; }
  uint64_t generation() const { return generation_; }
  // Everything, for the in-memory index, read in one transaction (one
  // snapshot, with its generation).
  Result<StoredData> load();

 private:
  metadata::SqliteDb::Stmt prepare(const char* sql);
  Result<void> exec(const char* sql);
  Error fail(const char* what);
  Result<StoredData> load_snapshot();

  metadata::SqliteDb db_;
  std::string instance_;
  uint64_t generation_ = 0;
  std::string data_version_;
};

}  // namespace portcullis::scanner::advisories
