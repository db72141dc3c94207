// /api/v1/policy…: the registry policy (docs/policy.md, docs/api.md).
//
//   policy                 GET the active version and its files; PUT a new version
//                          ({"files": {"name.yaml": "<yaml>"}, "comment"?})
//   policy/versions        GET every stored version (newest first)
//   policy/evaluate        POST {"repository", "reference"}: the decision with
//                          every rule's outcome and reason (needs pull access)
//   policy/dry-run         POST {"files"}: every stored tagged image under the
//                          active policy and under the candidate, and what changes
//   policy/verdicts        GET the newest pull decision per image (?repository&n&last)
//   policy/bases           GET approved base images with their digest history
//   policy/bases/<name>    PUT {"repository", "tag"}, DELETE
//
// Changes and dry runs are for system administrators (Basic credentials, or
// anyone when authentication is off, as for the rest of /api/v1/).
#include <array>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "api/audit_recorder.h"
#include "api/handlers/handlers.h"
#include "api/handlers/util.h"
#include "api/policy_gate.h"
#include "api/handlers/json_body.h"
#include "auth/admin.h"
#include "oci/manifest.h"
#include "oci/names.h"
#include "policy/stored.h"

namespace portcullis::api {

namespace {

namespace json = boost::json;
using http::verb;

constexpr std::size_t kMaxPolicyBody = 1024 * 1024;
constexpr std::size_t kMaxDryRunImages = 5000;

Result<std::string> string_of(const json::object& o, std::string_view key, bool required = true) {
  auto* v = o.if_contains(key);
  if (!v) {
    if (!required) return std::string();
    return bad_request(fmt::format("\"{}\" is required", key));
  }
  if (!v->is_string()) return bad_request(fmt::format("\"{}\" must be a string", key));
  return std::string(v->as_string());
}

Result<std::vector<policy::PolicyFile>> files_of(const json::object& o) {
  auto* f = o.if_contains("files");
  if (!f || !f->is_object() || f->as_object().empty()) {
    return bad_request("\"files\" must be an object of file name to YAML text");
  }
  std::vector<policy::PolicyFile> out;
  for (const auto& [name, text] : f->as_object()) {
    if (!text.is_string())
      return bad_request(
          fmt::format("files[\"{}\"] must be a string", std::string_view(name).substr(0, 64)));
    out.push_back({std::string(name), std::string(text.as_string())});
  }
  return out;
}

json::object lineage_json(const policy::Lineage& l) {
  json::object o{{"known", l.known}, {"message", l.message}};
  if (l.known) {
    o["base"] = l.base;
    o["reference"] = l.reference;
    o["digest"] = l.base_digest;
    o["current"] = l.current;
    o["via_annotation"] = l.via_annotation;
  }
  return o;
}

json::object decision_json(const policy::Decision& d) {
  json::array rules;
  for (const auto& r : d.rules) {
    json::array checks;
    for (const auto& c : r.checks) {
      checks.push_back(json::object{{"requirement", c.requirement},
                                    {"passed", c.passed},
                                    {"pending", c.pending},
                                    {"reason", c.reason}});
    }
    rules.push_back(json::object{{"rule", r.rule},
                                 {"mode", policy::mode_name(r.mode)},
                                 {"passed", r.passed},
                                 {"pending", r.pending},
                                 {"reason", r.reason},
                                 {"checks", std::move(checks)}});
  }
  return json::object{{"allowed", d.allowed},
                      {"quarantined", d.quarantined},
                      {"message", d.message},
                      {"rules", std::move(rules)}};
}

auth::Actor actor_of(const Principal& who) {
  if (who.unrestricted) return auth::Actor{auth::Identity::user("anonymous", true), who.address};
  return auth::Actor{who.identity, who.address};
}

std::optional<net::Response> require_basic(const Principal& who) {
  if (who.token) {
    auto r = error_response(
        make_error(Errc::unauthorized,
                   "the policy administration API takes Basic credentials, not registry tokens"));
    r.header("WWW-Authenticate", "Basic realm=\"portcullis\"");
    return r;
  }
  if (!who.unrestricted && who.identity.kind == auth::Identity::Kind::anonymous) {
    auto r = error_response(make_error(Errc::unauthorized, "authentication required"));
    r.header("WWW-Authenticate", "Basic realm=\"portcullis\"");
    return r;
  }
  return std::nullopt;
}

net::Task<net::Response> evaluate(Context& ctx, net::Exchange& ex, const Principal& who) {
  if (ex.header().method() != verb::post) co_return error(Errc::unsupported, "method not allowed");
  auto body = co_await read_object(ex, kMaxPolicyBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"repository", "reference"}); !ok) co_return error_response(ok.error());
  auto repo = string_of(*body, "repository");
  if (!repo) co_return error_response(repo.error());
  auto reference = string_of(*body, "reference");
  if (!reference) co_return error_response(reference.error());
  if (auto bad_name = check_name(*repo)) co_return std::move(*bad_name);
  if (ctx.access && !ctx.access->permits(who, *repo, auth::Action::pull)) {
    co_return error(Errc::denied, "pull access to " + *repo + " is required");
  }
  auto ref = oci::parse_manifest_ref(*reference);
  if (!ref) co_return error_response(ref.error());
  auto snap = ctx.security->snapshot();
  if (!snap) co_return error_response(snap.error());
  auto result = co_await net::offload(ex, [&]() -> Result<json::object> {
    std::string digest;
    if (ref->is_digest()) {
      digest = ref->digest->str();
    } else {
      auto d = ctx.meta.resolve_tag(*repo, ref->tag);
      if (!d) return d.error();
      if (!*d) return make_error(Errc::manifest_unknown, "manifest unknown");
      digest = **d;
    }
    auto m = ctx.meta.get_manifest(*repo, digest);
    if (!m) return m.error();
    if (!*m) return make_error(Errc::manifest_unknown, "manifest unknown");
    auto v = ctx.policy->evaluate(*repo, digest, **snap, policy::Phase::pull);
    json::object o = decision_json(v.decision);
    o["repository"] = *repo;
    o["reference"] = *reference;
    o["digest"] = digest;
    o["policy_version"] = (*snap)->policy_version;
    o["inputs"] = v.inputs;
    o["lineage"] = lineage_json(v.lineage);
    if (ctx.audit) {
      audit::AuditEvent e;
      e.time_ms = ctx.clock.unix_millis();
      e.actor = who.actor();
      e.source_address = who.address;
      e.action = "policy.evaluate";
      e.repository = *repo;
      e.reference = *reference;
      e.digest = digest;
      e.result =
          v.decision.allowed ? "success" : (v.decision.quarantined ? "quarantined" : "denied");
      e.detail = policy::summarize(v.decision) + " (" + v.inputs + ")";
      ctx.audit->record(std::move(e));
    }
    return o;
  });
  if (!result) co_return error_response(result.error());
  co_return json_response(200, *result);
}

