#include "auth/admin.h"

#include "oci/names.h"
#include "policy/stored.h"

#include <algorithm>

#include <fmt/format.h>

#include "auth/passwords.h"
#include "oci/names.h"

namespace portcullis::auth {

bool valid_account_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) return false;
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '@' && c != '-') return false;
  }
  return true;
}

namespace {
Result<void> check_account_name(std::string_view name) {
  if (!valid_account_name(name)) {
    return make_error(Errc::name_invalid,
                      "invalid account name: 1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter "
                      "or digit");
  }
  return {};
}
Result<void> check_namespace_name(std::string_view name) {
  if (!oci::valid_repository_name(name)) {
    return make_error(Errc::name_invalid, "invalid namespace name (repository name grammar)");
  }
  return {};
}
}  // namespace

Admin::Admin(AccessService& access) : access_(access) {}

audit::AuditEvent Admin::event(const Actor& actor, std::string action, std::string repository,
                               std::string reference, std::string detail) const {
  audit::AuditEvent e;
  e.time_ms = access_.clock().unix_millis();
  e.actor = actor.identity.name;
  e.source_address = actor.address;
  e.action = std::move(action);
  e.repository = std::move(repository);
  e.reference = std::move(reference);
  e.result = "success";
  e.detail = std::move(detail);
  return e;
}

Error Admin::deny(const Actor& actor, std::string action, std::string repository,
                  std::string reference, std::string message) {
  auto e = event(actor, std::move(action), std::move(repository), std::move(reference), message);
  e.result = "denied";
  (void)access_.store().append_audit({e});
  return make_error(Errc::denied, std::move(message));
}

Result<void> Admin::require_system_admin(const Actor& actor, std::string_view action,
                                         std::string_view target) {
  if (actor.identity.kind == Identity::Kind::user && actor.identity.system_admin) return {};
  return deny(actor, std::string(action), "", std::string(target),
              "only system administrators may do this");
}

Result<void> Admin::require_namespace(std::string_view name) {
  auto snap = access_.snapshot();
  if (!snap) return snap.error();
  if ((*snap)->policy.find_namespace(name)) return {};
  // The snapshot may lag a change made elsewhere: ask the store.
  auto all = access_.store().list_namespaces();
  if (!all) return all.error();
  for (const auto& n : *all) {
    if (n.name == name) return {};
  }
  return make_error(Errc::name_unknown, "no such namespace");
}

Result<void> Admin::changed(const Result<bool>& r, std::string not_found_message) {
  if (!r) return r.error();
  if (!*r) return make_error(Errc::name_unknown, std::move(not_found_message));
  return access_.reload();
}

Result<std::vector<metadata::UserRecord>> Admin::list_users(const Actor& actor) {
  if (auto ok = require_system_admin(actor, "user.list", ""); !ok) return ok.error();
  auto users = access_.store().list_users();
  if (!users) return users.error();
  for (auto& u : *users) u.password_hash.clear();
  return users;
}

Result<void> Admin::create_user(const Actor& actor, std::string_view name,
                                std::string_view password, bool system_admin) {
  if (auto ok = require_system_admin(actor, "user.create", name); !ok) return ok;
  if (auto ok = check_account_name(name); !ok) return ok;
  auto hash = hash_password(password, access_.options().password_cost);
  if (!hash) return hash.error();
  metadata::UserRecord u{std::string(name), *hash, system_admin, access_.clock().unix_seconds()};
  auto r = access_.store().create_user(
      u, event(actor, "user.create", "", std::string(name),
               system_admin ? "system administrator" : ""));
  if (!r) return r.error();
  if (!*r) return make_error(Errc::conflict, "a user of that name exists already");
  return access_.reload();
}

Result<void> Admin::set_password(const Actor& actor, std::string_view name,
                                 std::string_view password,
                                 std::optional<std::string_view> current_password) {
  bool self = actor.identity.kind == Identity::Kind::user && actor.identity.name == name;
  if (self) {
    // Changing one's own password takes the current one (a stolen session
    // must not become a permanent takeover); checked like a login, throttled.
    if (!current_password) {
      return deny(actor, "user.password", "", std::string(name),
                  "changing your own password needs the current one (current_password)");
    }
    if (auto ok = access_.login(name, *current_password, actor.address); !ok) {
      return deny(actor, "user.password", "", std::string(name), "the current password is wrong");
    }
  } else {
    if (auto ok = require_system_admin(actor, "user.password", name); !ok) return ok;
  }
  auto user = access_.store().get_user(name);
  if (!user) return user.error();
  if (!*user) return make_error(Errc::name_unknown, "no such user");
  auto hash = hash_password(password, access_.options().password_cost);
  if (!hash) return hash.error();
  auto u = **user;
  u.password_hash = *hash;
  return changed(access_.store().update_user(u, event(actor, "user.password", "", u.name, "")),
                 "no such user");
}

