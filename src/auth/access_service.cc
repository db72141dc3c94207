#include "auth/access_service.h"

#include "policy/loader.h"
#include "policy/stored.h"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "crypto/hash.h"
#include <spdlog/spdlog.h>

namespace portcullis::auth {

namespace json = boost::json;

std::string encode_robot_permissions(const std::vector<RobotPermission>& permissions) {
  json::array out;
  for (const auto& p : permissions) {
    json::array actions;
    for (auto n : p.actions.names()) actions.emplace_back(n);
    out.push_back(json::object{{"repository", p.repository_pattern}, {"actions", std::move(actions)}});
  }
  return json::serialize(out);
}

Result<std::vector<RobotPermission>> decode_robot_permissions(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return make_error(Errc::denied, "permissions must be a JSON array");
  if (v.as_array().size() > 256) return make_error(Errc::denied, "too many permissions (max 256)");
  std::vector<RobotPermission> out;
  for (const auto& e : v.as_array()) {
    const auto* o = e.if_object();
    const json::value* repo = o ? o->if_contains("repository") : nullptr;
    const json::value* acts = o ? o->if_contains("actions") : nullptr;
    if (!repo || !repo->is_string() || !acts || !acts->is_array()) {
      return make_error(Errc::denied,
                        "each permission needs \"repository\" (string) and \"actions\" (array)");
    }
    RobotPermission p;
    p.repository_pattern = std::string(repo->as_string());
    for (const auto& a : acts->as_array()) {
      auto parsed = a.is_string() ? parse_action(a.as_string()) : std::nullopt;
      if (!parsed) return make_error(Errc::denied, "unknown action (allowed: pull, push, delete)");
      p.actions.add(*parsed);
    }
    if (auto valid = validate_robot_permission(p); !valid) return valid.error();
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<std::string>> decode_string_list(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array() || v.as_array().size() > 256) {
    return make_error(Errc::invalid_request, "expected a JSON array of at most 256 strings");
  }
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) {
    if (!e.is_string()) return make_error(Errc::invalid_request, "expected a JSON array of strings");
    out.emplace_back(e.as_string());
  }
  return out;
}

std::string encode_string_list(const std::vector<std::string>& items) {
  json::array a;
  for (const auto& i : items) a.emplace_back(i);
  return json::serialize(a);
}

Result<trust::TrustConfig> load_trust_config(const std::vector<metadata::TrustedKeyRecord>& keys,
                                             const std::vector<metadata::TrustPolicyRecord>& rules,
                                             bool strict) {
  std::vector<trust::KeyEntry> entries;
  for (const auto& k : keys) {
    auto pub = trust::PublicKey::from_pem(k.public_key_pem);
    auto repos = decode_string_list(k.repositories_json);
    if (!pub || !repos) {
      spdlog::error("trust: ignoring stored key {}: {}", k.id,
                    !pub ? pub.error().message : repos.error().message);
      continue;
    }
    entries.push_back({k.id, k.owner, std::move(*pub), std::move(*repos), k.expires_at});
  }
  std::vector<trust::Rule> out;
  for (const auto& r : rules) {
    auto repos = decode_string_list(r.repositories_json);
    auto ids = decode_string_list(r.key_ids_json);
    auto mode = trust::parse_mode(r.mode);
    if (!repos || !ids || !mode) {
      return make_error(Errc::internal, "stored trust policy " + r.name + " is invalid");
    }
    std::vector<std::string> known;
    for (auto& id : *ids) {
      bool found = std::any_of(entries.begin(), entries.end(),
                               [&](const trust::KeyEntry& k) { return k.id == id; });
      if (found) {
        known.push_back(std::move(id));
      } else if (strict) {
        return make_error(Errc::denied, "trust policy " + r.name + " names unknown key " + id);
      } else {
        spdlog::error("trust: policy {} names unknown key {}; it cannot count", r.name, id);
      }
    }
    if (strict && !ids->empty() && static_cast<std::size_t>(r.threshold) > ids->size()) {
      return make_error(Errc::denied, fmt::format("trust policy {}: threshold {} exceeds its {} keys",
                                                  r.name, r.threshold, ids->size()));
    }
    if (!ids->empty() && known.empty()) known.push_back("");  // named keys, none left: unsatisfiable
    out.push_back({r.name, std::move(*repos), std::move(known), static_cast<int>(r.threshold), *mode});
  }
  return trust::TrustConfig::create(std::move(entries), std::move(out));
}

AccessService::AccessService(metadata::MetadataStore& store, const Clock& clock,
                             AccessOptions options)
    : store_(store), clock_(clock), options_(options), throttle_(clock, options.throttle) {}

AccessService::~AccessService() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

void AccessService::start_refresher() {
  if (refresher_.joinable()) return;
  (void)refresh_if_stale();  // a snapshot exists before readers stop loading it themselves
  refreshing_.store(true, std::memory_order_release);
  refresher_ = std::thread([this] {
    std::unique_lock lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, options_.refresh_interval, [this] { return stopping_; })) {
      lock.unlock();
      (void)refresh_if_stale();
      lock.lock();
    }
  });
}

