// npm: installed packages (node_modules/<name>/package.json) and lock files
// (package-lock.json, npm-shrinkwrap.json; lockfileVersion 1, 2 and 3).
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "scanner/image/cataloger.h"
#include "scanner/image/text_util.h"

namespace portcullis::scanner::image {

namespace {

namespace json = boost::json;
using detail::excerpt;

constexpr std::size_t kMaxJsonDepth = 256;  // v1 lock files nest one level per dependency level

bool is_lock_file(std::string_view path) {
  std::string_view base = path.substr(path.rfind('/') + 1);
  return base == "package-lock.json" || base == "npm-shrinkwrap.json";
}

std::optional<json::value> parse_json(std::string_view text, std::string& error) {
  json::parse_options opt;
  opt.max_depth = kMaxJsonDepth;
  opt.allow_invalid_utf8 = true;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, json::storage_ptr(), opt);
  if (ec) {
    error = ec.message();
    return std::nullopt;
  }
  return v;
}

std::string_view string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  const json::string& s = it->value().get_string();
  return std::string_view(s.data(), s.size());
}

// "license": "MIT" | {"type": "MIT"}; legacy "licenses": [{"type": "MIT"}, ...].
std::vector<std::string> licenses_of(const json::object& o, std::size_t max) {
  std::vector<std::string> out;
  auto add = [&](const json::value& v) {
    std::string_view s;
    if (v.is_string()) {
      s = std::string_view(v.get_string().data(), v.get_string().size());
    } else if (v.is_object()) {
      s = string_field(v.get_object(), "type");
    }
    if (!s.empty() && s.size() <= max) out.emplace_back(s);
  };
  if (auto it = o.find("license"); it != o.end()) add(it->value());
  if (auto it = o.find("licenses"); it != o.end() && it->value().is_array()) {
    for (const json::value& v : it->value().get_array()) add(v);
  }
  return out;
}

// Lock-file versions that name something other than a registry release.
bool registry_version(std::string_view v) {
  return !v.empty() && v.find(':') == std::string_view::npos &&
         v.find('/') == std::string_view::npos;
}

struct LockWalker {
  const Limits& limits;
  std::vector<Package>& out;
  std::vector<std::string>& warnings;
  std::size_t skipped = 0;

  void add(std::string_view name, std::string_view version, const json::object& entry) {
    // An alias: "version": "npm:real-name@1.2.3".
    if (version.starts_with("npm:")) {
      std::string_view spec = version.substr(4);
      std::size_t at = spec.rfind('@');
      if (at == std::string_view::npos || at == 0) return;
      name = spec.substr(0, at);
      version = spec.substr(at + 1);
    }
    if (name.empty() || !registry_version(version)) return;
    if (auto dev = entry.find("dev");
        dev != entry.end() && dev->value().is_bool() && dev->value().get_bool()) {
      return;  // development-only: not installed in a production image
    }
    if (name.size() > limits.max_field_bytes || version.size() > limits.max_field_bytes) {
      if (skipped++ == 0)
        warnings.push_back(fmt::format("entry {} has an over-long field; ignored", excerpt(name)));
      return;
    }
    Package p;
    p.type = kTypeNpm;
    p.name = std::string(name);
    p.version = std::string(version);
    p.licenses = licenses_of(entry, limits.max_field_bytes);
    out.push_back(std::move(p));
  }

  // lockfileVersion 2 and 3: "packages": {"node_modules/a/node_modules/@s/b": {...}}.
  void packages(const json::object& pkgs) {
    for (const auto& kv : pkgs) {
      std::string_view key(kv.key().data(), kv.key().size());
      if (!kv.value().is_object()) continue;
      const json::object& entry = kv.value().get_object();
      std::size_t at = key.rfind("node_modules/");
      if (at == std::string_view::npos) continue;  // the project itself, workspaces
      if (auto link = entry.find("link");
          link != entry.end() && link->value().is_bool() && link->value().get_bool()) {
        continue;  // a symlink to a workspace folder
      }
      std::string_view name = string_field(entry, "name");
      if (name.empty()) name = key.substr(at + 13);
      add(name, string_field(entry, "version"), entry);
    }
  }

  // lockfileVersion 1: "dependencies": {"a": {"version": ..., "dependencies": {...}}}.
  void dependencies(const json::object& deps) {
    for (const auto& kv : deps) {
      if (!kv.value().is_object()) continue;
      const json::object& entry = kv.value().get_object();
      add(std::string_view(kv.key().data(), kv.key().size()), string_field(entry, "version"),
          entry);
      if (auto nested = entry.find("dependencies");
          nested != entry.end() && nested->value().is_object()) {
        dependencies(nested->value().get_object());
      }
    }
  }
};

