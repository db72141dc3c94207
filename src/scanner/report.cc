#include "scanner/report.h"

#include <algorithm>
#include <map>

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

namespace portcullis::scanner {

namespace json = boost::json;

namespace {

std::string enc(const std::string& s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

json::object package_json(const Package& p, const Inventory& inv) {
  json::object o;
  o["type"] = p.type;
  o["name"] = p.name;
  o["version"] = p.version;
  if (!p.source_name.empty()) o["source_name"] = p.source_name;
  if (!p.source_version.empty()) o["source_version"] = p.source_version;
  if (!p.arch.empty()) o["arch"] = p.arch;
  o["purl"] = purl(p, inv);
  o["layer"] = p.layer_digest;
  o["path"] = p.path;
  if (!p.licenses.empty()) {
    json::array l;
    for (const auto& x : p.licenses) l.emplace_back(x);
    o["licenses"] = std::move(l);
  }
  return o;
}

const Package* package_of(const Finding& f, const Inventory& inv) {
  return f.package_index < inv.packages.size() ? &inv.packages[f.package_index] : nullptr;
}

std::string now_or(const std::string& t) { return t.empty() ? "1970-01-01T00:00:00Z" : t; }

}  // namespace

int severity_rank(const std::string& s) {
  if (s == "critical") return 5;
  if (s == "high") return 4;
  if (s == "medium") return 3;
  if (s == "low") return 2;
  if (s == "negligible" || s == "none") return 1;
  return 0;
}

std::vector<Finding> sorted_by_severity(std::vector<Finding> findings, const Inventory& inv) {
  std::stable_sort(findings.begin(), findings.end(), [&](const Finding& a, const Finding& b) {
    int ra = severity_rank(a.severity), rb = severity_rank(b.severity);
    if (ra != rb) return ra > rb;
    const Package* pa = package_of(a, inv);
    const Package* pb = package_of(b, inv);
    std::string na = pa ? pa->name : "", nb = pb ? pb->name : "";
    if (na != nb) return na < nb;
    return a.advisory_id < b.advisory_id;
  });
  return findings;
}

std::string purl(const Package& p, const Inventory& inv) {
  std::string namespace_part;
  std::string name = p.name;
  std::vector<std::pair<std::string, std::string>> qualifiers;
  std::string type = p.type;
  if (type == "deb" || type == "apk" || type == "rpm") {
    namespace_part = inv.distro && !inv.distro->id.empty() ? lower(inv.distro->id)
                     : type == "deb"                      ? "debian"
                     : type == "apk"                      ? "alpine"
                                                          : "redhat";
    if (!p.arch.empty()) qualifiers.emplace_back("arch", p.arch);
    if (inv.distro && !inv.distro->version_id.empty()) {
      qualifiers.emplace_back("distro", inv.distro->id + "-" + inv.distro->version_id);
    }
    if (type == "deb" && !p.source_name.empty() && p.source_name != p.name) {
      qualifiers.emplace_back("upstream", p.source_name);
    }
  } else if (type == "npm") {
    if (!name.empty() && name[0] == '@') {
      auto slash = name.find('/');
      if (slash != std::string::npos) {
        namespace_part = name.substr(0, slash);
        name = name.substr(slash + 1);
      }
    }
  } else if (type == "pypi") {
    name = lower(name);
    std::replace(name.begin(), name.end(), '_', '-');
  } else if (type == "maven") {
    auto colon = name.find(':');
    if (colon != std::string::npos) {
      namespace_part = name.substr(0, colon);
      name = name.substr(colon + 1);
    }
  } else if (type == "golang") {
    auto slash = name.rfind('/');
    if (slash != std::string::npos) {
      namespace_part = name.substr(0, slash);
      name = name.substr(slash + 1);
    }
  }
  std::string out = "pkg:" + type + "/";
  if (!namespace_part.empty()) {
    // Each namespace segment is encoded on its own.
    std::size_t start = 0;
    while (true) {
      auto slash = namespace_part.find('/', start);
      out += enc(namespace_part.substr(start, slash == std::string::npos ? slash : slash - start));
      if (slash == std::string::npos) break;
      out += '/';
      start = slash + 1;
    }
    out += '/';
  }
  out += enc(name);
  if (!p.version.empty()) out += "@" + enc(p.version);
  std::sort(qualifiers.begin(), qualifiers.end());
  for (std::size_t i = 0; i < qualifiers.size(); ++i) {
    out += (i == 0 ? '?' : '&');
    out += qualifiers[i].first + "=" + enc(qualifiers[i].second);
  }
  return out;
}

std::string report_json(const ReportSubject& s, const Inventory& inv, const std::vector<Finding>& f) {
  json::object root;
  root["name"] = s.name;
  root["digest"] = s.digest;
  root["advisory_data_version"] = s.data_version;
  root["scanned_at"] = s.scanned_at;
  if (inv.distro) {
    root["distro"] = json::object{{"id", inv.distro->id},
                                  {"version_id", inv.distro->version_id},
                                  {"codename", inv.distro->version_codename},
                                  {"pretty_name", inv.distro->pretty_name}};
  }
  json::array pkgs;
  for (const auto& p : inv.packages) pkgs.push_back(package_json(p, inv));
  root["packages"] = std::move(pkgs);
  if (!inv.warnings.empty()) {
    json::array w;
    for (const auto& x : inv.warnings) w.emplace_back(x);
    root["warnings"] = std::move(w);
  }
  json::array findings;
  std::map<std::string, int64_t> counts;
  for (const auto& x : sorted_by_severity(f, inv)) {
    json::object o;
    o["id"] = x.advisory_id;
    json::array aliases;
    for (const auto& a : x.aliases) aliases.emplace_back(a);
    o["aliases"] = std::move(aliases);
    if (const Package* p = package_of(x, inv)) {
      o["package"] = p->name;
      o["version"] = p->version;
      o["type"] = p->type;
      o["purl"] = purl(*p, inv);
      o["layer"] = p->layer_digest;
      o["path"] = p->path;
    }
    o["fixed_version"] = x.fixed_version;
    o["severity"] = x.severity;
    if (x.cvss_score >= 0) o["cvss_score"] = x.cvss_score;
    if (!x.cvss_vector.empty()) o["cvss_vector"] = x.cvss_vector;
    o["summary"] = x.summary;
    o["source"] = x.source;
    findings.push_back(std::move(o));
    ++counts[x.severity.empty() ? "unknown" : x.severity];
  }
  root["findings"] = std::move(findings);
  json::object summary;
  for (const auto& [k, v] : counts) summary[k] = v;
  root["summary"] = std::move(summary);
  return json::serialize(root);
}

std::string report_sarif(const ReportSubject& s, const Inventory& inv, const std::vector<Finding>& f) {
  json::array rules, results;
  std::map<std::string, std::size_t> rule_index;
  for (const auto& x : sorted_by_severity(f, inv)) {
    if (!rule_index.count(x.advisory_id)) {
      rule_index[x.advisory_id] = rules.size();
      json::object rule;
      rule["id"] = x.advisory_id;
      rule["shortDescription"] = json::object{{"text", x.summary.empty() ? x.advisory_id : x.summary}};
      json::object props{{"security-severity", x.cvss_score >= 0 ? fmt::format("{:.1f}", x.cvss_score)
                                                                  : std::string()},
                         {"severity", x.severity}};
      rule["properties"] = std::move(props);
      rules.push_back(std::move(rule));
    }
    const Package* p = package_of(x, inv);
    json::object r;
    r["ruleId"] = x.advisory_id;
    r["ruleIndex"] = rule_index[x.advisory_id];
    int rank = severity_rank(x.severity);
    r["level"] = rank >= 4 ? "error" : rank == 3 ? "warning" : "note";
    r["message"] = json::object{
        {"text", fmt::format("{} {} is affected by {}{}", p ? p->name : "?", p ? p->version : "",
                             x.advisory_id,
                             x.fixed_version.empty() ? std::string(" (no fix known)")
                                                     : " (fixed in " + x.fixed_version + ")")}};
    json::object loc{{"physicalLocation",
                      json::object{{"artifactLocation", json::object{{"uri", p ? p->path : ""}}}}}};
    r["locations"] = json::array{std::move(loc)};
    if (p) r["properties"] = json::object{{"purl", purl(*p, inv)}, {"layer", p->layer_digest}};
    results.push_back(std::move(r));
  }
  json::object driver{{"name", "portcullis"},
                      {"informationUri", "https://github.com/portcullis"},
                      {"rules", std::move(rules)}};
  json::object run{{"tool", json::object{{"driver", std::move(driver)}}},
                   {"results", std::move(results)},
                   {"properties", json::object{{"image", s.name},
                                               {"digest", s.digest},
                                               {"advisoryDataVersion", s.data_version}}}};
  json::object root{{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                    {"version", "2.1.0"},
                    {"runs", json::array{std::move(run)}}};
  return json::serialize(root);
}

std::string report_cyclonedx(const ReportSubject& s, const Inventory& inv,
                             const std::vector<Finding>& f) {
  json::array components;
  std::vector<std::string> refs;
  for (std::size_t i = 0; i < inv.packages.size(); ++i) {
    const auto& p = inv.packages[i];
    std::string ref = fmt::format("pkg-{}", i);
    refs.push_back(ref);
    json::object c;
    c["type"] = "library";
    c["bom-ref"] = ref;
    c["name"] = p.name;
    if (!p.version.empty()) c["version"] = p.version;
    c["purl"] = purl(p, inv);
    if (!p.licenses.empty()) {
      json::array l;
      for (const auto& x : p.licenses) l.push_back(json::object{{"license", json::object{{"name", x}}}});
      c["licenses"] = std::move(l);
    }
    json::array props{json::object{{"name", "portcullis:layer"}, {"value", p.layer_digest}},
                      json::object{{"name", "portcullis:path"}, {"value", p.path}}};
    if (!p.source_name.empty()) {
      props.push_back(json::object{{"name", "portcullis:source_name"}, {"value", p.source_name}});
    }
    c["properties"] = std::move(props);
    components.push_back(std::move(c));
  }
  json::array vulns;
  for (const auto& x : sorted_by_severity(f, inv)) {
    json::object v;
    v["id"] = x.advisory_id;
    json::object rating;
    std::string sev = x.severity.empty() ? "unknown" : x.severity;
    if (sev == "negligible") sev = "info";
    rating["severity"] = sev;
    if (x.cvss_score >= 0) rating["score"] = x.cvss_score;
    if (!x.cvss_vector.empty()) {
      rating["vector"] = x.cvss_vector;
      rating["method"] = x.cvss_vector.rfind("CVSS:4", 0) == 0 ? "CVSSv4"
                         : x.cvss_vector.rfind("CVSS:3.0", 0) == 0 ? "CVSSv3"
                         : x.cvss_vector.rfind("CVSS:3", 0) == 0   ? "CVSSv31"
                                                                    : "CVSSv2";
    }
    v["ratings"] = json::array{std::move(rating)};
    if (!x.summary.empty()) v["description"] = x.summary;
    if (!x.source.empty()) v["source"] = json::object{{"name", x.source}};
    json::object affect{{"ref", x.package_index < refs.size() ? refs[x.package_index] : ""}};
    v["affects"] = json::array{std::move(affect)};
    if (!x.fixed_version.empty()) v["recommendation"] = "Upgrade to " + x.fixed_version;
    if (!x.aliases.empty()) {
      json::array refs_json;
      for (const auto& a : x.aliases) refs_json.push_back(json::object{{"id", a}, {"source", json::object{{"name", x.source}}}});
      v["references"] = std::move(refs_json);
    }
    vulns.push_back(std::move(v));
  }
  json::object metadata{
      {"timestamp", now_or(s.scanned_at)},
      {"tools", json::object{{"components", json::array{json::object{{"type", "application"},
                                                                      {"name", "portcullis"}}}}}},
      {"component", json::object{{"type", "container"},
                                 {"bom-ref", "image"},
                                 {"name", s.name.empty() ? "image" : s.name},
                                 {"version", s.digest}}}};
  json::object root{{"$schema", "http://cyclonedx.org/schema/bom-1.5.schema.json"},
                    {"bomFormat", "CycloneDX"},
                    {"specVersion", "1.5"},
                    {"version", 1},
                    {"metadata", std::move(metadata)},
                    {"components", std::move(components)},
                    {"vulnerabilities", std::move(vulns)}};
  return json::serialize(root);
}

std::string report_table(const ReportSubject& s, const Inventory& inv, const std::vector<Finding>& f) {
  std::string out;
  auto put = [&out](const std::string& line) { out += line + "\n"; };
  put(fmt::format("{} {}", s.name, s.digest));
  if (inv.distro) put(fmt::format("distro: {} {}", inv.distro->id, inv.distro->version_id));
  put(fmt::format("packages: {}   findings: {}", inv.packages.size(), f.size()));
  if (f.empty()) return out;
  put(fmt::format("{:<10} {:<22} {:<28} {:<24} {}", "SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED"));
  for (const auto& x : sorted_by_severity(f, inv)) {
    const Package* p = package_of(x, inv);
    put(fmt::format("{:<10} {:<22} {:<28} {:<24} {}", x.severity, x.advisory_id, p ? p->name : "?",
                    p ? p->version : "", x.fixed_version.empty() ? "-" : x.fixed_version));
  }
  return out;
}

}  // namespace portcullis::scanner
