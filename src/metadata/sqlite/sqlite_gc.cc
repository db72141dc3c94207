// Garbage-collection queries on SQLite. Every write runs in a BEGIN IMMEDIATE
// transaction, which takes the database's single write lock: writers
// (touch_blobs) and the collector (mark, begin_blob_delete,
// delete_manifest_if_garbage) are therefore strictly serialised, across
// processes too (a `portcullis gc` run beside the server).
#include <sqlite3.h>

#include <algorithm>

#include "metadata/gc_sql.h"
#include "metadata/sqlite/sqlite_store.h"

namespace portcullis::metadata {

namespace {

// First column of every row; *rc is the final step's code.
std::vector<std::string> collect_text(SqliteDb::Stmt& s, int* rc) {
  std::vector<std::string> out;
  while ((*rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
  return out;
}

}  // namespace

Result<bool> SqliteStore::touch_blobs(const std::vector<std::string>& digests, int64_t now) {
  if (digests.empty()) return true;
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  for (const auto& d : digests) {
    auto s = prepare(PC_GC_TOUCH("?1", "?2"));
    s.bind(1, d).bind(2, now);
    if (s.step() != SQLITE_ROW) {
      auto e = fail("touch blob");
      exec("ROLLBACK");
      return e;
    }
    if (s.text(0) == "deleting") {
      exec("ROLLBACK");
      return false;
    }
  }
  if (!exec("COMMIT")) return make_error(Errc::internal, "metadata store error");
  return true;
}

Result<std::vector<std::string>> SqliteStore::referenced_digests() {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT digest FROM manifests UNION SELECT child FROM manifest_children ORDER BY 1");
  int rc;
  auto out = collect_text(s, &rc);
  if (rc != SQLITE_DONE) return fail("referenced digests");
  return out;
}

Result<std::vector<std::string>> SqliteStore::mark_blobs(const std::vector<std::string>& digests,
                                                         int64_t cutoff, int64_t now,
                                                         bool dry_run) {
  std::vector<std::string> out;
  if (digests.empty()) return out;
  std::lock_guard lock(mu_);
  if (!exec(dry_run ? "BEGIN" : "BEGIN IMMEDIATE")) {
    return make_error(Errc::internal, "metadata store error");
  }
  auto abort = [&](const char* what) {
    auto e = fail(what);
    exec("ROLLBACK");
    return e;
  };
  for (const auto& d : digests) {
    {
      auto s = prepare(PC_GC_REFERENCED("?1"));
      s.bind(1, d);
      int rc = s.step();
      if (rc == SQLITE_ROW) continue;
      if (rc != SQLITE_DONE) return abort("blob referenced");
    }
    if (dry_run) {
      auto s = prepare("SELECT touched_at, state FROM blob_gc WHERE digest = ?");
      s.bind(1, d);
      int rc = s.step();
      if (rc == SQLITE_DONE || (rc == SQLITE_ROW && s.integer(0) < cutoff && s.text(1) != "deleting")) {
        out.push_back(d);
      } else if (rc != SQLITE_ROW) {
        return abort("blob gc state");
      }
      continue;
    }
    auto s = prepare(PC_GC_MARK("?1", "?2", "?3"));
    s.bind(1, d).bind(2, now).bind(3, cutoff);
    if (s.step() != SQLITE_DONE) return abort("mark blob");
    if (db_.changes() > 0) out.push_back(d);
  }
  if (!exec("COMMIT")) return make_error(Errc::internal, "metadata store error");
  return out;
}

Result<std::vector<std::string>> SqliteStore::marked_blobs(int64_t marked_before,
                                                           std::size_t limit) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT digest FROM blob_gc WHERE state = 'marked' AND marked_at <= ? "
      "ORDER BY marked_at, digest LIMIT ?");
  s.bind(1, marked_before).bind(2, static_cast<int64_t>(limit));
  int rc;
  auto out = collect_text(s, &rc);
  if (rc != SQLITE_DONE) return fail("marked blobs");
  return out;
}

Result<std::vector<BlobCollector::BlobDeletion>> SqliteStore::begin_blob_delete(
    const std::vector<std::string>& digests, int64_t cutoff, int64_t marked_before, int64_t now) {
  std::vector<BlobDeletion> out;
  if (digests.empty()) return out;
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  auto abort = [&](const char* what) {
    auto e = fail(what);
    exec("ROLLBACK");
    return e;
  };
  for (const auto& digest : digests) {
    {
      auto s = prepare(
          "UPDATE blob_gc SET state = 'deleting', marked_at = ?4 WHERE digest = ?1 "
          "AND state = 'marked' AND marked_at <= ?2 AND touched_at < ?3");
      s.bind(1, digest).bind(2, marked_before).bind(3, cutoff).bind(4, now);
      if (s.step() != SQLITE_DONE) return abort("begin blob delete");
      if (db_.changes() == 0) continue;
    }
    {
      auto s = prepare(PC_GC_REFERENCED("?1"));
      s.bind(1, digest);
      int rc = s.step();
      if (rc == SQLITE_ROW) {
        // Referenced after all (a manifest written by something that did not
        // touch it first): live again.
        auto u = prepare("UPDATE blob_gc SET state = '', marked_at = 0 WHERE digest = ?");
        u.bind(1, digest);
        if (u.step() != SQLITE_DONE) return abort("unmark blob");
        continue;
      }
      if (rc != SQLITE_DONE) return abort("blob referenced");
    }
    BlobDeletion d{digest, {}};
    {
      auto s = prepare(
          "SELECT r.name FROM repo_blobs b JOIN repositories r ON r.id = b.repo_id "
          "WHERE b.digest = ? ORDER BY r.name");
      s.bind(1, digest);
      int rc;
      d.repositories = collect_text(s, &rc);
      if (rc != SQLITE_DONE) return abort("blob repositories");
    }
    {
      auto s = prepare("DELETE FROM repo_blobs WHERE digest = ?");
      s.bind(1, digest);
      if (s.step() != SQLITE_DONE) return abort("unlink blob everywhere");
    }
    out.push_back(std::move(d));
  }
  if (!exec("COMMIT")) return make_error(Errc::internal, "metadata store error");
  return out;
}

Result<void> SqliteStore::finish_blob_delete(const std::vector<std::string>& digests) {
  if (digests.empty()) return {};
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  for (const auto& digest : digests) {
    auto s = prepare("DELETE FROM blob_gc WHERE digest = ? AND state = 'deleting'");
    s.bind(1, digest);
    if (s.step() != SQLITE_DONE) {
      auto e = fail("finish blob delete");
      exec("ROLLBACK");
      return e;
    }
  }
  return exec("COMMIT");
}

Result<std::vector<std::string>> SqliteStore::deleting_blobs(int64_t started_before, int64_t now) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "UPDATE blob_gc SET marked_at = ?2 WHERE state = 'deleting' AND marked_at < ?1 "
      "RETURNING digest");
  s.bind(1, started_before).bind(2, now);
  int rc;
  auto out = collect_text(s, &rc);
  if (rc != SQLITE_DONE) return fail("deleting blobs");
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::manifest_gc_candidates(
    const ManifestGcRule& rule) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repo_id WHERE"
      PC_GC_MANIFEST_GARBAGE("?1", "?2", "?3") " ORDER BY 1, 2");
  s.bind(1, int64_t{rule.delete_untagged}).bind(2, rule.untagged_before).bind(3, rule.orphan_before);
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.emplace_back(s.text(0), s.text(1));
  if (rc != SQLITE_DONE) return fail("manifest gc candidates");
  return out;
}