Result<void> Admin::require_another_admin(std::string_view name) {
  auto users = access_.store().list_users();
  if (!users) return users.error();
  for (const auto& u : *users) {
    if (u.system_admin && u.name != name) return {};
  }
  return make_error(Errc::denied, "refused: that would leave no system administrator");
}

Result<void> Admin::set_system_admin(const Actor& actor, std::string_view name, bool system_admin) {
  if (auto ok = require_system_admin(actor, "user.update", name); !ok) return ok;
  auto user = access_.store().get_user(name);
  if (!user) return user.error();
  if (!*user) return make_error(Errc::name_unknown, "no such user");
  if (!system_admin && (*user)->system_admin) {
    if (auto ok = require_another_admin(name); !ok) return ok;
  }
  auto u = **user;
  u.system_admin = system_admin;
  return changed(access_.store().update_user(
                     u, event(actor, "user.update", "", u.name,
                              system_admin ? "system_admin=true" : "system_admin=false")),
                 "no such user");
}

Result<void> Admin::delete_user(const Actor& actor, std::string_view name) {
  if (auto ok = require_system_admin(actor, "user.delete", name); !ok) return ok;
  if (actor.identity.name == name) {
    return make_error(Errc::denied, "you cannot delete your own account");
  }
  auto target = access_.store().get_user(name);
  if (!target) return target.error();
  if (*target && (*target)->system_admin) {
    if (auto ok = require_another_admin(name); !ok) return ok;
  }
  return changed(access_.store().delete_user(name, event(actor, "user.delete", "", std::string(name), "")),
                 "no such user");
}

Result<std::vector<metadata::RobotRecord>> Admin::list_robots(const Actor& actor) {
  if (auto ok = require_system_admin(actor, "robot.list", ""); !ok) return ok.error();
  auto robots = access_.store().list_robots();
  if (!robots) return robots.error();
  for (auto& r : *robots) r.secret_hash.clear();
  return robots;
}

Result<CreatedRobot> Admin::create_robot(const Actor& actor, const NewRobot& robot) {
  if (auto ok = require_system_admin(actor, "robot.create", robot.name); !ok) return ok.error();
  if (auto ok = check_account_name(robot.name); !ok) return ok.error();
  if (robot.permissions.empty()) return make_error(Errc::denied, "a robot needs at least one permission");
  for (const auto& p : robot.permissions) {
    if (auto ok = validate_robot_permission(p); !ok) return ok.error();
  }
  if (robot.expires_at < 0 ||
      (robot.expires_at != 0 && robot.expires_at <= access_.clock().unix_seconds())) {
    return make_error(Errc::denied, "expiry must be in the future");
  }
  auto secret = generate_robot_secret();
  auto perms = encode_robot_permissions(robot.permissions);
  metadata::RobotRecord rec{robot.name, secret.stored_hash, perms, robot.expires_at,
                            actor.identity.name, access_.clock().unix_seconds()};
  auto r = access_.store().create_robot(
      rec, event(actor, "robot.create", "", std::string(kRobotPrefix) + robot.name, perms));
  if (!r) return r.error();
  if (!*r) return make_error(Errc::conflict, "a robot of that name exists already");
  return CreatedRobot{std::string(kRobotPrefix) + robot.name, std::move(secret.plaintext)};
}

Result<void> Admin::delete_robot(const Actor& actor, std::string_view name) {
  if (name.starts_with(kRobotPrefix)) name.remove_prefix(kRobotPrefix.size());
  if (auto ok = require_system_admin(actor, "robot.delete", name); !ok) return ok;
  return changed(access_.store().delete_robot(
                     name, event(actor, "robot.delete", "", std::string(kRobotPrefix) + std::string(name), "")),
                 "no such robot");
}

