// Configuration for commands that work on the configured stores (admin,
// maintenance): the YAML file, then PORTCULLIS_* variables, then --data, then
// validation, as for `serve`.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"

namespace portcullis::cli {

// nullopt after printing the configuration error to stderr (exit code 2).
std::optional<config::Config> load_config(const std::string& config_file,
                                          const std::string& data_dir);

}  // namespace portcullis::cli
