#include "auth/rbac.h"

#include <fmt/format.h>

#include "base/glob.h"
#include "oci/names.h"

namespace portcullis::auth {

namespace {

constexpr ActionSet kRepositoryActions{Action::pull, Action::push, Action::delete_};

bool pattern_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
         c == '/' || c == '*';
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::reader: return "reader";
    case Role::developer: return "developer";
    case Role::maintainer: return "maintainer";
    case Role::admin: return "admin";
  }
  return "";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role r : {Role::reader, Role::developer, Role::maintainer, Role::admin}) {
    if (role_name(r) == name) return r;
  }
  return std::nullopt;
}

ActionSet role_actions(Role role) {
  switch (role) {
    case Role::reader: return {Action::pull};
    case Role::developer: return {Action::pull, Action::push};
    case Role::maintainer:
    case Role::admin: return kRepositoryActions;
  }
  return {};
}

Result<AccessPolicy> AccessPolicy::create(std::vector<NamespaceConfig> namespaces,
                                          std::vector<RoleBinding> bindings) {
  AccessPolicy p;
  for (auto& ns : namespaces) {
    if (!oci::valid_repository_name(ns.name)) {
      return make_error(Errc::name_invalid, fmt::format("invalid namespace name '{}'", ns.name));
    }
    if (p.namespaces_.contains(ns.name)) {
      return make_error(Errc::name_invalid, fmt::format("duplicate namespace '{}'", ns.name));
    }
    p.any_anonymous_pull_ = p.any_anonymous_pull_ || ns.anonymous_pull;
    std::string key = ns.name;
    p.namespaces_.emplace(std::move(key), std::move(ns));
  }
  for (auto& b : bindings) {
    if (b.user.empty()) return make_error(Errc::name_invalid, "role binding without a user");
    if (!p.namespaces_.contains(b.namespace_name)) {
      return make_error(Errc::name_unknown,
                        fmt::format("role binding to unknown namespace '{}'", b.namespace_name));
    }
    auto [it, inserted] = p.roles_[b.namespace_name].emplace(b.user, b.role);
    if (!inserted && b.role > it->second) it->second = b.role;
  }
  return p;
}

const NamespaceConfig* AccessPolicy::namespace_of(std::string_view repository) const {
  // Try the whole name, then drop one trailing component at a time.
  std::string_view prefix = repository;
  while (!prefix.empty()) {
    if (auto it = namespaces_.find(prefix); it != namespaces_.end()) return &it->second;
    auto slash = prefix.rfind('/');
    if (slash == std::string_view::npos) break;
    prefix = prefix.substr(0, slash);
  }
  return nullptr;
}

const NamespaceConfig* AccessPolicy::find_namespace(std::string_view name) const {
  auto it = namespaces_.find(name);
  return it == namespaces_.end() ? nullptr : &it->second;
}

std::optional<Role> AccessPolicy::role_of(std::string_view user,
                                          std::string_view namespace_name) const {
  auto ns = roles_.find(namespace_name);
  if (ns == roles_.end()) return std::nullopt;
  auto it = ns->second.find(user);
  if (it == ns->second.end()) return std::nullopt;
  return it->second;
}

Result<void> validate_robot_permission(const RobotPermission& permission) {
  const std::string& p = permission.repository_pattern;
  if (p.empty() || p.size() > oci::kMaxRepositoryNameLength) {
    return make_error(Errc::name_invalid, "robot permission needs a repository pattern");
  }
  for (char c : p) {
    if (!pattern_char(c)) {
      return make_error(Errc::name_invalid,
                        fmt::format("invalid character in repository pattern '{}'", p));
    }
  }
  if (permission.actions.empty() || permission.actions.contains(Action::any)) {
    return make_error(Errc::denied, "robot permission needs actions among pull, push, delete");
  }
  return {};
}

ActionSet repository_actions(const Identity& identity, const AccessPolicy& policy,
                             std::string_view repository,
                             std::chrono::system_clock::time_point now) {
  if (identity.expired(now)) return {};
  if (identity.kind == Identity::Kind::user && identity.system_admin) return kRepositoryActions;

  ActionSet allowed;
  const NamespaceConfig* ns = policy.namespace_of(repository);
  if (ns != nullptr && ns->anonymous_pull) allowed.add(Action::pull);
  switch (identity.kind) {
    case Identity::Kind::anonymous: break;
    case Identity::Kind::user:
      if (ns != nullptr) {
        if (auto role = policy.role_of(identity.name, ns->name)) {
          allowed = allowed | role_actions(*role);
        }
      }
      break;
    case Identity::Kind::robot:
      for (const RobotPermission& p : identity.permissions) {
        if (glob_match(p.repository_pattern, repository)) allowed = allowed | p.actions;
      }
      break;
  }
  return allowed & kRepositoryActions;
}

bool can_list_catalog(const Identity& identity, const AccessPolicy& policy,
                      std::chrono::system_clock::time_point now) {
  if (identity.expired(now)) return false;
  if (identity.kind == Identity::Kind::anonymous) return policy.any_anonymous_pull();
  return true;
}

std::vector<Scope> authorize(const Identity& identity, const AccessPolicy& policy,
                             std::span<const Scope> requested,
                             std::chrono::system_clock::time_point now) {
  std::vector<Scope> granted;
  for (const Scope& r : requested) {
    ActionSet allowed;
    if (r.type == kRepositoryType) {
      allowed = repository_actions(identity, policy, r.name, now);
    } else if (r.type == kRegistryType && r.name == kCatalogName) {
      if (can_list_catalog(identity, policy, now)) allowed = ActionSet{Action::any};
    }
    Scope g = r;
    g.actions = r.actions & allowed;
    if (!g.actions.empty()) granted.push_back(std::move(g));
  }
  return normalize_scopes(granted);
}

bool may_administer(const Identity& identity, const AccessPolicy& policy,
                    std::string_view namespace_name, NamespaceDuty duty) {
  if (identity.kind != Identity::Kind::user) return false;
  if (identity.system_admin) return true;
  if (policy.find_namespace(namespace_name) == nullptr) return false;
  auto role = policy.role_of(identity.name, namespace_name);
  if (!role) return false;
  switch (duty) {
    case NamespaceDuty::manage_tag_rules: return *role >= Role::maintainer;
    case NamespaceDuty::manage_members: return *role == Role::admin;
  }
  return false;
}

}  // namespace portcullis::auth
