// /api/v1/<path>: the administration API over auth::Admin (auth/admin.h).
// Admin authorises, validates and audits every call; this file turns HTTP
// into those calls and their results into JSON. Paths (after /api/v1/):
//
//   users                              GET list, POST create
//   users/<name>                       PATCH {"system_admin"}, DELETE
//   users/<name>/password              PUT {"password"}
//   robots                             GET list, POST create (secret shown once)
//   robots/<name>                      DELETE ("robot$" prefix optional)
//   namespaces                         GET list
//   namespaces/<ns>                    PUT {"anonymous_pull"}, DELETE
//   namespaces/<ns>/members            GET
//   namespaces/<ns>/members/<user>     PUT {"role"}, DELETE
//   namespaces/<ns>/tag-rules          GET, POST {"name","pattern"}
//   namespaces/<ns>/tag-rules/<rule>   DELETE
//   tag-rules                          GET every rule
//   audit                              GET ?actor&action&repository&result&since&until&after&n
//   audit/verify                       GET
//   keys                               GET, POST {"id","owner","public_key","repositories","expires_at"?}
//   keys/<id>                          DELETE
//   trust-policies                     GET
//   trust-policies/<name>              PUT {"repositories","keys"?,"threshold"?,"mode"?}, DELETE
//
// Namespace names contain '/', so the namespace routes are split from the
// right: a namespace whose last component is "members" or "tag-rules" cannot
// be addressed here (use the CLI). Database and argon2id work runs on the
// worker pool, never on the I/O thread.
#include <algorithm>
#include <charconv>
#include <initializer_list>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "api/handlers/handlers.h"
#include "api/handlers/json_body.h"
#include "api/handlers/util.h"
#include "auth/admin.h"

namespace portcullis::api {

namespace {

namespace json = boost::json;
using http::verb;

constexpr std::size_t kMaxBody = 64 * 1024;
constexpr std::size_t kDefaultAuditPage = 100;
constexpr std::size_t kMaxAuditPage = 1000;
constexpr int64_t kMaxExpiryDays = 100 * 365;

enum class Resource {
  none,
  users,
  user,
  user_password,
  robots,
  robot,
  namespaces,
  namespace_,
  members,
  member,
  namespace_tag_rules,
  namespace_tag_rule,
  tag_rules,
  audit,
  audit_verify,
  keys,
  key,
  trust_policies,
  trust_policy,
};

struct AdminRoute {
  Resource resource = Resource::none;
  std::string_view name;  // user, robot or namespace
  std::string_view item;  // member or rule, within namespace `name`
};

bool plain_segment(std::string_view s) {
  return !s.empty() && s.find('/') == std::string_view::npos;
}

AdminRoute match_namespace_route(std::string_view rest) {
  constexpr std::string_view kMembers = "/members", kRules = "/tag-rules";
  auto cut = [&](std::size_t n) { return rest.substr(0, rest.size() - n); };
  AdminRoute r;
  if (rest.ends_with(kMembers)) {
    r = {Resource::members, cut(kMembers.size()), {}};
  } else if (rest.ends_with(kRules)) {
    r = {Resource::namespace_tag_rules, cut(kRules.size()), {}};
  } else {
    auto m = rest.rfind("/members/");
    auto t = rest.rfind("/tag-rules/");
    if (m != std::string_view::npos && (t == std::string_view::npos || m > t)) {
      r = {Resource::member, rest.substr(0, m), rest.substr(m + 9)};
      if (!plain_segment(r.item)) return {};
    } else if (t != std::string_view::npos) {
      r = {Resource::namespace_tag_rule, rest.substr(0, t), rest.substr(t + 11)};
      if (r.item.empty()) return {};
    } else {
      r = {Resource::namespace_, rest, {}};
    }
  }
  if (r.name.empty()) return {};
  return r;
}

AdminRoute match_admin_route(std::string_view path) {
  if (path == "users") return {Resource::users, {}, {}};
  if (path == "robots") return {Resource::robots, {}, {}};
  if (path == "namespaces") return {Resource::namespaces, {}, {}};
  if (path == "tag-rules") return {Resource::tag_rules, {}, {}};
  if (path == "audit") return {Resource::audit, {}, {}};
  if (path == "audit/verify") return {Resource::audit_verify, {}, {}};
  if (path.starts_with("users/")) {
    std::string_view rest = path.substr(6);
    Resource kind = Resource::user;
    if (rest.ends_with("/password")) {
      rest.remove_suffix(9);
      kind = Resource::user_password;
    }
    if (!plain_segment(rest)) return {};
    return {kind, rest, {}};
  }
  if (path.starts_with("robots/")) {
    std::string_view rest = path.substr(7);
    if (!plain_segment(rest)) return {};
    return {Resource::robot, rest, {}};
  }
  if (path.starts_with("namespaces/")) return match_namespace_route(path.substr(11));
  if (path == "keys") return {Resource::keys, {}, {}};
  if (path == "trust-policies") return {Resource::trust_policies, {}, {}};
  if (path.starts_with("keys/") && plain_segment(path.substr(5))) {
    return {Resource::key, path.substr(5), {}};
  }
  if (path.starts_with("trust-policies/") && plain_segment(path.substr(15))) {
    return {Resource::trust_policy, path.substr(15), {}};
  }
  return {};
}

// --- responses -----------------------------------------------------------

net::Response created(std::string location) {
  net::Response r;
  r.status = 201;
  r.header("Location", std::move(location));
  return r;
}

net::Response method_not_allowed() { return error(Errc::unsupported, "method not allowed"); }

// A Result<void> from Admin as 204 or the mapped error.
net::Response no_content_or_error(const Result<void>& r) {
  if (!r) return error_response(r.error());
  return status_only(204);
}

// --- request bodies ------------------------------------------------------

Result<std::string> string_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_string()) return bad_request(fmt::format("\"{}\" must be a string", key));
  return std::string(v->get_string());
}

