// SQL shared by both engines' garbage-collection queries (private to
// src/metadata). Built from string literals so that the statements stay
// literals (both engines key their prepared-statement caches by address).
#pragma once

// The manifest `m` is garbage (see BlobCollector::manifest_gc_candidates).
// DEL_UNTAGGED (0/1), UNTAGGED_BEFORE and ORPHAN_BEFORE are placeholders.
// A cosign tag is "sha256-<64 hex>.sig|.att|.sbom" (71 characters before the
// suffix); it keeps its manifest alive only while sha256:<hex> is stored.
#define PC_GC_MANIFEST_GARBAGE(DEL_UNTAGGED, UNTAGGED_BEFORE, ORPHAN_BEFORE)                      \
  " NOT EXISTS (SELECT 1 FROM tags t WHERE t.repo_id = m.repo_id AND t.digest = m.digest"         \
  "   AND NOT (substr(t.name, 1, 7) = 'sha256-' AND substr(t.name, 72) IN ('.sig', '.att', '.sbom')" \
  "     AND NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repo_id = m.repo_id"                      \
  "       AND s.digest = 'sha256:' || substr(t.name, 8, 64))))"                                      \
  " AND NOT EXISTS (SELECT 1 FROM manifest_children c JOIN manifests p"                              \
  "   ON p.repo_id = c.repo_id AND p.digest = c.parent"                                              \
  "   WHERE c.repo_id = m.repo_id AND c.child = m.digest AND c.is_manifest = 1)"                    \
  " AND NOT EXISTS (SELECT 1 FROM blob_gc g WHERE g.digest = m.digest"                               \
  "   AND g.touched_at >= " ORPHAN_BEFORE ")"                                                       \
  " AND ((m.created_at < " ORPHAN_BEFORE " AND ("                                                   \
  "     (m.subject <> '' AND NOT EXISTS (SELECT 1 FROM manifests s"                                  \
  "       WHERE s.repo_id = m.repo_id AND s.digest = m.subject))"                                    \
  "     OR EXISTS (SELECT 1 FROM tags t WHERE t.repo_id = m.repo_id AND t.digest = m.digest)))"     \
  "   OR (" DEL_UNTAGGED " = 1 AND m.created_at < " UNTAGGED_BEFORE " AND m.subject = ''"          \
  "     AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repo_id = m.repo_id AND t.digest = m.digest)))"

// Some stored manifest is, or references, the digest P.
#define PC_GC_REFERENCED(P)                                                 \
  "SELECT 1 FROM manifests WHERE digest = " P                               \
  " UNION ALL SELECT 1 FROM manifest_children WHERE child = " P " LIMIT 1"

// Upsert for touch_blobs: a row in 'deleting' is left as it is (the caller
// sees that state and waits); anything else becomes live and touched now.
#define PC_GC_TOUCH(DIGEST, NOW)                                                                  \
  "INSERT INTO blob_gc (digest, touched_at, state, marked_at) VALUES (" DIGEST ", " NOW ", '', 0)" \
  " ON CONFLICT (digest) DO UPDATE SET"                                                           \
  " touched_at = CASE WHEN blob_gc.state = 'deleting' THEN blob_gc.touched_at"                    \
  "   ELSE excluded.touched_at END,"                                                              \
  " marked_at = CASE WHEN blob_gc.state = 'deleting' THEN blob_gc.marked_at ELSE 0 END,"          \
  " state = CASE WHEN blob_gc.state = 'deleting' THEN 'deleting' ELSE '' END"                     \
  " RETURNING state"

// Upsert for mark_blobs: marks the digest unless it was touched since CUTOFF
// or is being deleted; an existing mark keeps its time.
#define PC_GC_MARK(DIGEST, NOW, CUTOFF)                                                            \
  "INSERT INTO blob_gc (digest, touched_at, state, marked_at) VALUES (" DIGEST ", 0, 'marked', " NOW \
  ") ON CONFLICT (digest) DO UPDATE SET state = 'marked',"                                          \
  " marked_at = CASE WHEN blob_gc.state = 'marked' THEN blob_gc.marked_at ELSE excluded.marked_at END" \
  " WHERE blob_gc.state <> 'deleting' AND blob_gc.touched_at < " CUTOFF
