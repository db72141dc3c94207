// PostgreSQL implementation of every metadata role (several replicas share one
// database). A small pool of libpq connections: each role method borrows one,
// runs parameterised prepared statements on it and gives it back, so up to
// pool_size calls run at once. Thread-safe.
//
// Migrations run in the constructor under a PostgreSQL advisory lock, so
// replicas starting together apply each version exactly once; the applied
// versions are rows of schema_migrations. Engine errors are logged and
// returned as Errc::internal without detail. A connection the server dropped
// is re-established when next borrowed; a call whose first statement found
// the connection broken, or that lost a deadlock / serialisation conflict, is
// retried (every role method is idempotent up to its returned "changed" flag).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metadata/metadata.h"

namespace portcullis::metadata {

struct PostgresOptions {
  // libpq connection string or URI, e.g. "postgresql://user@host:5432/portcullis".
  // Passwords belong in ~/.pgpass or PGPASSWORD; the URL is never logged.
  std::string url;
  // Connections opened at start-up; also the number of calls running at once.
  std::size_t pool_size = 4;
  // How long a call waits for a free connection before failing (Errc::internal).
  std::chrono::milliseconds acquire_timeout{30'000};
};

class PostgresStore final : public MetadataStore {
 public:
  // Connects pool_size times and applies pending migrations. Throws
  // std::runtime_error when the server cannot be reached or the schema is
  // newer than this binary (start-up only).
  explicit PostgresStore(PostgresOptions options);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // Highest applied migration; 0 on a failure (logged).
  int schema_version();

  Result<std::vector<std::string>> list_repositories(std::string_view last, std::size_t n) override;
  Result<bool> repository_exists(std::string_view repo) override;

  Result<void> link_blob(std::string_view repo, std::string_view digest, int64_t size) override;
  Result<std::optional<int64_t>> linked_blob(std::string_view repo,
                                             std::string_view digest) override;
  Result<bool> unlink_blob(std::string_view repo, std::string_view digest) override;

  Result<void> put_manifest(std::string_view repo, const ManifestRecord& manifest,
                            const std::vector<ManifestChild>& children,
                            std::string_view tag) override;
  Result<std::optional<ManifestRecord>> get_manifest(std::string_view repo,
                                                     std::string_view digest) override;
  Result<bool> delete_manifest(std::string_view repo, std::string_view digest) override;

  Result<std::optional<std::string>> resolve_tag(std::string_view repo,
                                                 std::string_view tag) override;
  Result<std::optional<std::vector<std::string>>> list_tags(std::string_view repo,
                                                            std::string_view last,
                                                            std::size_t n) override;
  Result<bool> delete_tag(std::string_view repo, std::string_view tag) override;

  Result<std::vector<ManifestRecord>> list_referrers(std::string_view repo,
                                                     std::string_view subject,
                                                     std::string_view artifact_type) override;

  Result<void> create_upload(std::string_view id, std::string_view repo,
                             int64_t started_at) override;
  Result<std::optional<std::string>> upload_repository(std::string_view id) override;
  Result<void> delete_upload(std::string_view id) override;

  Result<void> put_scan(const ScanRecord& record) override;
  Result<std::optional<ScanRecord>> get_scan(std::string_view digest) override;
  Result<std::vector<std::string>> stale_scans(std::string_view data_version) override;
  Result<std::vector<std::string>> unfinished_scans() override;

 private:
  class Conn;
  class Lease;
  class Rows;
  class Tx;
  struct Param;

  Result<Lease> acquire();
  void release(Conn* c);
  // Runs fn(Conn&) -> Result<T> on a borrowed connection, retrying as the
  // header comment says.
  template <class F>
  auto with_conn(F&& fn) -> decltype(fn(std::declval<Conn&>()));
  void migrate(Conn& c);

  const PostgresOptions options_;
  std::vector<std::unique_ptr<Conn>> conns_;  // every connection; fixed after construction
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::vector<Conn*> idle_;  // connections not lent out; guarded by mu_
};

}  // namespace portcullis::metadata
