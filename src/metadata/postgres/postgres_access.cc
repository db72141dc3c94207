// PostgresStore: access control (users, robots, namespaces, role bindings, tag
// rules) and the hash-chained audit log. Every replica appends to the one
// chain; the access_state row lock makes them take turns, so seq order is
// commit order and readers never see a gap that a later commit fills.
#include <cstdint>
#include <limits>

#include "metadata/postgres/postgres_conn.h"
#include "metadata/postgres/postgres_store.h"

namespace portcullis::metadata {

using pg::clamp_count;
using pg::store_error;

namespace {

int64_t clamp_seq(uint64_t seq) {
  return static_cast<int64_t>(
      std::min<uint64_t>(seq, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
}

// Row readers: templates, because the row type is private to PostgresStore.
template <class Rows>
UserRecord user_row(const Rows& s, int i) {
  return UserRecord{s.text(i, 0), s.text(i, 1), s.integer(i, 2) != 0, s.integer(i, 3)};
}

template <class Rows>
RobotRecord robot_row(const Rows& s, int i) {
  return RobotRecord{s.text(i, 0),    s.text(i, 1), s.text(i, 2),
                     s.integer(i, 3), s.text(i, 4), s.integer(i, 5)};
}

template <class Rows>
audit::ChainedEvent audit_row(const Rows& s, int i) {
  audit::ChainedEvent e;
  e.seq = static_cast<uint64_t>(s.integer(i, 0));
  e.event =
      audit::AuditEvent{s.integer(i, 1), s.text(i, 2), s.text(i, 3), s.text(i, 4), s.text(i, 5),
                        s.text(i, 6),    s.text(i, 7), s.text(i, 8), s.text(i, 9)};
  e.prev_hash = s.text(i, 10);
  e.hash = s.text(i, 11);
  return e;
}

}  // namespace

Result<void> PostgresStore::append_chained(Conn& c, const audit::AuditEvent& event) {
  auto head = c.run("lock audit head",
                    "SELECT audit_seq, audit_hash FROM access_state WHERE id = 1 FOR UPDATE", {});
  if (!head) return head.error();
  if (head->size() != 1) {
    spdlog::error("metadata: access_state row is missing");
    return store_error();
  }
  auto e = audit::chain_next(
      audit::ChainHead{static_cast<uint64_t>(head->integer(0, 0)), head->text(0, 1)}, event);
  auto rows =
      c.run("append audit event",
            "INSERT INTO audit_events (seq, time_ms, actor, source_address, action, repository, "
            "reference, digest, result, detail, prev_hash, hash) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            {clamp_seq(e.seq), e.event.time_ms, e.event.actor, e.event.source_address,
             e.event.action, e.event.repository, e.event.reference, e.event.digest, e.event.result,
             e.event.detail, e.prev_hash, e.hash});
  if (!rows) return rows.error();
  rows = c.run("advance audit head",
               "UPDATE access_state SET audit_seq = $1, audit_hash = $2 WHERE id = 1",
               {clamp_seq(e.seq), e.hash});
  if (!rows) return rows.error();
  return {};
}

Result<bool> PostgresStore::access_change(const audit::AuditEvent& event,
                                          const std::function<Result<bool>(Conn&)>& change) {
  return with_conn([&](Conn& c) -> Result<bool> {
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r.error();
    // Locked before the change: access changes from every replica take turns,
    // so what `change` reads (e.g. the next tag rule position) is current.
    auto state = c.run("lock access state",
                       "SELECT generation FROM access_state WHERE id = 1 FOR UPDATE", {});
    if (!state) return state.error();
    auto changed = change(c);
    if (!changed) return changed.error();
    if (!*changed) return false;  // rolled back: no generation bump, no event
    auto rows = c.run("bump access generation",
                      "UPDATE access_state SET generation = generation + 1 WHERE id = 1", {});
    if (!rows) return rows.error();
    if (auto a = append_chained(c, event); !a) return a.error();
    if (auto r = tx.commit(); !r) return r.error();
    return true;
  });
}

Result<bool> PostgresStore::create_user(const UserRecord& u, const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("create user",
                      "INSERT INTO users (name, password_hash, system_admin, created_at) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                      {u.name, u.password_hash, int64_t{u.system_admin}, u.created_at});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<bool> PostgresStore::update_user(const UserRecord& u, const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("update user",
                      "UPDATE users SET password_hash = $1, system_admin = $2 WHERE name = $3",
                      {u.password_hash, int64_t{u.system_admin}, u.name});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<bool> PostgresStore::delete_user(std::string_view name, const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("delete user", "DELETE FROM users WHERE name = $1", {name});
    if (!rows) return rows.error();
    if (rows->affected() == 0) return false;
    rows = c.run("delete user bindings", "DELETE FROM role_bindings WHERE username = $1", {name});
    if (!rows) return rows.error();
    return true;
  });
}

Result<std::optional<UserRecord>> PostgresStore::get_user(std::string_view name) {
  return with_conn([&](Conn& c) -> Result<std::optional<UserRecord>> {
    auto rows = c.run(
        "get user",
        "SELECT name, password_hash, system_admin, created_at FROM users WHERE name = $1", {name});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<UserRecord>();
    return std::optional<UserRecord>(user_row(*rows, 0));
  });
}

Result<std::vector<UserRecord>> PostgresStore::list_users() {
  return with_conn([&](Conn& c) -> Result<std::vector<UserRecord>> {
    auto rows =
        c.run("list users",
              "SELECT name, password_hash, system_admin, created_at FROM users ORDER BY name", {});
    if (!rows) return rows.error();
    std::vector<UserRecord> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(user_row(*rows, i));
    return out;
  });
}

Result<bool> PostgresStore::create_robot(const RobotRecord& r, const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run(
        "create robot",
        "INSERT INTO robots (name, secret_hash, permissions, expires_at, created_by, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
        {r.name, r.secret_hash, r.permissions_json, r.expires_at, r.created_by, r.created_at});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<bool> PostgresStore::delete_robot(std::string_view name, const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("delete robot", "DELETE FROM robots WHERE name = $1", {name});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<std::optional<RobotRecord>> PostgresStore::get_robot(std::string_view name) {
  return with_conn([&](Conn& c) -> Result<std::optional<RobotRecord>> {
    auto rows = c.run("get robot",
                      "SELECT name, secret_hash, permissions, expires_at, created_by, created_at "
                      "FROM robots WHERE name = $1",
                      {name});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<RobotRecord>();
    return std::optional<RobotRecord>(robot_row(*rows, 0));
  });
}

Result<std::vector<RobotRecord>> PostgresStore::list_robots() {
  return with_conn([&](Conn& c) -> Result<std::vector<RobotRecord>> {
    auto rows = c.run("list robots",
                      "SELECT name, secret_hash, permissions, expires_at, created_by, created_at "
                      "FROM robots ORDER BY name",
                      {});
    if (!rows) return rows.error();
    std::vector<RobotRecord> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(robot_row(*rows, i));
    return out;
  });
}

Result<void> PostgresStore::put_namespace(const NamespaceRecord& ns,
                                          const audit::AuditEvent& event) {
  auto r = access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("put namespace",
                      "INSERT INTO namespaces (name, anonymous_pull, created_at) "
                      "VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET "
                      "anonymous_pull = excluded.anonymous_pull",
                      {ns.name, int64_t{ns.anonymous_pull}, ns.created_at});
    if (!rows) return rows.error();
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<bool> PostgresStore::delete_namespace(std::string_view name,
                                             const audit::AuditEvent& event) {
  // Role bindings and tag rules go with it (ON DELETE CASCADE).
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("delete namespace", "DELETE FROM namespaces WHERE name = $1", {name});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<std::vector<NamespaceRecord>> PostgresStore::list_namespaces() {
  return with_conn([&](Conn& c) -> Result<std::vector<NamespaceRecord>> {
    auto rows = c.run("list namespaces",
                      "SELECT name, anonymous_pull, created_at FROM namespaces ORDER BY name", {});
    if (!rows) return rows.error();
    std::vector<NamespaceRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back(
          NamespaceRecord{rows->text(i, 0), rows->integer(i, 1) != 0, rows->integer(i, 2)});
    }
    return out;
  });
}

Result<void> PostgresStore::put_role_binding(const RoleBindingRecord& b,
                                             const audit::AuditEvent& event) {
  auto r = access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("put role binding",
                      "INSERT INTO role_bindings (namespace, username, role) VALUES ($1, $2, $3) "
                      "ON CONFLICT (namespace, username) DO UPDATE SET role = excluded.role",
                      {b.namespace_name, b.user, b.role});
    if (!rows) return rows.error();
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<bool> PostgresStore::delete_role_binding(std::string_view ns, std::string_view user,
                                                const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows =
        c.run("delete role binding",
              "DELETE FROM role_bindings WHERE namespace = $1 AND username = $2", {ns, user});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<std::vector<RoleBindingRecord>> PostgresStore::list_role_bindings() {
  return with_conn([&](Conn& c) -> Result<std::vector<RoleBindingRecord>> {
    auto rows = c.run(
        "list role bindings",
        "SELECT namespace, username, role FROM role_bindings ORDER BY namespace, username", {});
    if (!rows) return rows.error();
    std::vector<RoleBindingRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back({rows->text(i, 0), rows->text(i, 1), rows->text(i, 2)});
    }
    return out;
  });
}

Result<bool> PostgresStore::create_tag_rule(const TagRuleRecord& r,
                                            const audit::AuditEvent& event) {
  // The position is read under access_change's lock, so replicas creating
  // rules at once still number them in creation order.
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("create tag rule",
                      "INSERT INTO tag_rules (namespace, name, pattern, position) VALUES ($1, $2, "
                      "$3, (SELECT COALESCE(MAX(position), 0) + 1 FROM tag_rules)) "
                      "ON CONFLICT (namespace, name) DO NOTHING",
                      {r.namespace_name, r.name, r.pattern});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<bool> PostgresStore::delete_tag_rule(std::string_view ns, std::string_view name,
                                            const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("delete tag rule", "DELETE FROM tag_rules WHERE namespace = $1 AND name = $2",
                      {ns, name});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<std::vector<TagRuleRecord>> PostgresStore::list_tag_rules() {
  return with_conn([&](Conn& c) -> Result<std::vector<TagRuleRecord>> {
    auto rows =
        c.run("list tag rules",
              "SELECT namespace, name, pattern FROM tag_rules ORDER BY namespace, position", {});
    if (!rows) return rows.error();
    std::vector<TagRuleRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back({rows->text(i, 0), rows->text(i, 1), rows->text(i, 2)});
    }
    return out;
  });
}

Result<bool> PostgresStore::create_trusted_key(const TrustedKeyRecord& k,
                                               const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("create trusted key",
                      "INSERT INTO trusted_keys (id, owner, public_key, repositories, expires_at, "
                      "created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                      {k.id, k.owner, k.public_key_pem, k.repositories_json, k.expires_at,
                       k.created_at});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<bool> PostgresStore::delete_trusted_key(std::string_view id,
                                               const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("delete trusted key", "DELETE FROM trusted_keys WHERE id = $1", {id});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<std::vector<TrustedKeyRecord>> PostgresStore::list_trusted_keys() {
  return with_conn([&](Conn& c) -> Result<std::vector<TrustedKeyRecord>> {
    auto rows = c.run("list trusted keys",
                      "SELECT id, owner, public_key, repositories, expires_at, created_at "
                      "FROM trusted_keys ORDER BY id COLLATE \"C\"",
                      {});
    if (!rows) return rows.error();
    std::vector<TrustedKeyRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back({rows->text(i, 0), rows->text(i, 1), rows->text(i, 2), rows->text(i, 3),
                     rows->integer(i, 4), rows->integer(i, 5)});
    }
    return out;
  });
}

Result<void> PostgresStore::put_trust_policy(const TrustPolicyRecord& p,
                                             const audit::AuditEvent& event) {
  // The position is read under access_change's lock (creation order across replicas).
  auto r = access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run(
        "put trust policy",
        "INSERT INTO trust_policies (name, repositories, key_ids, threshold, mode, position) "
        "VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(position), 0) + 1 FROM trust_policies)) "
        "ON CONFLICT (name) DO UPDATE SET repositories = excluded.repositories, "
        "key_ids = excluded.key_ids, threshold = excluded.threshold, mode = excluded.mode",
        {p.name, p.repositories_json, p.key_ids_json, p.threshold, p.mode});
    if (!rows) return rows.error();
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<bool> PostgresStore::delete_trust_policy(std::string_view name,
                                                const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("delete trust policy", "DELETE FROM trust_policies WHERE name = $1", {name});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<std::vector<TrustPolicyRecord>> PostgresStore::list_trust_policies() {
  return with_conn([&](Conn& c) -> Result<std::vector<TrustPolicyRecord>> {
    auto rows = c.run("list trust policies",
                      "SELECT name, repositories, key_ids, threshold, mode FROM trust_policies "
                      "ORDER BY position",
                      {});
    if (!rows) return rows.error();
    std::vector<TrustPolicyRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back({rows->text(i, 0), rows->text(i, 1), rows->text(i, 2), rows->integer(i, 3),
                     rows->text(i, 4)});
    }
    return out;
  });
}

Result<int64_t> PostgresStore::access_generation() {
  return with_conn([&](Conn& c) -> Result<int64_t> {
    auto rows = c.run("access generation", "SELECT generation FROM access_state WHERE id = 1", {});
    if (!rows) return rows.error();
    if (rows->size() != 1) {
      spdlog::error("metadata: access_state row is missing");
      return store_error();
    }
    return rows->integer(0, 0);
  });
}

Result<audit::ChainHead> PostgresStore::audit_head() {
  return with_conn([&](Conn& c) -> Result<audit::ChainHead> {
    auto rows = c.run("audit head", "SELECT audit_seq, audit_hash FROM access_state WHERE id = 1", {});
    if (!rows) return rows.error();
    if (rows->size() != 1) {
      spdlog::error("metadata: access_state row is missing");
      return store_error();
    }
    return audit::ChainHead{static_cast<uint64_t>(rows->integer(0, 0)), rows->text(0, 1)};
  });
}

Result<void> PostgresStore::append_audit(const std::vector<audit::AuditEvent>& events) {
  if (events.empty()) return {};
  return with_conn([&](Conn& c) -> Result<void> {
    Tx tx(c);
    if (auto r = tx.begin(); !r) return r;
    for (const auto& e : events) {
      if (auto a = append_chained(c, e); !a) return a;
    }
    return tx.commit();
  });
}

Result<std::vector<audit::ChainedEvent>> PostgresStore::list_audit(const AuditFilter& f) {
  return with_conn([&](Conn& c) -> Result<std::vector<audit::ChainedEvent>> {
    auto rows = c.run(
        "list audit events",
        "SELECT seq, time_ms, actor, source_address, action, repository, reference, digest, "
        "result, detail, prev_hash, hash FROM audit_events WHERE seq > $1 "
        "AND ($2::text = '' OR actor = $2::text) AND ($3::text = '' OR action = $3::text) "
        "AND ($4::text = '' OR repository = $4::text) AND ($5::text = '' OR result = $5::text) "
        "AND ($6::bigint = 0 OR time_ms >= $6::bigint) "
        "AND ($7::bigint = 0 OR time_ms < $7::bigint) ORDER BY seq LIMIT $8",
        {clamp_seq(f.after_seq), f.actor, f.action, f.repository, f.result, f.since_ms, f.until_ms,
         clamp_count(f.limit)});
    if (!rows) return rows.error();
    std::vector<audit::ChainedEvent> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(audit_row(*rows, i));
    return out;
  });
}

Result<std::vector<audit::ChainedEvent>> PostgresStore::audit_rows(uint64_t after_seq,
                                                                   std::size_t limit) {
  // Exactly as stored; verify_chain() judges whether seq and hashes still agree.
  return with_conn([&](Conn& c) -> Result<std::vector<audit::ChainedEvent>> {
    auto rows = c.run(
        "read audit events",
        "SELECT seq, time_ms, actor, source_address, action, repository, reference, digest, "
        "result, detail, prev_hash, hash FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
        {clamp_seq(after_seq), clamp_count(limit)});
    if (!rows) return rows.error();
    std::vector<audit::ChainedEvent> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(audit_row(*rows, i));
    return out;
  });
}

}  // namespace portcullis::metadata

// --- registry policy ----------------------------------------------------------

namespace portcullis::metadata {

#define PC_PG_POLICY_VERSION_COLUMNS \
  "SELECT version, files, author, comment, created_at FROM policy_versions "

Result<int64_t> PostgresStore::put_policy_version(const PolicyVersionRecord& record,
                                                  const audit::AuditEvent& event) {
  int64_t version = 0;
  auto r = access_change(event, [&](Conn& c) -> Result<bool> {
    // The access_state row lock (held by access_change) serialises versions.
    auto next = c.run("next policy version",
                      "SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions", {});
    if (!next) return next.error();
    version = next->integer(0, 0);
    auto rows =
        c.run("put policy version",
              "INSERT INTO policy_versions (version, files, author, comment, created_at) "
              "VALUES ($1, $2, $3, $4, $5)",
              {version, record.files_json, record.author, record.comment, record.created_at});
    if (!rows) return rows.error();
    return true;
  });
  if (!r) return r.error();
  return version;
}

namespace {
template <class Rows>
PolicyVersionRecord pg_policy_version_row(const Rows& rows, int i) {
  return {rows.integer(i, 0), rows.text(i, 1), rows.text(i, 2), rows.text(i, 3),
          rows.integer(i, 4)};
}
}  // namespace

Result<std::optional<PolicyVersionRecord>> PostgresStore::latest_policy_version() {
  return with_conn([&](Conn& c) -> Result<std::optional<PolicyVersionRecord>> {
    auto rows = c.run("latest policy version",
                      PC_PG_POLICY_VERSION_COLUMNS "ORDER BY version DESC LIMIT 1", {});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<PolicyVersionRecord>();
    return std::optional<PolicyVersionRecord>(pg_policy_version_row(*rows, 0));
  });
}

Result<std::optional<PolicyVersionRecord>> PostgresStore::get_policy_version(int64_t version) {
  return with_conn([&](Conn& c) -> Result<std::optional<PolicyVersionRecord>> {
    auto rows =
        c.run("get policy version", PC_PG_POLICY_VERSION_COLUMNS "WHERE version = $1", {version});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<PolicyVersionRecord>();
    return std::optional<PolicyVersionRecord>(pg_policy_version_row(*rows, 0));
  });
}

Result<std::vector<PolicyVersionRecord>> PostgresStore::list_policy_versions(std::size_t limit) {
  return with_conn([&](Conn& c) -> Result<std::vector<PolicyVersionRecord>> {
    auto rows =
        c.run("list policy versions", PC_PG_POLICY_VERSION_COLUMNS "ORDER BY version DESC LIMIT $1",
              {static_cast<int64_t>(limit)});
    if (!rows) return rows.error();
    std::vector<PolicyVersionRecord> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(pg_policy_version_row(*rows, i));
    return out;
  });
}

Result<void> PostgresStore::put_approved_base(const ApprovedBaseRecord& base,
                                              const audit::AuditEvent& event) {
  auto r = access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("put approved base",
                      "INSERT INTO approved_bases (name, repository, tag, created_at) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET "
                      "repository = excluded.repository, tag = excluded.tag",
                      {base.name, base.repository, base.tag, base.created_at});
    if (!rows) return rows.error();
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<bool> PostgresStore::delete_approved_base(std::string_view name,
                                                 const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("delete approved base", "DELETE FROM approved_bases WHERE name = $1", {name});
    if (!rows) return rows.error();
    if (rows->affected() == 0) return false;
    rows = c.run("delete approved base digests",
                 "DELETE FROM approved_base_digests WHERE base = $1", {name});
    if (!rows) return rows.error();
    return true;
  });
}

Result<std::vector<ApprovedBaseRecord>> PostgresStore::list_approved_bases() {
  return with_conn([&](Conn& c) -> Result<std::vector<ApprovedBaseRecord>> {
    auto rows = c.run("list approved bases",
                      "SELECT name, repository, tag, created_at FROM approved_bases "
                      "ORDER BY name COLLATE \"C\"",
                      {});
    if (!rows) return rows.error();
    std::vector<ApprovedBaseRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back({rows->text(i, 0), rows->text(i, 1), rows->text(i, 2), rows->integer(i, 3)});
    }
    return out;
  });
}

Result<bool> PostgresStore::add_base_digest(const BaseDigestRecord& record,
                                            const audit::AuditEvent& event) {
  return access_change(event, [&](Conn& c) -> Result<bool> {
    auto rows = c.run("add base digest",
                      "INSERT INTO approved_base_digests (base, digest, diff_ids, approved_at) "
                      "SELECT $1, $2, $3, $4 WHERE EXISTS "
                      "(SELECT 1 FROM approved_bases WHERE name = $1) "
                      "ON CONFLICT (base, digest) DO NOTHING",
                      {record.base, record.digest, record.diff_ids_json, record.approved_at});
    if (!rows) return rows.error();
    return rows->affected() > 0;
  });
}

Result<std::vector<BaseDigestRecord>> PostgresStore::list_base_digests() {
  return with_conn([&](Conn& c) -> Result<std::vector<BaseDigestRecord>> {
    auto rows = c.run("list base digests",
                      "SELECT base, digest, diff_ids, approved_at FROM approved_base_digests "
                      "ORDER BY base COLLATE \"C\", approved_at, digest COLLATE \"C\"",
                      {});
    if (!rows) return rows.error();
    std::vector<BaseDigestRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back({rows->text(i, 0), rows->text(i, 1), rows->text(i, 2), rows->integer(i, 3)});
    }
    return out;
  });
}

Result<void> PostgresStore::put_policy_verdict(const PolicyVerdictRecord& v) {
  return with_conn([&](Conn& c) -> Result<void> {
    auto rows = c.run(
        "put policy verdict",
        "INSERT INTO policy_verdicts (repository, digest, outcome, summary, inputs, evaluated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (repository, digest) DO UPDATE SET "
        "outcome = excluded.outcome, summary = excluded.summary, inputs = excluded.inputs, "
        "evaluated_at = excluded.evaluated_at",
        {v.repository, v.digest, v.outcome, v.summary, v.inputs, v.evaluated_at});
    if (!rows) return rows.error();
    return {};
  });
}

Result<std::vector<PolicyVerdictRecord>> PostgresStore::list_policy_verdicts(
    std::string_view repository, std::string_view after_repository, std::string_view after_digest,
    std::size_t limit) {
  return with_conn([&](Conn& c) -> Result<std::vector<PolicyVerdictRecord>> {
    auto rows = c.run(
        "list policy verdicts",
        "SELECT repository, digest, outcome, summary, inputs, evaluated_at FROM policy_verdicts "
        "WHERE ($1 = '' OR repository = $1) AND (repository > $2 OR (repository = $2 AND "
        "digest > $3)) ORDER BY repository, digest LIMIT $4",
        {repository, after_repository, after_digest, static_cast<int64_t>(limit)});
    if (!rows) return rows.error();
    std::vector<PolicyVerdictRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back({rows->text(i, 0), rows->text(i, 1), rows->text(i, 2), rows->text(i, 3),
                     rows->text(i, 4), rows->integer(i, 5)});
    }
    return out;
  });
}

}  // namespace portcullis::metadata
