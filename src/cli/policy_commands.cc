#include "cli/policy_commands.h"

#include <cstdio>
#include <cstdlib>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <boost/json.hpp>

#include "auth/access_service.h"
#include "auth/admin.h"
#include "base/clock.h"
#include "cli/load_config.h"
#include "net/http_client.h"
#include "oci/names.h"
#include "policy/loader.h"
#include "policy/stored.h"
#include "server/policy_directory.h"
#include "server/server.h"
#include "trust/encoding.h"

namespace portcullis::cli {

namespace {

namespace json = boost::json;

int fail(const std::string& message, int code = 2) {
  std::fprintf(stderr, "portcullis policy: %s\n", message.c_str());
  return code;
}

// Local database access as the operator (as `portcullis trust …`).
struct Local {
  std::unique_ptr<metadata::MetadataStore> store;
  SystemClock clock;
  std::unique_ptr<auth::AccessService> access;
  std::unique_ptr<auth::Admin> admin;
  auth::Actor actor = auth::Actor::local_operator();
};

std::optional<Local> open_local(const PolicyCommands::Flags& f) {
  auto cfg = load_config(f.config_file, f.data_dir);
  if (!cfg) return std::nullopt;
  Local l;
  l.store = server::open_metadata(*cfg);
  l.access = std::make_unique<auth::AccessService>(*l.store, l.clock);
  l.admin = std::make_unique<auth::Admin>(*l.access);
  return l;
}

std::string when(int64_t t) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::gmtime(static_cast<std::time_t>(t)));
}

int validate(const PolicyCommands::Flags& f) {
  auto files = server::read_policy_directory(f.dir);
  if (!files) return fail(files.error().message);
  auto loaded = policy::load_policy(*files);
  if (!loaded.policy) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
    return 1;
  }
  for (const auto& r : loaded.policy->rules) {
    std::printf("%s:%d: rule %s (%s)\n", r.file.c_str(), r.line, r.name.c_str(),
                std::string(policy::mode_name(r.mode)).c_str());
  }
  std::printf("%zu file(s), %zu rule(s): valid\n", files->size(), loaded.policy->rules.size());
  return 0;
}

int push(const PolicyCommands::Flags& f) {
  auto files = server::read_policy_directory(f.dir);
  if (!files) return fail(files.error().message);
  auto l = open_local(f);
  if (!l) return 2;
  auto v = l->admin->put_policy(l->actor, *files, f.comment);
  if (!v) {
    std::fprintf(stderr, "%s\n", v.error().message.c_str());
    return 1;
  }
  std::printf("policy version %lld is active (running registries pick it up within seconds)\n",
              static_cast<long long>(*v));
  return 0;
}

int versions(const PolicyCommands::Flags& f) {
  auto l = open_local(f);
  if (!l) return 2;
  auto list = l->admin->list_policy_versions(l->actor, 1000);
  if (!list) return fail(list.error().message);
  for (const auto& v : *list) {
    std::printf("%-6lld %s  %-12s %s\n", static_cast<long long>(v.version),
                when(v.created_at).c_str(), v.author.c_str(), v.comment.c_str());
  }
  return 0;
}

int show(const PolicyCommands::Flags& f) {
  auto l = open_local(f);
  if (!l) return 2;
  Result<std::optional<metadata::PolicyVersionRecord>> v =
      f.version > 0 ? l->admin->get_policy_version(l->actor, f.version)
                    : l->store->latest_policy_version();
  if (!v) return fail(v.error().message);
  if (!*v) return fail(f.version > 0 ? "no such policy version" : "no policy stored", 1);
  auto files = policy::decode_files((*v)->files_json);
  if (!files) return fail(files.error().message);
  std::printf("# version %lld by %s at %s: %s\n", static_cast<long long>((*v)->version),
              (*v)->author.c_str(), when((*v)->created_at).c_str(), (*v)->comment.c_str());
  for (const auto& file : *files) {
    std::printf("# --- %s\n%s", file.name.c_str(), file.content.c_str());
    if (!file.content.empty() && file.content.back() != '\n') std::printf("\n");
  }
  return 0;
}

