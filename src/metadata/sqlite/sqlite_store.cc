#include "metadata/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "metadata/migrations.h"

namespace portcullis::metadata {

// A prepared statement borrowed from the cache; reset on destruction.
class SqliteStore::Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  std::string text(int col) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  int64_t integer(int col) { return sqlite3_column_int64(s_, col); }

 private:
  sqlite3_stmt* s_;
};

namespace {
int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

SqliteStore::SqliteStore(const std::filesystem::path& path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error(fmt::format("cannot open {}: {}", path.string(), msg));
  }
  // The destructor does not run when the constructor throws: close here.
  try {
    sqlite3_busy_timeout(db_, 5000);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                               "PRAGMA foreign_keys=ON"}) {
      if (!exec(pragma)) throw std::runtime_error(fmt::format("{} failed", pragma));
    }
    int version = schema_version();
    const auto& all = migrations();
    if (version > static_cast<int>(all.size())) {
      throw std::runtime_error(fmt::format(
          "database schema version {} is newer than this binary ({})", version, all.size()));
    }
    for (int v = version; v < static_cast<int>(all.size()); ++v) {
      std::string sql =
          fmt::format("BEGIN IMMEDIATE; {} PRAGMA user_version={}; COMMIT;",
                      all[static_cast<std::size_t>(v)].for_engine(Engine::sqlite), v + 1);
      char* err = nullptr;
      if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown";
        sqlite3_free(err);
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw std::runtime_error(fmt::format("migration {} failed: {}", v + 1, msg));
      }
      spdlog::info("metadata: applied migration {}", v + 1);
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteStore::~SqliteStore() {
  for (auto& [sql, s] : stmts_) sqlite3_finalize(s);
  sqlite3_close(db_);
}

int SqliteStore::schema_version() {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &s, nullptr);
  int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
  sqlite3_finalize(s);
  return v;
}

Error SqliteStore::fail(const char* what) {
  spdlog::error("metadata: {}: {}", what, sqlite3_errmsg(db_));
  return make_error(Errc::internal, "metadata store error");
}

SqliteStore::Stmt SqliteStore::prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return Stmt(it->second);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    // SQL text is a literal of this file: a failure here is a bug.
    throw std::logic_error(fmt::format("bad SQL {}: {}", sql, sqlite3_errmsg(db_)));
  }
  stmts_.emplace(sql, s);
  return Stmt(s);
}

Result<void> SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    spdlog::error("metadata: {}: {}", sql, err ? err : "?");
    sqlite3_free(err);
    return make_error(Errc::internal, "metadata store error");
  }
  return {};
}

Result<std::optional<int64_t>> SqliteStore::find_repo(std::string_view repo) {
  auto s = prepare("SELECT id FROM repositories WHERE name = ?");
  s.bind(1, repo);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<int64_t>(s.integer(0));
  if (rc == SQLITE_DONE) return std::optional<int64_t>();
  return fail("find repository");
}

Result<int64_t> SqliteStore::ensure_repo(std::string_view repo) {
  auto found = find_repo(repo);
  if (!found) return found.error();
  if (*found) return **found;
  auto s = prepare("INSERT INTO repositories (name, created_at) VALUES (?, ?)");
  s.bind(1, repo).bind(2, now_seconds());
  if (s.step() != SQLITE_DONE) return fail("insert repository");
  return sqlite3_last_insert_rowid(db_);
}

Result<std::vector<std::string>> SqliteStore::list_repositories(std::string_view last,
                                                                std::size_t n) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT name FROM repositories r WHERE name > ? AND (EXISTS (SELECT 1 FROM manifests m "
      "WHERE m.repo_id = r.id) OR EXISTS (SELECT 1 FROM repo_blobs b WHERE b.repo_id = r.id)) "
      "ORDER BY name LIMIT ?");
  s.bind(1, last).bind(2, static_cast<int64_t>(n));
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  if (rc != SQLITE_DONE) return fail("list repositories");
  return out;
}

Result<bool> SqliteStore::repository_exists(std::string_view repo) {
  std::lock_guard lock(mu_);
  auto r = find_repo(repo);
  if (!r) return r.error();
  return r->has_value();
}

Result<void> SqliteStore::link_blob(std::string_view repo, std::string_view digest, int64_t size) {
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  auto id = ensure_repo(repo);
  if (!id) {
    exec("ROLLBACK");
    return id.error();
  }
  auto s = prepare("INSERT OR IGNORE INTO repo_blobs (repo_id, digest, size) VALUES (?, ?, ?)");
  s.bind(1, *id).bind(2, digest).bind(3, size);
  if (s.step() != SQLITE_DONE) {
    auto e = fail("link blob");
    exec("ROLLBACK");
    return e;
  }
  return exec("COMMIT");
}