Result<std::optional<bool>> optional_bool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::optional<bool>();
  if (!v->is_bool()) return bad_request(fmt::format("\"{}\" must be true or false", key));
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<int64_t>> optional_int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(v->get_uint64()));
  }
  return bad_request(fmt::format("\"{}\" must be an integer", key));
}

template <class T>
Result<T> parse_integer(std::string_view s, std::string_view name) {
  T value{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return bad_request(fmt::format("{} must be an integer", name));
  }
  return value;
}

// --- JSON views of records -----------------------------------------------

json::array users_json(const std::vector<metadata::UserRecord>& users) {
  json::array a;
  for (const auto& u : users) {
    a.push_back(json::object{
        {"name", u.name}, {"system_admin", u.system_admin}, {"created_at", u.created_at}});
  }
  return a;
}

json::array robots_json(const std::vector<metadata::RobotRecord>& robots) {
  json::array a;
  for (const auto& r : robots) {
    boost::system::error_code ec;
    json::value perms = json::parse(r.permissions_json, ec);
    if (ec || !perms.is_array()) perms = json::array();
    a.push_back(json::object{{"name", std::string(auth::kRobotPrefix) + r.name},
                             {"permissions", std::move(perms)},
                             {"expires_at", r.expires_at},
                             {"created_by", r.created_by},
                             {"created_at", r.created_at}});
  }
  return a;
}

json::array namespaces_json(const std::vector<metadata::NamespaceRecord>& namespaces) {
  json::array a;
  for (const auto& n : namespaces) {
    a.push_back(json::object{
        {"name", n.name}, {"anonymous_pull", n.anonymous_pull}, {"created_at", n.created_at}});
  }
  return a;
}

json::array members_json(const std::vector<metadata::RoleBindingRecord>& members) {
  json::array a;
  for (const auto& m : members) a.push_back(json::object{{"user", m.user}, {"role", m.role}});
  return a;
}

json::array rules_json(const std::vector<metadata::TagRuleRecord>& rules, bool with_namespace) {
  json::array a;
  for (const auto& r : rules) {
    json::object o;
    if (with_namespace) o["namespace"] = r.namespace_name;
    o["name"] = r.name;
    o["pattern"] = r.pattern;
    a.push_back(std::move(o));
  }
  return a;
}

template <class T, class F>
net::Response list_or_error(const Result<T>& r, F to_json) {
  if (!r) return error_response(r.error());
  return json_response(200, to_json(*r));
}

// --- the actor -------------------------------------------------------------

