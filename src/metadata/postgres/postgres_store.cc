#include "metadata/postgres/postgres_store.h"

#include <stdexcept>
#include <utility>

#include "metadata/migrations.h"
#include "metadata/postgres/postgres_conn.h"

namespace portcullis::metadata {

using pg::clamp_count;
using pg::now_seconds;
using pg::one_line;
using pg::store_error;

namespace {

// Serialises migrations between every process sharing the database
// (advisory locks are per database). "pcmeta" in ASCII.
constexpr int64_t kMigrationLock = 0x70636d657461;

PGconn* connect(const std::string& url) {
  // Defaults first so that the URL may override them (libpq waits forever
  // for a connection without connect_timeout); client_encoding last so that
  // text always crosses the wire as UTF-8.
  const char* keys[] = {"application_name", "connect_timeout", "dbname", "client_encoding",
                        nullptr};
  const char* values[] = {"portcullis", "10", url.c_str(), "UTF8", nullptr};
  PGconn* pg = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (pg == nullptr) throw std::runtime_error("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(pg) != CONNECTION_OK) {
    // libpq's message names host and port, never the password.
    std::string msg = one_line(PQerrorMessage(pg));
    PQfinish(pg);
    throw std::runtime_error(fmt::format("cannot connect to PostgreSQL: {}", msg));
  }
  PQsetNoticeProcessor(
      pg, [](void*, const char* msg) { spdlog::debug("metadata: postgres: {}", one_line(msg)); },
      nullptr);
  return pg;
}

}  // namespace

PostgresStore::PostgresStore(PostgresOptions options) : options_(std::move(options)) {
  if (options_.url.empty()) throw std::runtime_error("PostgreSQL URL is empty");
  std::size_t n = std::max<std::size_t>(1, options_.pool_size);
  for (std::size_t i = 0; i < n; ++i)
    conns_.push_back(std::make_unique<Conn>(connect(options_.url)));
  migrate(*conns_.front());
  for (auto& c : conns_) idle_.push_back(c.get());
}

PostgresStore::~PostgresStore() = default;

void PostgresStore::migrate(Conn& c) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(fmt::format("{}: {}", what, c.last_error));
  };
  if (!c.run("migration lock", "SELECT pg_advisory_lock($1)", {kMigrationLock})) {
    fail("cannot take the migration lock");
  }
  // Closing the connection would release the lock too; the pool keeps it open.
  struct Unlock {
    Conn& c;
    ~Unlock() {
      (void)c.run("migration unlock", "SELECT pg_advisory_unlock($1)", {kMigrationLock});
    }
  } unlock{c};
  // PostgreSQL has no user_version pragma: one row per applied migration.
  if (!c.exec("create schema_migrations",
              "CREATE TABLE IF NOT EXISTS schema_migrations ("
              "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)")) {
    fail("cannot create schema_migrations");
  }
  auto rows =
      c.run("schema version", "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
  if (!rows) fail("cannot read the schema version");
  auto version = rows->integer(0, 0);
  const auto& all = migrations();
  if (version > static_cast<int64_t>(all.size())) {
    throw std::runtime_error(fmt::format(
        "database schema version {} is newer than this binary ({})", version, all.size()));
  }
  for (auto v = version; v < static_cast<int64_t>(all.size()); ++v) {
    std::string sql(all[static_cast<std::size_t>(v)].for_engine(Engine::postgres));
    Tx tx(c);
    if (!tx.begin() || !c.exec("migration", sql.c_str()) ||
        !c.run("record migration",
               "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
               {v + 1, now_seconds()}) ||
        !tx.commit()) {
      fail(fmt::format("migration {} failed", v + 1));
    }
    spdlog::info("metadata: applied migration {} (PostgreSQL)", v + 1);
  }
}

Result<PostgresStore::Lease> PostgresStore::acquire() {
  Conn* c = nullptr;
  {
    std::unique_lock lock(mu_);
    if (!idle_cv_.wait_for(lock, options_.acquire_timeout, [&] { return !idle_.empty(); })) {
      spdlog::error("metadata: no free PostgreSQL connection within {} ms (pool of {})",
                    options_.acquire_timeout.count(), conns_.size());
      return store_error();
    }
    c = idle_.back();
    idle_.pop_back();
  }
  Lease lease(this, c);
  auto ready = c->ready();
  if (!ready) return ready.error();
  return lease;
}

