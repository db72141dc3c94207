// `portcullis` command line: thin wrappers over the libraries.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "base/log.h"
#include "cli/admin_commands.h"
#include "cli/key_commands.h"
#include "cli/maintenance_commands.h"
#include "cli/policy_commands.h"
#include "cli/scan_commands.h"
#include "cli/sign_commands.h"
#include "config/config.h"
#include "server/server.h"

#ifndef PORTCULLIS_VERSION
#define PORTCULLIS_VERSION "dev"
#endif

int main(int argc, char** argv) {
  using namespace portcullis;
  CLI::App app{"Portcullis: a private, secure OCI container registry"};
  app.require_subcommand(1);

  std::string config_file, listen, data_dir;
  auto* serve = app.add_subcommand("serve", "Run the registry server");
  serve->add_option("--config", config_file, "YAML configuration file (see docs/configuration.md)")
      ->check(CLI::ExistingFile);
  serve->add_option("--listen", listen, "host:port to listen on (default 127.0.0.1:5000)");
  serve->add_option("--data", data_dir, "Data directory (default ./data)");
  bool insecure_http = false, insecure_anonymous = false;
  serve->add_flag("--insecure-anonymous", insecure_anonymous,
                  "Serve a non-loopback address to anonymous clients (http.insecure_allow_anonymous)");
  serve->add_flag("--insecure-http", insecure_http,
                  "Allow plain HTTP on a non-loopback address (http.insecure_allow_plain_http)");

  auto* check = app.add_subcommand("config", "Validate a configuration and print the effective values");
  check->add_option("--config", config_file, "YAML configuration file")->check(CLI::ExistingFile);

  auto* keys = app.add_subcommand("config-keys", "List every configuration key and its environment variable");
  auto* version = app.add_subcommand("version", "Print the version");

  std::string db_path = "./data/advisories.db", source_name, target;
  cli::ScanFlags scan_flags;
  std::vector<std::string> files;
  auto* db = app.add_subcommand("db", "Manage the offline advisory database");
  db->require_subcommand(1);
  auto* db_import = db->add_subcommand("import", "Import advisory files (OSV JSON/JSONL[.gz], Debian tracker JSON, Alpine secdb JSON/YAML)");
  db_import->add_option("files", files, "Files to import")->required()->check(CLI::ExistingFile);
  db_import->add_option("--db", db_path, "Advisory database file (default ./data/advisories.db)");
  db_import->add_option("--name", source_name, "Source name (default: the file name; one file only)");
  auto* db_status = db->add_subcommand("status", "Show each imported source: name, date, record count");
  db_status->add_option("--db", db_path, "Advisory database file (default ./data/advisories.db)");

  auto* scan = app.add_subcommand("scan", "Scan an image for vulnerabilities: an OCI image layout or a remote registry");
  scan->add_option("target", target,
                   "OCI image layout DIR or DIR:REF, or a remote image REGISTRY/REPO[:TAG][@DIGEST]")
      ->required();
  scan->add_option("--db", db_path, "Advisory database file (default ./data/advisories.db)");
  scan->add_option("--format", scan_flags.format, "table, json, sarif or cyclonedx")
      ->check(CLI::IsMember({"table", "json", "sarif", "cyclonedx"}));
  scan->add_option("--platform", scan_flags.platform, "Platform to pick from an index (default linux/amd64)");
  scan->add_option("--fail-on", scan_flags.fail_on, "Exit 1 when a finding is at least this severe (low, medium, high, critical)")
      ->check(CLI::IsMember({"negligible", "low", "medium", "high", "critical"}));
  scan->add_flag("--plain-http", scan_flags.plain_http, "Remote registry over plain HTTP (default for loopback hosts)");
  scan->add_flag("--insecure-tls", scan_flags.insecure_tls, "Do not verify the remote registry's TLS certificate");
  scan->add_option("--creds", scan_flags.creds, "USER:PASSWORD for the remote registry (default anonymous)");

  std::string key_prefix;
  bool key_force = false;
  auto* key = app.add_subcommand("key", "Signing keys (cosign-compatible)");
  key->require_subcommand(1);
  auto* key_gen = key->add_subcommand(
      "generate", "Write PREFIX.key (encrypted ECDSA P-256, as cosign) and PREFIX.pub; password "
                  "from $PORTCULLIS_PASSWORD / $COSIGN_PASSWORD or the terminal");
  key_gen->add_option("prefix,--output-key-prefix", key_prefix, "File name prefix (default cosign)");
  key_gen->add_flag("--force", key_force, "Overwrite existing files");

  cli::SignFlags sign_flags;
  auto* sign = cli::add_sign_command(app, sign_flags);
  cli::VerifyFlags verify_flags;
  auto* verify = cli::add_verify_command(app, verify_flags);

  cli::FsckFlags fsck_flags;
  auto* fsck = app.add_subcommand(
      "fsck", "Check that every referenced blob exists and every stored blob matches its digest; "
              "report (and with --repair remove) orphans. Exit 1 on missing or corrupt content");
  fsck->add_option("--config", fsck_flags.config_file, "YAML configuration file")->check(CLI::ExistingFile);
  fsck->add_option("--data", fsck_flags.data_dir, "Data directory (default ./data)");
  fsck->add_flag("--repair", fsck_flags.repair, "Remove orphan blobs (older than the grace period)");
  fsck->add_flag("--no-verify", fsck_flags.no_verify, "Do not re-hash stored blobs (existence only)");
  fsck->add_option("--orphan-grace-seconds", fsck_flags.orphan_grace_seconds,
                   "Unreferenced blobs younger than this are not orphans (default 3600)")
      ->check(CLI::Range(0, 365 * 86400));

  cli::GcFlags gc_flags;
  auto* gc = app.add_subcommand(
      "gc", "Online garbage collection: delete blobs no manifest references and (gc.untagged: "
            "delete) old untagged manifests with their signatures and SBOMs. Safe while the "
            "server runs");
  gc->add_option("--config", gc_flags.config_file, "YAML configuration file")->check(CLI::ExistingFile);
  gc->add_option("--data", gc_flags.data_dir, "Data directory (default ./data)");
  gc->add_flag("--dry-run", gc_flags.dry_run,
               "Only list what would be deleted (manifests freed by deleting others show on the next run)");
  gc->add_option("--grace-seconds", gc_flags.grace_seconds,
                 "Override gc.grace_minutes: content touched more recently is kept")
      ->check(CLI::Range(0, 365 * 86400));
  gc->add_option("--mark-delay-seconds", gc_flags.mark_delay_seconds,
                 "Override gc.mark_delay_seconds")
      ->check(CLI::Range(0, 3600));
  gc->add_flag("--quiet", gc_flags.quiet, "Print the summary line only");

  // user, robot, namespace, member, tag-rule, trust, audit
  cli::AdminCommands admin_commands(app);
  cli::PolicyCommands policy_commands(app);

  CLI11_PARSE(app, argc, argv);

  if (*version) {
    std::printf("portcullis %s\n", PORTCULLIS_VERSION);
    return 0;
  }
  if (auto rc = admin_commands.run()) return *rc;
  if (auto rc = policy_commands.run()) return *rc;
  if (*key_gen) return cli::key_generate(key_prefix.empty() ? "cosign" : key_prefix, key_force);
  if (*sign) return cli::sign(sign_flags);
  if (*fsck) return cli::fsck(fsck_flags);
  if (*gc) return cli::gc(gc_flags);
  if (*verify) return cli::verify(verify_flags);
  try {
    if (*db_import) return cli::db_import(db_path, files, source_name);
    if (*db_status) return cli::db_status(db_path);
    if (*scan) return cli::scan(db_path, target, scan_flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portcullis: %s\n", e.what());
    return 2;
  }
  if (*keys) {
    for (const auto& k : config::keys()) std::printf("%-30s %-40s %s\n", k.path.c_str(), k.env.c_str(), k.help.c_str());
    return 0;
  }
  config::Config cfg;
  try {
    if (!config_file.empty()) config::apply_file(cfg, config_file);
    config::apply_env(cfg);
    if (!listen.empty()) cfg.listen = listen;
    if (!data_dir.empty()) cfg.data_dir = data_dir;
    if (insecure_http) cfg.insecure_allow_plain_http = true;
    if (insecure_anonymous) cfg.insecure_allow_anonymous = true;
    config::validate(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portcullis: configuration error: %s\n", e.what());
    return 2;
  }
  if (*check) {
    std::printf("listen: %s\ndata_dir: %s\nmetadata.sqlite.path: %s\nlog.level: %s\n", cfg.listen.c_str(),
                cfg.data_dir.c_str(), cfg.effective_sqlite_path().c_str(), cfg.log_level.c_str());
    std::printf("storage.driver: %s\n", cfg.storage_driver.c_str());
    if (cfg.storage_driver == "s3") {  // never the secret key
      std::printf("storage.s3.endpoint: %s\nstorage.s3.bucket: %s\nstorage.s3.prefix: %s\n",
                  cfg.s3_endpoint.c_str(), cfg.s3_bucket.c_str(), cfg.s3_prefix.c_str());
    }
    return 0;
  }
  log::init({cfg.log_level, cfg.access_log});
  int rc = server::serve(cfg);
  spdlog::shutdown();
  return rc;
}