class NpmCataloger final : public Cataloger {
 public:
  explicit NpmCataloger(const Limits& limits) : limits_(limits) {}
  std::string_view name() const override { return "npm"; }
  std::vector<PathPattern> patterns() const override {
    return {PathPattern::glob("**/node_modules/*/package.json"),
            PathPattern::glob("**/node_modules/@*/*/package.json"),
            PathPattern::glob("**/package-lock.json"), PathPattern::glob("**/npm-shrinkwrap.json")};
  }
  bool accepts(const FileInfo& file, std::string_view) const override {
    // A lock file inside an installed package is that package's, not the image's.
    return !(is_lock_file(file.role_path()) &&
             file.path.find("node_modules/") != std::string::npos);
  }
  Result<Found> catalog(const FileInfo& file, FileReader& in) override {
    Found found;
    const bool lock = is_lock_file(file.role_path());
    const uint64_t max = lock ? limits_.max_file_bytes : limits_.max_manifest_bytes;
    if (!lock && file.size > max) {
      found.warnings.push_back(
          fmt::format("{}: {} bytes, too large for a package.json; ignored", file.path, file.size));
      return found;
    }
    auto text = in.read_all(file.path, max);
    if (!text) return text.error();
    std::vector<std::string> warnings;
    if (lock) {
      parse_npm_lock(*text, limits_, found.packages, warnings);
    } else {
      std::string error;
      if (auto p = parse_npm_package_json(*text, limits_, error)) {
        found.packages.push_back(std::move(*p));
      } else if (!error.empty()) {
        warnings.push_back(error);
      }
    }
    for (std::string& w : warnings) found.warnings.push_back(file.path + ": " + w);
    return found;
  }
  // Where node_modules is installed it is the truth: the lock file beside it
  // also lists optional packages for other platforms and what was pruned.
  // A lock file counts only for a project without installed packages.
  void finish(std::vector<Package>& packages, std::vector<std::string>&) const override {
    std::set<std::string> installed_projects;  // "app/" for app/node_modules/x/package.json
    for (const Package& p : packages) {
      if (is_lock_file(p.path)) continue;
      std::size_t at = p.path.find("node_modules/");
      if (at != std::string::npos) installed_projects.insert(p.path.substr(0, at));
    }
    std::erase_if(packages, [&](const Package& p) {
      return is_lock_file(p.path) &&
             installed_projects.count(p.path.substr(0, p.path.rfind('/') + 1)) > 0;
    });
  }

 private:
  Limits limits_;
};

}  // namespace

std::optional<Package> parse_npm_package_json(std::string_view text, const Limits& limits,
                                              std::string& error) {
  auto v = parse_json(text, error);
  if (!v) {
    error = "not valid JSON: " + error;
    return std::nullopt;
  }
  if (!v->is_object()) return std::nullopt;
  const json::object& o = v->get_object();
  std::string_view name = string_field(o, "name");
  std::string_view version = string_field(o, "version");
  if (name.empty() || version.empty()) return std::nullopt;  // not a published package
  if (name.size() > limits.max_field_bytes || version.size() > limits.max_field_bytes) {
    error = fmt::format("package {} has an over-long field; ignored", excerpt(name));
    return std::nullopt;
  }
  Package p;
  p.type = kTypeNpm;
  p.name = std::string(name);
  p.version = std::string(version);
  p.licenses = licenses_of(o, limits.max_field_bytes);
  return p;
}

void parse_npm_lock(std::string_view text, const Limits& limits, std::vector<Package>& out,
                    std::vector<std::string>& warnings) {
  std::string error;
  auto v = parse_json(text, error);
  if (!v) {
    warnings.push_back("not valid JSON: " + error);
    return;
  }
  if (!v->is_object()) return;
  const json::object& o = v->get_object();
  LockWalker walker{limits, out, warnings};
  if (auto it = o.find("packages"); it != o.end() && it->value().is_object()) {
    walker.packages(it->value().get_object());  // v2 carries both; "packages" is complete
  } else if (auto deps = o.find("dependencies"); deps != o.end() && deps->value().is_object()) {
    walker.dependencies(deps->value().get_object());
  }
}

std::unique_ptr<Cataloger> make_npm_cataloger(const Limits& limits) {
  return std::make_unique<NpmCataloger>(limits);
}

}  // namespace portcullis::scanner::image
