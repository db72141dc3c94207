#include "scanner/codec.h"

#include <boost/json.hpp>

namespace portcullis::scanner {

namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

std::vector<std::string> strs(const json::object& o, std::string_view k) {
  std::vector<std::string> out;
  auto it = o.find(k);
  if (it == o.end() || !it->value().is_array()) return out;
  for (const auto& v : it->value().get_array()) {
    if (v.is_string()) out.emplace_back(v.get_string());
  }
  return out;
}

json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

Result<json::value> parse(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return make_error(Errc::internal, "stored scan result is not valid JSON");
  return v;
}

}  // namespace

std::string inventory_to_json(const Inventory& inv) {
  json::object root;
  if (inv.distro) {
    root["distro"] = json::object{{"id", inv.distro->id},
                                  {"version_id", inv.distro->version_id},
                                  {"version_codename", inv.distro->version_codename},
                                  {"pretty_name", inv.distro->pretty_name}};
  }
  json::array pkgs;
  for (const auto& p : inv.packages) {
    pkgs.push_back(json::object{{"type", p.type},
                                {"name", p.name},
                                {"version", p.version},
                                {"source_name", p.source_name},
                                {"source_version", p.source_version},
                                {"arch", p.arch},
                                {"layer", p.layer_digest},
                                {"path", p.path},
                                {"licenses", to_array(p.licenses)}});
  }
  root["packages"] = std::move(pkgs);
  if (!inv.warnings.empty()) root["warnings"] = to_array(inv.warnings);
  return json::serialize(root);
}

Result<Inventory> inventory_from_json(const std::string& text) {
  auto v = parse(text);
  if (!v) return v.error();
  if (!v->is_object()) return make_error(Errc::internal, "stored inventory is not an object");
  const auto& o = v->get_object();
  Inventory inv;
  if (auto it = o.find("distro"); it != o.end() && it->value().is_object()) {
    const auto& d = it->value().get_object();
    inv.distro = Distro{str(d, "id"), str(d, "version_id"), str(d, "version_codename"),
                        str(d, "pretty_name")};
  }
  if (auto it = o.find("packages"); it != o.end() && it->value().is_array()) {
    for (const auto& pv : it->value().get_array()) {
      if (!pv.is_object()) continue;
      const auto& p = pv.get_object();
      inv.packages.push_back(Package{str(p, "type"), str(p, "name"), str(p, "version"),
                                     str(p, "source_name"), str(p, "source_version"),
                                     str(p, "arch"), str(p, "layer"), str(p, "path"),
                                     strs(p, "licenses")});
    }
  }
  inv.warnings = strs(o, "warnings");
  return inv;
}

std::string findings_to_json(const std::vector<Finding>& findings) {
  json::array a;
  for (const auto& f : findings) {
    a.push_back(json::object{{"id", f.advisory_id},
                             {"aliases", to_array(f.aliases)},
                             {"package_index", f.package_index},
                             {"fixed_version", f.fixed_version},
                             {"severity", f.severity},
                             {"cvss_vector", f.cvss_vector},
                             {"cvss_score", f.cvss_score},
                             {"summary", f.summary},
                             {"source", f.source}});
  }
  return json::serialize(a);
}

Result<std::vector<Finding>> findings_from_json(const std::string& text) {
  auto v = parse(text);
  if (!v) return v.error();
  if (!v->is_array()) return make_error(Errc::internal, "stored findings are not an array");
  std::vector<Finding> out;
  for (const auto& fv : v->get_array()) {
    if (!fv.is_object()) continue;
    const auto& o = fv.get_object();
    Finding f;
    f.advisory_id = str(o, "id");
    f.aliases = strs(o, "aliases");
    if (auto it = o.find("package_index"); it != o.end() && it->value().is_number()) {
      f.package_index = static_cast<std::size_t>(it->value().to_number<uint64_t>());
    }
    f.fixed_version = str(o, "fixed_version");
    f.severity = str(o, "severity");
    f.cvss_vector = str(o, "cvss_vector");
    if (auto it = o.find("cvss_score"); it != o.end() && it->value().is_number()) {
      f.cvss_score = it->value().to_number<double>();
    }
    f.summary = str(o, "summary");
    f.source = str(o, "source");
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace portcullis::scanner
