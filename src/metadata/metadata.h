// Metadata role interfaces: what the registry knows about repositories,
// tags, manifests, referrers and upload sessions. Blob bytes live in
// storage/; rows here point at digests. Implementations are thread-safe.
// "Not found" is an empty optional / false, never an error; errors mean the
// engine failed (Errc::internal).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit_chain.h"
#include "base/error.h"

namespace portcullis::metadata {

struct ManifestRecord {
  std::string digest;
  std::string media_type;
  int64_t size = 0;
  std::string artifact_type;     // as reported by the referrers API
  std::string subject;           // digest of the subject, empty if none
  std::string annotations_json;  // manifest annotations as a JSON object, "" if none
  int64_t created_at = 0;        // unix seconds
};

// What a manifest points at, kept for validation and garbage collection.
struct ManifestChild {
  std::string digest;
  bool is_manifest = false;  // child manifest of an index (else a blob)
};

// Called inside a write transaction for every tag the write would create,
// move or remove, with the digest the tag points at now (nullopt: no such tag
// yet). An error aborts the whole write and is returned unchanged: this is
// where immutable tag rules are enforced without a check-then-write race.
using TagGuard =
    std::function<Result<void>(std::string_view tag, std::optional<std::string_view> current)>;

// What a registry write must also do inside its own transaction.
struct WriteOptions {
  TagGuard guard;                            // empty: no check
  const audit::AuditEvent* audit = nullptr;  // appended to the audit chain, same transaction
};

class RepositoryIndex {
 public:
  virtual ~RepositoryIndex() = default;
  // Repository names in lexical order, strictly after `last`, at most n.
  virtual Result<std::vector<std::string>> list_repositories(std::string_view last,
                                                             std::size_t n) = 0;
  virtual Result<bool> repository_exists(std::string_view repo) = 0;
};

class BlobLinks {
 public:
  virtual ~BlobLinks() = default;
  // Makes a stored blob part of a repository (creates the repository).
  virtual Result<void> link_blob(std::string_view repo, std::string_view digest, int64_t size) = 0;
  // Size of a blob (or manifest) reachable through repo.
  virtual Result<std::optional<int64_t>> linked_blob(std::string_view repo,
                                                     std::string_view digest) = 0;
  virtual Result<bool> unlink_blob(std::string_view repo, std::string_view digest) = 0;
  // Every (repository, digest) the metadata says is stored: linked blobs and
  // manifests, sorted. For integrity checks and garbage collection.
  virtual Result<std::vector<std::pair<std::string, std::string>>> blob_references() = 0;
};

class ManifestIndex {
 public:
  virtual ~ManifestIndex() = default;
  // Records a manifest and, when tag is non-empty, points the tag at it; one
  // transaction.
  virtual Result<void> put_manifest(std::string_view repo, const ManifestRecord& manifest,
                                    const std::vector<ManifestChild>& children,
                                    std::string_view tag, const WriteOptions& write = {}) = 0;
  virtual Result<std::optional<ManifestRecord>> get_manifest(std::string_view repo,
                                                             std::string_view digest) = 0;
  // Removes the manifest and every tag pointing at it. False if it was not there.
  // Digests of the indexes in repo that list `digest` as a child manifest.
  virtual Result<std::vector<std::string>> manifest_parents(std::string_view repo,
                                                            std::string_view digest) = 0;
  // Digests of the manifests in repo that reference blob `digest` (a layer or
  // config), sorted, at most limit.
  virtual Result<std::vector<std::string>> manifests_using_blob(std::string_view repo,
                                                                std::string_view digest,
                                                                std::size_t limit) = 0;
  // The guard sees every tag that pointed at it. The audit event is written
  // only when something was deleted.
  virtual Result<bool> delete_manifest(std::string_view repo, std::string_view digest,
                                       const WriteOptions& write = {}) = 0;
};

class TagIndex {
 public:
  virtual ~TagIndex() = default;
  virtual Result<std::optional<std::string>> resolve_tag(std::string_view repo,
                                                         std::string_view tag) = 0;
  // Tags in lexical order after `last`, at most n; nullopt when the repository is unknown.
  virtual Result<std::optional<std::vector<std::string>>> list_tags(std::string_view repo,
                                                                    std::string_view last,
                                                                    std::size_t n) = 0;
  virtual Result<bool> delete_tag(std::string_view repo, std::string_view tag,
                                  const WriteOptions& write = {}) = 0;
};

class ReferrerIndex {
 public:
  virtual ~ReferrerIndex() = default;
  // Manifests in repo whose subject is `subject`; filtered by artifact type when non-empty.
  virtual Result<std::vector<ManifestRecord>> list_referrers(std::string_view repo,
                                                             std::string_view subject,
                                                             std::string_view artifact_type) = 0;
};

class UploadIndex {
 public:
  virtual ~UploadIndex() = default;
  virtual Result<void> create_upload(std::string_view id, std::string_view repo,
                                     int64_t started_at) = 0;
  // The repository an upload session belongs to, if the session exists.
  virtual Result<std::optional<std::string>> upload_repository(std::string_view id) = 0;
  virtual Result<void> delete_upload(std::string_view id) = 0;
  // Ids of sessions started before `unix_seconds`, oldest first, at most limit.
  virtual Result<std::vector<std::string>> uploads_started_before(int64_t unix_seconds,
                                                                  std::size_t limit) = 0;
};

// Garbage collection (maintenance/gc.h holds the whole protocol). One row
// per digest in blob_gc serialises writers and the collector: a writer
// touches every digest it is about to store or reference *before* it does
// so, which protects the digest for the grace period and cancels a pending
// mark; the collector moves a digest marked -> deleting only if nobody
// touched it since, in a transaction that locks that row.
struct ManifestGcRule {
  bool delete_untagged = false;  // untagged, unreferenced manifests die after untagged_before
  int64_t untagged_before = 0;   // unix seconds: created (and touched) before this
  int64_t orphan_before = 0;     // referrers whose subject is gone die when created before this
};

class BlobCollector {
 public:
  virtual ~BlobCollector() = default;
  // Records that digests are being stored or referenced now and cancels any
  // pending mark on them. False (nothing recorded) when one of them is being
  // deleted at this moment: wait a little and call again; once it returns
  // true the bytes must be stored anew if they are needed.
  virtual Result<bool> touch_blobs(const std::vector<std::string>& digests, int64_t now) = 0;
  // Every digest a stored manifest is or references (layers, configs, child
  // manifests), in any repository; sorted, without duplicates.
  virtual Result<std::vector<std::string>> referenced_digests() = 0;
  // Of digests, those that no manifest is or references and that were not
  // touched at or after cutoff, are marked (marked_at = now, unless already
  // marked) and returned. dry_run: returned without marking.
  virtual Result<std::vector<std::string>> mark_blobs(const std::vector<std::string>& digests,
                                                      int64_t cutoff, int64_t now,
                                                      bool dry_run) = 0;
  // Digests marked at or before marked_before, oldest mark first, at most limit.
  virtual Result<std::vector<std::string>> marked_blobs(int64_t marked_before,
                                                        std::size_t limit) = 0;
  // Moves each marked digest to "deleting" when it is still garbage (marked
  // at or before marked_before, not touched since cutoff, unreferenced) and
  // removes its repository links, all in one transaction; returns those
  // moved, with the repositories each was linked in (the others are left
  // alone); a row in "deleting" records when its deletion began (now). The
  // caller then removes their bytes and calls finish_blob_delete.
  struct BlobDeletion {
    std::string digest;
    std::vector<std::string> repositories;
  };
  virtual Result<std::vector<BlobDeletion>> begin_blob_delete(
      const std::vector<std::string>& digests, int64_t cutoff, int64_t marked_before,
      int64_t now) = 0;
  virtual Result<void> finish_blob_delete(const std::vector<std::string>& digests) = 0;
  // Claims the digests left in "deleting" by a collector that stopped between
  // the two calls: those whose deletion began before started_before (a
  // collector still at work is younger than that: taking its rows over could
  // remove bytes re-pushed after it finished). Claimed rows restart their
  // clock at now, so two collectors never take over the same row. Sorted.
  virtual Result<std::vector<std::string>> deleting_blobs(int64_t started_before,
                                                          int64_t now) = 0;
  // (repository, digest) of manifests that are garbage under rule now: not
  // tagged (cosign tags sha256-<hex>.sig/.att/.sbom count only while their
  // subject is stored), not a child of a stored index, not touched since
  // orphan_before, and either a referrer whose subject is gone (created
  // before orphan_before) or untagged and older than untagged_before when
  // rule.delete_untagged.
  virtual Result<std::vector<std::pair<std::string, std::string>>> manifest_gc_candidates(
      const ManifestGcRule& rule) = 0;
  // Deletes the manifest (with its cosign tags and child rows) if it is still
  // garbage under rule, in one transaction with write.audit. False: kept.
  virtual Result<bool> delete_manifest_if_garbage(std::string_view repo, std::string_view digest,
                                                  const ManifestGcRule& rule,
                                                  const WriteOptions& write = {}) = 0;
};

struct ScanRecord {
  std::string digest;
  std::string status;        // "queued", "running", "done", "failed"
  std::string inventory;     // scanner inventory as JSON ("" until read)
  std::string findings;      // findings as JSON ("" until matched)
  std::string data_version;  // advisory data the findings were computed against
  std::string error;         // why a scan failed
  int64_t updated_at = 0;
};

class ScanResults {
 public:
  virtual ~ScanResults() = default;
  // Inserts or replaces the whole record.
  virtual Result<void> put_scan(const ScanRecord& record) = 0;
  virtual Result<std::optional<ScanRecord>> get_scan(std::string_view digest) = 0;
  // Digests of finished scans whose findings were computed with other data.
  virtual Result<std::vector<std::string>> stale_scans(std::string_view data_version) = 0;
  // Scans not finished (queued or running), e.g. to resume after a restart.
  virtual Result<std::vector<std::string>> unfinished_scans() = 0;
};

// Identities, namespaces, role bindings and tag rules (access control).
// Every change takes the audit event that records it and appends it in the
// same transaction, and bumps the access generation so that every replica
// sees that its cached policy is stale.
struct UserRecord {
  std::string name;
  std::string password_hash;  // argon2id string (auth/passwords.h)
  bool system_admin = false;
  int64_t created_at = 0;  // unix seconds
};

struct RobotRecord {
  std::string name;
  std::string secret_hash;       // "sha256:<hex>" of the secret (auth/passwords.h)
  std::string permissions_json;  // [{"repository":"team-a/*","actions":["pull","push"]}]
  int64_t expires_at = 0;        // unix seconds; 0 = never
  std::string created_by;
  int64_t created_at = 0;
};

struct NamespaceRecord {
  std::string name;
  bool anonymous_pull = false;
  int64_t created_at = 0;
};

struct RoleBindingRecord {
  std::string namespace_name;
  std::string user;
  std::string role;  // reader | developer | maintainer | admin
};

struct TagRuleRecord {
  std::string namespace_name;
  std::string name;
  std::string pattern;  // tag glob
};

class AccessStore {
 public:
  virtual ~AccessStore() = default;
  // False when a user of that name exists already.
  virtual Result<bool> create_user(const UserRecord& user, const audit::AuditEvent& event) = 0;
  // Replaces password hash and admin flag. False when there is no such user.
  virtual Result<bool> update_user(const UserRecord& user, const audit::AuditEvent& event) = 0;
  // Also removes the user's role bindings. False when there is no such user.
  virtual Result<bool> delete_user(std::string_view name, const audit::AuditEvent& event) = 0;
  virtual Result<std::optional<UserRecord>> get_user(std::string_view name) = 0;
  virtual Result<std::vector<UserRecord>> list_users() = 0;  // by name