Result<std::shared_ptr<const AccessSnapshot>> AccessService::load() {
  auto gen = store_.access_generation();
  if (!gen) return gen.error();
  auto namespaces = store_.list_namespaces();
  if (!namespaces) return namespaces.error();
  auto bindings = store_.list_role_bindings();
  if (!bindings) return bindings.error();
  auto rules = store_.list_tag_rules();
  if (!rules) return rules.error();
  std::vector<NamespaceConfig> ns;
  for (const auto& n : *namespaces) ns.push_back({n.name, n.anonymous_pull});
  std::vector<RoleBinding> rb;
  for (const auto& b : *bindings) {
    auto role = parse_role(b.role);
    if (!role) {
      spdlog::warn("auth: ignoring binding of {} in {} to unknown role {}", b.user,
                   b.namespace_name, b.role);
      continue;
    }
    rb.push_back({b.namespace_name, b.user, *role});
  }
  auto policy = AccessPolicy::create(std::move(ns), std::move(rb));
  if (!policy) return policy.error();
  std::vector<TagRule> tr;
  for (const auto& r : *rules) tr.push_back({r.name, r.namespace_name, r.pattern});
  auto tag_rules = ImmutableTagRules::create(std::move(tr));
  if (!tag_rules) return tag_rules.error();
  auto keys = store_.list_trusted_keys();
  if (!keys) return keys.error();
  auto trust_rules = store_.list_trust_policies();
  if (!trust_rules) return trust_rules.error();
  auto trust_config = load_trust_config(*keys, *trust_rules);
  if (!trust_config) return trust_config.error();
  auto snap = std::make_shared<AccessSnapshot>();
  snap->generation = *gen;
  snap->policy = std::move(*policy);
  snap->tag_rules = std::move(*tag_rules);
  snap->trust = std::move(*trust_config);
  if (auto loaded = load_registry_policy(*snap); !loaded) return loaded.error();
  return std::shared_ptr<const AccessSnapshot>(std::move(snap));
}

Result<std::shared_ptr<const AccessSnapshot>> AccessService::snapshot() {
  // With the background refresher running, readers never touch the database
  // (they may run on I/O threads): the refresher keeps the snapshot fresh.
  if (refreshing_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mu_);
    if (current_) return current_;
  }
  return refresh_if_stale();
}

Result<std::shared_ptr<const AccessSnapshot>> AccessService::refresh_if_stale() {
  auto now = std::chrono::steady_clock::now();
  std::shared_ptr<const AccessSnapshot> cur;
  {
    std::lock_guard lock(mu_);
    cur = current_;
    if (cur && now - checked_ < options_.refresh_interval) return cur;
    checked_ = now;
  }
  if (cur) {
    auto gen = store_.access_generation();
    if (!gen) {
      spdlog::warn("auth: cannot read the access generation; keeping the current policy");
      return cur;
    }
    if (*gen == cur->generation) return cur;
  }
  auto fresh = load();
  if (!fresh) {
    if (cur) {
      spdlog::error("auth: cannot reload the access policy ({}); keeping the previous one",
                    fresh.error().message);
      return cur;
    }
    return fresh.error();
  }
  std::lock_guard lock(mu_);
  if (!current_ || current_->generation <= (*fresh)->generation) current_ = *fresh;
  publish_flags();
  return current_;
}

