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
// A retried write runs its tag guard and appends its audit event again: the
// failed attempt was rolled back, so each event is stored once.
//
// Locks, always taken in this order so that writers cannot deadlock: manifest
// row, tag rows, then the access_state row (access generation and audit chain
// head), which every audited write holds until it commits.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
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
  Result<std::vector<std::pair<std::string, std::string>>> blob_references() override;

  Result<void> put_manifest(std::string_view repo, const ManifestRecord& manifest,
                            const std::vector<ManifestChild>& children, std::string_view tag,
                            const WriteOptions& write = {}) override;
  Result<std::optional<ManifestRecord>> get_manifest(std::string_view repo,
                                                     std::string_view digest) override;
  Result<std::vector<std::string>> manifests_using_blob(std::string_view repo,
                                                        std::string_view digest,
                                                        std::size_t limit) override;
  Result<std::vector<std::string>> manifest_parents(std::string_view repo,
                                                    std::string_view digest) override;
  Result<bool> delete_manifest(std::string_view repo, std::string_view digest,
                               const WriteOptions& write = {}) override;

  Result<std::optional<std::string>> resolve_tag(std::string_view repo,
                                                 std::string_view tag) override;
  Result<std::optional<std::vector<std::string>>> list_tags(std::string_view repo,
                                                            std::string_view last,
                                                            std::size_t n) override;
  Result<bool> delete_tag(std::string_view repo, std::string_view tag,
                          const WriteOptions& write = {}) override;

  Result<std::vector<ManifestRecord>> list_referrers(std::string_view repo,
                                                     std::string_view subject,
                                                     std::string_view artifact_type) override;

  Result<void> create_upload(std::string_view id, std::string_view repo,
                             int64_t started_at) override;
  Result<std::optional<std::string>> upload_repository(std::string_view id) override;
  Result<void> delete_upload(std::string_view id) override;
  Result<std::vector<std::string>> uploads_started_before(int64_t unix_seconds,
                                                          std::size_t limit) override;

  Result<void> put_scan(const ScanRecord& record) override;
  Result<std::optional<ScanRecord>> get_scan(std::string_view digest) override;
  Result<std::vector<std::string>> stale_scans(std::string_view data_version) override;
  Result<std::vector<std::string>> unfinished_scans() override;

  // Garbage collection: sqlite_gc.cc / postgres_gc.cc.
  Result<bool> touch_blobs(const std::vector<std::string>& digests, int64_t now) override;
  Result<std::vector<std::string>> referenced_digests() override;
  Result<std::vector<std::string>> mark_blobs(const std::vector<std::string>& digests,
                                              int64_t cutoff, int64_t now, bool dry_run) override;
  Result<std::vector<std::string>> marked_blobs(int64_t marked_before, std::size_t limit) override;
  Result<std::vector<BlobDeletion>> begin_blob_delete(const std::vector<std::string>& digests,
                                                      int64_t cutoff,
                                                      int64_t marked_before,
                                                       int64_t now) override;
  Result<void> finish_blob_delete(const std::vector<std::string>& digests) override;
  Result<std::vector<std::string>> deleting_blobs(int64_t started_before, int64_t now) override;
  Result<std::vector<std::pair<std::string, std::string>>> manifest_gc_candidates(
      const ManifestGcRule& rule) override;
  Result<bool> delete_manifest_if_garbage(std::string_view repo, std::string_view digest,
                                          const ManifestGcRule& rule,
                                          const WriteOptions& write = {}) override;

  // Access control and the audit log: postgres_access.cc.
  Result<bool> create_user(const UserRecord& user, const audit::AuditEvent& event) override;
  Result<bool> update_user(const UserRecord& user, const audit::AuditEvent& event) override;
  Result<bool> delete_user(std::string_view name, const audit::AuditEvent& event) override;
  Result<std::optional<UserRecord>> get_user(std::string_view name) override;
  Result<std::vector<UserRecord>> list_users() override;
  Result<bool> create_robot(const RobotRecord& robot, const audit::AuditEvent& event) override;
  Result<bool> delete_robot(std::string_view name, const audit::AuditEvent& event) override;
  Result<std::optional<RobotRecord>> get_robot(std::string_view name) override;
  Result<std::vector<RobotRecord>> list_robots() override;
  Result<void> put_namespace(const NamespaceRecord& ns, const audit::AuditEvent& event) override;
  Result<bool> delete_namespace(std::string_view name, const audit::AuditEvent& event) override;
  Result<std::vector<NamespaceRecord>> list_namespaces() override;
  Result<void> put_role_binding(const RoleBindingRecord& binding,
                                const audit::AuditEvent& event) override;
  Result<bool> delete_role_binding(std::string_view namespace_name, std::string_view user,
                                   const audit::AuditEvent& event) override;
  Result<std::vector<RoleBindingRecord>> list_role_bindings() override;
  Result<bool> create_tag_rule(const TagRuleRecord& rule, const audit::AuditEvent& event) override;
  Result<bool> delete_tag_rule(std::string_view namespace_name, std::string_view name,
                               const audit::AuditEvent& event) override;
  Result<std::vector<TagRuleRecord>> list_tag_rules() override;
  Result<int64_t> access_generation() override;

  Result<int64_t> put_policy_version(const PolicyVersionRecord& record,
                                     const audit::AuditEvent& event) override;
  Result<std::optional<PolicyVersionRecord>> latest_policy_version() override;
  Result<std::optional<PolicyVersionRecord>> get_policy_version(int64_t version) override;
  Result<std::vector<PolicyVersionRecord>> list_policy_versions(std::size_t limit) override;
  Result<void> put_approved_base(const ApprovedBaseRecord& base,
                                 const audit::AuditEvent& event) override;
  Result<bool> delete_approved_base(std::string_view name, const audit::AuditEvent& event) override;
  Result<std::vector<ApprovedBaseRecord>> list_approved_bases() override;
  Result<bool> add_base_digest(const BaseDigestRecord& record,
                               const audit::AuditEvent& event) override;
  Result<std::vector<BaseDigestRecord>> list_base_digests() override;
  Result<void> put_policy_verdict(const PolicyVerdictRecord& verdict) override;
  Result<std::vector<PolicyVerdictRecord>> list_policy_verdicts(std::string_view repository,
                                                                std::string_view after_repository,
                                                                std::string_view after_digest,
                                                                std::size_t limit) override;

  Result<void> append_audit(const std::vector<audit::AuditEvent>& events) override;
  Result<std::vector<audit::ChainedEvent>> list_audit(const AuditFilter& filter) override;
  Result<audit::ChainHead> audit_head() override;
  Result<bool> create_trusted_key(const TrustedKeyRecord& key,
                                  const audit::AuditEvent& event) override;
  Result<bool> delete_trusted_key(std::string_view id, const audit::AuditEvent& event) override;
  Result<std::vector<TrustedKeyRecord>> list_trusted_keys() override;
  Result<void> put_trust_policy(const TrustPolicyRecord& policy,
                                const audit::AuditEvent& event) override;
  Result<bool> delete_trust_policy(std::string_view name, const audit::AuditEvent& event) override;
  Result<std::vector<TrustPolicyRecord>> list_trust_policies() override;
  Result<std::vector<audit::ChainedEvent>> audit_rows(uint64_t after_seq,
                                                      std::size_t limit) override;

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
  // Inside a transaction on c: locks the chain head (the access_state row, so
  // that replicas append one at a time), links `event` to it, inserts it and
  // advances the head.
  static Result<void> append_chained(Conn& c, const audit::AuditEvent& event);
  // Inside a transaction on c: points the tag at digest once the guard has
  // approved the digest it points at now, which cannot change meanwhile.
  static Result<void> guarded_set_tag(Conn& c, int64_t repo_id, std::string_view tag,
                                      std::string_view digest, const TagGuard& guard);
  // Runs `change` (which reports whether it changed anything) in one
  // transaction that holds the access_state row lock throughout; when it did,
  // bumps the access generation and appends `event`. Retried as a whole.
  Result<bool> access_change(const audit::AuditEvent& event,
                             const std::function<Result<bool>(Conn&)>& change);

  const PostgresOptions options_;
  std::vector<std::unique_ptr<Conn>> conns_;  // every connection; fixed after construction
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::vector<Conn*> idle_;  // connections not lent out; guarded by mu_
};

}  // namespace portcullis::metadata
