#include "metadata/sqlite/sqlite_db.h"

#include <sqlite3.h>

#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace portcullis::metadata {

SqliteDb::Stmt::~Stmt() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

SqliteDb::Stmt& SqliteDb::Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteDb::Stmt& SqliteDb::Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}

SqliteDb::Stmt& SqliteDb::Stmt::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

int SqliteDb::Stmt::step() { return sqlite3_step(s_); }

std::string SqliteDb::Stmt::text(int col) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
}

int64_t SqliteDb::Stmt::integer(int col) { return sqlite3_column_int64(s_, col); }

bool SqliteDb::Stmt::is_null(int col) { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

SqliteDb::SqliteDb(const std::filesystem::path& path, std::initializer_list<const char*> pragmas,
                   std::string component, std::string client_error)
    : component_(std::move(component)), client_error_(std::move(client_error)) {
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    close();
    throw std::runtime_error(fmt::format("cannot open {}: {}", path.string(), msg));
  }
  sqlite3_busy_timeout(db_, 5000);
  for (const char* pragma : pragmas) {
    if (!exec(pragma)) {
      close();
      throw std::runtime_error(fmt::format("{} failed", pragma));
    }
  }
}

SqliteDb::~SqliteDb() { close(); }

void SqliteDb::close() {
  for (auto& [sql, s] : stmts_) sqlite3_finalize(s);
  stmts_.clear();
  sqlite3_close(db_);
  db_ = nullptr;
}

SqliteDb::Stmt SqliteDb::prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return Stmt(it->second);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    throw std::logic_error(fmt::format("bad SQL {}: {}", sql, sqlite3_errmsg(db_)));
  }
  stmts_.emplace(sql, s);
  return Stmt(s);
}

Result<void> SqliteDb::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    spdlog::error("{}: {}: {}", component_, sql, err ? err : "?");
    sqlite3_free(err);
    return make_error(Errc::internal, client_error_);
  }
  return {};
}

void SqliteDb::exec_transaction_or_throw(const std::string& statements, const std::string& what) {
  std::string sql = "BEGIN IMMEDIATE; " + statements + " COMMIT;";
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw std::runtime_error(fmt::format("{} failed: {}", what, msg));
  }
}

Error SqliteDb::fail(const char* what) {
  spdlog::error("{}: {}: {}", component_, what, sqlite3_errmsg(db_));
  return make_error(Errc::internal, client_error_);
}

int SqliteDb::user_version() {
  auto s = prepare("PRAGMA user_version");
  return s.step() == SQLITE_ROW ? static_cast<int>(s.integer(0)) : 0;
}

int64_t SqliteDb::last_insert_rowid() { return sqlite3_last_insert_rowid(db_); }

int SqliteDb::changes() { return sqlite3_changes(db_); }

}  // namespace portcullis::metadata
