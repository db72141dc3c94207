#include "cli/load_config.h"

#include <cstdio>
#include <exception>

namespace portcullis::cli {

std::optional<config::Config> load_config(const std::string& config_file,
                                          const std::string& data_dir) {
  config::Config cfg;
  try {
    if (!config_file.empty()) config::apply_file(cfg, config_file);
    config::apply_env(cfg);
    if (!data_dir.empty()) cfg.data_dir = data_dir;
    config::validate(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portcullis: configuration error: %s\n", e.what());
    return std::nullopt;
  }
  return cfg;
}

}  // namespace portcullis::cli
