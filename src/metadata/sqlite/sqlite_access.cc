// SqliteStore: access control (users, robots, namespaces, role bindings, tag
// rules) and the hash-chained audit log.
#include <sqlite3.h>

#include "metadata/sqlite/sqlite_store.h"

namespace portcullis::metadata {

Result<void> SqliteStore::append_chained(const audit::AuditEvent& event) {
  auto head = prepare("SELECT audit_seq, audit_hash FROM access_state WHERE id = 1");
  if (head.step() != SQLITE_ROW) return fail("audit head");
  audit::ChainHead h{static_cast<uint64_t>(head.integer(0)), head.text(1)};
  auto e = audit::chain_next(h, event);
  auto ins = prepare(
      "INSERT INTO audit_events (seq, time_ms, actor, source_address, action, repository, "
      "reference, digest, result, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  ins.bind(1, static_cast<int64_t>(e.seq)).bind(2, e.event.time_ms).bind(3, e.event.actor);
  ins.bind(4, e.event.source_address).bind(5, e.event.action).bind(6, e.event.repository);
  ins.bind(7, e.event.reference).bind(8, e.event.digest).bind(9, e.event.result);
  ins.bind(10, e.event.detail).bind(11, e.prev_hash).bind(12, e.hash);
  if (ins.step() != SQLITE_DONE) return fail("append audit event");
  auto upd = prepare("UPDATE access_state SET audit_seq = ?, audit_hash = ? WHERE id = 1");
  upd.bind(1, static_cast<int64_t>(e.seq)).bind(2, e.hash);
  if (upd.step() != SQLITE_DONE) return fail("advance audit head");
  return {};
}

Result<bool> SqliteStore::access_change(const audit::AuditEvent& event,
                                        const std::function<Result<bool>()>& change) {
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  auto abort = [&](Error e) {
    exec("ROLLBACK");
    return e;
  };
  auto changed = change();
  if (!changed) return abort(changed.error());
  if (!*changed) {
    exec("ROLLBACK");
    return false;
  }
  auto gen = prepare("UPDATE access_state SET generation = generation + 1 WHERE id = 1");
  if (gen.step() != SQLITE_DONE) return abort(fail("bump access generation"));
  if (auto a = append_chained(event); !a) return abort(a.error());
  if (!exec("COMMIT")) return make_error(Errc::internal, "metadata store error");
  return true;
}

Result<bool> SqliteStore::create_user(const UserRecord& u, const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare(
        "INSERT INTO users (name, password_hash, system_admin, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO NOTHING");
    s.bind(1, u.name).bind(2, u.password_hash).bind(3, int64_t{u.system_admin}).bind(4, u.created_at);
    if (s.step() != SQLITE_DONE) return fail("create user");
    return db_.changes() > 0;
  });
}

Result<bool> SqliteStore::update_user(const UserRecord& u, const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare("UPDATE users SET password_hash = ?, system_admin = ? WHERE name = ?");
    s.bind(1, u.password_hash).bind(2, int64_t{u.system_admin}).bind(3, u.name);
    if (s.step() != SQLITE_DONE) return fail("update user");
    return db_.changes() > 0;
  });
}

Result<bool> SqliteStore::delete_user(std::string_view name, const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare("DELETE FROM users WHERE name = ?");
    s.bind(1, name);
    if (s.step() != SQLITE_DONE) return fail("delete user");
    if (db_.changes() == 0) return false;
    auto b = prepare("DELETE FROM role_bindings WHERE username = ?");
    b.bind(1, name);
    if (b.step() != SQLITE_DONE) return fail("delete user bindings");
    return true;
  });
}

Result<std::optional<UserRecord>> SqliteStore::get_user(std::string_view name) {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT name, password_hash, system_admin, created_at FROM users WHERE name = ?");
  s.bind(1, name);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<UserRecord>();
  if (rc != SQLITE_ROW) return fail("get user");
  return std::optional<UserRecord>(UserRecord{s.text(0), s.text(1), s.integer(2) != 0, s.integer(3)});
}

Result<std::vector<UserRecord>> SqliteStore::list_users() {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT name, password_hash, system_admin, created_at FROM users ORDER BY name");
  std::vector<UserRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(UserRecord{s.text(0), s.text(1), s.integer(2) != 0, s.integer(3)});
  }
  if (rc != SQLITE_DONE) return fail("list users");
  return out;
}

