// `portcullis` command line: thin wrappers over the libraries.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "base/log.h"
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

  auto* check = app.add_subcommand("config", "Validate a configuration and print the effective values");
  check->add_option("--config", config_file, "YAML configuration file")->check(CLI::ExistingFile);

  auto* keys = app.add_subcommand("config-keys", "List every configuration key and its environment variable");
  auto* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);

  if (*version) {
    std::printf("portcullis %s\n", PORTCULLIS_VERSION);
    return 0;
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
    config::validate(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portcullis: configuration error: %s\n", e.what());
    return 2;
  }
  if (*check) {
    std::printf("listen: %s\ndata_dir: %s\nmetadata.sqlite.path: %s\nlog.level: %s\n", cfg.listen.c_str(),
                cfg.data_dir.c_str(), cfg.effective_sqlite_path().c_str(), cfg.log_level.c_str());
    return 0;
  }
  log::init({cfg.log_level, cfg.access_log});
  int rc = server::serve(cfg);
  spdlog::shutdown();
  return rc;
}