Result<std::optional<int64_t>> SqliteStore::linked_blob(std::string_view repo,
                                                        std::string_view digest) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT b.size FROM repo_blobs b JOIN repositories r ON r.id = b.repo_id "
      "WHERE r.name = ?1 AND b.digest = ?2 "
      "UNION ALL SELECT m.size FROM manifests m JOIN repositories r ON r.id = m.repo_id "
      "WHERE r.name = ?1 AND m.digest = ?2 LIMIT 1");
  s.bind(1, repo).bind(2, digest);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<int64_t>(s.integer(0));
  if (rc == SQLITE_DONE) return std::optional<int64_t>();
  return fail("linked blob");
}

Result<bool> SqliteStore::unlink_blob(std::string_view repo, std::string_view digest) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "DELETE FROM repo_blobs WHERE digest = ? AND repo_id = "
      "(SELECT id FROM repositories WHERE name = ?)");
  s.bind(1, digest).bind(2, repo);
  if (s.step() != SQLITE_DONE) return fail("unlink blob");
  return sqlite3_changes(db_) > 0;
}

Result<void> SqliteStore::put_manifest(std::string_view repo, const ManifestRecord& m,
                                       const std::vector<ManifestChild>& children,
                                       std::string_view tag) {
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  auto rollback = [&](const char* what) {
    auto e = fail(what);
    exec("ROLLBACK");
    return e;
  };
  auto id = ensure_repo(repo);
  if (!id) {
    exec("ROLLBACK");
    return id.error();
  }
  {
    auto s = prepare(
        "INSERT OR IGNORE INTO manifests (repo_id, digest, media_type, size, artifact_type, "
        "subject, annotations, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, *id).bind(2, m.digest).bind(3, m.media_type).bind(4, m.size);
    s.bind(5, m.artifact_type).bind(6, m.subject).bind(7, m.annotations_json).bind(8, m.created_at);
    if (s.step() != SQLITE_DONE) return rollback("insert manifest");
  }
  for (const auto& c : children) {
    auto s = prepare(
        "INSERT OR IGNORE INTO manifest_children (repo_id, parent, child, is_manifest) "
        "VALUES (?, ?, ?, ?)");
    s.bind(1, *id).bind(2, m.digest).bind(3, c.digest).bind(4, int64_t{c.is_manifest});
    if (s.step() != SQLITE_DONE) return rollback("insert manifest child");
  }
  if (!tag.empty()) {
    auto s = prepare(
        "INSERT INTO tags (repo_id, name, digest, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest, "
        "updated_at = excluded.updated_at");
    s.bind(1, *id).bind(2, tag).bind(3, m.digest).bind(4, now_seconds());
    if (s.step() != SQLITE_DONE) return rollback("upsert tag");
  }
  return exec("COMMIT");
}

Result<std::optional<ManifestRecord>> SqliteStore::get_manifest(std::string_view repo,
                                                                std::string_view digest) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, "
      "m.created_at FROM manifests m JOIN repositories r ON r.id = m.repo_id "
      "WHERE r.name = ? AND m.digest = ?");
  s.bind(1, repo).bind(2, digest);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<ManifestRecord>();
  if (rc != SQLITE_ROW) return fail("get manifest");
  return std::optional<ManifestRecord>(ManifestRecord{s.text(0), s.text(1), s.integer(2),
                                                      s.text(3), s.text(4), s.text(5),
                                                      s.integer(6)});
}

Result<bool> SqliteStore::delete_manifest(std::string_view repo, std::string_view digest) {
  std::lock_guard lock(mu_);
  auto id = find_repo(repo);
  if (!id) return id.error();
  if (!*id) return false;
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  int changed = 0;
  for (const char* sql : {"DELETE FROM manifests WHERE repo_id = ? AND digest = ?",
                          "DELETE FROM tags WHERE repo_id = ? AND digest = ?",
                          "DELETE FROM manifest_children WHERE repo_id = ? AND parent = ?"}) {
    auto s = prepare(sql);
    s.bind(1, **id).bind(2, digest);
    if (s.step() != SQLITE_DONE) {
      auto e = fail("delete manifest");
      exec("ROLLBACK");
      return e;
    }
    if (changed == 0) changed = sqlite3_changes(db_);
  }
  if (!exec("COMMIT")) return make_error(Errc::internal, "metadata store error");
  return changed > 0;
}