void AccessService::publish_flags() {
  trust_active_.store(!current_->trust.empty(), std::memory_order_relaxed);
  policy_active_.store(!current_->registry_policy->rules.empty(), std::memory_order_relaxed);
}

Result<void> AccessService::load_registry_policy(AccessSnapshot& snap) {
  auto latest = store_.latest_policy_version();
  if (!latest) return latest.error();
  if (*latest) {
    std::shared_ptr<const AccessSnapshot> previous;
    {
      std::lock_guard lock(mu_);
      previous = current_;
    }
    auto files = policy::decode_files((*latest)->files_json);
    policy::LoadResult loaded;
    if (files) loaded = policy::load_policy(std::move(*files));
    if (files && loaded.policy) {
      snap.registry_policy = std::make_shared<const policy::Policy>(std::move(*loaded.policy));
      snap.policy_version = (*latest)->version;
    } else {
      // Validated before it was stored, so this is a newer binary's format or
      // a hand-edited row: keep what was serving.
      spdlog::error("policy: stored version {} does not load ({}); keeping version {}",
                    (*latest)->version,
                    files ? (loaded.errors.empty() ? "" : loaded.errors[0]) : files.error().message,
                    previous ? previous->policy_version : 0);
      if (previous) {
        snap.registry_policy = previous->registry_policy;
        snap.policy_version = previous->policy_version;
      } else {
        // At start-up there is nothing serving yet: never fail open with no
        // policy at all; the newest older version that loads serves instead.
        bool found = false;
        for (int64_t v = (*latest)->version - 1; v >= 1 && !found; --v) {
          auto older = store_.get_policy_version(v);
          if (!older) return older.error();
          if (!*older) continue;
          auto older_files = policy::decode_files((*older)->files_json);
          if (!older_files) continue;
          auto older_loaded = policy::load_policy(std::move(*older_files));
          if (!older_loaded.policy) continue;
          snap.registry_policy = std::make_shared<const policy::Policy>(std::move(*older_loaded.policy));
          snap.policy_version = v;
          found = true;
          spdlog::error("policy: serving version {} instead", v);
        }
        if (!found) {
          return make_error(Errc::internal,
                            fmt::format("policy: stored version {} does not load and no older "
                                        "version does; refusing to serve without the policy",
                                        (*latest)->version));
        }
      }
    }
  }
  auto bases = store_.list_approved_bases();
  if (!bases) return bases.error();
  auto digests = store_.list_base_digests();
  if (!digests) return digests.error();
  for (const auto& b : *bases) {
    policy::ApprovedBase base{b.name, b.repository, b.tag, "", {}};
    auto current = store_.resolve_tag(b.repository, b.tag);
    if (current && *current) base.current_digest = **current;
    for (const auto& d : *digests) {
      if (d.base != b.name) continue;
      auto ids = decode_string_list(d.diff_ids_json);
      if (!ids) continue;
      base.history.push_back({d.digest, std::move(*ids), d.approved_at});
    }
    snap.bases.push_back(std::move(base));
  }
  return {};
}

Result<void> AccessService::reload() {
  auto fresh = load();
  if (!fresh) return fresh.error();
  std::lock_guard lock(mu_);
  current_ = *fresh;
  checked_ = std::chrono::steady_clock::now();
  publish_flags();
  return {};
}

