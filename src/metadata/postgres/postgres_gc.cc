// Garbage-collection queries on PostgreSQL (READ COMMITTED). Writers and the
// collector serialise on the digest's blob_gc row: touch_blobs and mark_blobs
// upsert it (INSERT ... ON CONFLICT DO UPDATE locks the row and judges the
// newest committed version), begin_blob_delete updates it, and
// delete_manifest_if_garbage locks it before judging the manifest, so each
// later statement's snapshot already sees whatever touched the digest first.
// Rows are locked in sorted digest order so that batches cannot deadlock.
#include <algorithm>

#include "metadata/gc_sql.h"
#include "metadata/postgres/postgres_conn.h"
#include "metadata/postgres/postgres_store.h"

namespace portcullis::metadata {

namespace {

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

Result<bool> PostgresStore::touch_blobs(const std::vector<std::string>& digests, int64_t now) {
  if (digests.empty()) return true;
  auto sorted = sorted_unique(digests);
  return with_conn([&](Conn& c) -> Result<bool> {
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r.error();
    for (const auto& d : sorted) {
      auto rows = c.run("touch blob", PC_GC_TOUCH("$1", "$2"), {d, now});
      if (!rows) return rows.error();
      if (rows->size() == 1 && rows->text(0, 0) == "deleting") return false;  // rolled back
    }
    if (auto r = tx.commit(); !r) return r.error();
    return true;
  });
}

Result<std::vector<std::string>> PostgresStore::referenced_digests() {
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.run("referenced digests",
                      "SELECT digest FROM manifests UNION SELECT child FROM manifest_children "
                      "ORDER BY 1",
                      {});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return out;
  });
}

Result<std::vector<std::string>> PostgresStore::mark_blobs(const std::vector<std::string>& digests,
                                                           int64_t cutoff, int64_t now,
                                                           bool dry_run) {
  auto sorted = sorted_unique(digests);
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    if (sorted.empty()) return out;
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r.error();
    for (const auto& d : sorted) {
      auto ref = c.run("blob referenced", PC_GC_REFERENCED("$1"), {d});
      if (!ref) return ref.error();
      if (ref->size() > 0) continue;
      if (dry_run) {
        auto st = c.run("blob gc state",
                        "SELECT touched_at, state FROM blob_gc WHERE digest = $1", {d});
        if (!st) return st.error();
        if (st->size() == 0 || (st->integer(0, 0) < cutoff && st->text(0, 1) != "deleting")) {
          out.push_back(d);
        }
        continue;
      }
      auto rows = c.run("mark blob", PC_GC_MARK("$1", "$2", "$3"), {d, now, cutoff});
      if (!rows) return rows.error();
      if (rows->affected() > 0) out.push_back(d);
    }
    if (auto r = tx.commit(); !r) return r.error();
    return out;
  });
}

Result<std::vector<std::string>> PostgresStore::marked_blobs(int64_t marked_before,
                                                             std::size_t limit) {
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.run("marked blobs",
                      "SELECT digest FROM blob_gc WHERE state = 'marked' AND marked_at <= $1 "
                      "ORDER BY marked_at, digest LIMIT $2",
                      {marked_before, pg::clamp_count(limit)});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return out;
  });
}

Result<std::vector<BlobCollector::BlobDeletion>> PostgresStore::begin_blob_delete(
    const std::vector<std::string>& digests, int64_t cutoff, int64_t marked_before, int64_t now) {
  auto sorted = sorted_unique(digests);
  return with_conn([&](Conn& c) -> Result<std::vector<BlobDeletion>> {
    std::vector<BlobDeletion> out;
    if (sorted.empty()) return out;
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r.error();
    for (const auto& digest : sorted) {
      auto rows = c.run("begin blob delete",
                        "UPDATE blob_gc SET state = 'deleting', marked_at = $4 WHERE digest = $1 "
                        "AND state = 'marked' AND marked_at <= $2 AND touched_at < $3",
                        {digest, marked_before, cutoff, now});
      if (!rows) return rows.error();
      if (rows->affected() == 0) continue;
      auto ref = c.run("blob referenced", PC_GC_REFERENCED("$1"), {digest});
      if (!ref) return ref.error();
      if (ref->size() > 0) {
        // Referenced after all (written by something that did not touch it): live again.
        auto u = c.run("unmark blob",
                       "UPDATE blob_gc SET state = '', marked_at = 0 WHERE digest = $1", {digest});
        if (!u) return u.error();
        continue;
      }
      auto repos = c.run("blob repositories",
                         "SELECT r.name FROM repo_blobs b JOIN repositories r ON r.id = b.repo_id "
                         "WHERE b.digest = $1 ORDER BY r.name",
                         {digest});
      if (!repos) return repos.error();
      BlobDeletion d{digest, {}};
      for (int i = 0; i < repos->size(); ++i) d.repositories.push_back(repos->text(i, 0));
      auto del =
          c.run("unlink blob everywhere", "DELETE FROM repo_blobs WHERE digest = $1", {digest});
      if (!del) return del.error();
      out.push_back(std::move(d));
    }
    if (auto r = tx.commit(); !r) return r.error();
    return out;
  });
}

