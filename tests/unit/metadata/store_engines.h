// The metadata engines the conformance suite runs against: each opens a fresh
// store and knows the engine-specific bits a test needs (where the schema
// version lives, what "cannot open" looks like).
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "metadata/postgres/postgres_store.h"
#include "metadata/sqlite/sqlite_store.h"
#include "postgres_server.h"
#include "temp_dir.h"

namespace portcullis::metadata {

class SqliteEngine {
 public:
  using Store = SqliteStore;
  static constexpr const char* kName = "Sqlite";

  std::unique_ptr<Store> Open() { return std::make_unique<SqliteStore>(path()); }
  // Whether the store left its database behind.
  bool StorageExists() const { return std::filesystem::exists(path()); }
  // Marks the database as migrated to `version` (to fake a newer binary's schema).
  void SetSchemaVersion(int version) {
    sqlite3* raw = nullptr;
    if (sqlite3_open(path().c_str(), &raw) != SQLITE_OK) throw std::runtime_error("open failed");
    std::string sql = "PRAGMA user_version=" + std::to_string(version);
    int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(raw);
    if (rc != SQLITE_OK) throw std::runtime_error("PRAGMA user_version failed");
  }
  // Opens a store where none can be: throws std::runtime_error.
  static void OpenUnreachable() {
    SqliteStore store{"/nonexistent-dir-for-portcullis-tests/x/metadata.db"};
  }

 private:
  std::filesystem::path path() const { return dir_.path() / "metadata.db"; }
  testutil::TempDir dir_;
};

class PostgresEngine {
 public:
  using Store = PostgresStore;
  static constexpr const char* kName = "Postgres";

  // Throws (failing the test loudly) when no PostgreSQL server can be started.
  PostgresEngine()
      : url_(testutil::PostgresServer::instance().create_database()),
        database_(url_.substr(url_.rfind('/') + 1)) {}

  std::unique_ptr<Store> Open(std::size_t pool_size = 4) {
    PostgresOptions o;
    o.url = url_;
    o.pool_size = pool_size;
    return std::make_unique<PostgresStore>(o);
  }
  bool StorageExists() const {
    return Query("SELECT to_regclass('schema_migrations') IS NOT NULL") == "t";
  }
  void SetSchemaVersion(int version) {
    Query("INSERT INTO schema_migrations (version, applied_at) VALUES (" + std::to_string(version) +
          ", 0)");
  }
  static void OpenUnreachable() {
    PostgresOptions o;
    o.url = "postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2";
    PostgresStore store{o};
  }

  const std::string& url() const { return url_; }
  const std::string& database() const { return database_; }
  // Superuser SQL in this test's database (test-built SQL, no outside values).
  std::string Query(const std::string& sql) const {
    return testutil::PostgresServer::instance().query(database_, sql);
  }

 private:
  std::string url_;
  std::string database_;
};

}  // namespace portcullis::metadata