Result<bool> SqliteStore::create_robot(const RobotRecord& r, const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare(
        "INSERT INTO robots (name, secret_hash, permissions, expires_at, created_by, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING");
    s.bind(1, r.name).bind(2, r.secret_hash).bind(3, r.permissions_json).bind(4, r.expires_at);
    s.bind(5, r.created_by).bind(6, r.created_at);
    if (s.step() != SQLITE_DONE) return fail("create robot");
    return db_.changes() > 0;
  });
}

Result<bool> SqliteStore::delete_robot(std::string_view name, const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare("DELETE FROM robots WHERE name = ?");
    s.bind(1, name);
    if (s.step() != SQLITE_DONE) return fail("delete robot");
    return db_.changes() > 0;
  });
}

namespace {
RobotRecord robot_row(SqliteDb::Stmt& s) {
  return RobotRecord{s.text(0), s.text(1), s.text(2), s.integer(3), s.text(4), s.integer(5)};
}
}  // namespace

Result<std::optional<RobotRecord>> SqliteStore::get_robot(std::string_view name) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT name, secret_hash, permissions, expires_at, created_by, created_at FROM robots "
      "WHERE name = ?");
  s.bind(1, name);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<RobotRecord>();
  if (rc != SQLITE_ROW) return fail("get robot");
  return std::optional<RobotRecord>(robot_row(s));
}

Result<std::vector<RobotRecord>> SqliteStore::list_robots() {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT name, secret_hash, permissions, expires_at, created_by, created_at FROM robots "
      "ORDER BY name");
  std::vector<RobotRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(robot_row(s));
  if (rc != SQLITE_DONE) return fail("list robots");
  return out;
}

Result<void> SqliteStore::put_namespace(const NamespaceRecord& ns, const audit::AuditEvent& event) {
  auto r = access_change(event, [&]() -> Result<bool> {
    auto s = prepare(
        "INSERT INTO namespaces (name, anonymous_pull, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET anonymous_pull = excluded.anonymous_pull");
    s.bind(1, ns.name).bind(2, int64_t{ns.anonymous_pull}).bind(3, ns.created_at);
    if (s.step() != SQLITE_DONE) return fail("put namespace");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<bool> SqliteStore::delete_namespace(std::string_view name, const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare("DELETE FROM namespaces WHERE name = ?");
    s.bind(1, name);
    if (s.step() != SQLITE_DONE) return fail("delete namespace");
    return db_.changes() > 0;
  });
}

Result<std::vector<NamespaceRecord>> SqliteStore::list_namespaces() {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT name, anonymous_pull, created_at FROM namespaces ORDER BY name");
  std::vector<NamespaceRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(NamespaceRecord{s.text(0), s.integer(1) != 0, s.integer(2)});
  }
  if (rc != SQLITE_DONE) return fail("list namespaces");
  return out;
}

Result<void> SqliteStore::put_role_binding(const RoleBindingRecord& b,
                                           const audit::AuditEvent& event) {
  auto r = access_change(event, [&]() -> Result<bool> {
    auto s = prepare(
        "INSERT INTO role_bindings (namespace, username, role) VALUES (?, ?, ?) "
        "ON CONFLICT (namespace, username) DO UPDATE SET role = excluded.role");
    s.bind(1, b.namespace_name).bind(2, b.user).bind(3, b.role);
    if (s.step() != SQLITE_DONE) return fail("put role binding");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<bool> SqliteStore::delete_role_binding(std::string_view ns, std::string_view user,
                                              const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare("DELETE FROM role_bindings WHERE namespace = ? AND username = ?");
    s.bind(1, ns).bind(2, user);
    if (s.step() != SQLITE_DONE) return fail("delete role binding");
    return db_.changes() > 0;
  });
}

Result<std::vector<RoleBindingRecord>> SqliteStore::list_role_bindings() {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT namespace, username, role FROM role_bindings ORDER BY namespace, username");
  std::vector<RoleBindingRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.text(2)});
  if (rc != SQLITE_DONE) return fail("list role bindings");
  return out;
}

Result<bool> SqliteStore::create_tag_rule(const TagRuleRecord& r, const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare(
        "INSERT INTO tag_rules (namespace, name, pattern, position) VALUES (?, ?, ?, "
        "(SELECT COALESCE(MAX(position), 0) + 1 FROM tag_rules)) "
        "ON CONFLICT (namespace, name) DO NOTHING");
    s.bind(1, r.namespace_name).bind(2, r.name).bind(3, r.pattern);
    if (s.step() != SQLITE_DONE) return fail("create tag rule");
    return db_.changes() > 0;
  });
}

