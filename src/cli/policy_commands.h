// `portcullis policy …`: the registry policy (docs/policy.md).
//
//   validate DIR                 check policy files locally (exit 1 with every problem)
//   push DIR [--comment]         store DIR's files as the next policy version (database)
//   versions / show [VERSION]    stored versions; one version's files (database)
//   base add NAME REPO:TAG       approve a base image; base list; base delete NAME (database)
//   verdicts [--repository R]    the newest stored pull decision per image (database)
//   check IMAGE-REF              the running registry's decision for an image (HTTP)
//   test --policy DIR            dry-run a candidate policy against every stored image (HTTP)
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace portcullis::cli {

class PolicyCommands {
 public:
  explicit PolicyCommands(CLI::App& app);
  // The exit code when a policy command was given, nullopt otherwise.
  std::optional<int> run();

  struct Flags {
    std::string config_file, data_dir;
    std::string dir, comment, name, reference, server, creds, repository;
    int64_t version = 0;
    bool plain_http = false, insecure_tls = false, json = false;
  };

 private:
  Flags f_;
  CLI::App* validate_ = nullptr;
  CLI::App* push_ = nullptr;
  CLI::App* versions_ = nullptr;
  CLI::App* show_ = nullptr;
  CLI::App* base_add_ = nullptr;
  CLI::App* base_list_ = nullptr;
  CLI::App* base_delete_ = nullptr;
  CLI::App* verdicts_ = nullptr;
  CLI::App* check_ = nullptr;
  CLI::App* test_ = nullptr;
};

}  // namespace portcullis::cli