Result<void> PostgresStore::finish_blob_delete(const std::vector<std::string>& digests) {
  auto sorted = sorted_unique(digests);
  return with_conn([&](Conn& c) -> Result<void> {
    if (sorted.empty()) return {};
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r;
    for (const auto& digest : sorted) {
      auto rows = c.run("finish blob delete",
                        "DELETE FROM blob_gc WHERE digest = $1 AND state = 'deleting'", {digest});
      if (!rows) return rows.error();
    }
    return tx.commit();
  });
}

Result<std::vector<std::string>> PostgresStore::deleting_blobs(int64_t started_before,
                                                                int64_t now) {
  return with_conn([&](Conn& c) -> Result<std::vector<std::string>> {
    // One statement: the row locks make two collectors' claims exclusive.
    auto rows = c.run("deleting blobs",
                      "UPDATE blob_gc SET marked_at = $2 WHERE state = 'deleting' AND marked_at < $1 "
                      "RETURNING digest",
                      {started_before, now});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    std::sort(out.begin(), out.end());
    return out;
  });
}

Result<std::vector<std::pair<std::string, std::string>>> PostgresStore::manifest_gc_candidates(
    const ManifestGcRule& rule) {
  return with_conn([&](Conn& c) -> Result<std::vector<std::pair<std::string, std::string>>> {
    auto rows = c.run(
        "manifest gc candidates",
        "SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repo_id WHERE"
        PC_GC_MANIFEST_GARBAGE("$1", "$2", "$3") " ORDER BY 1, 2",
        {int64_t{rule.delete_untagged}, rule.untagged_before, rule.orphan_before});
    if (!rows) return rows.error();
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < rows->size(); ++i) out.emplace_back(rows->text(i, 0), rows->text(i, 1));
    return out;
  });
}

Result<bool> PostgresStore::delete_manifest_if_garbage(std::string_view repo,
                                                       std::string_view digest,
                                                       const ManifestGcRule& rule,
                                                       const WriteOptions& write) {
  return with_conn([&](Conn& c) -> Result<bool> {
    auto id = c.find_repo(repo);
    if (!id) return id.error();
    if (!*id) return false;
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r.error();
    // Lock the digest's row first: a push that touched it before now is
    // visible to the next statement; one touching it later waits for us.
    auto lock = c.run("lock blob gc row",
                      "INSERT INTO blob_gc (digest, touched_at, state, marked_at) "
                      "VALUES ($1, 0, '', 0) ON CONFLICT (digest) DO UPDATE "
                      "SET touched_at = blob_gc.touched_at",
                      {digest});
    if (!lock) return lock.error();
    auto rows = c.run("manifest garbage",
                      "SELECT 1 FROM manifests m WHERE m.repo_id = $4 AND m.digest = $5 AND"
                      PC_GC_MANIFEST_GARBAGE("$1", "$2", "$3") " FOR UPDATE OF m",
                      {int64_t{rule.delete_untagged}, rule.untagged_before, rule.orphan_before,
                       **id, digest});
    if (!rows) return rows.error();
    if (rows->size() == 0) return false;  // rolled back
    for (const char* sql : {"DELETE FROM manifests WHERE repo_id = $1 AND digest = $2",
                            "DELETE FROM tags WHERE repo_id = $1 AND digest = $2",
                            "DELETE FROM manifest_children WHERE repo_id = $1 AND parent = $2"}) {
      auto d = c.run("delete garbage manifest", sql, {**id, digest});
      if (!d) return d.error();
    }
    if (write.audit) {
      if (auto a = append_chained(c, *write.audit); !a) return a.error();
    }
    if (auto r = tx.commit(); !r) return r.error();
    return true;
  });
}

}  // namespace portcullis::metadata