json::object version_json(const metadata::PolicyVersionRecord& v, bool with_files) {
  json::object o{{"version", v.version},
                 {"author", v.author},
                 {"comment", v.comment},
                 {"created_at", v.created_at}};
  if (with_files) {
    boost::system::error_code ec;
    auto files = json::parse(v.files_json, ec);
    o["files"] = ec ? json::value(json::object{}) : files;
  }
  return o;
}

net::Task<net::Response> current(Context& ctx, net::Exchange& ex, const auth::Actor& actor) {
  auto method = ex.header().method();
  if (method == verb::get) {
    auto r = co_await net::offload(ex, [&]() -> Result<json::object> {
      auto list = ctx.policy_admin->list_policy_versions(actor, 1);
      if (!list) return list.error();
      if (list->empty()) return json::object{{"version", 0}, {"files", json::object{}}};
      return version_json(list->front(), true);
    });
    if (!r) co_return error_response(r.error());
    co_return json_response(200, *r);
  }
  if (method != verb::put) co_return error(Errc::unsupported, "method not allowed");
  auto body = co_await read_object(ex, kMaxPolicyBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"files", "comment"}); !ok) co_return error_response(ok.error());
  auto files = files_of(*body);
  if (!files) co_return error_response(files.error());
  auto comment = string_of(*body, "comment", false);
  if (!comment) co_return error_response(comment.error());
  auto v = co_await net::offload(
      ex, [&] { return ctx.policy_admin->put_policy(actor, *files, *comment); });
  if (!v) co_return error_response(v.error());
  co_return json_response(201, json::object{{"version", *v}});
}

net::Task<net::Response> versions(Context& ctx, net::Exchange& ex, const auth::Actor& actor) {
  if (ex.header().method() != verb::get) co_return error(Errc::unsupported, "method not allowed");
  auto r = co_await net::offload(
      ex, [&] { return ctx.policy_admin->list_policy_versions(actor, 1000); });
  if (!r) co_return error_response(r.error());
  json::array out;
  for (const auto& v : *r) out.push_back(version_json(v, false));
  co_return json_response(200, json::object{{"versions", std::move(out)}});
}