  virtual Result<bool> create_robot(const RobotRecord& robot, const audit::AuditEvent& event) = 0;
  virtual Result<bool> delete_robot(std::string_view name, const audit::AuditEvent& event) = 0;
  virtual Result<std::optional<RobotRecord>> get_robot(std::string_view name) = 0;
  virtual Result<std::vector<RobotRecord>> list_robots() = 0;  // by name

  // Inserts or updates (anonymous_pull).
  virtual Result<void> put_namespace(const NamespaceRecord& ns, const audit::AuditEvent& event) = 0;
  // Also removes its role bindings and tag rules. False when there is no such namespace.
  virtual Result<bool> delete_namespace(std::string_view name, const audit::AuditEvent& event) = 0;
  virtual Result<std::vector<NamespaceRecord>> list_namespaces() = 0;  // by name

  // Inserts or replaces the role of (namespace, user).
  virtual Result<void> put_role_binding(const RoleBindingRecord& binding,
                                        const audit::AuditEvent& event) = 0;
  virtual Result<bool> delete_role_binding(std::string_view namespace_name, std::string_view user,
                                           const audit::AuditEvent& event) = 0;
  virtual Result<std::vector<RoleBindingRecord>> list_role_bindings() = 0;  // by namespace, user

  // False when the namespace already has a rule of that name.
  virtual Result<bool> create_tag_rule(const TagRuleRecord& rule,
                                       const audit::AuditEvent& event) = 0;
  virtual Result<bool> delete_tag_rule(std::string_view namespace_name, std::string_view name,
                                       const audit::AuditEvent& event) = 0;
  virtual Result<std::vector<TagRuleRecord>> list_tag_rules() = 0;  // by namespace, then creation