Result<bool> SqliteStore::delete_tag_rule(std::string_view ns, std::string_view name,
                                          const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare("DELETE FROM tag_rules WHERE namespace = ? AND name = ?");
    s.bind(1, ns).bind(2, name);
    if (s.step() != SQLITE_DONE) return fail("delete tag rule");
    return db_.changes() > 0;
  });
}

Result<std::vector<TagRuleRecord>> SqliteStore::list_tag_rules() {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT namespace, name, pattern FROM tag_rules ORDER BY namespace, position");
  std::vector<TagRuleRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.text(2)});
  if (rc != SQLITE_DONE) return fail("list tag rules");
  return out;
}

Result<bool> SqliteStore::create_trusted_key(const TrustedKeyRecord& k,
                                             const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare(
        "INSERT INTO trusted_keys (id, owner, public_key, repositories, expires_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING");
    s.bind(1, k.id).bind(2, k.owner).bind(3, k.public_key_pem).bind(4, k.repositories_json);
    s.bind(5, k.expires_at).bind(6, k.created_at);
    if (s.step() != SQLITE_DONE) return fail("create trusted key");
    return db_.changes() > 0;
  });
}

Result<bool> SqliteStore::delete_trusted_key(std::string_view id, const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare("DELETE FROM trusted_keys WHERE id = ?");
    s.bind(1, id);
    if (s.step() != SQLITE_DONE) return fail("delete trusted key");
    return db_.changes() > 0;
  });
}

Result<std::vector<TrustedKeyRecord>> SqliteStore::list_trusted_keys() {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT id, owner, public_key, repositories, expires_at, created_at FROM trusted_keys "
      "ORDER BY id");
  std::vector<TrustedKeyRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.integer(4), s.integer(5)});
  }
  if (rc != SQLITE_DONE) return fail("list trusted keys");
  return out;
}

Result<void> SqliteStore::put_trust_policy(const TrustPolicyRecord& p,
                                           const audit::AuditEvent& event) {
  auto r = access_change(event, [&]() -> Result<bool> {
    auto s = prepare(
        "INSERT INTO trust_policies (name, repositories, key_ids, threshold, mode, position) "
        "VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM trust_policies)) "
        "ON CONFLICT (name) DO UPDATE SET repositories = excluded.repositories, "
        "key_ids = excluded.key_ids, threshold = excluded.threshold, mode = excluded.mode");
    s.bind(1, p.name).bind(2, p.repositories_json).bind(3, p.key_ids_json).bind(4, p.threshold);
    s.bind(5, p.mode);
    if (s.step() != SQLITE_DONE) return fail("put trust policy");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<bool> SqliteStore::delete_trust_policy(std::string_view name,
                                              const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare("DELETE FROM trust_policies WHERE name = ?");
    s.bind(1, name);
    if (s.step() != SQLITE_DONE) return fail("delete trust policy");
    return db_.changes() > 0;
  });
}

Result<std::vector<TrustPolicyRecord>> SqliteStore::list_trust_policies() {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT name, repositories, key_ids, threshold, mode FROM trust_policies ORDER BY position");
  std::vector<TrustPolicyRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back({s.text(0), s.text(1), s.text(2), s.integer(3), s.text(4)});
  }
  if (rc != SQLITE_DONE) return fail("list trust policies");
  return out;
}

Result<int64_t> SqliteStore::access_generation() {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT generation FROM access_state WHERE id = 1");
  if (s.step() != SQLITE_ROW) return fail("access generation");
  return s.integer(0);
}

Result<audit::ChainHead> SqliteStore::audit_head() {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT audit_seq, audit_hash FROM access_state WHERE id = 1");
  if (s.step() != SQLITE_ROW) return fail("audit head");
  return audit::ChainHead{static_cast<uint64_t>(s.integer(0)), s.text(1)};
}

Result<void> SqliteStore::append_audit(const std::vector<audit::AuditEvent>& events) {
  if (events.empty()) return {};
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return make_error(Errc::internal, "metadata store error");
  for (const auto& e : events) {
    if (auto a = append_chained(e); !a) {
      exec("ROLLBACK");
      return a.error();
    }
  }
  return exec("COMMIT");
}

