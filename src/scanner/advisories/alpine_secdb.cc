#include "scanner/advisories/alpine_secdb.h"

#include <unordered_map>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "scanner/advisories/ecosystems.h"
#include "scanner/advisories/json_fields.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::advisories {

namespace {

constexpr std::size_t kMaxName = 256;
constexpr std::size_t kMaxVersion = 1024;
constexpr std::size_t kMaxIdEntry = 1024;

Error package_error(std::size_t index, const std::string& name, const std::string& what) {
  if (name.empty()) return malformed(fmt::format("packages[{}]: {}", index, what));
  return malformed(fmt::format("packages[{}] ({}): {}", index, name, what));
}

// Splits "CVE-2020-11501 GNUTLS-SA-2020-03-31" into its ids.
std::vector<std::string> split_ids(std::string_view entry) {
  std::vector<std::string> ids;
  std::size_t i = 0;
  while (i < entry.size()) {
    while (i < entry.size() && (entry[i] == ' ' || entry[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < entry.size() && entry[i] != ' ' && entry[i] != '\t') ++i;
    if (i > start) ids.emplace_back(entry.substr(start, i - start));
  }
  return ids;
}

// Counts YAML nodes visited: anchors make a small text a huge tree.
class NodeBudget {
 public:
  explicit NodeBudget(std::size_t max) : left_(max) {}
  bool take() {
    if (left_ == 0) return false;
    --left_;
    return true;
  }

 private:
  std::size_t left_;
};

std::string yaml_where(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  return m.is_null() ? std::string() : fmt::format("line {}: ", m.line + 1);
}

}  // namespace

bool looks_like_secdb(const boost::json::object& doc) {
  const boost::json::value* packages = doc.if_contains("packages");
  return packages != nullptr && packages->is_array() &&
         (doc.contains("distroversion") || doc.contains("reponame") || doc.contains("urlprefix"));
}

Result<SecdbDocument> secdb_from_json(const boost::json::object& doc, std::size_t max_records) {
  SecdbDocument out;
  auto dv = get_text(doc, "distroversion", kMaxName);
  if (!dv) return dv.error();
  if (dv->empty()) return malformed("\"distroversion\" is missing");
  out.distroversion = std::move(*dv);
  auto repo = get_text(doc, "reponame", kMaxName);
  if (!repo) return repo.error();
  out.reponame = std::move(*repo);
  auto packages = get_array(doc, "packages");
  if (!packages) return packages.error();
  if (*packages == nullptr) return malformed("\"packages\" is missing");
  if ((*packages)->size() > max_records) {
    return make_error(Errc::size_invalid, fmt::format("more than {} packages", max_records));
  }
  for (std::size_t i = 0; i < (*packages)->size(); ++i) {
    const auto& pv = (**packages)[i];
    if (!pv.is_object()) return package_error(i, "", "not an object");
    auto pkg = get_object(pv.get_object(), "pkg");
    if (!pkg) return package_error(i, "", pkg.error().message);
    if (*pkg == nullptr) return package_error(i, "", "\"pkg\" is missing");
    SecdbPackage p;
    auto name = get_text(**pkg, "name", kMaxName);
    if (!name) return package_error(i, "", name.error().message);
    if (name->empty()) return package_error(i, "", "\"name\" is missing");
    p.name = std::move(*name);
    auto secfixes = get_object(**pkg, "secfixes");
    if (!secfixes) return package_error(i, p.name, secfixes.error().message);
    if (*secfixes != nullptr) {
      for (const auto& [version, ids] : **secfixes) {
        if (version.empty() || version.size() > kMaxVersion) {
          return package_error(i, p.name, "a secfixes version is empty or too long");
        }
        std::vector<std::string> list;
        if (ids.is_array()) {
          for (const auto& id : ids.get_array()) {
            if (!id.is_string() || id.get_string().size() > kMaxIdEntry) {
              return package_error(i, p.name,
                                   fmt::format("secfixes.{}: an id is not a string or too long",
                                               std::string_view(version)));
            }
            list.emplace_back(id.get_string());
          }
        } else if (!ids.is_null()) {
          return package_error(i, p.name,
                               fmt::format("secfixes.{} is not a list", std::string_view(version)));
        }
        p.secfixes.emplace_back(std::string(version), std::move(list));
      }
    }
    out.packages.push_back(std::move(p));
  }
  return out;
}

Result<SecdbDocument> secdb_from_yaml(const std::string& text, const ImportLimits& limits) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return malformed(fmt::format("line {}: invalid YAML: {}", e.mark.line + 1, e.msg));
  }
  NodeBudget budget(limits.max_yaml_nodes);
  auto over_budget = [&]() {
    return make_error(Errc::size_invalid,
                      fmt::format("more than {} YAML nodes", limits.max_yaml_nodes));
  };
  auto scalar = [](const YAML::Node& n) -> std::optional<std::string> {
    if (!n.IsScalar()) return std::nullopt;
    return n.Scalar();
  };
  try {
    if (!root.IsMap()) return make_error(Errc::unsupported, "not an Alpine secdb document");
    SecdbDocument out;
    YAML::Node dv = root["distroversion"];
    YAML::Node packages = root["packages"];
    if (!packages || !packages.IsSequence()) {
      return make_error(Errc::unsupported, "not an Alpine secdb document (no \"packages\" list)");
    }
    auto dvs = dv ? scalar(dv) : std::nullopt;
    if (!dvs || dvs->empty() || dvs->size() > kMaxName) {
      return malformed("\"distroversion\" is missing or not a string");
    }
    out.distroversion = *dvs;
    if (YAML::Node repo = root["reponame"]; repo && repo.IsScalar()) out.reponame = repo.Scalar();
    if (packages.size() > limits.max_records) {
      return make_error(Errc::size_invalid,
                        fmt::format("more than {} packages", limits.max_records));
    }
    std::size_t index = 0;
    for (const YAML::Node& entry : packages) {
      std::size_t i = index++;
      if (!budget.take()) return over_budget();
      YAML::Node pkg = entry.IsMap() ? entry["pkg"] : YAML::Node();
      if (!pkg || !pkg.IsMap())
        return package_error(i, "", yaml_where(entry) + "\"pkg\" is missing");
      SecdbPackage p;
      auto name = pkg["name"] ? scalar(pkg["name"]) : std::nullopt;
      if (!name || name->empty() || name->size() > kMaxName) {
        return package_error(i, "", yaml_where(pkg) + "\"name\" is missing or not a string");
      }
      p.name = *name;
      YAML::Node secfixes = pkg["secfixes"];
      if (secfixes && !secfixes.IsNull()) {
        if (!secfixes.IsMap())
          return package_error(i, p.name, yaml_where(secfixes) + "\"secfixes\" is not a map");
        for (const auto& kv : secfixes) {
          if (!budget.take()) return over_budget();
          auto version = scalar(kv.first);
          if (!version || version->empty() || version->size() > kMaxVersion) {
            return package_error(i, p.name,
                                 yaml_where(kv.first) + "a secfixes version is not a string");
          }
          std::vector<std::string> list;
          if (kv.second.IsSequence()) {
            for (const YAML::Node& id : kv.second) {
              if (!budget.take()) return over_budget();
              auto s = scalar(id);
              if (!s || s->size() > kMaxIdEntry) {
                return package_error(
                    i, p.name,
                    yaml_where(id) + fmt::format("secfixes.{}: an id is not a string", *version));
              }
              list.push_back(std::move(*s));
            }
          } else if (!kv.second.IsNull()) {
            return package_error(
                i, p.name,
                yaml_where(kv.second) + fmt::format("secfixes.{} is not a list", *version));
          }
          p.secfixes.emplace_back(std::move(*version), std::move(list));
        }
      }
      out.packages.push_back(std::move(p));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return malformed(fmt::format("line {}: {}", e.mark.line + 1, e.msg));
  }
}

Result<std::vector<Advisory>> advisories_from_secdb(const SecdbDocument& doc) {
  std::string ecosystem =
      alpine_ecosystem(doc.distroversion).value_or("Alpine:" + doc.distroversion);
  std::vector<Advisory> out;
  std::unordered_map<std::string, std::size_t> by_id;
  for (const SecdbPackage& p : doc.packages) {
    // id -> lowest fixed version, in the order the ids first appear.
    std::vector<std::pair<std::string, std::string>> fixes;
    std::unordered_map<std::string, std::size_t> fix_index;
    for (const auto& [version, entries] : p.secfixes) {
      if (version == "0") continue;  // listed as not affected
      for (const std::string& entry : entries) {
        for (std::string& id : split_ids(entry)) {
          if (id.size() > kMaxName) return malformed(fmt::format("{}: id too long", p.name));
          auto [it, inserted] = fix_index.try_emplace(id, fixes.size());
          if (inserted) {
            fixes.emplace_back(id, version);
          } else if (versions::apk_compare(version, fixes[it->second].second) < 0) {
            fixes[it->second].second = version;
          }
        }
      }
    }
    for (auto& [id, fixed] : fixes) {
      auto [it, inserted] = by_id.try_emplace(id, out.size());
      if (inserted) {
        Advisory adv;
        adv.id = id.rfind("ALPINE-", 0) == 0 ? id : "ALPINE-" + id;
        if (adv.id != id) adv.aliases.push_back(id);
        out.push_back(std::move(adv));
      }
      Affected a;
      a.ecosystem = ecosystem;
      a.package = p.name;
      a.status = "resolved";
      a.ranges.push_back(
          Range{"ECOSYSTEM", {{EventKind::introduced, "0"}, {EventKind::fixed, fixed}}});
      out[it->second].affected.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace portcullis::scanner::advisories