Result<Identity> AccessService::login(std::string_view name, std::string_view secret,
                                      std::string_view address) {
  auto refused = [] { return make_error(Errc::unauthorized, "invalid username or password"); };
  if (name.empty() || name.size() > 256 || secret.empty() || secret.size() > kMaxPasswordLength) {
    return refused();
  }
  if (auto wait = throttle_.blocked(name, address)) {
    return make_error(Errc::too_many_requests,
                      "too many failed logins; retry in " + std::to_string(wait->count()) + " s");
  }
  if (name.starts_with(kRobotPrefix)) {
    auto robot = store_.get_robot(name.substr(kRobotPrefix.size()));
    if (!robot) return robot.error();
    auto now = clock_.unix_seconds();
    if (*robot && verify_robot_secret((*robot)->secret_hash, secret) &&
        ((*robot)->expires_at == 0 || now < (*robot)->expires_at)) {
      auto perms = decode_robot_permissions((*robot)->permissions_json);
      if (!perms) return perms.error();
      throttle_.record_success(name);
      std::optional<std::chrono::system_clock::time_point> exp;
      if ((*robot)->expires_at != 0) {
        exp = std::chrono::system_clock::time_point(std::chrono::seconds((*robot)->expires_at));
      }
      return Identity::robot(std::string(name), std::move(*perms), exp);
    }
    throttle_.record_failure(name, address);
    return refused();
  }
  auto user = store_.get_user(name);
  if (!user) return user.error();
  if (!*user) {
    // Spend the same time as a real check so response timing does not reveal
    // which names exist.
    static const std::string kDummy = hash_password("dummy-password", options_.password_cost).value();
    verify_password(kDummy, secret);
    throttle_.record_failure(name, address);
    return refused();
  }
  if (!verify_password((*user)->password_hash, secret)) {
    throttle_.record_failure(name, address);
    return refused();
  }
  throttle_.record_success(name);
  return Identity::user((*user)->name, (*user)->system_admin);
}

Result<std::optional<Identity>> AccessService::identity_of(std::string_view subject) {
  if (subject.empty()) return std::optional<Identity>(Identity::anonymous());
  if (subject.starts_with(kRobotPrefix)) {
    auto robot = store_.get_robot(subject.substr(kRobotPrefix.size()));
    if (!robot) return robot.error();
    if (!*robot) return std::optional<Identity>();
    if ((*robot)->expires_at != 0 && clock_.unix_seconds() >= (*robot)->expires_at) {
      return std::optional<Identity>();
    }
    auto perms = decode_robot_permissions((*robot)->permissions_json);
    if (!perms) return perms.error();
    std::optional<std::chrono::system_clock::time_point> exp;
    if ((*robot)->expires_at != 0) {
      exp = std::chrono::system_clock::time_point(std::chrono::seconds((*robot)->expires_at));
    }
    return std::optional<Identity>(Identity::robot(std::string(subject), std::move(*perms), exp));
  }
  auto user = store_.get_user(subject);
  if (!user) return user.error();
  if (!*user) return std::optional<Identity>();
  return std::optional<Identity>(Identity::user((*user)->name, (*user)->system_admin));
}

Result<std::optional<std::string>> AccessService::credential_epoch(std::string_view subject) {
  std::string stored;
  if (subject.starts_with(kRobotPrefix)) {
    auto robot = store_.get_robot(subject.substr(kRobotPrefix.size()));
    if (!robot) return robot.error();
    if (!*robot) return std::optional<std::string>();
    stored = (*robot)->secret_hash;
  } else {
    auto user = store_.get_user(subject);
    if (!user) return user.error();
    if (!*user) return std::optional<std::string>();
    stored = (*user)->password_hash;
  }
  crypto::Hasher h(crypto::HashAlgorithm::sha256);
  h.update(stored);
  return std::optional<std::string>(h.finish_hex().substr(0, 16));
}

Result<std::optional<std::string>> AccessService::bootstrap_admin(std::string_view password) {
  auto users = store_.list_users();
  if (!users) return users.error();
  if (!users->empty()) return std::optional<std::string>();
  std::string generated;
  if (password.empty()) generated = random_token(18);
  auto hash = hash_password(password.empty() ? std::string_view(generated) : password,
                            options_.password_cost);
  if (!hash) return hash.error();
  metadata::UserRecord admin{"admin", *hash, true, clock_.unix_seconds()};
  audit::AuditEvent ev;
  ev.time_ms = clock_.unix_millis();
  ev.actor = "system";
  ev.action = "user.create";
  ev.reference = "admin";
  ev.result = "success";
  ev.detail = "first start: initial system administrator";
  auto created = store_.create_user(admin, ev);
  if (!created) return created.error();
  if (!*created) return std::optional<std::string>();  // another replica won the race
  return std::optional<std::string>(generated);
}

}  // namespace portcullis::auth