namespace {
audit::ChainedEvent audit_row(SqliteDb::Stmt& s) {
  audit::ChainedEvent e;
  e.seq = static_cast<uint64_t>(s.integer(0));
  e.event = audit::AuditEvent{s.integer(1), s.text(2), s.text(3), s.text(4), s.text(5),
                              s.text(6),    s.text(7), s.text(8), s.text(9)};
  e.prev_hash = s.text(10);
  e.hash = s.text(11);
  return e;
}
}  // namespace

Result<std::vector<audit::ChainedEvent>> SqliteStore::list_audit(const AuditFilter& f) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT seq, time_ms, actor, source_address, action, repository, reference, digest, result, "
      "detail, prev_hash, hash FROM audit_events WHERE seq > ?1 "
      "AND (?2 = '' OR actor = ?2) AND (?3 = '' OR action = ?3) AND (?4 = '' OR repository = ?4) "
      "AND (?5 = '' OR result = ?5) AND (?6 = 0 OR time_ms >= ?6) AND (?7 = 0 OR time_ms < ?7) "
      "ORDER BY seq LIMIT ?8");
  s.bind(1, static_cast<int64_t>(f.after_seq)).bind(2, f.actor).bind(3, f.action);
  s.bind(4, f.repository).bind(5, f.result).bind(6, f.since_ms).bind(7, f.until_ms);
  s.bind(8, static_cast<int64_t>(f.limit));
  std::vector<audit::ChainedEvent> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(audit_row(s));
  if (rc != SQLITE_DONE) return fail("list audit events");
  return out;
}

Result<std::vector<audit::ChainedEvent>> SqliteStore::audit_rows(uint64_t after_seq,
                                                                 std::size_t limit) {
  std::lock_guard lock(mu_);
  // Exactly as stored; verify_chain() judges whether seq and hashes still agree.
  auto s = prepare(
      "SELECT seq, time_ms, actor, source_address, action, repository, reference, digest, result, "
      "detail, prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?");
  s.bind(1, static_cast<int64_t>(after_seq)).bind(2, static_cast<int64_t>(limit));
  std::vector<audit::ChainedEvent> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(audit_row(s));
  if (rc != SQLITE_DONE) return fail("read audit events");
  return out;
}

}  // namespace portcullis::metadata

// --- registry policy ----------------------------------------------------------

