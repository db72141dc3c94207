// One SQLite connection with a cache of prepared statements, shared by the
// SQLite stores (metadata, advisories). Not thread-safe: the owner serialises
// every call (both owners hold a mutex). Errors on the data path are values:
// fail() logs SQLite's message and returns Errc::internal with a fixed,
// client-safe text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "base/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace portcullis::metadata {

class SqliteDb {
 public:
  // A cached prepared statement, reset (and its bindings cleared) on destruction.
  class Stmt {
   public:
    explicit Stmt(sqlite3_stmt* s) : s_(s) {}
    ~Stmt();
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& bind(int i, std::string_view v);
    Stmt& bind(int i, int64_t v);
    Stmt& bind_null(int i);
    int step();  // SQLITE_ROW, SQLITE_DONE or an error code
    std::string text(int col);
    int64_t integer(int col);
    bool is_null(int col);

   private:
    sqlite3_stmt* s_;
  };

  // Opens (creating) path, sets a 5 s busy timeout and runs the pragmas.
  // `component` names the store in logs ("metadata", "advisories");
  // `client_error` is the message callers' errors carry. Throws
  // std::runtime_error on failure (start-up only).
  SqliteDb(const std::filesystem::path& path, std::initializer_list<const char*> pragmas,
           std::string component, std::string client_error);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // sql must be a string literal (the cache is keyed by its address). Bad SQL is a bug: throws.
  Stmt prepare(const char* sql);
  Result<void> exec(const char* sql);
  // Runs several statements in one transaction; on failure rolls back and
  // throws std::runtime_error naming `what` (migrations at start-up).
  void exec_transaction_or_throw(const std::string& statements, const std::string& what);
  Error fail(const char* what);

  int user_version();
  int64_t last_insert_rowid();
  int changes();

 private:
  void close();
  sqlite3* db_ = nullptr;
  std::map<const char*, sqlite3_stmt*> stmts_;
  std::string component_;
  std::string client_error_;
};

}  // namespace portcullis::metadata
