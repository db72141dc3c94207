// Administrative operations: users, robot accounts, namespaces, role
// bindings, immutable tag rules and the audit log. One implementation behind
// both the admin HTTP API (/api/v1/…) and the `portcullis` CLI.
//
// Every operation names its actor (who, from where). Authorisation:
//   users, robots, namespaces, audit   system administrators
//   a namespace's members              its admins (and system administrators)
//   a namespace's tag rules            its maintainers and admins (and system administrators)
//   one's own password                 any user
// A refused operation is Errc::denied and is itself recorded in the audit log
// (result "denied"); every change is recorded in the same transaction that
// makes it (result "success"). Inputs are validated here; errors are
// client-safe: Errc::name_invalid / tag_invalid / denied for bad input,
// Errc::conflict for something that exists already, Errc::name_unknown for
// something that does not exist.
//
// Thread-safe; the access service must outlive it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_chain.h"
#include "auth/access_service.h"
#include "metadata/metadata.h"
#include "policy/loader.h"

namespace portcullis::auth {

struct Actor {
  Identity identity;
  std::string address;  // client address; "local" for the CLI
  // The CLI: a local operator with access to the database and the config is
  // a system administrator named "system" (recorded as such in the audit log).
  static Actor local_operator() { return Actor{Identity::user("system", true), "local"}; }
};

// Usernames and robot names: 1-64 of [A-Za-z0-9._@-], starting with a letter or digit.
bool valid_account_name(std::string_view name);

struct NewRobot {
  std::string name;  // without the "robot$" prefix
  std::vector<RobotPermission> permissions;
  int64_t expires_at = 0;  // unix seconds; 0 = never
};

struct CreatedRobot {
  std::string login;   // "robot$<name>"
  std::string secret;  // shown once
};

class Admin {
 public:
  explicit Admin(AccessService& access);

  Result<std::vector<metadata::UserRecord>> list_users(const Actor& actor);  // hashes cleared
  Result<void> create_user(const Actor& actor, std::string_view name, std::string_view password,
                           bool system_admin);
  // Any user may change their own password, given the current one;
  // system administrators anyone else's (without it).
  Result<void> set_password(const Actor& actor, std::string_view name, std::string_view password,
                            std::optional<std::string_view> current_password = std::nullopt);
  Result<void> set_system_admin(const Actor& actor, std::string_view name, bool system_admin);
  Result<void> delete_user(const Actor& actor, std::string_view name);

  Result<std::vector<metadata::RobotRecord>> list_robots(const Actor& actor);  // hashes cleared
  Result<CreatedRobot> create_robot(const Actor& actor, const NewRobot& robot);
  Result<void> delete_robot(const Actor& actor, std::string_view name);

  Result<std::vector<metadata::NamespaceRecord>> list_namespaces(const Actor& actor);
  // Creates or updates.
  Result<void> put_namespace(const Actor& actor, std::string_view name, bool anonymous_pull);
  Result<void> delete_namespace(const Actor& actor, std::string_view name);

  Result<std::vector<metadata::RoleBindingRecord>> list_members(const Actor& actor,
                                                                std::string_view namespace_name);
  Result<void> set_member(const Actor& actor, std::string_view namespace_name,
                          std::string_view user, std::string_view role);
  Result<void> remove_member(const Actor& actor, std::string_view namespace_name,
                             std::string_view user);

  Result<std::vector<metadata::TagRuleRecord>> list_tag_rules(const Actor& actor,
                                                              std::string_view namespace_name);
  Result<void> create_tag_rule(const Actor& actor, std::string_view namespace_name,
                               std::string_view name, std::string_view pattern);
  Result<void> delete_tag_rule(const Actor& actor, std::string_view namespace_name,
                               std::string_view name);

  // Signature trust (trust/policy.h): public keys and per-repository policies.
  // Any authenticated identity may list them; only system administrators change them.
  Result<std::vector<metadata::TrustedKeyRecord>> list_trusted_keys(const Actor& actor);
  // Errc::denied for a key that is not an ECDSA P-256/P-384 or Ed25519 public
  // key PEM, Errc::conflict for an id in use. Returns the stored record.
  Result<metadata::TrustedKeyRecord> add_trusted_key(const Actor& actor, std::string_view id,
                                                     std::string_view owner,
                                                     std::string_view public_key_pem,
                                                     const std::vector<std::string>& repositories,
                                                     int64_t expires_at);
  // Refused while a trust policy names the key.
  Result<void> delete_trusted_key(const Actor& actor, std::string_view id);
  Result<std::vector<metadata::TrustPolicyRecord>> list_trust_policies(const Actor& actor);
  // Creates or replaces; validated against the current keys and policies.
  Result<void> put_trust_policy(const Actor& actor, std::string_view name,
                                const std::vector<std::string>& repositories,
                                const std::vector<std::string>& key_ids, int threshold,
                                std::string_view mode);
  Result<void> delete_trust_policy(const Actor& actor, std::string_view name);

  // The registry policy (policy/, docs/policy.md); system administrators.
  // Validates the files as a whole (Errc::invalid_request whose message lists
  // every problem as "file:line: field: message", one per line) and stores
  // them as the next version; returns it. A rejected upload changes nothing.
  Result<int64_t> put_policy(const Actor& actor, const std::vector<policy::PolicyFile>& files,
                             std::string_view comment);
  Result<std::vector<metadata::PolicyVersionRecord>> list_policy_versions(const Actor& actor,
                                                                          std::size_t limit);
  Result<std::optional<metadata::PolicyVersionRecord>> get_policy_version(const Actor& actor,
                                                                          int64_t version);
  // Approves (or re-points) a base image: repository:tag in this registry.
  Result<void> put_approved_base(const Actor& actor, std::string_view name,
                                 std::string_view repository, std::string_view tag);
  Result<void> delete_approved_base(const Actor& actor, std::string_view name);
  Result<std::vector<metadata::ApprovedBaseRecord>> list_approved_bases(const Actor& actor);

  Result<std::vector<audit::ChainedEvent>> list_audit(const Actor& actor,
                                                      const metadata::AuditFilter& filter);
  // Reads the whole chain in pages and verifies it (audit_chain.h).
  Result<audit::ChainReport> verify_audit(const Actor& actor);

 private:
  audit::AuditEvent event(const Actor& actor, std::string action, std::string repository,
                          std::string reference, std::string detail) const;
  // Records a refusal and returns Errc::denied.
  Error deny(const Actor& actor, std::string action, std::string repository,
             std::string reference, std::string message);
  Result<void> require_system_admin(const Actor& actor, std::string_view action,
                                    std::string_view target);
  Result<void> require_namespace(std::string_view name);
  Result<void> changed(const Result<bool>& r, std::string not_found_message);
  // Errc::denied unless some system administrator other than `name` exists
  // (the last one can be neither demoted nor deleted).
  Result<void> require_another_admin(std::string_view name);

  AccessService& access_;
};

}  // namespace portcullis::auth