int base_add(const PolicyCommands::Flags& f) {
  auto colon = f.reference.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      f.reference.find('/', colon) != std::string::npos) {
    return fail("the base is REPOSITORY:TAG in this registry, e.g. base/debian:12");
  }
  auto l = open_local(f);
  if (!l) return 2;
  auto r = l->admin->put_approved_base(l->actor, f.name, f.reference.substr(0, colon),
                                       f.reference.substr(colon + 1));
  if (!r) return fail(r.error().message, 1);
  std::printf("approved base %s = %s (its digests are recorded as the tag is pushed)\n",
              f.name.c_str(), f.reference.c_str());
  return 0;
}

int base_list(const PolicyCommands::Flags& f) {
  auto l = open_local(f);
  if (!l) return 2;
  auto bases = l->admin->list_approved_bases(l->actor);
  if (!bases) return fail(bases.error().message);
  auto history = l->store->list_base_digests();
  if (!history) return fail(history.error().message);
  for (const auto& b : *bases) {
    std::printf("%s  %s:%s\n", b.name.c_str(), b.repository.c_str(), b.tag.c_str());
    for (const auto& h : *history) {
      if (h.base == b.name)
        std::printf("    %s  approved %s\n", h.digest.c_str(), when(h.approved_at).c_str());
    }
  }
  return 0;
}

int base_delete(const PolicyCommands::Flags& f) {
  auto l = open_local(f);
  if (!l) return 2;
  auto r = l->admin->delete_approved_base(l->actor, f.name);
  if (!r) return fail(r.error().message, 1);
  std::printf("deleted approved base %s\n", f.name.c_str());
  return 0;
}

int verdicts(const PolicyCommands::Flags& f) {
  auto l = open_local(f);
  if (!l) return 2;
  std::string after_repo, after_digest;
  while (true) {
    auto page = l->store->list_policy_verdicts(f.repository, after_repo, after_digest, 1000);
    if (!page) return fail(page.error().message);
    for (const auto& v : *page) {
      std::printf("%s  %-11s %s@%s\n    %s\n    (%s)\n", when(v.evaluated_at).c_str(),
                  v.outcome.c_str(), v.repository.c_str(), v.digest.c_str(), v.summary.c_str(),
                  v.inputs.c_str());
    }
    if (page->size() < 1000) break;
    after_repo = page->back().repository;
    after_digest = page->back().digest;
  }
  return 0;
}

// --- over HTTP ---------------------------------------------------------------

bool loopback_host(const std::string& hostport) {
  std::string host = hostport;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (auto c = host.rfind(':'); c != std::string::npos) {
    host = host.substr(0, c);
  }
  return server::is_loopback(host);
}

Result<net::ClientResponse> call(const PolicyCommands::Flags& f, const std::string& server,
                                 const std::string& method, const std::string& path,
                                 const std::string& body) {
  std::string base = server;
  if (!base.starts_with("http://") && !base.starts_with("https://")) {
    base = (f.plain_http || loopback_host(server) ? "http://" : "https://") + server;
  }
  net::ClientOptions options;
  options.verify_tls = !f.insecure_tls;
  net::HttpClient client(options);
  net::ClientRequest req;
  req.method = method;
  req.url = base + path;
  req.body = body;
  req.headers.push_back({"Content-Type", "application/json"});
  std::string creds = f.creds;
  if (creds.empty()) {
    const char* user = std::getenv("PORTCULLIS_USERNAME");
    const char* pass = std::getenv("PORTCULLIS_PASSWORD");
    if (user && *user && pass) creds = std::string(user) + ":" + pass;
  }
  if (!creds.empty())
    req.headers.push_back({"Authorization", "Basic " + trust::detail::base64_encode(creds)});
  return client.send(req);
}