void PostgresStore::release(Conn* c) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(c);
  }
  idle_cv_.notify_one();
}

int PostgresStore::schema_version() {
  auto v = with_conn([](Conn& c) -> Result<int64_t> {
    auto rows =
        c.run("schema version", "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
    if (!rows) return rows.error();
    return rows->integer(0, 0);
  });
  return v ? static_cast<int>(*v) : 0;
}

Result<std::vector<std::string>> PostgresStore::list_repositories(std::string_view last,
                                                                  std::size_t n) {
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.run(
        "list repositories",
        "SELECT name FROM repositories r WHERE name > $1 AND (EXISTS (SELECT 1 FROM manifests m "
        "WHERE m.repo_id = r.id) OR EXISTS (SELECT 1 FROM repo_blobs b WHERE b.repo_id = r.id)) "
        "ORDER BY name LIMIT $2",
        {last, clamp_count(n)});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return out;
  });
}

Result<bool> PostgresStore::repository_exists(std::string_view repo) {
  return with_conn([&](Conn& c) -> Result<bool> {
    auto r = c.find_repo(repo);
    if (!r) return r.error();
    return r->has_value();
  });
}

Result<void> PostgresStore::link_blob(std::string_view repo, std::string_view digest,
                                      int64_t size) {
  return with_conn([&](Conn& c) -> Result<void> {
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r;
    auto id = c.ensure_repo(repo);
    if (!id) return id.error();
    auto rows = c.run("link blob",
                      "INSERT INTO repo_blobs (repo_id, digest, size) VALUES ($1, $2, $3) "
                      "ON CONFLICT DO NOTHING",
                      {*id, digest, size});
    if (!rows) return rows.error();
    return tx.commit();
  });
}

Result<std::optional<int64_t>> PostgresStore::linked_blob(std::string_view repo,
                                                          std::string_view digest) {
  return with_conn([&](Conn& c) -> Result<std::optional<int64_t>> {
    auto rows =
        c.run("linked blob",
              "SELECT b.size FROM repo_blobs b JOIN repositories r ON r.id = b.repo_id "
              "WHERE r.name = $1 AND b.digest = $2 "
              "UNION ALL SELECT m.size FROM manifests m JOIN repositories r ON r.id = m.repo_id "
              "WHERE r.name = $1 AND m.digest = $2 LIMIT 1",
              {repo, digest});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<int64_t>();
    return std::optional<int64_t>(rows->integer(0, 0));
  });
}

