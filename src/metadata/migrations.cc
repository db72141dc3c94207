#include "metadata/migrations.h"

namespace portcullis::metadata {

const std::vector<std::string_view>& migrations() {
  static const std::vector<std::string_view> kMigrations = {
      // 1: registry core
      R"sql(
CREATE TABLE repositories (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE repo_blobs (
  repo_id INTEGER NOT NULL REFERENCES repositories(id),
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (repo_id, digest)
);
CREATE TABLE manifests (
  repo_id INTEGER NOT NULL REFERENCES repositories(id),
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  artifact_type TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  annotations TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (repo_id, digest)
);
CREATE INDEX manifests_by_subject ON manifests (repo_id, subject);
CREATE TABLE manifest_children (
  repo_id INTEGER NOT NULL,
  parent TEXT NOT NULL,
  child TEXT NOT NULL,
  is_manifest INTEGER NOT NULL,
  PRIMARY KEY (repo_id, parent, child)
);
CREATE INDEX manifest_children_by_child ON manifest_children (repo_id, child);
CREATE TABLE tags (
  repo_id INTEGER NOT NULL REFERENCES repositories(id),
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (repo_id, name)
);
CREATE INDEX tags_by_digest ON tags (repo_id, digest);
CREATE TABLE uploads (
  id TEXT PRIMARY KEY,
  repo_id INTEGER NOT NULL REFERENCES repositories(id),
  started_at INTEGER NOT NULL
);
)sql",
      // 2: vulnerability scanning. Results are per manifest digest (content is
      // the same in every repository); inventory and findings are kept apart
      // so new advisory data re-matches without re-reading layers.
      R"sql(
CREATE TABLE scans (
  digest TEXT PRIMARY KEY,
  status TEXT NOT NULL,              -- queued | running | done | failed
  inventory TEXT NOT NULL DEFAULT '',
  findings TEXT NOT NULL DEFAULT '',
  data_version TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL
);
CREATE INDEX scans_by_status ON scans (status);
)sql",
  };
  return kMigrations;
}

}  // namespace portcullis::metadata