Result<bool> SqliteStore::delete_manifest_if_garbage(std::string_view repo,
                                                     std::string_view digest,
                                                     const ManifestGcRule& rule,
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
  {
    auto s = prepare(
        "SELECT 1 FROM manifests m WHERE m.repo_id = ?4 AND m.digest = ?5 AND"
        PC_GC_MANIFEST_GARBAGE("?1", "?2", "?3"));
    s.bind(1, int64_t{rule.delete_untagged}).bind(2, rule.untagged_before);
    s.bind(3, rule.orphan_before).bind(4, **id).bind(5, digest);
    int rc = s.step();
    if (rc == SQLITE_DONE) {
      exec("ROLLBACK");
      return false;
    }
    if (rc != SQLITE_ROW) return abort(fail("manifest garbage"));
  }
  for (const char* sql : {"DELETE FROM manifests WHERE repo_id = ? AND digest = ?",
                          "DELETE FROM tags WHERE repo_id = ? AND digest = ?",
                          "DELETE FROM manifest_children WHERE repo_id = ? AND parent = ?"}) {
    auto s = prepare(sql);
    s.bind(1, **id).bind(2, digest);
    if (s.step() != SQLITE_DONE) return abort(fail("delete garbage manifest"));
  }
  if (write.audit) {
    if (auto a = append_chained(*write.audit); !a) return abort(a.error());
  }
  if (!exec("COMMIT")) return make_error(Errc::internal, "metadata store error");
  return true;
}

}  // namespace portcullis::metadata
