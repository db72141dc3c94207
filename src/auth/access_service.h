// The access-control service over the metadata store: who a login is, what
// the current namespaces/bindings/tag rules are, and the first administrator.
//
// Snapshot: the AccessPolicy and ImmutableTagRules built from the store. It is
// rebuilt when the store's access generation changes; the generation is read
// at most once per `refresh_interval` (so a change made on another replica or
// by the CLI is seen within that interval; changes made through this service
// are seen at once). Readers get a shared_ptr to an immutable snapshot. Once
// start_refresher() runs (the server), only its thread reads the generation:
// snapshot() never blocks on the database.
//
// Logins: users are looked up by name and their argon2id hash verified;
// robots log in as "robot$<name>" with their secret. Every failure is the same
// Errc::unauthorized "invalid username or password" (no user enumeration) and
// counts towards LoginThrottle; a throttled login is Errc::too_many_requests
// without touching the password. Expired robots cannot log in.
//
// Thread-safe. The store and clock must outlive the service.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "audit/audit_chain.h"
#include "auth/immutable_tags.h"
#include "auth/login_throttle.h"
#include "auth/passwords.h"
#include "auth/rbac.h"
#include "base/clock.h"
#include "base/error.h"
#include "metadata/metadata.h"
#include "policy/lineage.h"
#include "policy/policy.h"
#include "trust/policy.h"

namespace portcullis::auth {

inline constexpr std::string_view kRobotPrefix = "robot$";

struct AccessOptions {
  std::chrono::milliseconds refresh_interval{2000};
  ThrottleOptions throttle;
  PasswordCost password_cost;
};

struct AccessSnapshot {
  int64_t generation = 0;
  AccessPolicy policy;
  ImmutableTagRules tag_rules;
  trust::TrustConfig trust;  // signature keys and policies
  // The registry policy (policy/): the newest stored version, never null.
  // A stored version that no longer loads keeps the previous one (logged).
  std::shared_ptr<const policy::Policy> registry_policy = std::make_shared<policy::Policy>();
  int64_t policy_version = 0;  // 0: no policy stored
  // Approved base images with their digest history and current digest.
  std::vector<policy::ApprovedBase> bases;
};

// Trusted keys and trust policies as stored, decoded (JSON lists of strings).
// `strict` (validating a change): a policy naming an unknown key, or asking
// for more signatures than the keys it names, is an error. Otherwise (loading
// what is stored, where a concurrent change may have left such a policy)
// unknown keys are dropped with an error in the log, so the policy can only
// get harder to satisfy, and the rest of the configuration still loads.
Result<trust::TrustConfig> load_trust_config(const std::vector<metadata::TrustedKeyRecord>& keys,
                                             const std::vector<metadata::TrustPolicyRecord>& rules,
                                             bool strict = false);
// ["a","b"] -> {a, b}; Errc::invalid_request for anything else (at most 256 entries).
Result<std::vector<std::string>> decode_string_list(std::string_view json);
std::string encode_string_list(const std::vector<std::string>& items);

// Robot permissions as stored (metadata::RobotRecord::permissions_json):
// [{"repository":"team-a/*","actions":["pull","push"]}].
std::string encode_robot_permissions(const std::vector<RobotPermission>& permissions);
// Errc::denied / name_invalid for anything that is not a valid list.
Result<std::vector<RobotPermission>> decode_robot_permissions(std::string_view json);

class AccessService {
 public:
  AccessService(metadata::MetadataStore& store, const Clock& clock, AccessOptions options = {});
  ~AccessService();
  AccessService(const AccessService&) = delete;
  AccessService& operator=(const AccessService&) = delete;

  // The current snapshot; Errc::internal only if the first load fails (later
  // failures keep serving the previous snapshot and are logged).
  Result<std::shared_ptr<const AccessSnapshot>> snapshot();
  // Reloads now (after a change made through this process).
  Result<void> reload();
  // Whether the current snapshot has any trust policy: one relaxed atomic
  // load, for hot paths that only need the snapshot when it does.
  bool trust_active() const { return trust_active_.load(std::memory_order_relaxed); }
  // Whether the registry policy has any rule (same contract as trust_active).
  bool policy_active() const { return policy_active_.load(std::memory_order_relaxed); }
  // Re-reads the generation every refresh interval on a background thread;
  // from then on snapshot() only returns what it loaded. Stopped by the
  // destructor.
  void start_refresher();

  // Checks a username/password (or robot$name/secret) from `address`.
  Result<Identity> login(std::string_view name, std::string_view secret, std::string_view address);
  // When logins for `name` or from `address` are being refused, for how long
  // (so that cached credentials are refused as well while an account is locked).
  std::optional<std::chrono::seconds> throttled(std::string_view name, std::string_view address) {
    return throttle_.blocked(name, address);
  }
  // The identity a token subject names now: nullopt when the user or robot no
  // longer exists or the robot expired ("" is anonymous).
  Result<std::optional<Identity>> identity_of(std::string_view subject);

  // A short fingerprint of the account's current credential (password or
  // robot secret hash): changes whenever the credential does. nullopt when
  // the account does not exist.
  Result<std::optional<std::string>> credential_epoch(std::string_view subject);

  // First start: when there are no users at all, creates "admin" (system
  // administrator) with `password`, or with a generated one when `password`
  // is empty. Returns the generated password (shown once), "" when the given
  // one was used, nullopt when users existed already.
  Result<std::optional<std::string>> bootstrap_admin(std::string_view password);

  metadata::MetadataStore& store() { return store_; }
  const Clock& clock() const { return clock_; }
  const AccessOptions& options() const { return options_; }

 private:
  Result<std::shared_ptr<const AccessSnapshot>> load();
  Result<void> load_registry_policy(AccessSnapshot& snap);
  // Reads the generation when the interval has passed and reloads on change.
  Result<std::shared_ptr<const AccessSnapshot>> refresh_if_stale();

  metadata::MetadataStore& store_;
  const Clock& clock_;
  AccessOptions options_;
  LoginThrottle throttle_;
  std::mutex mu_;
  std::shared_ptr<const AccessSnapshot> current_;              // guarded by mu_
  std::chrono::steady_clock::time_point checked_{};           // guarded by mu_
  std::atomic<bool> trust_active_{false};
  std::atomic<bool> policy_active_{false};
  void publish_flags();  // with mu_ held: trust_active_, policy_active_ from current_
  std::atomic<bool> refreshing_{false};  // the refresher thread keeps current_ fresh
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread refresher_;
};

}  // namespace portcullis::auth