// Who is asking, as Admin needs it. The administration API takes Basic
// credentials only: a registry token is scoped to repositories, and must not
// carry its holder's administrative rights (a leaked pull token would).
auth::Actor actor_of(const Principal& who) {
  if (who.unrestricted) return auth::Actor{auth::Identity::user("anonymous", true), who.address};
  return auth::Actor{who.identity, who.address};
}

net::Response basic_challenge(std::string message) {
  auto r = error_response(make_error(Errc::unauthorized, std::move(message)));
  r.header("WWW-Authenticate", "Basic realm=\"portcullis\"");
  return r;
}

// --- resources -------------------------------------------------------------

using Admin = auth::Admin;
using Actor = auth::Actor;

net::Task<net::Response> users(Admin& admin, net::Exchange& ex, const Actor& actor) {
  auto method = ex.header().method();
  if (method == verb::get) {
    auto r = co_await net::offload(ex, [&] { return admin.list_users(actor); });
    co_return list_or_error(r, users_json);
  }
  if (method != verb::post) co_return method_not_allowed();
  auto body = co_await read_object(ex, kMaxBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"name", "password", "system_admin"}); !ok)
    co_return error_response(ok.error());
  auto name = string_field(*body, "name");
  if (!name) co_return error_response(name.error());
  auto password = string_field(*body, "password");
  if (!password) co_return error_response(password.error());
  auto sysadmin = optional_bool(*body, "system_admin");
  if (!sysadmin) co_return error_response(sysadmin.error());
  auto r = co_await net::offload(
      ex, [&] { return admin.create_user(actor, *name, *password, sysadmin->value_or(false)); });
  if (!r) co_return error_response(r.error());
  co_return created("/api/v1/users/" + *name);
}

net::Task<net::Response> user(Admin& admin, net::Exchange& ex, const Actor& actor,
                              std::string_view name) {
  auto method = ex.header().method();
  if (method == verb::delete_) {
    co_return no_content_or_error(
        co_await net::offload(ex, [&] { return admin.delete_user(actor, name); }));
  }
  if (method != verb::patch) co_return method_not_allowed();
  auto body = co_await read_object(ex, kMaxBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"system_admin"}); !ok) co_return error_response(ok.error());
  auto sysadmin = optional_bool(*body, "system_admin");
  if (!sysadmin) co_return error_response(sysadmin.error());
  if (!*sysadmin) co_return error_response(bad_request("\"system_admin\" must be true or false"));
  bool value = **sysadmin;
  co_return no_content_or_error(
      co_await net::offload(ex, [&] { return admin.set_system_admin(actor, name, value); }));
}

net::Task<net::Response> user_password(Admin& admin, net::Exchange& ex, const Actor& actor,
                                       std::string_view name) {
  if (ex.header().method() != verb::put) co_return method_not_allowed();
  auto body = co_await read_object(ex, kMaxBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"password", "current_password"}); !ok)
    co_return error_response(ok.error());
  auto password = string_field(*body, "password");
  if (!password) co_return error_response(password.error());
  std::optional<std::string> current;
  if (body->contains("current_password")) {
    auto c = string_field(*body, "current_password");
    if (!c) co_return error_response(c.error());
    current = std::move(*c);
  }
  co_return no_content_or_error(co_await net::offload(ex, [&] {
    std::optional<std::string_view> cur;
    if (current) cur = *current;
    return admin.set_password(actor, name, *password, cur);
  }));
}

// The robot to create from {"name","permissions","expires_at"?,"expires_in_days"?}.
Result<auth::NewRobot> new_robot(const json::object& body, const Clock& clock) {
  if (auto ok = only_fields(body, {"name", "permissions", "expires_at", "expires_in_days"}); !ok) {
    return ok.error();
  }
  auto name = string_field(body, "name");
  if (!name) return name.error();
  std::string_view bare = *name;
  if (bare.starts_with(auth::kRobotPrefix)) bare.remove_prefix(auth::kRobotPrefix.size());
  const json::value* perms = body.if_contains("permissions");
  if (!perms || !perms->is_array()) {
    return bad_request("\"permissions\" must be an array of {\"repository\",\"actions\"}");
  }
  auto permissions = auth::decode_robot_permissions(json::serialize(*perms));
  if (!permissions) return permissions.error();
  auto at = optional_int(body, "expires_at");
  if (!at) return at.error();
  auto days = optional_int(body, "expires_in_days");
  if (!days) return days.error();
  if (*at && *days) return bad_request("give \"expires_at\" or \"expires_in_days\", not both");
  int64_t expires_at = at->value_or(0);
  if (*days) {
    if (**days < 1 || **days > kMaxExpiryDays) {
      return bad_request(fmt::format("\"expires_in_days\" must be 1-{}", kMaxExpiryDays));
    }
    expires_at = clock.unix_seconds() + **days * 86400;
  }
  return auth::NewRobot{std::string(bare), std::move(*permissions), expires_at};
}

