// Policy files as stored with each version (metadata::PolicyVersionRecord):
// one JSON object {"file.yaml": "<yaml text>", …}.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "policy/loader.h"

namespace portcullis::policy {

std::string encode_files(const std::vector<PolicyFile>& files);
// Errc::invalid_request when `json` is not an object of strings.
Result<std::vector<PolicyFile>> decode_files(std::string_view json);

// A policy file name a directory or an upload may contribute: [A-Za-z0-9._-]
// ending in .yaml or .yml, at most 128 characters, not starting with '.'.
bool valid_file_name(std::string_view name);

}  // namespace portcullis::policy