Result<std::vector<metadata::NamespaceRecord>> Admin::list_namespaces(const Actor& actor) {
  if (actor.identity.kind == Identity::Kind::anonymous) {
    return deny(actor, "namespace.list", "", "", "authentication required");
  }
  auto all = access_.store().list_namespaces();
  if (!all || actor.identity.system_admin) return all;
  // Others see the namespaces they are members of.
  auto snap = access_.snapshot();
  if (!snap) return snap.error();
  std::vector<metadata::NamespaceRecord> mine;
  for (auto& n : *all) {
    if ((*snap)->policy.role_of(actor.identity.name, n.name)) mine.push_back(std::move(n));
  }
  return mine;
}

Result<void> Admin::put_namespace(const Actor& actor, std::string_view name, bool anonymous_pull) {
  if (auto ok = require_system_admin(actor, "namespace.put", name); !ok) return ok;
  if (auto ok = check_namespace_name(name); !ok) return ok;
  metadata::NamespaceRecord ns{std::string(name), anonymous_pull, access_.clock().unix_seconds()};
  auto r = access_.store().put_namespace(
      ns, event(actor, "namespace.put", std::string(name), "",
                anonymous_pull ? "anonymous_pull=true" : "anonymous_pull=false"));
  if (!r) return r.error();
  return access_.reload();
}

Result<void> Admin::delete_namespace(const Actor& actor, std::string_view name) {
  if (auto ok = require_system_admin(actor, "namespace.delete", name); !ok) return ok;
  return changed(access_.store().delete_namespace(
                     name, event(actor, "namespace.delete", std::string(name), "", "")),
                 "no such namespace");
}

namespace {
bool may(const Identity& who, const AccessSnapshot& snap, std::string_view ns, NamespaceDuty duty) {
  return may_administer(who, snap.policy, ns, duty);
}
}  // namespace

Result<std::vector<metadata::RoleBindingRecord>> Admin::list_members(const Actor& actor,
                                                                     std::string_view ns) {
  if (auto ok = require_namespace(ns); !ok) return ok.error();
  auto snap = access_.snapshot();
  if (!snap) return snap.error();
  bool member = actor.identity.kind == Identity::Kind::user &&
                (*snap)->policy.role_of(actor.identity.name, ns).has_value();
  if (!actor.identity.system_admin && !member) {
    return deny(actor, "member.list", std::string(ns), "", "only members may list members");
  }
  auto all = access_.store().list_role_bindings();
  if (!all) return all.error();
  std::vector<metadata::RoleBindingRecord> out;
  for (auto& b : *all) {
    if (b.namespace_name == ns) out.push_back(std::move(b));
  }
  return out;
}

Result<void> Admin::set_member(const Actor& actor, std::string_view ns, std::string_view user,
                               std::string_view role) {
  if (auto ok = require_namespace(ns); !ok) return ok;
  auto snap = access_.snapshot();
  if (!snap) return snap.error();
  if (!may(actor.identity, **snap, ns, NamespaceDuty::manage_members)) {
    return deny(actor, "member.set", std::string(ns), std::string(user),
                "only the namespace's admins may change its members");
  }
  if (!parse_role(role)) {
    return make_error(Errc::denied, "unknown role (reader, developer, maintainer, admin)");
  }
  auto u = access_.store().get_user(user);
  if (!u) return u.error();
  if (!*u) return make_error(Errc::name_unknown, "no such user");
  auto r = access_.store().put_role_binding(
      {std::string(ns), std::string(user), std::string(role)},
      event(actor, "member.set", std::string(ns), std::string(user), "role=" + std::string(role)));
  if (!r) return r.error();
  return access_.reload();
}

Result<void> Admin::remove_member(const Actor& actor, std::string_view ns, std::string_view user) {
  if (auto ok = require_namespace(ns); !ok) return ok;
  auto snap = access_.snapshot();
  if (!snap) return snap.error();
  if (!may(actor.identity, **snap, ns, NamespaceDuty::manage_members)) {
    return deny(actor, "member.remove", std::string(ns), std::string(user),
                "only the namespace's admins may change its members");
  }
  return changed(access_.store().delete_role_binding(
                     ns, user, event(actor, "member.remove", std::string(ns), std::string(user), "")),
                 "that user is not a member");
}

Result<std::vector<metadata::TagRuleRecord>> Admin::list_tag_rules(const Actor& actor,
                                                                   std::string_view ns) {
  if (actor.identity.kind == Identity::Kind::anonymous) {
    return deny(actor, "tagrule.list", std::string(ns), "", "authentication required");
  }
  if (!ns.empty()) {
    if (auto ok = require_namespace(ns); !ok) return ok.error();
  }
  auto all = access_.store().list_tag_rules();
  if (!all) return all.error();
  auto snap = access_.snapshot();
  if (!snap) return snap.error();
  std::vector<metadata::TagRuleRecord> out;
  for (auto& r : *all) {
    if (!ns.empty() && r.namespace_name != ns) continue;
    // System administrators see every rule; others those of their namespaces.
    bool member = actor.identity.kind == Identity::Kind::user &&
                  (*snap)->policy.role_of(actor.identity.name, r.namespace_name).has_value();
    if (actor.identity.system_admin || member) out.push_back(std::move(r));
  }
  return out;
}