Result<bool> PostgresStore::unlink_blob(std::string_view repo, std::string_view digest) {
  return with_conn([&](Conn& c) -> Result<bool> {
    auto rows = c.run("unlink blob",
                      "DELETE FROM repo_blobs WHERE digest = $1 AND repo_id = "
                      "(SELECT id FROM repositories WHERE name = $2)",
                      {digest, repo});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<std::vector<std::pair<std::string, std::string>>> PostgresStore::blob_references() {
  return with_conn([&](Conn& c) -> Result<std::vector<std::pair<std::string, std::string>>> {
    auto rows = c.run("blob references",
                      "SELECT r.name, b.digest FROM repo_blobs b JOIN repositories r "
                      "ON r.id = b.repo_id UNION SELECT r.name, m.digest FROM manifests m "
                      "JOIN repositories r ON r.id = m.repo_id ORDER BY 1, 2",
                      {});
    if (!rows) return rows.error();
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < rows->size(); ++i) out.emplace_back(rows->text(i, 0), rows->text(i, 1));
    return out;
  });
}

Result<void> PostgresStore::put_manifest(std::string_view repo, const ManifestRecord& m,
                                         const std::vector<ManifestChild>& children,
                                         std::string_view tag, const WriteOptions& write) {
  return with_conn([&](Conn& c) -> Result<void> {
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r;
    auto id = c.ensure_repo(repo);
    if (!id) return id.error();
    // A manifest already there is locked by a no-op update (DO NOTHING would
    // not lock it): a concurrent delete_manifest then either finishes first
    // (we insert anew) or waits for our commit and removes our tag with it.
    // Either way no tag is left naming a deleted manifest.
    auto rows =
        c.run("insert manifest",
              "INSERT INTO manifests (repo_id, digest, media_type, size, artifact_type, subject, "
              "annotations, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
              "ON CONFLICT (repo_id, digest) DO UPDATE SET created_at = manifests.created_at",
              {*id, m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations_json,
               m.created_at});
    if (!rows) return rows.error();
    for (const auto& child : children) {
      rows = c.run("insert manifest child",
                   "INSERT INTO manifest_children (repo_id, parent, child, is_manifest) "
                   "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                   {*id, m.digest, child.digest, int64_t{child.is_manifest}});
      if (!rows) return rows.error();
    }
    if (!tag.empty() && !write.guard) {
      rows = c.run("upsert tag",
                   "INSERT INTO tags (repo_id, name, digest, updated_at) VALUES ($1, $2, $3, $4) "
                   "ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest, "
                   "updated_at = excluded.updated_at",
                   {*id, tag, m.digest, now_seconds()});
      if (!rows) return rows.error();
    } else if (!tag.empty()) {
      auto set = guarded_set_tag(c, *id, tag, m.digest, write.guard);
      if (!set) return set;
    }
    if (write.audit) {
      if (auto a = append_chained(c, *write.audit); !a) return a;
    }
    return tx.commit();
  });
}

Result<void> PostgresStore::guarded_set_tag(Conn& c, int64_t repo_id, std::string_view tag,
                                            std::string_view digest, const TagGuard& guard) {
  // An existing tag row is locked while the guard judges it. A tag that does
  // not exist yet has no row to lock: when a concurrent push creates it
  // first, our insert finds it (after waiting for that commit) and we look
  // again, at a row we can lock this time.
  constexpr int kLooks = 3;
  for (int look = 1;; ++look) {
    auto rows =
        c.run("lock tag", "SELECT digest FROM tags WHERE repo_id = $1 AND name = $2 FOR UPDATE",
              {repo_id, tag});
    if (!rows) return rows.error();
    std::optional<std::string> current;
    if (rows->size() > 0) current = rows->text(0, 0);
    std::optional<std::string_view> seen;
    if (current) seen = *current;
    if (auto g = guard(tag, seen); !g) return g;
    if (current) {
      rows = c.run("move tag",
                   "UPDATE tags SET digest = $3, updated_at = $4 WHERE repo_id = $1 AND name = $2",
                   {repo_id, tag, digest, now_seconds()});
      if (!rows) return rows.error();
      return {};
    }
    rows = c.run("create tag",
                 "INSERT INTO tags (repo_id, name, digest, updated_at) VALUES ($1, $2, $3, $4) "
                 "ON CONFLICT (repo_id, name) DO NOTHING",
                 {repo_id, tag, digest, now_seconds()});
    if (!rows) return rows.error();
    if (rows->affected() > 0) return {};
    if (look == kLooks) {
      // The tag keeps appearing and vanishing under us; start over.
      spdlog::warn("metadata: tag {} changed {} times while being set", tag, kLooks);
      c.retry = true;
      return store_error();
    }
  }
}

Result<std::optional<ManifestRecord>> PostgresStore::get_manifest(std::string_view repo,
                                                                  std::string_view digest) {
  return with_conn([&](Conn& c) -> Result<std::optional<ManifestRecord>> {
    auto rows = c.run("get manifest",
                      "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.subject, "
                      "m.annotations, m.created_at FROM manifests m "
                      "JOIN repositories r ON r.id = m.repo_id WHERE r.name = $1 AND m.digest = $2",
                      {repo, digest});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<ManifestRecord>();
    const auto& s = *rows;
    return std::optional<ManifestRecord>(ManifestRecord{s.text(0, 0), s.text(0, 1), s.integer(0, 2),
                                                        s.text(0, 3), s.text(0, 4), s.text(0, 5),
                                                        s.integer(0, 6)});
  });
}

Result<std::vector<std::string>> PostgresStore::manifests_using_blob(std::string_view repo,
                                                                     std::string_view digest,
                                                                     std::size_t limit) {
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.run("manifests using blob",
                      "SELECT c.parent FROM manifest_children c JOIN repositories r "
                      "ON r.id = c.repo_id WHERE r.name = $1 AND c.child = $2 "
                      "AND c.is_manifest = 0 ORDER BY c.parent LIMIT $3",
                      {repo, digest, static_cast<int64_t>(limit)});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return out;
  });
}

Result<std::vector<std::string>> PostgresStore::manifest_parents(std::string_view repo,
                                                                 std::string_view digest) {
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.run("manifest parents",
                      "SELECT c.parent FROM manifest_children c JOIN repositories r "
                      "ON r.id = c.repo_id WHERE r.name = $1 AND c.child = $2 "
                      "AND c.is_manifest = 1 ORDER BY c.parent",
                      {repo, digest});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return out;
  });
}