net::Task<net::Response> robots(Context& ctx, Admin& admin, net::Exchange& ex, const Actor& actor) {
  auto method = ex.header().method();
  if (method == verb::get) {
    auto r = co_await net::offload(ex, [&] { return admin.list_robots(actor); });
    co_return list_or_error(r, robots_json);
  }
  if (method != verb::post) co_return method_not_allowed();
  auto body = co_await read_object(ex, kMaxBody);
  if (!body) co_return error_response(body.error());
  auto robot = new_robot(*body, ctx.clock);
  if (!robot) co_return error_response(robot.error());
  auto r = co_await net::offload(ex, [&] { return admin.create_robot(actor, *robot); });
  if (!r) co_return error_response(r.error());
  auto resp = json_response(201, json::object{{"name", r->login}, {"secret", r->secret}});
  resp.header("Location", "/api/v1/robots/" + r->login);
  co_return resp;
}

net::Task<net::Response> namespace_(Admin& admin, net::Exchange& ex, const Actor& actor,
                                    std::string_view name) {
  auto method = ex.header().method();
  if (method == verb::delete_) {
    co_return no_content_or_error(
        co_await net::offload(ex, [&] { return admin.delete_namespace(actor, name); }));
  }
  if (method != verb::put) co_return method_not_allowed();
  auto body = co_await read_object(ex, kMaxBody, /*optional=*/true);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"anonymous_pull"}); !ok) co_return error_response(ok.error());
  auto anonymous = optional_bool(*body, "anonymous_pull");
  if (!anonymous) co_return error_response(anonymous.error());
  bool value = anonymous->value_or(false);
  co_return no_content_or_error(
      co_await net::offload(ex, [&] { return admin.put_namespace(actor, name, value); }));
}

net::Task<net::Response> member(Admin& admin, net::Exchange& ex, const Actor& actor,
                                std::string_view ns, std::string_view user) {
  auto method = ex.header().method();
  if (method == verb::delete_) {
    co_return no_content_or_error(
        co_await net::offload(ex, [&] { return admin.remove_member(actor, ns, user); }));
  }
  if (method != verb::put) co_return method_not_allowed();
  auto body = co_await read_object(ex, kMaxBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"role"}); !ok) co_return error_response(ok.error());
  auto role = string_field(*body, "role");
  if (!role) co_return error_response(role.error());
  co_return no_content_or_error(
      co_await net::offload(ex, [&] { return admin.set_member(actor, ns, user, *role); }));
}

net::Task<net::Response> namespace_tag_rules(Admin& admin, net::Exchange& ex, const Actor& actor,
                                             std::string_view ns) {
  auto method = ex.header().method();
  if (method == verb::get) {
    auto r = co_await net::offload(ex, [&] { return admin.list_tag_rules(actor, ns); });
    co_return list_or_error(r, [](const auto& rules) { return rules_json(rules, false); });
  }
  if (method != verb::post) co_return method_not_allowed();
  auto body = co_await read_object(ex, kMaxBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"name", "pattern"}); !ok) co_return error_response(ok.error());
  auto name = string_field(*body, "name");
  if (!name) co_return error_response(name.error());
  auto pattern = string_field(*body, "pattern");
  if (!pattern) co_return error_response(pattern.error());
  auto r =
      co_await net::offload(ex, [&] { return admin.create_tag_rule(actor, ns, *name, *pattern); });
  if (!r) co_return error_response(r.error());
  co_return created(fmt::format("/api/v1/namespaces/{}/tag-rules/{}", ns,
                                boost::urls::encode(*name, boost::urls::unreserved_chars)));
}

// --- signature trust --------------------------------------------------------