Result<void> Admin::create_tag_rule(const Actor& actor, std::string_view ns, std::string_view name,
                                    std::string_view pattern) {
  if (auto ok = require_namespace(ns); !ok) return ok;
  auto snap = access_.snapshot();
  if (!snap) return snap.error();
  if (!may(actor.identity, **snap, ns, NamespaceDuty::manage_tag_rules)) {
    return deny(actor, "tagrule.create", std::string(ns), std::string(name),
                "only the namespace's maintainers and admins may change its tag rules");
  }
  // Validate the rule exactly as the enforcement will read it.
  auto check = ImmutableTagRules::create({TagRule{std::string(name), std::string(ns), std::string(pattern)}});
  if (!check) return check.error();
  if (name.size() > 128) return make_error(Errc::denied, "rule name too long (max 128)");
  auto r = access_.store().create_tag_rule(
      {std::string(ns), std::string(name), std::string(pattern)},
      event(actor, "tagrule.create", std::string(ns), std::string(name), "pattern=" + std::string(pattern)));
  if (!r) return r.error();
  if (!*r) return make_error(Errc::conflict, "the namespace has a rule of that name already");
  return access_.reload();
}

Result<void> Admin::delete_tag_rule(const Actor& actor, std::string_view ns, std::string_view name) {
  if (auto ok = require_namespace(ns); !ok) return ok;
  auto snap = access_.snapshot();
  if (!snap) return snap.error();
  if (!may(actor.identity, **snap, ns, NamespaceDuty::manage_tag_rules)) {
    return deny(actor, "tagrule.delete", std::string(ns), std::string(name),
                "only the namespace's maintainers and admins may change its tag rules");
  }
  return changed(access_.store().delete_tag_rule(
                     ns, name, event(actor, "tagrule.delete", std::string(ns), std::string(name), "")),
                 "no such rule");
}

namespace {
Result<void> check_patterns(const std::vector<std::string>& patterns) {
  if (patterns.empty()) return make_error(Errc::invalid_request, "at least one repository pattern is required");
  for (const auto& p : patterns) {
    RobotPermission probe{p, ActionSet{Action::pull}};
    if (auto ok = validate_robot_permission(probe); !ok) return ok.error();
  }
  return {};
}
}  // namespace

Result<int64_t> Admin::put_policy(const Actor& actor, const std::vector<policy::PolicyFile>& files,
                                  std::string_view comment) {
  if (auto ok = require_system_admin(actor, "policy.put", ""); !ok) return ok.error();
  for (const auto& f : files) {
    if (!policy::valid_file_name(f.name)) {
      return make_error(Errc::invalid_request,
                        fmt::format("{}: policy file names are [A-Za-z0-9._-] ending in .yaml or "
                                    ".yml",
                                    f.name));
    }
  }
  auto loaded = policy::load_policy(files);
  if (!loaded.policy) {
    std::string all;
    for (const auto& e : loaded.errors) {
      if (!all.empty()) all += "\n";
      all += e;
    }
    return make_error(Errc::invalid_request, all);
  }
  if (comment.size() > 1024)
    return make_error(Errc::invalid_request, "comment longer than 1024 characters");
  metadata::PolicyVersionRecord rec;
  rec.files_json = policy::encode_files(files);
  rec.author = actor.identity.name;
  rec.comment = std::string(comment);
  rec.created_at = access_.clock().unix_seconds();
  std::string names;
  for (const auto& f : files) names += (names.empty() ? "" : ",") + f.name;
  auto v = access_.store().put_policy_version(
      rec, event(actor, "policy.put", "", "",
                 fmt::format("files={} rules={} comment={}", names, loaded.policy->rules.size(),
                             comment)));
  if (!v) return v.error();
  if (auto r = access_.reload(); !r) return r.error();
  return *v;
}

Result<std::vector<metadata::PolicyVersionRecord>> Admin::list_policy_versions(const Actor& actor,
                                                                               std::size_t limit) {
  if (auto ok = require_system_admin(actor, "policy.list", ""); !ok) return ok.error();
  return access_.store().list_policy_versions(limit);
}