// Every tagged image: (repository, tag, digest), bounded.
Result<std::vector<std::array<std::string, 3>>> tagged_images(metadata::MetadataStore& meta) {
  std::vector<std::array<std::string, 3>> out;
  std::string last_repo;
  while (out.size() < kMaxDryRunImages) {
    auto repos = meta.list_repositories(last_repo, 1000);
    if (!repos) return repos.error();
    for (const auto& repo : *repos) {
      std::string last_tag;
      while (out.size() < kMaxDryRunImages) {
        auto tags = meta.list_tags(repo, last_tag, 1000);
        if (!tags) return tags.error();
        if (!*tags || (*tags)->empty()) break;
        for (const auto& t : **tags) {
          auto d = meta.resolve_tag(repo, t);
          if (!d) return d.error();
          if (*d) out.push_back({repo, t, **d});
        }
        last_tag = (*tags)->back();
        if ((*tags)->size() < 1000) break;
      }
    }
    if (repos->size() < 1000) break;
    last_repo = repos->back();
  }
  return out;
}

std::string outcome(const policy::Decision& d) {
  return d.allowed ? "allowed" : (d.quarantined ? "quarantined" : "denied");
}

net::Task<net::Response> dry_run(Context& ctx, net::Exchange& ex, const auth::Actor& actor) {
  if (ex.header().method() != verb::post) co_return error(Errc::unsupported, "method not allowed");
  if (!(actor.identity.kind == auth::Identity::Kind::user && actor.identity.system_admin)) {
    co_return error(Errc::denied, "only system administrators may do this");
  }
  auto body = co_await read_object(ex, kMaxPolicyBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"files"}); !ok) co_return error_response(ok.error());
  auto files = files_of(*body);
  if (!files) co_return error_response(files.error());
  auto loaded = policy::load_policy(*files);
  if (!loaded.policy) {
    std::string all;
    for (const auto& e : loaded.errors) all += (all.empty() ? "" : "\n") + e;
    co_return error(Errc::invalid_request, all);
  }
  auto snap = ctx.security->snapshot();
  if (!snap) co_return error_response(snap.error());
  auto r = co_await net::offload(ex, [&]() -> Result<json::object> {
    auto images = tagged_images(ctx.meta);
    if (!images) return images.error();
    json::array changes, unchanged_denied;
    std::size_t allowed_before = 0, allowed_after = 0;
    for (const auto& [repo, tag, digest] : *images) {
      auto before = ctx.policy->evaluate(repo, digest, **snap, policy::Phase::pull);
      auto after = ctx.policy->evaluate(repo, digest, **snap, policy::Phase::pull, &*loaded.policy);
      allowed_before += before.decision.allowed;
      allowed_after += after.decision.allowed;
      if (outcome(before.decision) == outcome(after.decision) &&
          before.decision.message == after.decision.message) {
        continue;
      }
      changes.push_back(json::object{{"repository", repo},
                                     {"tag", tag},
                                     {"digest", digest},
                                     {"before", outcome(before.decision)},
                                     {"after", outcome(after.decision)},
                                     {"before_message", before.decision.message},
                                     {"reason", after.decision.message}});
    }
    return json::object{{"images", images->size()},
                        {"active_version", (*snap)->policy_version},
                        {"allowed_before", allowed_before},
                        {"allowed_after", allowed_after},
                        {"changes", std::move(changes)}};
  });
  if (!r) co_return error_response(r.error());
  co_return json_response(200, *r);
}

net::Task<net::Response> bases(Context& ctx, net::Exchange& ex, const auth::Actor& actor) {
  if (ex.header().method() != verb::get) co_return error(Errc::unsupported, "method not allowed");
  auto r = co_await net::offload(ex, [&]() -> Result<json::array> {
    auto list = ctx.policy_admin->list_approved_bases(actor);
    if (!list) return list.error();
    auto history = ctx.meta.list_base_digests();
    if (!history) return history.error();
    json::array out;
    for (const auto& b : *list) {
      json::array digests;
      for (const auto& h : *history) {
        if (h.base != b.name) continue;
        boost::system::error_code ec;
        auto ids = json::parse(h.diff_ids_json, ec);
        digests.push_back(json::object{
            {"digest", h.digest},
            {"approved_at", h.approved_at},
            {"layers", ec || !ids.is_array() ? std::size_t{0} : ids.as_array().size()}});
      }
      auto current = ctx.meta.resolve_tag(b.repository, b.tag);
      out.push_back(json::object{{"name", b.name},
                                 {"repository", b.repository},
                                 {"tag", b.tag},
                                 {"current", current && *current ? **current : std::string()},
                                 {"created_at", b.created_at},
                                 {"digests", std::move(digests)}});
    }
    return out;
  });
  if (!r) co_return error_response(r.error());
  co_return json_response(200, json::object{{"bases", std::move(*r)}});
}

