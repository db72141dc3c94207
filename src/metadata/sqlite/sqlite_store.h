// SQLite implementation of every metadata role (the embedded default).
// WAL mode, one connection serialised by a mutex: SQLite allows one writer at a
// time anyway, and the request hot path is served from the API's caches.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "metadata/metadata.h"
#include "metadata/sqlite/sqlite_db.h"

namespace portcullis::metadata {

class SqliteStore final : public MetadataStore {
 public:
  // Opens (creating if needed) the database and applies pending migrations.
  // Throws std::runtime_error on failure (start-up only).
  explicit SqliteStore(const std::filesystem::path& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  int schema_version();

  Result<std::vector<std::string>> list_repositories(std::string_view last, std::size_t n) override;
  Result<bool> repository_exists(std::string_view repo) override;

  Result<void> link_blob(std::string_view repo, std::string_view digest, int64_t size) override;
  Result<std::optional<int64_t>> linked_blob(std::string_view repo,
                                             std::string_view digest) override;
  Result<bool> unlink_blob(std::string_view repo, std::string_view digest) override;
  Result<std::vector<std::pair<std::string, std::string>>> blob_references() override;

  Result<void> put_manifest(std::string_view repo, const ManifestRecord& manifest,
                            const std::vector<ManifestChild>& children,
                            std::string_view tag, const WriteOptions& write = {}) override;
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

  Result<bool> create_trusted_key(const TrustedKeyRecord& key,
                                  const audit::AuditEvent& event) override;
  Result<bool> delete_trusted_key(std::string_view id, const audit::AuditEvent& event) override;
  Result<std::vector<TrustedKeyRecord>> list_trusted_keys() override;
  Result<void> put_trust_policy(const TrustPolicyRecord& policy,
                                const audit::AuditEvent& event) override;
  Result<bool> delete_trust_policy(std::string_view name, const audit::AuditEvent& event) override;
  Result<std::vector<TrustPolicyRecord>> list_trust_policies() override;

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
  Result<std::vector<audit::ChainedEvent>> audit_rows(uint64_t after_seq,
                                                      std::size_t limit) override;

 private:
  SqliteDb::Stmt prepare(const char* sql);
  Result<void> exec(const char* sql);
  Result<int64_t> ensure_repo(std::string_view repo);
  Result<std::optional<int64_t>> find_repo(std::string_view repo);
  Error fail(const char* what);
  Result<std::optional<std::string>> tag_digest(int64_t repo_id, std::string_view tag);
  // Inside a transaction: links `event` to the chain head and inserts it.
  Result<void> append_chained(const audit::AuditEvent& event);
  // Runs `change` (which reports whether it changed anything) in one IMMEDIATE
  // transaction; when it did, bumps the access generation and appends `event`.
  Result<bool> access_change(const audit::AuditEvent& event,
                             const std::function<Result<bool>()>& change);

  std::mutex mu_;
  SqliteDb db_;  // guarded by mu_
};

}  // namespace portcullis::metadata