Result<bool> PostgresStore::delete_manifest(std::string_view repo, std::string_view digest,
                                            const WriteOptions& write) {
  return with_conn([&](Conn& c) -> Result<bool> {
    auto id = c.find_repo(repo);
    if (!id) return id.error();
    if (!*id) return false;
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r.error();
    if (write.guard) {
      // The manifest row lock holds off a push that would tag this digest
      // between our look at its tags and the delete (put_manifest locks the
      // row first); the tag rows are locked against moves and deletes.
      auto rows = c.run("lock manifest",
                        "SELECT 1 FROM manifests WHERE repo_id = $1 AND digest = $2 FOR UPDATE",
                        {**id, digest});
      if (!rows) return rows.error();
      rows = c.run("tags of manifest",
                   "SELECT name FROM tags WHERE repo_id = $1 AND digest = $2 ORDER BY name "
                   "FOR UPDATE",
                   {**id, digest});
      if (!rows) return rows.error();
      for (int i = 0; i < rows->size(); ++i) {
        auto g = write.guard(rows->text(i, 0), std::optional<std::string_view>(digest));
        if (!g) return g.error();
      }
    }
    int64_t changed = 0;
    for (const char* sql : {"DELETE FROM manifests WHERE repo_id = $1 AND digest = $2",
                            "DELETE FROM tags WHERE repo_id = $1 AND digest = $2",
                            "DELETE FROM manifest_children WHERE repo_id = $1 AND parent = $2"}) {
      auto rows = c.run("delete manifest", sql, {**id, digest});
      if (!rows) return rows.error();
      if (changed == 0) changed = rows->affected();
    }
    if (changed > 0 && write.audit) {
      if (auto a = append_chained(c, *write.audit); !a) return a.error();
    }
    if (auto r = tx.commit(); !r) return r.error();
    return changed > 0;
  });
}

Result<std::optional<std::string>> PostgresStore::resolve_tag(std::string_view repo,
                                                              std::string_view tag) {
  return with_conn([&](Conn& c) -> Result<std::optional<std::string>> {
    auto rows = c.run("resolve tag",
                      "SELECT t.digest FROM tags t JOIN repositories r ON r.id = t.repo_id "
                      "WHERE r.name = $1 AND t.name = $2",
                      {repo, tag});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(rows->text(0, 0));
  });
}

Result<std::optional<std::vector<std::string>>> PostgresStore::list_tags(std::string_view repo,
                                                                         std::string_view last,
                                                                         std::size_t n) {
  return with_conn([&](Conn& c) -> Result<std::optional<std::vector<std::string>>> {
    auto id = c.find_repo(repo);
    if (!id) return id.error();
    if (!*id) return std::optional<std::vector<std::string>>();
    auto rows = c.run("list tags",
                      "SELECT name FROM tags WHERE repo_id = $1 AND name > $2 ORDER BY name "
                      "LIMIT $3",
                      {**id, last, clamp_count(n)});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return std::optional<std::vector<std::string>>(std::move(out));
  });
}

Result<bool> PostgresStore::delete_tag(std::string_view repo, std::string_view tag,
                                       const WriteOptions& write) {
  return with_conn([&](Conn& c) -> Result<bool> {
    auto id = c.find_repo(repo);
    if (!id) return id.error();
    if (!*id) return false;
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r.error();
    // Locked, so that the guard judges the digest that is then deleted.
    auto rows =
        c.run("lock tag", "SELECT digest FROM tags WHERE repo_id = $1 AND name = $2 FOR UPDATE",
              {**id, tag});
    if (!rows) return rows.error();
    if (rows->size() == 0) return false;
    if (write.guard) {
      auto current = rows->text(0, 0);
      if (auto g = write.guard(tag, std::optional<std::string_view>(current)); !g) {
        return g.error();
      }
    }
    rows = c.run("delete tag", "DELETE FROM tags WHERE repo_id = $1 AND name = $2", {**id, tag});
    if (!rows) return rows.error();
    if (write.audit) {
      if (auto a = append_chained(c, *write.audit); !a) return a.error();
    }
    if (auto r = tx.commit(); !r) return r.error();
    return true;
  });
}