namespace portcullis::metadata {

namespace {
PolicyVersionRecord policy_version_row(SqliteDb::Stmt& s) {
  return {s.integer(0), s.text(1), s.text(2), s.text(3), s.integer(4)};
}
// Statements are cached by their text's address: literals only.
#define PC_POLICY_VERSION_COLUMNS \
  "SELECT version, files, author, comment, created_at FROM policy_versions "
}  // namespace

Result<int64_t> SqliteStore::put_policy_version(const PolicyVersionRecord& record,
                                                const audit::AuditEvent& event) {
  int64_t version = 0;
  audit::AuditEvent e = event;
  auto r = access_change(e, [&]() -> Result<bool> {
    auto next = prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions");
    if (next.step() != SQLITE_ROW) return fail("next policy version");
    version = next.integer(0);
    auto s = prepare(
        "INSERT INTO policy_versions (version, files, author, comment, created_at) "
        "VALUES (?, ?, ?, ?, ?)");
    s.bind(1, version).bind(2, record.files_json).bind(3, record.author);
    s.bind(4, record.comment).bind(5, record.created_at);
    if (s.step() != SQLITE_DONE) return fail("put policy version");
    return true;
  });
  if (!r) return r.error();
  return version;
}

Result<std::optional<PolicyVersionRecord>> SqliteStore::latest_policy_version() {
  std::lock_guard lock(mu_);
  auto s = prepare(PC_POLICY_VERSION_COLUMNS "ORDER BY version DESC LIMIT 1");
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<PolicyVersionRecord>();
  if (rc != SQLITE_ROW) return fail("latest policy version");
  return std::optional<PolicyVersionRecord>(policy_version_row(s));
}

Result<std::optional<PolicyVersionRecord>> SqliteStore::get_policy_version(int64_t version) {
  std::lock_guard lock(mu_);
  auto s = prepare(PC_POLICY_VERSION_COLUMNS "WHERE version = ?");
  s.bind(1, version);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<PolicyVersionRecord>();
  if (rc != SQLITE_ROW) return fail("get policy version");
  return std::optional<PolicyVersionRecord>(policy_version_row(s));
}

Result<std::vector<PolicyVersionRecord>> SqliteStore::list_policy_versions(std::size_t limit) {
  std::lock_guard lock(mu_);
  auto s = prepare(PC_POLICY_VERSION_COLUMNS "ORDER BY version DESC LIMIT ?");
  s.bind(1, static_cast<int64_t>(limit));
  std::vector<PolicyVersionRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(policy_version_row(s));
  if (rc != SQLITE_DONE) return fail("list policy versions");
  return out;
}

Result<void> SqliteStore::put_approved_base(const ApprovedBaseRecord& base,
                                            const audit::AuditEvent& event) {
  auto r = access_change(event, [&]() -> Result<bool> {
    auto s = prepare(
        "INSERT INTO approved_bases (name, repository, tag, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET repository = excluded.repository, tag = excluded.tag");
    s.bind(1, base.name).bind(2, base.repository).bind(3, base.tag).bind(4, base.created_at);
    if (s.step() != SQLITE_DONE) return fail("put approved base");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<bool> SqliteStore::delete_approved_base(std::string_view name,
                                               const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare("DELETE FROM approved_bases WHERE name = ?");
    s.bind(1, name);
    if (s.step() != SQLITE_DONE) return fail("delete approved base");
    if (db_.changes() == 0) return false;
    auto h = prepare("DELETE FROM approved_base_digests WHERE base = ?");
    h.bind(1, name);
    if (h.step() != SQLITE_DONE) return fail("delete approved base digests");
    return true;
  });
}

Result<std::vector<ApprovedBaseRecord>> SqliteStore::list_approved_bases() {
  std::lock_guard lock(mu_);
  auto s = prepare("SELECT name, repository, tag, created_at FROM approved_bases ORDER BY name");
  std::vector<ApprovedBaseRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({s.text(0), s.text(1), s.text(2), s.integer(3)});
  if (rc != SQLITE_DONE) return fail("list approved bases");
  return out;
}

Result<bool> SqliteStore::add_base_digest(const BaseDigestRecord& record,
                                          const audit::AuditEvent& event) {
  return access_change(event, [&]() -> Result<bool> {
    auto s = prepare(
        "INSERT INTO approved_base_digests (base, digest, diff_ids, approved_at) "
        "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM approved_bases WHERE name = ?) "
        "ON CONFLICT (base, digest) DO NOTHING");
    s.bind(1, record.base).bind(2, record.digest).bind(3, record.diff_ids_json);
    s.bind(4, record.approved_at).bind(5, record.base);
    if (s.step() != SQLITE_DONE) return fail("add base digest");
    return db_.changes() > 0;
  });
}

Result<std::vector<BaseDigestRecord>> SqliteStore::list_base_digests() {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT base, digest, diff_ids, approved_at FROM approved_base_digests "
      "ORDER BY base, approved_at, digest");
  std::vector<BaseDigestRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({s.text(0), s.text(1), s.text(2), s.integer(3)});
  if (rc != SQLITE_DONE) return fail("list base digests");
  return out;
}

Result<void> SqliteStore::put_policy_verdict(const PolicyVerdictRecord& v) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "INSERT INTO policy_verdicts (repository, digest, outcome, summary, inputs, evaluated_at) "
      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (repository, digest) DO UPDATE SET "
      "outcome = excluded.outcome, summary = excluded.summary, inputs = excluded.inputs, "
      "evaluated_at = excluded.evaluated_at");
  s.bind(1, v.repository).bind(2, v.digest).bind(3, v.outcome).bind(4, v.summary);
  s.bind(5, v.inputs).bind(6, v.evaluated_at);
  if (s.step() != SQLITE_DONE) return fail("put policy verdict");
  return {};
}

Result<std::vector<PolicyVerdictRecord>> SqliteStore::list_policy_verdicts(
    std::string_view repository, std::string_view after_repository, std::string_view after_digest,
    std::size_t limit) {
  std::lock_guard lock(mu_);
  auto s = prepare(
      "SELECT repository, digest, outcome, summary, inputs, evaluated_at FROM policy_verdicts "
      "WHERE (? = '' OR repository = ?) AND (repository > ? OR (repository = ? AND digest > ?)) "
      "ORDER BY repository, digest LIMIT ?");
  s.bind(1, repository).bind(2, repository).bind(3, after_repository).bind(4, after_repository);
  s.bind(5, after_digest).bind(6, static_cast<int64_t>(limit));
  std::vector<PolicyVerdictRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.integer(5)});
  }
  if (rc != SQLITE_DONE) return fail("list policy verdicts");
  return out;
}

}  // namespace portcullis::metadata