// The message of an OCI error body, or the body itself.
std::string error_text(const net::ClientResponse& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (auto* errs = v.as_object().if_contains("errors");
        errs && errs->is_array() && !errs->as_array().empty()) {
      const auto& e = errs->as_array()[0];
      if (e.is_object()) {
        if (auto* m = e.as_object().if_contains("message"); m && m->is_string()) {
          return std::string(m->as_string());
        }
      }
    }
  }
  return fmt::format("HTTP {}: {}", r.status, r.body.substr(0, 512));
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
bool flag(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

int check(const PolicyCommands::Flags& f) {
  auto ref = oci::parse_image_reference(f.reference);
  if (!ref) return fail(fmt::format("{}: {}", f.reference, ref.error().message));
  json::object body{{"repository", ref->repository},
                    {"reference", ref->digest ? ref->digest->str() : ref->tag}};
  auto r = call(f, f.server.empty() ? ref->registry : f.server, "POST", "/api/v1/policy/evaluate",
                json::serialize(body));
  if (!r) return fail(r.error().message);
  if (r->status != 200) return fail(error_text(*r));
  if (f.json) {
    std::printf("%s\n", r->body.c_str());
  } else {
    boost::system::error_code ec;
    auto v = json::parse(r->body, ec);
    if (ec || !v.is_object()) return fail("unexpected answer: " + r->body.substr(0, 200));
    const auto& o = v.as_object();
    std::string outcome =
        flag(o, "allowed") ? "ALLOWED" : (flag(o, "quarantined") ? "QUARANTINED" : "DENIED");
    std::printf("%s %s@%s\n", outcome.c_str(), ref->str().c_str(), str(o, "digest").c_str());
    if (auto* l = o.if_contains("lineage"); l && l->is_object()) {
      std::printf("  base: %s\n", str(l->as_object(), "message").c_str());
    }
    std::printf("  inputs: %s\n", str(o, "inputs").c_str());
    if (auto* rules = o.if_contains("rules"); rules && rules->is_array()) {
      if (rules->as_array().empty()) std::printf("  no policy rule applies to this repository\n");
      for (const auto& rv : rules->as_array()) {
        const auto& rule = rv.as_object();
        std::printf("  rule %s [%s]: %s\n", str(rule, "rule").c_str(), str(rule, "mode").c_str(),
                    flag(rule, "passed") ? "pass" : (flag(rule, "pending") ? "pending" : "FAIL"));
        if (auto* checks = rule.if_contains("checks"); checks && checks->is_array()) {
          for (const auto& cv : checks->as_array()) {
            const auto& c = cv.as_object();
            std::printf("    %-16s %-7s %s\n", str(c, "requirement").c_str(),
                        flag(c, "passed") ? "pass" : (flag(c, "pending") ? "pending" : "fail"),
                        str(c, "reason").c_str());
          }
        }
      }
    }
  }
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  return (!ec && v.is_object() && flag(v.as_object(), "allowed")) ? 0 : 1;
}

std::string default_server(const PolicyCommands::Flags& f) {
  if (!f.server.empty()) return f.server;
  auto cfg = load_config(f.config_file, f.data_dir);
  return cfg ? cfg->listen : std::string("127.0.0.1:5000");
}

int test(const PolicyCommands::Flags& f) {
  auto files = server::read_policy_directory(f.dir);
  if (!files) return fail(files.error().message);
  auto loaded = policy::load_policy(*files);
  if (!loaded.policy) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
    return 1;
  }
  json::object body{{"files", json::parse(policy::encode_files(*files))}};
  auto r = call(f, default_server(f), "POST", "/api/v1/policy/dry-run", json::serialize(body));
  if (!r) return fail(r.error().message);
  if (r->status != 200) return fail(error_text(*r));
  if (f.json) {
    std::printf("%s\n", r->body.c_str());
    return 0;
  }
  auto v = json::parse(r->body);
  const auto& o = v.as_object();
  const auto& changes = o.at("changes").as_array();
  std::size_t newly_denied = 0;
  for (const auto& cv : changes) {
    const auto& c = cv.as_object();
    std::string before = str(c, "before"), after = str(c, "after");
    if (before == "allowed" && after != "allowed") ++newly_denied;
    std::printf("%s:%s (%s)\n  %s -> %s: %s\n", str(c, "repository").c_str(), str(c, "tag").c_str(),
                str(c, "digest").c_str(), before.c_str(), after.c_str(),
                str(c, "reason").empty() ? "every rule passes" : str(c, "reason").c_str());
  }
  std::printf(
      "%lld image(s) evaluated against active version %lld and the candidate: %zu change(s), "
      "%zu newly refused; allowed %lld -> %lld\n",
      static_cast<long long>(o.at("images").to_number<int64_t>()),
      static_cast<long long>(o.at("active_version").to_number<int64_t>()), changes.size(),
      newly_denied, static_cast<long long>(o.at("allowed_before").to_number<int64_t>()),
      static_cast<long long>(o.at("allowed_after").to_number<int64_t>()));
  return 0;
}

}  // namespace