Result<std::optional<metadata::PolicyVersionRecord>> Admin::get_policy_version(const Actor& actor,
                                                                               int64_t version) {
  if (auto ok = require_system_admin(actor, "policy.get", ""); !ok) return ok.error();
  return access_.store().get_policy_version(version);
}

Result<void> Admin::put_approved_base(const Actor& actor, std::string_view name,
                                      std::string_view repository, std::string_view tag) {
  if (auto ok = require_system_admin(actor, "base.put", name); !ok) return ok;
  if (!valid_account_name(name)) {
    return make_error(Errc::name_invalid, "invalid base name: 1-64 of A-Z a-z 0-9 . _ @ -");
  }
  if (!oci::valid_repository_name(repository)) {
    return make_error(Errc::name_invalid, fmt::format("invalid repository name: {}", repository));
  }
  if (!oci::valid_tag(tag))
    return make_error(Errc::tag_invalid, fmt::format("invalid tag: {}", tag));
  metadata::ApprovedBaseRecord rec{std::string(name), std::string(repository), std::string(tag),
                                   access_.clock().unix_seconds()};
  auto r = access_.store().put_approved_base(
      rec, event(actor, "base.put", rec.repository, rec.tag, "base=" + rec.name));
  if (!r) return r.error();
  return access_.reload();
}

Result<void> Admin::delete_approved_base(const Actor& actor, std::string_view name) {
  if (auto ok = require_system_admin(actor, "base.delete", name); !ok) return ok;
  return changed(access_.store().delete_approved_base(
                     name, event(actor, "base.delete", "", "", "base=" + std::string(name))),
                 "no such approved base");
}

Result<std::vector<metadata::ApprovedBaseRecord>> Admin::list_approved_bases(const Actor& actor) {
  if (actor.identity.kind == Identity::Kind::anonymous) {
    return deny(actor, "base.list", "", "", "authentication required");
  }
  return access_.store().list_approved_bases();
}

Result<std::vector<metadata::TrustedKeyRecord>> Admin::list_trusted_keys(const Actor& actor) {
  if (actor.identity.kind == Identity::Kind::anonymous) {
    return deny(actor, "key.list", "", "", "authentication required");
  }
  return access_.store().list_trusted_keys();
}

Result<metadata::TrustedKeyRecord> Admin::add_trusted_key(const Actor& actor, std::string_view id,
                                                          std::string_view owner,
                                                          std::string_view pem,
                                                          const std::vector<std::string>& repositories,
                                                          int64_t expires_at) {
  if (auto ok = require_system_admin(actor, "key.add", id); !ok) return ok.error();
  if (!valid_account_name(id)) {
    return make_error(Errc::name_invalid, "invalid key id: 1-64 of A-Z a-z 0-9 . _ @ -");
  }
  if (owner.size() > 256) return make_error(Errc::invalid_request, "owner too long (max 256)");
  auto key = trust::PublicKey::from_pem(pem);
  if (!key) return key.error();
  if (auto ok = check_patterns(repositories); !ok) return ok.error();
  if (expires_at < 0 || (expires_at != 0 && expires_at <= access_.clock().unix_seconds())) {
    return make_error(Errc::denied, "expiry must be in the future");
  }
  metadata::TrustedKeyRecord rec{std::string(id), std::string(owner), key->pem(),
                                 encode_string_list(repositories), expires_at,
                                 access_.clock().unix_seconds()};
  auto r = access_.store().create_trusted_key(
      rec, event(actor, "key.add", "", rec.id,
                 fmt::format("{} {} repositories={}", trust::algorithm_name(key->algorithm()),
                             key->fingerprint(), rec.repositories_json)));
  if (!r) return r.error();
  if (!*r) return make_error(Errc::conflict, "a key with that id exists already");
  if (auto ok = access_.reload(); !ok) return ok.error();
  return rec;
}

Result<void> Admin::delete_trusted_key(const Actor& actor, std::string_view id) {
  if (auto ok = require_system_admin(actor, "key.delete", id); !ok) return ok;
  auto policies = access_.store().list_trust_policies();
  if (!policies) return policies.error();
  for (const auto& p : *policies) {
    auto ids = decode_string_list(p.key_ids_json);
    if (ids && std::find(ids->begin(), ids->end(), id) != ids->end()) {
      return make_error(Errc::denied, "trust policy " + p.name + " names this key; change it first");
    }
  }
  return changed(access_.store().delete_trusted_key(id, event(actor, "key.delete", "", std::string(id), "")),
                 "no such key");
}

