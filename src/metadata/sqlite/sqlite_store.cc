#include "metadata/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "metadata/migrations.h"

namespace portcullis::metadata {


namespace {
int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

SqliteStore::SqliteStore(const std::filesystem::path& path)
    : db_(path, {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"},
          "metadata", "metadata store error") {
  int version = db_.user_version();
  const auto& all = migrations();
  if (version > static_cast<int>(all.size())) {
    throw std::runtime_error(fmt::format(
        "database schema version {} is newer than this binary ({})", version, all.size()));
  }
  for (int v = version; v < static_cast<int>(all.size()); ++v) {
    db_.exec_transaction_or_throw(
        fmt::format("{} PRAGMA user_version={};",
                    all[static_cast<std::size_t>(v)].for_engine(Engine::sqlite), v + 1),
        fmt::format("migration {}", v + 1));
    spdlog::info("metadata: applied migration {}", v + 1);
  }
}

SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() {
  std::lock_guard lock(mu_);
  return db_.user_version();
}

Error SqliteStore::fail(const char* what) { return db_.fail(what); }

SqliteDb::Stmt SqliteStore::prepare(const char* sql) { return db_.prepare(sql); }

Result<void> SqliteStore::exec(const char* sql) { return db_.exec(sql); }

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
  return db_.last_insert_rowid();
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
  return db_.changes() > 0;
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::blob_references() {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT r.name, b.digest FROM repo_blobs b JOIN repositories r ON r.id = b.repo_id "
      "UNION SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repo_id "
      "ORDER BY 1, 2");
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.emplace_back(s.text(0), s.text(1));
  if (rc != SQLITE_DONE) return fail("blob references");
  return out;
}

Result<void> SqliteStore::put_manifest(std::string_view repo, const ManifestRecord& m,
                                       const std::vector<ManifestChild>& children,
                                       std::string_view tag, const WriteOptions& write) {
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
  if (!tag.empty() && write.guard) {
    auto current = tag_digest(*id, tag);
    if (!current) {
      exec("ROLLBACK");
      return current.error();
    }
    std::optional<std::string_view> cur;
    if (*current) cur = **current;
    if (auto g = write.guard(tag, cur); !g) {
      exec("ROLLBACK");
      return g.error();
    }
  }
  if (!tag.empty()) {
    auto s = prepare(
        "INSERT INTO tags (repo_id, name, digest, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest, "
        "updated_at = excluded.updated_at");
    s.bind(1, *id).bind(2, tag).bind(3, m.digest).bind(4, now_seconds());
    if (s.step() != SQLITE_DONE) return rollback("upsert tag");
  }
  if (write.audit) {
    if (auto a = append_chained(*write.audit); !a) {
      exec("ROLLBACK");
      return a.error();
    }
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

Result<std::vector<std::string>> SqliteStore::manifests_using_blob(std::string_view repo,
                                                                   std::string_view digest,
                                                                   std::size_t limit) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT c.parent FROM manifest_children c JOIN repositories r ON r.id = c.repo_id "
      "WHERE r.name = ? AND c.child = ? AND c.is_manifest = 0 ORDER BY c.parent LIMIT ?");
  s.bind(1, repo).bind(2, digest).bind(3, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  if (rc != SQLITE_DONE) return fail("manifests using blob");
  return out;
}

Result<std::vector<std::string>> SqliteStore::manifest_parents(std::string_view repo,
                                                               std::string_view digest) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT c.parent FROM manifest_children c JOIN repositories r ON r.id = c.repo_id "
      "WHERE r.name = ? AND c.child = ? AND c.is_manifest = 1 ORDER BY c.parent");
  s.bind(1, repo).bind(2, digest);
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  if (rc != SQLITE_DONE) return fail("manifest parents");
  return out;
}

Result<bool> SqliteStore::delete_manifest(std::string_view repo, std::string_view digest,
                                          const WriteOptions& write) {
  std::lock_guard lock(mu_);
  auto id = find_repo(repo);
  if (!id) return id.error();
  if (!*id) return false;
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  auto abort = [&](Error e) {
    exec("ROLLBACK");
    return e;
  };
  if (write.guard) {
    auto s = prepare("SELECT name FROM tags WHERE repo_id = ? AND digest = ? ORDER BY name");
    s.bind(1, **id).bind(2, digest);
    std::vector<std::string> tags;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) tags.push_back(s.text(0));
    if (rc != SQLITE_DONE) return abort(fail("tags of manifest"));
    for (const auto& t : tags) {
      if (auto g = write.guard(t, std::optional<std::string_view>(digest)); !g) return abort(g.error());
    }
  }
  int changed = 0;
  for (const char* sql : {"DELETE FROM manifests WHERE repo_id = ? AND digest = ?",
                          "DELETE FROM tags WHERE repo_id = ? AND digest = ?",
                          "DELETE FROM manifest_children WHERE repo_id = ? AND parent = ?"}) {
    auto s = prepare(sql);
    s.bind(1, **id).bind(2, digest);
    if (s.step() != SQLITE_DONE) return abort(fail("delete manifest"));
    if (changed == 0) changed = db_.changes();
  }
  if (changed > 0 && write.audit) {
    if (auto a = append_chained(*write.audit); !a) return abort(a.error());
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

Result<std::optional<std::string>> SqliteStore::tag_digest(int64_t repo_id, std::string_view tag) {
  auto s = prepare("SELECT digest FROM tags WHERE repo_id = ? AND name = ?");
  s.bind(1, repo_id).bind(2, tag);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(s.text(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return fail("tag digest");
}

Result<bool> SqliteStore::delete_tag(std::string_view repo, std::string_view tag,
                                     const WriteOptions& write) {
  std::lock_guard lock(mu_);
  auto id = find_repo(repo);
  if (!id) return id.error();
  if (!*id) return false;
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  auto abort = [&](Error e) {
    exec("ROLLBACK");
    return e;
  };
  auto current = tag_digest(**id, tag);
  if (!current) return abort(current.error());
  if (!*current) {
    exec("ROLLBACK");
    return false;
  }
  if (write.guard) {
    if (auto g = write.guard(tag, std::optional<std::string_view>(**current)); !g) {
      return abort(g.error());
    }
  }
  auto s = prepare("DELETE FROM tags WHERE repo_id = ? AND name = ?");
  s.bind(1, **id).bind(2, tag);
  if (s.step() != SQLITE_DONE) return abort(fail("delete tag"));
  if (write.audit) {
    if (auto a = append_chained(*write.audit); !a) return abort(a.error());
  }
  if (!exec("COMMIT")) return make_error(Errc::internal, "metadata store error");
  return true;
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

Result<std::vector<std::string>> SqliteStore::uploads_started_before(int64_t unix_seconds,
                                                                     std::size_t limit) {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT id FROM uploads WHERE started_at < ? ORDER BY started_at, id LIMIT ?");
  s.bind(1, unix_seconds).bind(2, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  if (rc != SQLITE_DONE) return fail("stale uploads");
  return out;
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
