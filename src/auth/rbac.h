// Authorisation: who may do what to which repository. Pure functions over an
// immutable policy snapshot; no I/O, no clock (callers pass `now`).
//
// Namespaces. A namespace is a repository-name prefix made of whole path
// components ("team-a", "team-a/infra"). A repository belongs to the longest
// namespace that equals it or is a prefix of it followed by '/':
// "team-a/infra/app" belongs to "team-a/infra" if that exists, else to
// "team-a". Only that namespace's bindings and settings apply — there is no
// inheritance from shorter namespaces. A repository in no namespace is
// reachable only by system administrators and by robots whose patterns match.
//
// Roles, per namespace:  reader     pull
//                        developer  pull, push
//                        maintainer pull, push, delete; manages tag rules
//                        admin      pull, push, delete; manages tag rules and members
// System administrators may do everything everywhere. A namespace may allow
// anonymous pull; anyone (anonymous, any user, any unexpired robot) may then
// pull its repositories.
//
// Robots have no roles: only their explicit permissions (repository glob
// pattern × actions, see glob.h) and an optional expiry, after which they get
// nothing at all. Robots never administer anything.
//
// The catalog (registry:catalog:*) is open to every authenticated identity
// and to anonymous clients when some namespace allows anonymous pull; the
// HTTP layer then lists only repositories for which repository_actions()
// includes pull.
//
// Thread-safety: AccessPolicy is immutable after create(); share one snapshot
// (e.g. behind a shared_ptr swapped on change) between any number of threads.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/scope.h"
#include "base/error.h"

namespace portcullis::auth {

enum class Role { reader, developer, maintainer, admin };
std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);
// The registry actions a role grants (pull / push / delete).
ActionSet role_actions(Role role);

// Namespace administration that is not a registry action.
enum class NamespaceDuty {
  manage_tag_rules,  // maintainer and admin
  manage_members,    // admin
};

struct NamespaceConfig {
  std::string name;  // repository-name grammar, e.g. "team-a" or "team-a/infra"
  bool anonymous_pull = false;
};

struct RoleBinding {
  std::string namespace_name;
  std::string user;
  Role role = Role::reader;
};

class AccessPolicy {
 public:
  // An empty policy: no namespaces, so only system administrators and robots
  // have access.
  AccessPolicy() = default;

  // Errors: Errc::name_invalid for a namespace name outside the repository
  // grammar, a duplicate namespace or an empty user; Errc::name_unknown for a
  // binding to a namespace that is not declared. A user bound twice in one
  // namespace gets the higher role.
  static Result<AccessPolicy> create(std::vector<NamespaceConfig> namespaces,
                                     std::vector<RoleBinding> bindings);

  // The namespace `repository` belongs to (longest match), or nullptr.
  const NamespaceConfig* namespace_of(std::string_view repository) const;
  const NamespaceConfig* find_namespace(std::string_view name) const;
  std::optional<Role> role_of(std::string_view user, std::string_view namespace_name) const;
  bool any_anonymous_pull() const { return any_anonymous_pull_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class V>
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  Map<NamespaceConfig> namespaces_;
  Map<Map<Role>> roles_;  // namespace -> user -> role
  bool any_anonymous_pull_ = false;
};

// One robot permission: repositories matching `repository_pattern` (glob.h:
// "team-a/app", "team-a/*", "*") × `actions` (pull, push, delete).
struct RobotPermission {
  std::string repository_pattern;
  ActionSet actions;
};
// Errc::name_invalid for an empty or over-long pattern, or one with characters
// outside the repository grammar plus '*'; Errc::denied for no actions or for
// "*" as an action.
Result<void> validate_robot_permission(const RobotPermission& permission);

struct Identity {
  enum class Kind { anonymous, user, robot };
  Kind kind = Kind::anonymous;
  std::string name;                          // "" for anonymous
  bool system_admin = false;                 // users only
  std::vector<RobotPermission> permissions;  // robots only
  // Robots only; nullopt = never expires.
  std::optional<std::chrono::system_clock::time_point> expires_at;

  static Identity anonymous() { return Identity{}; }
  static Identity user(std::string name, bool system_admin = false) {
    return Identity{Kind::user, std::move(name), system_admin, {}, std::nullopt};
  }
  static Identity robot(std::string name, std::vector<RobotPermission> permissions,
                        std::optional<std::chrono::system_clock::time_point> expires_at) {
    return Identity{Kind::robot, std::move(name), false, std::move(permissions), expires_at};
  }
  bool expired(std::chrono::system_clock::time_point now) const {
    return expires_at.has_value() && now >= *expires_at;
  }
};

// The registry actions `identity` may perform on `repository`.
ActionSet repository_actions(const Identity& identity, const AccessPolicy& policy,
                             std::string_view repository,
                             std::chrono::system_clock::time_point now);

bool can_list_catalog(const Identity& identity, const AccessPolicy& policy,
                      std::chrono::system_clock::time_point now);

// The granted subset of `requested` (the token service's intersection):
// repository scopes get requested ∩ repository_actions(); registry:catalog
// gets "*" when can_list_catalog(); anything else, and scopes left empty, are
// dropped. Never an error: not being allowed is an empty grant.
std::vector<Scope> authorize(const Identity& identity, const AccessPolicy& policy,
                             std::span<const Scope> requested,
                             std::chrono::system_clock::time_point now);

// Admin API checks for a namespace's settings, tag rules and members.
bool may_administer(const Identity& identity, const AccessPolicy& policy,
                    std::string_view namespace_name, NamespaceDuty duty);

}  // namespace portcullis::auth