PolicyCommands::PolicyCommands(CLI::App& app) {
  auto* group = app.add_subcommand(
      "policy",
      "The registry policy: validate, push and dry-run policy files, approved base "
      "images, and the decision for an image (docs/policy.md)");
  group->require_subcommand(1);
  auto db = [&](CLI::App* c) {
    c->add_option("--config", f_.config_file, "YAML configuration file")->check(CLI::ExistingFile);
    c->add_option("--data", f_.data_dir, "Data directory (default ./data)");
  };
  auto http = [&](CLI::App* c) {
    c->add_option("--creds", f_.creds,
                  "USER:PASSWORD for the registry (default $PORTCULLIS_USERNAME / "
                  "$PORTCULLIS_PASSWORD, else anonymous)");
    c->add_flag("--plain-http", f_.plain_http, "Plain HTTP (default for loopback hosts)");
    c->add_flag("--insecure-tls", f_.insecure_tls, "Do not verify the registry's TLS certificate");
    c->add_flag("--json", f_.json, "Print the server's JSON answer");
  };
  validate_ = group->add_subcommand(
      "validate",
      "Check the policy files in DIR; every problem as file:line: field: message (exit 1)");
  validate_->add_option("dir", f_.dir, "Policy directory")->required();
  push_ = group->add_subcommand(
      "push",
      "Store the policy files in DIR as the next policy version (on the metadata "
      "database, as the local operator); an invalid set changes nothing");
  push_->add_option("dir", f_.dir, "Policy directory")->required();
  push_->add_option("--comment", f_.comment,
                    "Why this version (kept with it and in the audit log)");
  db(push_);
  versions_ = group->add_subcommand("versions", "List stored policy versions, newest first");
  db(versions_);
  show_ = group->add_subcommand("show", "Print a policy version's files (default the active one)");
  show_->add_option("version", f_.version, "Version number");
  db(show_);
  auto* base = group->add_subcommand("base", "Approved base images (baseImages requirements)");
  base->require_subcommand(1);
  base_add_ = base->add_subcommand(
      "add",
      "Approve REPOSITORY:TAG of this registry as base NAME (replaces NAME's tag; every "
      "digest the tag points at while approved stays approved)");
  base_add_->add_option("name", f_.name, "Base name, used in baseImages.allowed")->required();
  base_add_->add_option("reference", f_.reference, "REPOSITORY:TAG")->required();
  db(base_add_);
  base_list_ = base->add_subcommand("list", "Approved bases and their digest history");
  db(base_list_);
  base_delete_ = base->add_subcommand("delete", "Withdraw an approved base (and its history)");
  base_delete_->add_option("name", f_.name, "Base name")->required();
  db(base_delete_);
  verdicts_ = group->add_subcommand(
      "verdicts", "The newest pull decision stored per image, with its inputs' versions");
  verdicts_->add_option("--repository", f_.repository, "Only this repository");
  db(verdicts_);
  check_ = group->add_subcommand(
      "check",
      "Ask the registry for its decision on IMAGE-REF (HOST:PORT/REPO:TAG or "
      "@sha256:…): every rule's outcome and reason. Exit 0 allowed, 1 refused");
  check_->add_option("image", f_.reference, "Image reference")->required();
  check_->add_option("--server", f_.server, "Registry to ask (default the reference's host)");
  http(check_);
  test_ = group->add_subcommand(
      "test",
      "Dry-run the candidate policy in --policy DIR against every tagged image in the "
      "registry and list what would change (allowed -> denied) and why; changes nothing");
  test_->add_option("--policy", f_.dir, "Candidate policy directory")->required();
  test_->add_option("--server", f_.server,
                    "Registry HOST:PORT (default the configured listen address)");
  db(test_);
  http(test_);
}

std::optional<int> PolicyCommands::run() {
  try {
    if (*validate_) return validate(f_);
    if (*push_) return push(f_);
    if (*versions_) return versions(f_);
    if (*show_) return show(f_);
    if (*base_add_) return base_add(f_);
    if (*base_list_) return base_list(f_);
    if (*base_delete_) return base_delete(f_);
    if (*verdicts_) return verdicts(f_);
    if (*check_) return check(f_);
    if (*test_) return test(f_);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return std::nullopt;
}

}  // namespace portcullis::cli