Result<std::vector<metadata::TrustPolicyRecord>> Admin::list_trust_policies(const Actor& actor) {
  if (actor.identity.kind == Identity::Kind::anonymous) {
    return deny(actor, "trustpolicy.list", "", "", "authentication required");
  }
  return access_.store().list_trust_policies();
}

Result<void> Admin::put_trust_policy(const Actor& actor, std::string_view name,
                                     const std::vector<std::string>& repositories,
                                     const std::vector<std::string>& key_ids, int threshold,
                                     std::string_view mode) {
  if (auto ok = require_system_admin(actor, "trustpolicy.put", name); !ok) return ok;
  if (!valid_account_name(name)) {
    return make_error(Errc::name_invalid, "invalid policy name: 1-64 of A-Z a-z 0-9 . _ @ -");
  }
  if (auto ok = check_patterns(repositories); !ok) return ok;
  if (!trust::parse_mode(mode)) return make_error(Errc::invalid_request, "mode must be enforce, warn or off");
  if (threshold < 1 || threshold > 64) return make_error(Errc::invalid_request, "threshold must be 1-64");
  metadata::TrustPolicyRecord rec{std::string(name), encode_string_list(repositories),
                                  encode_string_list(key_ids), threshold, std::string(mode)};
  // The whole configuration must still be valid with this policy in it.
  auto keys = access_.store().list_trusted_keys();
  if (!keys) return keys.error();
  auto policies = access_.store().list_trust_policies();
  if (!policies) return policies.error();
  bool replaced = false;
  for (auto& p : *policies) {
    if (p.name == name) {
      p = rec;
      replaced = true;
    }
  }
  if (!replaced) policies->push_back(rec);
  if (auto ok = load_trust_config(*keys, *policies, /*strict=*/true); !ok) {
    return make_error(Errc::denied, ok.error().message);
  }
  auto r = access_.store().put_trust_policy(
      rec, event(actor, "trustpolicy.put", "", rec.name,
                 fmt::format("repositories={} keys={} threshold={} mode={}", rec.repositories_json,
                             rec.key_ids_json, threshold, mode)));
  if (!r) return r.error();
  return access_.reload();
}

Result<void> Admin::delete_trust_policy(const Actor& actor, std::string_view name) {
  if (auto ok = require_system_admin(actor, "trustpolicy.delete", name); !ok) return ok;
  return changed(access_.store().delete_trust_policy(
                     name, event(actor, "trustpolicy.delete", "", std::string(name), "")),
                 "no such trust policy");
}

Result<std::vector<audit::ChainedEvent>> Admin::list_audit(const Actor& actor,
                                                           const metadata::AuditFilter& filter) {
  if (auto ok = require_system_admin(actor, "audit.list", ""); !ok) return ok.error();
  return access_.store().list_audit(filter);
}

Result<audit::ChainReport> Admin::verify_audit(const Actor& actor) {
  if (auto ok = require_system_admin(actor, "audit.verify", ""); !ok) return ok.error();
  // The head recorded with the newest append is the checkpoint: a removed
  // tail of the log shows up as "truncated".
  auto recorded = access_.store().audit_head();
  if (!recorded) return recorded.error();
  std::optional<audit::ChainHead> checkpoint;
  if (recorded->seq > 0) checkpoint = *recorded;
  // Page by page, each page verified from the head of the one before; the
  // checkpoint is checked on the page that should hold it.
  audit::ChainHead head;
  std::size_t offset = 0;
  constexpr std::size_t kPage = 10000;
  for (;;) {
    auto page = access_.store().audit_rows(head.seq, kPage);
    if (!page) return page.error();
    bool last = page->size() < kPage;
    if (page->empty()) {
      if (checkpoint && checkpoint->seq > head.seq) {
        return audit::verify_chain({}, head, checkpoint);
      }
      break;
    }
    std::optional<audit::ChainHead> here;
    if (checkpoint && (last || checkpoint->seq <= page->back().seq)) here = checkpoint;
    auto report = audit::verify_chain(*page, head, here);
    if (!report.ok()) {
      report.index += offset;
      return report;
    }
    if (here) checkpoint.reset();
    head = audit::head_of(page->back());
    offset += page->size();
    if (last) break;
  }
  return audit::ChainReport{};
}

}  // namespace portcullis::auth