  // Increases with every change above (any replica); compare to reload.
  virtual Result<int64_t> access_generation() = 0;
};

// Signature trust (issue: signing and verification): public keys admins
// trust, and which repositories need how many valid signatures. Changes bump
// the same generation as access changes and are audited the same way.
struct TrustedKeyRecord {
  std::string id;
  std::string owner;
  std::string public_key_pem;
  std::string repositories_json;  // ["team-a/*", …]: repositories this key may vouch for
  int64_t expires_at = 0;         // unix seconds; 0 = never
  int64_t created_at = 0;
};

struct TrustPolicyRecord {
  std::string name;
  std::string repositories_json;  // ["team-a/*", …]
  std::string key_ids_json;       // ["release-key", …]; [] = any trusted key valid for the repository
  int64_t threshold = 1;          // distinct valid signatures required
  std::string mode;               // enforce | warn | off
};

class TrustStore {
 public:
  virtual ~TrustStore() = default;
  // False when a key with that id exists.
  virtual Result<bool> create_trusted_key(const TrustedKeyRecord& key,
                                          const audit::AuditEvent& event) = 0;
  virtual Result<bool> delete_trusted_key(std::string_view id, const audit::AuditEvent& event) = 0;
  virtual Result<std::vector<TrustedKeyRecord>> list_trusted_keys() = 0;  // by id
  // Inserts or replaces by name; a new policy goes last in evaluation order.
  virtual Result<void> put_trust_policy(const TrustPolicyRecord& policy,
                                        const audit::AuditEvent& event) = 0;
  virtual Result<bool> delete_trust_policy(std::string_view name,
                                           const audit::AuditEvent& event) = 0;
  // In evaluation order (creation order).
  virtual Result<std::vector<TrustPolicyRecord>> list_trust_policies() = 0;
};

// The registry policy (policy/): every uploaded version of the policy files,
// and the approved base images with every digest their tags pointed at while
// approved. Changes bump the access generation (every replica reloads its
// snapshot) and are audited in the same transaction.
struct PolicyVersionRecord {
  int64_t version = 0;     // 1, 2, …; assigned by put_policy_version
  std::string files_json;  // {"file.yaml": "<yaml text>", …}
  std::string author;
  std::string comment;
  int64_t created_at = 0;
};

struct ApprovedBaseRecord {
  std::string name;  // used in policy files (baseImages.allowed)
  std::string repository;
  std::string tag;
  int64_t created_at = 0;
};

struct BaseDigestRecord {
  std::string base;           // ApprovedBaseRecord::name
  std::string digest;         // manifest digest the tag pointed at
  std::string diff_ids_json;  // ["sha256:…", …] from the image config
  int64_t approved_at = 0;
};

// The newest pull decision per (repository, digest), kept for inspection
// (GET /api/v1/policy/verdicts) across restarts and replicas. Enforcement never
// trusts a stored verdict: it re-evaluates whenever an input changed.
struct PolicyVerdictRecord {
  std::string repository;
  std::string digest;
  std::string outcome;  // allowed | warn | quarantined | denied
  std::string summary;  // every rule's outcome (policy::summarize)
  std::string inputs;   // the inputs' versions
  int64_t evaluated_at = 0;
};

class PolicyStore {
 public:
  virtual ~PolicyStore() = default;
  // Stores `record` (its version is ignored) as the next version; returns it.
  virtual Result<int64_t> put_policy_version(const PolicyVersionRecord& record,
                                             const audit::AuditEvent& event) = 0;
  // The newest version; nullopt when none was ever stored.
  virtual Result<std::optional<PolicyVersionRecord>> latest_policy_version() = 0;
  virtual Result<std::optional<PolicyVersionRecord>> get_policy_version(int64_t version) = 0;
  // Newest first, at most limit.
  virtual Result<std::vector<PolicyVersionRecord>> list_policy_versions(std::size_t limit) = 0;

