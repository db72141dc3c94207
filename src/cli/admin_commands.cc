#include "cli/admin_commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "auth/access_service.h"
#include "auth/admin.h"
#include "trust/keys.h"
#include "base/clock.h"
#include "base/log.h"
#include "cli/load_config.h"
#include "cli/prompt.h"
#include "config/config.h"
#include "server/server.h"

namespace portcullis::cli {

namespace {

// What a command works with: the store, the access service over it, and Admin
// acting as the local operator.
struct Session {
  std::unique_ptr<metadata::MetadataStore> store;
  SystemClock clock;
  std::unique_ptr<auth::AccessService> access;
  std::unique_ptr<auth::Admin> admin;
  auth::Actor actor = auth::Actor::local_operator();
};

// Every flag and argument of every admin command (one command runs per process).
struct Args {
  std::string config_file, data_dir;
  std::string name, ns, user, role, pattern, flag_value, output;
  std::string actor, action, repository;
  std::vector<std::string> permissions;
  std::string owner, public_key_file, mode = "enforce";
  std::vector<std::string> repositories, key_ids;
  int threshold = 1;
  int expires_days = 0;
  bool system_admin = false;
  bool anonymous_pull = false;
  std::size_t n = 20;
};

using Command = int (*)(Session&, const Args&);

constexpr std::size_t kPage = 1000;

int fail(const Error& e) {
  std::fprintf(stderr, "portcullis: %s\n", e.message.c_str());
  return 1;
}

int done(const Result<void>& r, const std::string& what) {
  if (!r) return fail(r.error());
  std::printf("%s\n", what.c_str());
  return 0;
}

std::string iso(int64_t unix_seconds) {
  return fmt::format("{:%FT%TZ}", fmt::gmtime(static_cast<std::time_t>(unix_seconds)));
}

// $PORTCULLIS_PASSWORD, else one line from stdin (asked twice on a terminal).
Result<std::string> read_password(const std::string& user) {
  if (const char* env = std::getenv("PORTCULLIS_PASSWORD"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  bool tty = stdin_is_terminal();
  auto first = read_secret_line(fmt::format("Password for {}: ", user));
  if (!first) {
    return make_error(Errc::denied, "no password: set PORTCULLIS_PASSWORD or give it on stdin");
  }
  if (tty) {
    auto again = read_secret_line("Repeat it: ");
    if (!again || *again != *first) return make_error(Errc::denied, "the passwords do not match");
  }
  return std::move(*first);
}

// "team-a/*:pull,push" → {team-a/*, pull|push}. Admin validates the rest.
Result<std::vector<auth::RobotPermission>> parse_permissions(
    const std::vector<std::string>& specs) {
  std::vector<auth::RobotPermission> out;
  for (const auto& spec : specs) {
    auto colon = spec.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
      return make_error(Errc::name_invalid,
                        fmt::format("--permission '{}': expected PATTERN:ACTION[,ACTION…], e.g. "
                                    "'team-a/*:pull,push'",
                                    spec));
    }
    auth::RobotPermission p;
    p.repository_pattern = spec.substr(0, colon);
    std::string_view actions = std::string_view(spec).substr(colon + 1);
    while (!actions.empty()) {
      auto comma = actions.find(',');
      auto name = actions.substr(0, comma);
      auto action = auth::parse_action(name);
      if (!action || *action == auth::Action::any) {
        return make_error(Errc::denied, fmt::format("--permission '{}': unknown action '{}' "
                                                    "(allowed: pull, push, delete)",
                                                    spec, name));
      }
      p.actions.add(*action);
      actions = comma == std::string_view::npos ? std::string_view() : actions.substr(comma + 1);
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string permissions_text(const std::string& stored) {
  auto perms = auth::decode_robot_permissions(stored);
  if (!perms) return stored;
  std::string out;
  for (const auto& p : *perms) {
    if (!out.empty()) out += ' ';
    out += p.repository_pattern + ':' + p.actions.str();
  }
  return out;
}

// --- user ------------------------------------------------------------------

int user_add(Session& s, const Args& a) {
  auto password = read_password(a.name);
  if (!password) return fail(password.error());
  return done(
      s.admin->create_user(s.actor, a.name, *password, a.system_admin),
      fmt::format("created user {}{}", a.name, a.system_admin ? " (system administrator)" : ""));
}

int user_list(Session& s, const Args&) {
  auto users = s.admin->list_users(s.actor);
  if (!users) return fail(users.error());
  std::printf("%-32s %-6s %s\n", "NAME", "ADMIN", "CREATED");
  for (const auto& u : *users) {
    std::printf("%-32s %-6s %s\n", u.name.c_str(), u.system_admin ? "yes" : "no",
                iso(u.created_at).c_str());
  }
  return 0;
}

int user_delete(Session& s, const Args& a) {
  return done(s.admin->delete_user(s.actor, a.name), "deleted user " + a.name);
}

int user_passwd(Session& s, const Args& a) {
  auto password = read_password(a.name);
  if (!password) return fail(password.error());
  return done(s.admin->set_password(s.actor, a.name, *password),
              "changed the password of " + a.name);
}

int user_set_admin(Session& s, const Args& a) {
  bool value = a.flag_value == "true";
  return done(s.admin->set_system_admin(s.actor, a.name, value),
              fmt::format("{} is {}a system administrator", a.name, value ? "" : "no longer "));
}

// --- robot -----------------------------------------------------------------

int robot_add(Session& s, const Args& a) {
  auto perms = parse_permissions(a.permissions);
  if (!perms) return fail(perms.error());
  std::string_view name = a.name;
  if (name.starts_with(auth::kRobotPrefix)) name.remove_prefix(auth::kRobotPrefix.size());
  int64_t expires_at =
      a.expires_days > 0 ? s.clock.unix_seconds() + int64_t{a.expires_days} * 86400 : 0;
  auto created = s.admin->create_robot(
      s.actor, auth::NewRobot{std::string(name), std::move(*perms), expires_at});
  if (!created) return fail(created.error());
  std::printf("login:  %s\nsecret: %s\n", created->login.c_str(), created->secret.c_str());
  std::fprintf(stderr, "The secret is shown only now; store it in your CI's secret store.%s\n",
               expires_at ? fmt::format(" It expires {}.", iso(expires_at)).c_str() : "");
  return 0;
}

int robot_list(Session& s, const Args&) {
  auto robots = s.admin->list_robots(s.actor);
  if (!robots) return fail(robots.error());
  std::printf("%-40s %-20s %-16s %-20s %s\n", "NAME", "EXPIRES", "CREATED BY", "CREATED",
              "PERMISSIONS");
  for (const auto& r : *robots) {
    std::string login = std::string(auth::kRobotPrefix) + r.name;
    std::printf("%-40s %-20s %-16s %-20s %s\n", login.c_str(),
                r.expires_at ? iso(r.expires_at).c_str() : "never", r.created_by.c_str(),
                iso(r.created_at).c_str(), permissions_text(r.permissions_json).c_str());
  }
  return 0;
}

int robot_delete(Session& s, const Args& a) {
  return done(s.admin->delete_robot(s.actor, a.name), "deleted robot " + a.name);
}

// --- namespace -------------------------------------------------------------

int namespace_set(Session& s, const Args& a) {
  return done(
      s.admin->put_namespace(s.actor, a.ns, a.anonymous_pull),
      fmt::format("namespace {} (anonymous pull {})", a.ns, a.anonymous_pull ? "on" : "off"));
}

int namespace_list(Session& s, const Args&) {
  auto all = s.admin->list_namespaces(s.actor);
  if (!all) return fail(all.error());
  std::printf("%-48s %-15s %s\n", "NAME", "ANONYMOUS PULL", "CREATED");
  for (const auto& n : *all) {
    std::printf("%-48s %-15s %s\n", n.name.c_str(), n.anonymous_pull ? "yes" : "no",
                iso(n.created_at).c_str());
  }
  return 0;
}

int namespace_delete(Session& s, const Args& a) {
  return done(s.admin->delete_namespace(s.actor, a.ns), "deleted namespace " + a.ns);
}

// --- member ----------------------------------------------------------------

int member_set(Session& s, const Args& a) {
  return done(s.admin->set_member(s.actor, a.ns, a.user, a.role),
              fmt::format("{} is {} of {}", a.user, a.role, a.ns));
}

int member_remove(Session& s, const Args& a) {
  return done(s.admin->remove_member(s.actor, a.ns, a.user),
              fmt::format("removed {} from {}", a.user, a.ns));
}

int member_list(Session& s, const Args& a) {
  auto members = s.admin->list_members(s.actor, a.ns);
  if (!members) return fail(members.error());
  std::printf("%-32s %s\n", "USER", "ROLE");
  for (const auto& m : *members) std::printf("%-32s %s\n", m.user.c_str(), m.role.c_str());
  return 0;
}

// --- tag-rule --------------------------------------------------------------

int tag_rule_add(Session& s, const Args& a) {
  return done(
      s.admin->create_tag_rule(s.actor, a.ns, a.name, a.pattern),
      fmt::format("tags matching {} in {} are now immutable (rule {})", a.pattern, a.ns, a.name));
}

int tag_rule_list(Session& s, const Args& a) {
  auto rules = s.admin->list_tag_rules(s.actor, a.ns);
  if (!rules) return fail(rules.error());
  std::printf("%-40s %-32s %s\n", "NAMESPACE", "NAME", "PATTERN");
  for (const auto& r : *rules) {
    std::printf("%-40s %-32s %s\n", r.namespace_name.c_str(), r.name.c_str(), r.pattern.c_str());
  }
  return 0;
}

int tag_rule_delete(Session& s, const Args& a) {
  return done(s.admin->delete_tag_rule(s.actor, a.ns, a.name),
              fmt::format("deleted tag rule {} of {}", a.name, a.ns));
}

// --- trust (signature keys and policies) --------------------------------------

int trust_key_add(Session& s, const Args& a) {
  std::FILE* f = std::fopen(a.public_key_file.c_str(), "rb");
  if (!f) return fail(make_error(Errc::invalid_request, "cannot read " + a.public_key_file));
  std::string pem;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && pem.size() < 64 * 1024) pem.append(buf, n);
  std::fclose(f);
  int64_t expires = a.expires_days > 0 ? s.clock.unix_seconds() + int64_t{a.expires_days} * 86400 : 0;
  auto r = s.admin->add_trusted_key(s.actor, a.name, a.owner, pem, a.repositories, expires);
  if (!r) return fail(r.error());
  auto key = trust::PublicKey::from_pem(r->public_key_pem);
  std::printf("trusted key %s (%s) added for %s\n", r->id.c_str(),
              key ? key->fingerprint().c_str() : "?", r->repositories_json.c_str());
  return 0;
}

int trust_key_list(Session& s, const Args&) {
  auto keys = s.admin->list_trusted_keys(s.actor);
  if (!keys) return fail(keys.error());
  std::printf("%-24s %-12s %-24s %-22s %s\n", "ID", "ALGORITHM", "OWNER", "EXPIRES", "REPOSITORIES");
  for (const auto& k : *keys) {
    auto key = trust::PublicKey::from_pem(k.public_key_pem);
    std::printf("%-24s %-12s %-24s %-22s %s\n", k.id.c_str(),
                key ? std::string(trust::algorithm_name(key->algorithm())).c_str() : "invalid",
                k.owner.c_str(), k.expires_at ? iso(k.expires_at).c_str() : "never",
                k.repositories_json.c_str());
  }
  return 0;
}

int trust_key_delete(Session& s, const Args& a) {
  return done(s.admin->delete_trusted_key(s.actor, a.name), "deleted trusted key " + a.name);
}

int trust_policy_set(Session& s, const Args& a) {
  return done(s.admin->put_trust_policy(s.actor, a.name, a.repositories, a.key_ids, a.threshold, a.mode),
              fmt::format("trust policy {}: {} signature(s) required ({})", a.name, a.threshold, a.mode));
}

int trust_policy_list(Session& s, const Args&) {
  auto policies = s.admin->list_trust_policies(s.actor);
  if (!policies) return fail(policies.error());
  std::printf("%-24s %-8s %-9s %-32s %s\n", "NAME", "MODE", "THRESHOLD", "REPOSITORIES", "KEYS");
  for (const auto& p : *policies) {
    std::printf("%-24s %-8s %-9lld %-32s %s\n", p.name.c_str(), p.mode.c_str(),
                static_cast<long long>(p.threshold), p.repositories_json.c_str(), p.key_ids_json.c_str());
  }
  return 0;
}

int trust_policy_delete(Session& s, const Args& a) {
  return done(s.admin->delete_trust_policy(s.actor, a.name), "deleted trust policy " + a.name);
}

// --- audit -----------------------------------------------------------------

// Stored rows, oldest first, page by page; false from `each` stops.
template <class F>
Result<void> each_row(metadata::AuditLog& log, F each) {
  for (uint64_t after = 0;;) {
    auto rows = log.audit_rows(after, kPage);
    if (!rows) return rows.error();
    for (const auto& e : *rows) each(e);
    if (rows->size() < kPage) return {};
    after = rows->back().seq;
  }
}

int audit_verify(Session& s, const Args&) {
  auto report = s.admin->verify_audit(s.actor);
  if (!report) return fail(report.error());
  if (!report->ok()) {
    std::printf("audit log verification FAILED (%s): %s\n",
                std::string(audit::tamper_name(report->problem)).c_str(), report->message.c_str());
    return 1;
  }
  std::size_t count = 0;
  if (auto r = each_row(*s.store, [&](const audit::ChainedEvent&) { ++count; }); !r)
    return fail(r.error());
  std::printf("audit log OK: %zu events\n", count);
  return 0;
}

int audit_export(Session& s, const Args& a) {
  std::FILE* out = stdout;
  if (!a.output.empty()) {
    out = std::fopen(a.output.c_str(), "wb");
    if (out == nullptr) {
      std::fprintf(stderr, "portcullis: cannot write %s\n", a.output.c_str());
      return 1;
    }
  }
  std::size_t count = 0;
  auto r = each_row(*s.store, [&](const audit::ChainedEvent& e) {
    std::string line = boost::json::serialize(audit::to_json(e));
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out);
    ++count;
  });
  bool write_ok = std::fflush(out) == 0 && !std::ferror(out);
  if (out != stdout) write_ok = std::fclose(out) == 0 && write_ok;
  if (!r) return fail(r.error());
  if (!write_ok) {
    std::fprintf(stderr, "portcullis: writing %s failed\n",
                 a.output.empty() ? "stdout" : a.output.c_str());
    return 1;
  }
  if (!a.output.empty())
    std::fprintf(stderr, "exported %zu events to %s\n", count, a.output.c_str());
  return 0;
}

// The newest `n` matching events, oldest first.
int audit_list(Session& s, const Args& a) {
  metadata::AuditFilter f;
  f.actor = a.actor;
  f.action = a.action;
  f.repository = a.repository;
  f.limit = kPage;
  std::deque<audit::ChainedEvent> last;
  for (;;) {
    auto page = s.admin->list_audit(s.actor, f);
    if (!page) return fail(page.error());
    for (auto& e : *page) {
      last.push_back(std::move(e));
      if (last.size() > a.n) last.pop_front();
    }
    if (page->size() < kPage) break;
    f.after_seq = last.back().seq;
  }
  for (const auto& c : last) {
    const auto& e = c.event;
    std::string where = e.repository;
    if (!e.reference.empty()) where += (where.empty() ? "" : " ") + e.reference;
    if (!e.digest.empty()) where += (where.empty() ? "" : "@") + e.digest;
    auto json = audit::to_json(c);
    std::string line =
        fmt::format("{:>7} {} {}@{} {} {} {}", c.seq, std::string_view(json["time"].as_string()),
                    e.actor.empty() ? "-" : e.actor, e.source_address, e.action,
                    where.empty() ? "-" : where, e.result);
    if (!e.detail.empty()) line += " (" + e.detail + ")";
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace

struct AdminCommands::State {
  Args args;
  Command command = nullptr;  // set by the chosen subcommand's callback
};

AdminCommands::AdminCommands(CLI::App& app) : state_(std::make_unique<State>()) {
  Args& a = state_->args;
  State* state = state_.get();
  auto leaf = [&](CLI::App* group, const std::string& name, const std::string& help,
                  Command command) {
    auto* sub = group->add_subcommand(name, help);
    sub->add_option("--config", a.config_file, "YAML configuration file (loaded as for serve)")
        ->check(CLI::ExistingFile);
    sub->add_option("--data", a.data_dir, "Data directory (default ./data)");
    sub->callback([state, command] { state->command = command; });
    return sub;
  };
  auto group = [&](const std::string& name, const std::string& help) {
    auto* g = app.add_subcommand(name, help + " (on the metadata database, as the local operator)");
    g->require_subcommand(1);
    return g;
  };

  auto* user = group("user", "Manage users");
  auto* user_add_cmd =
      leaf(user, "add", "Create a user (password from $PORTCULLIS_PASSWORD or stdin)", user_add);
  user_add_cmd->add_option("name", a.name, "User name")->required();
  user_add_cmd->add_flag("--admin", a.system_admin, "Make the user a system administrator");
  leaf(user, "list", "List users", user_list);
  leaf(user, "delete", "Delete a user and their role bindings", user_delete)
      ->add_option("name", a.name, "User name")
      ->required();
  leaf(user, "passwd", "Set a user's password ($PORTCULLIS_PASSWORD or stdin)", user_passwd)
      ->add_option("name", a.name, "User name")
      ->required();
  auto* set_admin =
      leaf(user, "set-admin", "Grant or revoke system administration", user_set_admin);
  set_admin->add_option("name", a.name, "User name")->required();
  set_admin->add_option("value", a.flag_value, "true or false")
      ->required()
      ->check(CLI::IsMember({"true", "false"}));

  auto* robot = group("robot", "Manage robot accounts");
  auto* robot_add_cmd =
      leaf(robot, "add", "Create a robot account; prints its login and secret once", robot_add);
  robot_add_cmd->add_option("name", a.name, "Robot name (without the robot$ prefix)")->required();
  robot_add_cmd
      ->add_option(
          "--permission", a.permissions,
          "PATTERN:ACTIONS, e.g. 'team-a/*:pull,push' (repeatable; actions pull, push, delete)")
      ->required();
  robot_add_cmd->add_option("--expires-days", a.expires_days, "Expire after N days (default never)")
      ->check(CLI::Range(1, 36500));
  leaf(robot, "list", "List robot accounts", robot_list);
  leaf(robot, "delete", "Delete a robot account", robot_delete)
      ->add_option("name", a.name, "Robot name (robot$ prefix optional)")
      ->required();

  auto* ns = group("namespace", "Manage namespaces");
  auto* ns_set = leaf(ns, "set", "Create or update a namespace", namespace_set);
  ns_set->add_option("name", a.ns, "Namespace (repository-name prefix, e.g. team-a)")->required();
  ns_set->add_flag("--anonymous-pull", a.anonymous_pull,
                   "Let anyone pull its repositories (default off)");
  leaf(ns, "list", "List namespaces", namespace_list);
  leaf(ns, "delete", "Delete a namespace with its role bindings and tag rules", namespace_delete)
      ->add_option("name", a.ns, "Namespace")
      ->required();

  auto* member = group("member", "Manage namespace members (role bindings)");
  auto* m_set = leaf(member, "set", "Give a user a role in a namespace", member_set);
  m_set->add_option("namespace", a.ns, "Namespace")->required();
  m_set->add_option("user", a.user, "User name")->required();
  m_set->add_option("role", a.role, "reader, developer, maintainer or admin")
      ->required()
      ->check(CLI::IsMember({"reader", "developer", "maintainer", "admin"}));
  auto* m_remove = leaf(member, "remove", "Remove a user from a namespace", member_remove);
  m_remove->add_option("namespace", a.ns, "Namespace")->required();
  m_remove->add_option("user", a.user, "User name")->required();
  leaf(member, "list", "List a namespace's members", member_list)
      ->add_option("namespace", a.ns, "Namespace")
      ->required();

  auto* rule = group("tag-rule", "Manage immutable tag rules");
  auto* r_add =
      leaf(rule, "add", "Make tags matching PATTERN in a namespace immutable", tag_rule_add);
  r_add->add_option("namespace", a.ns, "Namespace")->required();
  r_add->add_option("name", a.name, "Rule name")->required();
  r_add->add_option("pattern", a.pattern, "Tag glob, e.g. 'v*' or 'release-*'")->required();
  leaf(rule, "list", "List tag rules (of one namespace, or all)", tag_rule_list)
      ->add_option("namespace", a.ns, "Namespace (default all)");
  auto* r_delete = leaf(rule, "delete", "Delete a tag rule", tag_rule_delete);
  r_delete->add_option("namespace", a.ns, "Namespace")->required();
  r_delete->add_option("name", a.name, "Rule name")->required();

  auto* trust_group = group("trust", "Manage signature trust: trusted keys and trust policies");
  trust_group->require_subcommand(1);
  auto* tkey = trust_group->add_subcommand("key", "Trusted public keys");
  tkey->require_subcommand(1);
  auto* tk_add = leaf(tkey, "add", "Trust a public key (PEM) for repositories", trust_key_add);
  tk_add->add_option("id", a.name, "Key id")->required();
  tk_add->add_option("--public-key", a.public_key_file, "PEM public key file (cosign.pub)")
      ->required()
      ->check(CLI::ExistingFile);
  tk_add->add_option("--owner", a.owner, "Who holds the private key");
  tk_add->add_option("--repository", a.repositories,
                     "Repository glob the key may vouch for (repeatable), e.g. 'team-a/*'")
      ->required();
  tk_add->add_option("--expires-days", a.expires_days, "Stop trusting it after N days")
      ->check(CLI::Range(1, 36500));
  leaf(tkey, "list", "List trusted keys", trust_key_list);
  leaf(tkey, "delete", "Stop trusting a key (refused while a policy names it)", trust_key_delete)
      ->add_option("id", a.name, "Key id")
      ->required();
  auto* tpol = trust_group->add_subcommand("policy", "Signature requirements per repository");
  tpol->require_subcommand(1);
  auto* tp_set = leaf(tpol, "set", "Create or replace a trust policy", trust_policy_set);
  tp_set->add_option("name", a.name, "Policy name")->required();
  tp_set->add_option("--repository", a.repositories, "Repository glob (repeatable)")->required();
  tp_set->add_option("--key", a.key_ids, "Key id that counts (repeatable; default every trusted key)");
  tp_set->add_option("--threshold", a.threshold, "Distinct valid signatures required (default 1)")
      ->check(CLI::Range(1, 64));
  tp_set->add_option("--mode", a.mode, "enforce (default), warn or off")
      ->check(CLI::IsMember({"enforce", "warn", "off"}));
  leaf(tpol, "list", "List trust policies in evaluation order", trust_policy_list);
  leaf(tpol, "delete", "Delete a trust policy", trust_policy_delete)
      ->add_option("name", a.name, "Policy name")
      ->required();

  auto* audit = group("audit", "Inspect the audit log");
  leaf(audit, "verify", "Verify the hash chain; exit 1 naming the first broken event",
       audit_verify);
  leaf(audit, "export", "Write every event as JSON lines", audit_export)
      ->add_option("--output,-o", a.output, "File to write (default stdout)");
  auto* list = leaf(audit, "list", "Show the newest events", audit_list);
  list->add_option("--actor", a.actor, "Only this actor");
  list->add_option("--action", a.action,
                   "Only this action (push, pull, delete, login, user.create, …)");
  list->add_option("--repository", a.repository, "Only this repository (or namespace)");
  list->add_option("-n", a.n, "How many (default 20)")->check(CLI::Range(1, 100000));
}

AdminCommands::~AdminCommands() = default;

std::optional<int> AdminCommands::run() {
  if (state_->command == nullptr) return std::nullopt;
  const Args& a = state_->args;
  auto loaded = load_config(a.config_file, a.data_dir);
  if (!loaded) return 2;
  const config::Config& cfg = *loaded;
  log::init({"warn", false});
  int rc = 0;
  {
    Session s;
    try {
      s.store = server::open_metadata(cfg);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "portcullis: cannot open the metadata database: %s\n", e.what());
      spdlog::shutdown();
      return 2;
    }
    s.access = std::make_unique<auth::AccessService>(*s.store, s.clock);
    s.admin = std::make_unique<auth::Admin>(*s.access);
    try {
      rc = state_->command(s, a);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "portcullis: %s\n", e.what());
      rc = 2;
    }
  }
  spdlog::shutdown();
  return rc;
}

}  // namespace portcullis::cli