Result<std::vector<std::string>> string_list(const json::object& o, std::string_view key,
                                             bool optional) {
  const json::value* v = o.if_contains(key);
  if (!v) {
    if (optional) return std::vector<std::string>{};
    return bad_request(fmt::format("\"{}\" is required (an array of strings)", key));
  }
  if (!v->is_array() || v->as_array().size() > 256) {
    return bad_request(fmt::format("\"{}\" must be an array of at most 256 strings", key));
  }
  std::vector<std::string> out;
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) return bad_request(fmt::format("\"{}\" must hold strings", key));
    out.emplace_back(e.as_string());
  }
  return out;
}

json::array keys_json(const std::vector<metadata::TrustedKeyRecord>& keys) {
  json::array a;
  for (const auto& k : keys) {
    json::object o;
    o["id"] = k.id;
    o["owner"] = k.owner;
    o["public_key"] = k.public_key_pem;
    auto repos = auth::decode_string_list(k.repositories_json);
    json::array ra;
    if (repos) {
      for (const auto& r : *repos) ra.emplace_back(r);
    }
    o["repositories"] = std::move(ra);
    o["expires_at"] = k.expires_at;
    o["created_at"] = k.created_at;
    a.push_back(std::move(o));
  }
  return a;
}

json::array trust_policies_json(const std::vector<metadata::TrustPolicyRecord>& policies) {
  json::array a;
  for (const auto& p : policies) {
    json::object o;
    o["name"] = p.name;
    json::array ra, ka;
    if (auto repos = auth::decode_string_list(p.repositories_json)) {
      for (const auto& r : *repos) ra.emplace_back(r);
    }
    if (auto ids = auth::decode_string_list(p.key_ids_json)) {
      for (const auto& k : *ids) ka.emplace_back(k);
    }
    o["repositories"] = std::move(ra);
    o["keys"] = std::move(ka);
    o["threshold"] = p.threshold;
    o["mode"] = p.mode;
    a.push_back(std::move(o));
  }
  return a;
}

net::Task<net::Response> keys(Admin& admin, net::Exchange& ex, const Actor& actor) {
  auto method = ex.header().method();
  if (method == verb::get) {
    auto r = co_await net::offload(ex, [&] { return admin.list_trusted_keys(actor); });
    co_return list_or_error(r, keys_json);
  }
  if (method != verb::post) co_return method_not_allowed();
  auto body = co_await read_object(ex, kMaxBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"id", "owner", "public_key", "repositories", "expires_at"}); !ok)
    co_return error_response(ok.error());
  auto id = string_field(*body, "id");
  if (!id) co_return error_response(id.error());
  auto owner = string_field(*body, "owner");
  if (!owner) co_return error_response(owner.error());
  auto pem = string_field(*body, "public_key");
  if (!pem) co_return error_response(pem.error());
  auto repos = string_list(*body, "repositories", false);
  if (!repos) co_return error_response(repos.error());
  auto at = optional_int(*body, "expires_at");
  if (!at) co_return error_response(at.error());
  auto r = co_await net::offload(ex, [&] {
    return admin.add_trusted_key(actor, *id, *owner, *pem, *repos, at->value_or(0));
  });
  if (!r) co_return error_response(r.error());
  auto resp = json_response(201, keys_json({*r}).at(0));
  resp.header("Location", "/api/v1/keys/" + r->id);
  co_return resp;
}

net::Task<net::Response> trust_policy(Admin& admin, net::Exchange& ex, const Actor& actor,
                                      std::string_view name) {
  auto method = ex.header().method();
  if (method == verb::delete_) {
    co_return no_content_or_error(
        co_await net::offload(ex, [&] { return admin.delete_trust_policy(actor, name); }));
  }
  if (method != verb::put) co_return method_not_allowed();
  auto body = co_await read_object(ex, kMaxBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"repositories", "keys", "threshold", "mode"}); !ok)
    co_return error_response(ok.error());
  auto repos = string_list(*body, "repositories", false);
  if (!repos) co_return error_response(repos.error());
  auto ids = string_list(*body, "keys", true);
  if (!ids) co_return error_response(ids.error());
  auto threshold = optional_int(*body, "threshold");
  if (!threshold) co_return error_response(threshold.error());
  std::string mode = "enforce";
  if (body->contains("mode")) {
    auto m = string_field(*body, "mode");
    if (!m) co_return error_response(m.error());
    mode = *m;
  }
  int64_t k = threshold->value_or(1);
  if (k < 1 || k > 64) co_return error_response(bad_request("\"threshold\" must be 1-64"));
  co_return no_content_or_error(co_await net::offload(ex, [&] {
    return admin.put_trust_policy(actor, name, *repos, *ids, static_cast<int>(k), mode);
  }));
}

