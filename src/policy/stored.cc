#include "policy/stored.h"

#include <algorithm>

#include <boost/json.hpp>

namespace portcullis::policy {

std::string encode_files(const std::vector<PolicyFile>& files) {
  boost::json::object o;
  for (const auto& f : files) o[f.name] = f.content;
  return boost::json::serialize(o);
}

Result<std::vector<PolicyFile>> decode_files(std::string_view json) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object())
    return make_error(Errc::invalid_request, "policy files must be a JSON object");
  std::vector<PolicyFile> out;
  for (const auto& [k, val] : v.as_object()) {
    if (!val.is_string()) {
      return make_error(Errc::invalid_request,
                        "policy file " + std::string(k) + " is not a string");
    }
    out.push_back({std::string(k), std::string(val.as_string())});
  }
  return out;
}

bool valid_file_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  if (!name.ends_with(".yaml") && !name.ends_with(".yml")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace portcullis::policy