Result<std::vector<ManifestRecord>> PostgresStore::list_referrers(std::string_view repo,
                                                                  std::string_view subject,
                                                                  std::string_view artifact_type) {
  return with_conn([&](Conn& c) -> Result<std::vector<ManifestRecord>> {
    auto rows = c.run(
        "list referrers",
        "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, "
        "m.created_at FROM manifests m JOIN repositories r ON r.id = m.repo_id "
        "WHERE r.name = $1 AND m.subject = $2 AND ($3::text = '' OR m.artifact_type = $3::text) "
        "ORDER BY m.created_at, m.digest",
        {repo, subject, artifact_type});
    if (!rows) return rows.error();
    const auto& s = *rows;
    std::vector<ManifestRecord> out;
    for (int i = 0; i < s.size(); ++i) {
      out.push_back(ManifestRecord{s.text(i, 0), s.text(i, 1), s.integer(i, 2), s.text(i, 3),
                                   s.text(i, 4), s.text(i, 5), s.integer(i, 6)});
    }
    return out;
  });
}

Result<void> PostgresStore::create_upload(std::string_view id, std::string_view repo,
                                          int64_t started_at) {
  return with_conn([&](Conn& c) -> Result<void> {
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r;
    auto rid = c.ensure_repo(repo);
    if (!rid) return rid.error();
    auto rows =
        c.run("create upload", "INSERT INTO uploads (id, repo_id, started_at) VALUES ($1, $2, $3)",
              {id, *rid, started_at});
    if (!rows) return rows.error();
    return tx.commit();
  });
}

Result<std::optional<std::string>> PostgresStore::upload_repository(std::string_view id) {
  return with_conn([&](Conn& c) -> Result<std::optional<std::string>> {
    auto rows = c.run(
        "upload repository",
        "SELECT r.name FROM uploads u JOIN repositories r ON r.id = u.repo_id WHERE u.id = $1",
        {id});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(rows->text(0, 0));
  });
}

Result<void> PostgresStore::delete_upload(std::string_view id) {
  return with_conn([&](Conn& c) -> Result<void> {
    auto rows = c.run("delete upload", "DELETE FROM uploads WHERE id = $1", {id});
    if (!rows) return rows.error();
    return {};
  });
}

Result<std::vector<std::string>> PostgresStore::uploads_started_before(int64_t unix_seconds,
                                                                       std::size_t limit) {
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.run("stale uploads",
                      "SELECT id FROM uploads WHERE started_at < $1 ORDER BY started_at, id "
                      "LIMIT $2",
                      {unix_seconds, pg::clamp_count(limit)});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return out;
  });
}

Result<void> PostgresStore::put_scan(const ScanRecord& r) {
  return with_conn([&](Conn& c) -> Result<void> {
    auto rows = c.run(
        "put scan",
        "INSERT INTO scans (digest, status, inventory, findings, data_version, error, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (digest) DO UPDATE SET "
        "status = excluded.status, inventory = excluded.inventory, findings = excluded.findings, "
        "data_version = excluded.data_version, error = excluded.error, "
        "updated_at = excluded.updated_at",
        {r.digest, r.status, r.inventory, r.findings, r.data_version, r.error, r.updated_at});
    if (!rows) return rows.error();
    return {};
  });
}

Result<std::optional<ScanRecord>> PostgresStore::get_scan(std::string_view digest) {
  return with_conn([&](Conn& c) -> Result<std::optional<ScanRecord>> {
    auto rows = c.run("get scan",
                      "SELECT digest, status, inventory, findings, data_version, error, updated_at "
                      "FROM scans WHERE digest = $1",
                      {digest});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<ScanRecord>();
    const auto& s = *rows;
    return std::optional<ScanRecord>(ScanRecord{s.text(0, 0), s.text(0, 1), s.text(0, 2),
                                                s.text(0, 3), s.text(0, 4), s.text(0, 5),
                                                s.integer(0, 6)});
  });
}

Result<std::vector<std::string>> PostgresStore::stale_scans(std::string_view data_version) {
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.run(
        "stale scans",
        "SELECT digest FROM scans WHERE status = 'done' AND data_version <> $1 ORDER BY digest",
        {data_version});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return out;
  });
}

Result<std::vector<std::string>> PostgresStore::unfinished_scans() {
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.run("unfinished scans",
                      "SELECT digest FROM scans WHERE status IN ('queued', 'running') ORDER BY "
                      "updated_at, digest",
                      {});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return out;
  });
}

}  // namespace portcullis::metadata