// The filter from ?actor&action&repository&result&since&until&after&n.
Result<metadata::AuditFilter> audit_filter(const Query& query) {
  metadata::AuditFilter f;
  f.actor = std::string(query_value(query, "actor"));
  f.action = std::string(query_value(query, "action"));
  f.repository = std::string(query_value(query, "repository"));
  f.result = std::string(query_value(query, "result"));
  if (auto s = query_value(query, "since"); !s.empty()) {
    auto v = parse_integer<int64_t>(s, "since (unix milliseconds)");
    if (!v) return v.error();
    f.since_ms = *v;
  }
  if (auto s = query_value(query, "until"); !s.empty()) {
    auto v = parse_integer<int64_t>(s, "until (unix milliseconds)");
    if (!v) return v.error();
    f.until_ms = *v;
  }
  if (auto s = query_value(query, "after"); !s.empty()) {
    auto v = parse_integer<uint64_t>(s, "after (a sequence number)");
    if (!v) return v.error();
    f.after_seq = *v;
  }
  f.limit = kDefaultAuditPage;
  if (query.contains("n")) {
    auto v = parse_integer<std::size_t>(query_value(query, "n"), "n");
    if (!v || *v < 1 || *v > kMaxAuditPage) {
      return make_error(Errc::pagination_invalid, fmt::format("n must be 1-{}", kMaxAuditPage));
    }
    f.limit = *v;
  }
  return f;
}

std::string audit_next_link(const metadata::AuditFilter& f, uint64_t last_seq) {
  auto enc = [](std::string_view s) {
    return boost::urls::encode(s, boost::urls::unreserved_chars);
  };
  std::string q;
  auto add = [&](std::string_view key, std::string_view value) {
    if (!value.empty()) q += fmt::format("{}={}&", key, enc(value));
  };
  add("actor", f.actor);
  add("action", f.action);
  add("repository", f.repository);
  add("result", f.result);
  if (f.since_ms != 0) q += fmt::format("since={}&", f.since_ms);
  if (f.until_ms != 0) q += fmt::format("until={}&", f.until_ms);
  return fmt::format("</api/v1/audit?{}after={}&n={}>; rel=\"next\"", q, last_seq, f.limit);
}

net::Task<net::Response> audit_list(Admin& admin, net::Exchange& ex, const Actor& actor,
                                    const Query& query) {
  if (ex.header().method() != verb::get) co_return method_not_allowed();
  auto filter = audit_filter(query);
  if (!filter) co_return error_response(filter.error());
  // One extra row tells whether a next page exists.
  auto fetch = *filter;
  fetch.limit = filter->limit + 1;
  auto events = co_await net::offload(ex, [&] { return admin.list_audit(actor, fetch); });
  if (!events) co_return error_response(events.error());
  std::optional<std::string> link;
  if (events->size() > filter->limit) {
    events->resize(filter->limit);
    link = audit_next_link(*filter, events->back().seq);
  }
  json::array a;
  a.reserve(events->size());
  for (const auto& e : *events) a.push_back(audit::to_json(e));
  auto r = json_response(200, json::object{{"events", std::move(a)}});
  if (link) r.header("Link", std::move(*link));
  co_return r;
}

struct Verified {
  audit::ChainReport report;
  std::size_t events = 0;  // counted when the chain is intact
};

// Verifies through Admin, then counts the rows for the answer (a second
// read: the report carries no count).
Result<Verified> verify_and_count(Context& ctx, Admin& admin, const Actor& actor) {
  auto report = admin.verify_audit(actor);
  if (!report) return report.error();
  Verified v{std::move(*report), 0};
  if (!v.report.ok()) return v;
  constexpr std::size_t kPage = 10000;
  for (uint64_t after = 0;;) {
    auto rows = ctx.meta.audit_rows(after, kPage);
    if (!rows) return rows.error();
    v.events += rows->size();
    if (rows->size() < kPage) break;
    after = rows->back().seq;
  }
  return v;
}