net::Task<net::Response> base(Context& ctx, net::Exchange& ex, const auth::Actor& actor,
                              std::string_view name) {
  auto method = ex.header().method();
  if (method == verb::delete_) {
    auto r = co_await net::offload(
        ex, [&] { return ctx.policy_admin->delete_approved_base(actor, name); });
    if (!r) co_return error_response(r.error());
    co_return status_only(204);
  }
  if (method != verb::put) co_return error(Errc::unsupported, "method not allowed");
  auto body = co_await read_object(ex, kMaxPolicyBody);
  if (!body) co_return error_response(body.error());
  if (auto ok = only_fields(*body, {"repository", "tag"}); !ok) co_return error_response(ok.error());
  auto repo = string_of(*body, "repository");
  if (!repo) co_return error_response(repo.error());
  auto tag = string_of(*body, "tag");
  if (!tag) co_return error_response(tag.error());
  auto r = co_await net::offload(ex, [&]() -> Result<void> {
    auto put = ctx.policy_admin->put_approved_base(actor, name, *repo, *tag);
    if (!put) return put;
    // Record the digest the tag points at now (if it is pushed already).
    auto snap = ctx.security->snapshot();
    if (snap && ctx.policy && ctx.policy->track_bases(**snap, *repo, *tag)) {
      return ctx.security->reload();
    }
    return {};
  });
  if (!r) co_return error_response(r.error());
  co_return status_only(204);
}

net::Task<net::Response> verdicts(Context& ctx, net::Exchange& ex, const auth::Actor& actor,
                                  const Query& query) {
  if (ex.header().method() != verb::get) co_return error(Errc::unsupported, "method not allowed");
  if (!(actor.identity.kind == auth::Identity::Kind::user && actor.identity.system_admin)) {
    co_return error(Errc::denied, "only system administrators may do this");
  }
  std::size_t n = 100;
  if (auto s = query_value(query, "n"); !s.empty()) {
    auto parsed = page_size(query, 1000);
    if (!parsed || !*parsed) co_return error(Errc::pagination_invalid, "n must be 1-1000");
    n = **parsed;
  }
  std::string repo(query_value(query, "repository"));
  std::string last(query_value(query, "last"));  // "<repository>@<digest>" of the previous page
  std::string after_repo, after_digest;
  if (!last.empty()) {
    auto at = last.rfind('@');
    if (at == std::string::npos)
      co_return error(Errc::pagination_invalid, "last is <repository>@<digest>");
    after_repo = last.substr(0, at);
    after_digest = last.substr(at + 1);
  }
  auto r = co_await net::offload(
      ex, [&] { return ctx.meta.list_policy_verdicts(repo, after_repo, after_digest, n); });
  if (!r) co_return error_response(r.error());
  json::array out;
  for (const auto& v : *r) {
    out.push_back(json::object{{"repository", v.repository},
                               {"digest", v.digest},
                               {"outcome", v.outcome},
                               {"summary", v.summary},
                               {"inputs", v.inputs},
                               {"evaluated_at", v.evaluated_at}});
  }
  json::object body{{"verdicts", std::move(out)}};
  if (r->size() == n) body["last"] = r->back().repository + "@" + r->back().digest;
  co_return json_response(200, body);
}

}  // namespace

net::Task<net::Response> handle_policy(Context& ctx, net::Exchange& ex, std::string_view path,
                                       const Query& query, const Principal& who) {
  if (!ctx.policy || !ctx.policy_admin || !ctx.security) {
    co_return error(Errc::not_found, "the policy engine is not enabled");
  }
  if (path == "policy/evaluate") co_return co_await evaluate(ctx, ex, who);
  if (auto refused = require_basic(who)) co_return std::move(*refused);
  auto actor = actor_of(who);
  if (path == "policy") co_return co_await current(ctx, ex, actor);
  if (path == "policy/versions") co_return co_await versions(ctx, ex, actor);
  if (path == "policy/dry-run") co_return co_await dry_run(ctx, ex, actor);
  if (path == "policy/bases") co_return co_await bases(ctx, ex, actor);
  if (path == "policy/verdicts") co_return co_await verdicts(ctx, ex, actor, query);
  if (path.starts_with("policy/bases/")) {
    auto name = path.substr(13);
    if (!name.empty() && name.find('/') == std::string_view::npos) {
      co_return co_await base(ctx, ex, actor, name);
    }
  }
  co_return error(Errc::not_found, "no such endpoint");
}

}  // namespace portcullis::api