Result<std::optional<std::string>> SqliteStore::resolve_tag(std::string_view repo,
                                                            std::string_view tag) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT t.digest FROM tags t JOIN repositories r ON r.id = t.repo_id "
      "WHERE r.name = ? AND t.name = ?");
  s.bind(1, repo).bind(2, tag);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(s.text(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return fail("resolve tag");
}

Result<std::optional<std::vector<std::string>>> SqliteStore::list_tags(std::string_view repo,
                                                                       std::string_view last,
                                                                       std::size_t n) {
  std::lock_guard lock(mu_);
  auto id = find_repo(repo);
  if (!id) return id.error();
  if (!*id) return std::optional<std::vector<std::string>>();
  auto s = prepare("SELECT name FROM tags WHERE repo_id = ? AND name > ? ORDER BY name LIMIT ?");
  s.bind(1, **id).bind(2, last).bind(3, static_cast<int64_t>(n));
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  if (rc != SQLITE_DONE) return fail("list tags");
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<bool> SqliteStore::delete_tag(std::string_view repo, std::string_view tag) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "DELETE FROM tags WHERE name = ? AND repo_id = (SELECT id FROM repositories WHERE name = ?)");
  s.bind(1, tag).bind(2, repo);
  if (s.step() != SQLITE_DONE) return fail("delete tag");
  return sqlite3_changes(db_) > 0;
}

Result<std::vector<ManifestRecord>> SqliteStore::list_referrers(std::string_view repo,
                                                                std::string_view subject,
                                                                std::string_view artifact_type) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, "
      "m.created_at FROM manifests m JOIN repositories r ON r.id = m.repo_id "
      "WHERE r.name = ? AND m.subject = ? AND (? = '' OR m.artifact_type = ?) "
      "ORDER BY m.created_at, m.digest");
  s.bind(1, repo).bind(2, subject).bind(3, artifact_type).bind(4, artifact_type);
  std::vector<ManifestRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(ManifestRecord{s.text(0), s.text(1), s.integer(2), s.text(3), s.text(4),
                                 s.text(5), s.integer(6)});
  }
  if (rc != SQLITE_DONE) return fail("list referrers");
  return out;
}

Result<void> SqliteStore::create_upload(std::string_view id, std::string_view repo,
                                        int64_t started_at) {
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  auto rid = ensure_repo(repo);
  if (!rid) {
    exec("ROLLBACK");
    return rid.error();
  }
  auto s = prepare("INSERT INTO uploads (id, repo_id, started_at) VALUES (?, ?, ?)");
  s.bind(1, id).bind(2, *rid).bind(3, started_at);
  if (s.step() != SQLITE_DONE) {
    auto e = fail("create upload");
    exec("ROLLBACK");
    return e;
  }
  return exec("COMMIT");
}

Result<std::optional<std::string>> SqliteStore::upload_repository(std::string_view id) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT r.name FROM uploads u JOIN repositories r ON r.id = u.repo_id WHERE u.id = ?");
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(s.text(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return fail("upload repository");
}

Result<void> SqliteStore::delete_upload(std::string_view id) {
  std::lock_guard lock(mu_);
  auto s = prepare("DELETE FROM uploads WHERE id = ?");
  s.bind(1, id);
  if (s.step() != SQLITE_DONE) return fail("delete upload");
  return {};
}

Result<void> SqliteStore::put_scan(const ScanRecord& r) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "INSERT INTO scans (digest, status, inventory, findings, data_version, error, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE SET status = excluded.status, "
      "inventory = excluded.inventory, findings = excluded.findings, "
      "data_version = excluded.data_version, error = excluded.error, "
      "updated_at = excluded.updated_at");
  s.bind(1, r.digest).bind(2, r.status).bind(3, r.inventory).bind(4, r.findings);
  s.bind(5, r.data_version).bind(6, r.error).bind(7, r.updated_at);
  if (s.step() != SQLITE_DONE) return fail("put scan");
  return {};
}

Result<std::optional<ScanRecord>> SqliteStore::get_scan(std::string_view digest) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT digest, status, inventory, findings, data_version, error, updated_at FROM scans "
      "WHERE digest = ?");
  s.bind(1, digest);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<ScanRecord>();
  if (rc != SQLITE_ROW) return fail("get scan");
  return std::optional<ScanRecord>(ScanRecord{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4),
                                              s.text(5), s.integer(6)});
}

Result<std::vector<std::string>> SqliteStore::stale_scans(std::string_view data_version) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT digest FROM scans WHERE status = 'done' AND data_version <> ? ORDER BY digest");
  s.bind(1, data_version);
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  if (rc != SQLITE_DONE) return fail("stale scans");
  return out;
}

Result<std::vector<std::string>> SqliteStore::unfinished_scans() {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT digest FROM scans WHERE status IN ('queued', 'running') ORDER BY updated_at");
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  if (rc != SQLITE_DONE) return fail("unfinished scans");
  return out;
}

}  // namespace portcullis::metadata