net::Task<net::Response> audit_verify(Context& ctx, Admin& admin, net::Exchange& ex,
                                      const Actor& actor) {
  if (ex.header().method() != verb::get) co_return method_not_allowed();
  auto v = co_await net::offload(ex, [&] { return verify_and_count(ctx, admin, actor); });
  if (!v) co_return error_response(v.error());
  const auto& rep = v->report;
  json::object o{{"ok", rep.ok()},
                 {"problem", audit::tamper_name(rep.problem)},
                 {"index", rep.index},
                 {"message", rep.message}};
  if (rep.ok()) o["events"] = v->events;
  co_return json_response(200, o);
}

net::Task<net::Response> dispatch(Context& ctx, Admin& admin, net::Exchange& ex,
                                  const AdminRoute& route, const Query& query, const Actor& actor) {
  auto method = ex.header().method();
  auto get_only = [&](auto&& list, auto&& to_json) -> net::Task<net::Response> {
    if (method != verb::get) co_return method_not_allowed();
    auto r = co_await net::offload(ex, list);
    co_return list_or_error(r, to_json);
  };
  switch (route.resource) {
    case Resource::users:
      co_return co_await users(admin, ex, actor);
    case Resource::user:
      co_return co_await user(admin, ex, actor, route.name);
    case Resource::user_password:
      co_return co_await user_password(admin, ex, actor, route.name);
    case Resource::robots:
      co_return co_await robots(ctx, admin, ex, actor);
    case Resource::robot:
      if (method != verb::delete_) co_return method_not_allowed();
      co_return no_content_or_error(
          co_await net::offload(ex, [&] { return admin.delete_robot(actor, route.name); }));
    case Resource::namespaces:
      co_return co_await get_only([&] { return admin.list_namespaces(actor); }, namespaces_json);
    case Resource::namespace_:
      co_return co_await namespace_(admin, ex, actor, route.name);
    case Resource::members:
      co_return co_await get_only([&] { return admin.list_members(actor, route.name); },
                                  members_json);
    case Resource::member:
      co_return co_await member(admin, ex, actor, route.name, route.item);
    case Resource::namespace_tag_rules:
      co_return co_await namespace_tag_rules(admin, ex, actor, route.name);
    case Resource::namespace_tag_rule:
      if (method != verb::delete_) co_return method_not_allowed();
      co_return no_content_or_error(co_await net::offload(
          ex, [&] { return admin.delete_tag_rule(actor, route.name, route.item); }));
    case Resource::tag_rules:
      co_return co_await get_only([&] { return admin.list_tag_rules(actor, ""); },
                                  [](const auto& rules) { return rules_json(rules, true); });
    case Resource::audit:
      co_return co_await audit_list(admin, ex, actor, query);
    case Resource::audit_verify:
      co_return co_await audit_verify(ctx, admin, ex, actor);
    case Resource::keys:
      co_return co_await keys(admin, ex, actor);
    case Resource::key:
      if (method != verb::delete_) co_return method_not_allowed();
      co_return no_content_or_error(
          co_await net::offload(ex, [&] { return admin.delete_trusted_key(actor, route.name); }));
    case Resource::trust_policies:
      co_return co_await get_only([&] { return admin.list_trust_policies(actor); },
                                  trust_policies_json);
    case Resource::trust_policy:
      co_return co_await trust_policy(admin, ex, actor, route.name);
    case Resource::none:
      break;
  }
  co_return error(Errc::not_found, "no such endpoint");
}

}  // namespace

net::Task<net::Response> handle_admin(Context& ctx, net::Exchange& ex, std::string_view path,
                                      const Query& query, const Principal& who) {
  if (!ctx.admin)
    co_return error(Errc::not_found, "the admin API needs authentication enabled (auth.enabled)");
  AdminRoute route = match_admin_route(path);
  if (route.resource == Resource::none) co_return error(Errc::not_found, "no such endpoint");
  if (who.token) {
    co_return basic_challenge(
        "the administration API takes Basic credentials (user name and password), not registry "
        "tokens");
  }
  if (!who.unrestricted && who.identity.kind == auth::Identity::Kind::anonymous) {
    co_return basic_challenge("authentication required");
  }
  co_return co_await dispatch(ctx, *ctx.admin, ex, route, query, actor_of(who));
}

}  // namespace portcullis::api