  // Inserts or replaces (repository, tag) by name; the digest history stays.
  virtual Result<void> put_approved_base(const ApprovedBaseRecord& base,
                                         const audit::AuditEvent& event) = 0;
  // Also forgets its digest history. False when there is no such base.
  virtual Result<bool> delete_approved_base(std::string_view name,
                                            const audit::AuditEvent& event) = 0;
  virtual Result<std::vector<ApprovedBaseRecord>> list_approved_bases() = 0;  // by name
  // Records a digest in a base's history. False (and no event) when it is
  // recorded already or the base does not exist.
  virtual Result<bool> add_base_digest(const BaseDigestRecord& record,
                                       const audit::AuditEvent& event) = 0;
  // Every base's history: by base name, then approved_at, then digest.
  virtual Result<std::vector<BaseDigestRecord>> list_base_digests() = 0;

  // Inserts or replaces the verdict of (repository, digest). Not audited
  // (decisions are audited by the caller); does not bump the generation.
  virtual Result<void> put_policy_verdict(const PolicyVerdictRecord& verdict) = 0;
  // Verdicts in `repository` ("" = every repository), by repository then
  // digest, strictly after (after_repository, after_digest), at most limit.
  virtual Result<std::vector<PolicyVerdictRecord>> list_policy_verdicts(
      std::string_view repository, std::string_view after_repository, std::string_view after_digest,
      std::size_t limit) = 0;
};

struct AuditFilter {
  std::string actor;       // exact; "" = any
  std::string action;      // exact; "" = any
  std::string repository;  // exact; "" = any
  std::string result;      // exact; "" = any
  int64_t since_ms = 0;    // time_ms >= since_ms (0 = no bound)
  int64_t until_ms = 0;    // time_ms < until_ms (0 = no bound)
  uint64_t after_seq = 0;  // seq > after_seq (pagination)
  std::size_t limit = 100;
};

// The append-only, hash-chained event log (audit/audit_chain.h).
class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Appends events in order, in one transaction (e.g. a batch of pulls).
  virtual Result<void> append_audit(const std::vector<audit::AuditEvent>& events) = 0;
  // Matching events by ascending seq.
  virtual Result<std::vector<audit::ChainedEvent>> list_audit(const AuditFilter& filter) = 0;
  // The chain head recorded with the newest append (seq 0 = empty log): a
  // checkpoint that reveals the removal of the newest events.
  virtual Result<audit::ChainHead> audit_head() = 0;
  // Stored rows exactly as they are, ascending by their stored seq, for
  // verification: seq > after_seq, at most limit.
  virtual Result<std::vector<audit::ChainedEvent>> audit_rows(uint64_t after_seq,
                                                              std::size_t limit) = 0;
};

// Everything the registry needs, from one engine.
class MetadataStore : public RepositoryIndex,
                      public BlobLinks,
                      public ManifestIndex,
                      public TagIndex,
                      public ReferrerIndex,
                      public UploadIndex,
                      public BlobCollector,
                      public ScanResults,
                      public AccessStore,
                      public TrustStore,
                      public PolicyStore,
                      public AuditLog {};

}  // namespace portcullis::metadata
