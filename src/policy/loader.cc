#include "policy/loader.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <initializer_list>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace portcullis::policy {

namespace {

constexpr int kMaxThreshold = 64;
constexpr int kMaxAgeDays = 36500;
constexpr std::size_t kMaxPatterns = 256;
constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxTextLength = 4096;

// Collects problems for one file; every reported problem names the line.
class Validator {
 public:
  Validator(std::string file, std::vector<std::string>& errors)
      : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& at, const std::string& field, const std::string& message) {
    int line = at.IsDefined() ? at.Mark().line + 1 : 0;
    if (line <= 0) line = 1;
    errors_.push_back(fmt::format("{}:{}: {}: {}", file_, line, field, message));
  }
  void error_at(int line, const std::string& field, const std::string& message) {
    errors_.push_back(fmt::format("{}:{}: {}: {}", file_, line, field, message));
  }
  const std::string& file() const { return file_; }

  // A map whose keys are all in `allowed`.
  bool check_map(const YAML::Node& node, const std::string& field,
                 std::initializer_list<std::string_view> allowed) {
    if (!node.IsMap()) {
      error(node, field, "must be a mapping");
      return false;
    }
    bool ok = true;
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) {
          if (!list.empty()) list += ", ";
          list += a;
        }
        error(kv.first, field.empty() ? key : field + "." + key,
              fmt::format("unknown field (expected one of: {})", list));
        ok = false;
      }
    }
    return ok;
  }

  std::optional<std::string> string(const YAML::Node& n, const std::string& field,
                                    bool allow_empty = false) {
    if (!n.IsScalar()) {
      error(n, field, "must be a string");
      return std::nullopt;
    }
    const std::string& s = n.Scalar();
    if (!allow_empty && s.empty()) {
      error(n, field, "must not be empty");
      return std::nullopt;
    }
    if (s.size() > kMaxTextLength) {
      error(n, field, fmt::format("longer than {} characters", kMaxTextLength));
      return std::nullopt;
    }
    return s;
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& field) {
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      error(n, field, fmt::format("must be true or false (got {})", shown(n)));
      return std::nullopt;
    }
    return v;
  }

  std::optional<long long> integer(const YAML::Node& n, const std::string& field, long long lo,
                                   long long hi) {
    long long v = 0;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) {
      error(n, field, fmt::format("must be an integer (got {})", shown(n)));
      return std::nullopt;
    }
    if (v < lo || v > hi) {
      error(n, field, fmt::format("must be between {} and {} (got {})", lo, hi, v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::vector<std::string>> strings(const YAML::Node& n, const std::string& field,
                                                  bool allow_empty_list) {
    if (!n.IsSequence()) {
      error(n, field, "must be a list of strings");
      return std::nullopt;
    }
    if (!allow_empty_list && n.size() == 0) {
      error(n, field, "must list at least one entry");
      return std::nullopt;
    }
    if (n.size() > kMaxPatterns) {
      error(n, field, fmt::format("more than {} entries", kMaxPatterns));
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (std::size_t i = 0; i < n.size(); ++i) {
      auto s = string(n[i], fmt::format("{}[{}]", field, i));
      if (s)
        out.push_back(std::move(*s));
      else
        ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  static std::string shown(const YAML::Node& n) {
    if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "nothing";
  }

 private:
  std::string file_;
  std::vector<std::string>& errors_;
};

bool valid_rule_name(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

std::optional<std::vector<KeyPattern>> key_patterns(Validator& v, const YAML::Node& n,
                                                    const std::string& field) {
  if (!n.IsMap() || n.size() == 0) {
    v.error(n, field, "must be a non-empty mapping of key: value pattern (\"*\" for any value)");
    return std::nullopt;
  }
  std::vector<KeyPattern> out;
  bool ok = true;
  for (const auto& kv : n) {
    std::string key = kv.first.Scalar();
    if (key.empty()) {
      v.error(kv.first, field, "keys must not be empty");
      ok = false;
      continue;
    }
    auto p = v.string(kv.second, field + "." + key);
    if (p)
      out.push_back({key, *p});
    else
      ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<VulnerabilityRequirement> vulnerabilities(Validator& v, const YAML::Node& n,
                                                        const std::string& field, bool& ok) {
  if (!v.check_map(
          n, field,
          {"severityThreshold", "cvssThreshold", "fixableOnly", "unknownSeverity", "exceptions"})) {
    ok = false;
    return std::nullopt;
  }
  VulnerabilityRequirement req;
  if (auto s = n["severityThreshold"]) {
    auto text = v.string(s, field + ".severityThreshold");
    if (text) {
      req.severity_threshold = parse_severity(*text);
      if (!req.severity_threshold) {
        v.error(s, field + ".severityThreshold",
                fmt::format("must be one of negligible, low, medium, high, critical (got \"{}\")",
                            *text));
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (auto c = n["cvssThreshold"]) {
    double d = 0;
    if (!c.IsScalar() || !YAML::convert<double>::decode(c, d) || !std::isfinite(d) || d < 0 ||
        d > 10) {
      v.error(c, field + ".cvssThreshold",
              fmt::format("must be a number from 0.0 to 10.0 (got {})", Validator::shown(c)));
      ok = false;
    } else {
      req.cvss_threshold = d;
    }
  }
  if (!n["severityThreshold"] && !n["cvssThreshold"]) {
    v.error(n, field, "needs severityThreshold, cvssThreshold or both");
    ok = false;
  }
  if (auto u = n["unknownSeverity"]) {
    auto text = v.string(u, field + ".unknownSeverity");
    if (text && *text == "ignore") {
      req.unknown_severity.reset();
    } else if (text && parse_severity(*text)) {
      req.unknown_severity = parse_severity(*text);
    } else {
      if (text) {
        v.error(u, field + ".unknownSeverity",
                fmt::format("must be one of negligible, low, medium, high, critical or ignore "
                            "(got \"{}\")",
                            *text));
      }
      ok = false;
    }
  }
  if (auto f = n["fixableOnly"]) {
    auto b = v.boolean(f, field + ".fixableOnly");
    if (b)
      req.fixable_only = *b;
    else
      ok = false;
  }
  if (auto ex = n["exceptions"]) {
    if (!ex.IsSequence()) {
      v.error(ex, field + ".exceptions", "must be a list of {id, reason, owner, expires}");
      ok = false;
    } else {
      for (std::size_t i = 0; i < ex.size(); ++i) {
        std::string ef = fmt::format("{}.exceptions[{}]", field, i);
        const YAML::Node& e = ex[i];
        if (!v.check_map(e, ef, {"id", "reason", "owner", "expires"})) {
          ok = false;
          continue;
        }
        VulnerabilityException out;
        bool e_ok = true;
        for (const char* key : {"id", "reason", "owner", "expires"}) {
          if (!e[key]) {
            v.error(e, ef + "." + key, "is required");
            e_ok = false;
          }
        }
        if (!e_ok) {
          ok = false;
          continue;
        }
        auto id = v.string(e["id"], ef + ".id");
        auto reason = v.string(e["reason"], ef + ".reason");
        auto owner = v.string(e["owner"], ef + ".owner");
        auto expires = v.string(e["expires"], ef + ".expires");
        if (!id || !reason || !owner || !expires) {
          ok = false;
          continue;
        }
        auto at = parse_expiry(*expires);
        if (!at) {
          v.error(
              e["expires"], ef + ".expires",
              fmt::format("must be a date YYYY-MM-DD or an RFC 3339 time (got \"{}\")", *expires));
          ok = false;
          continue;
        }
        out.id = *id;
        out.reason = *reason;
        out.owner = *owner;
        out.expires_at = *at;
        req.exceptions.push_back(std::move(out));
      }
    }
  }
  return req;
}

std::optional<Rule> rule(Validator& v, const YAML::Node& n, std::size_t index) {
  std::string field = fmt::format("rules[{}]", index);
  if (!v.check_map(n, field,
                   {"name", "repositories", "mode", "onPush", "quarantine", "vulnerabilities",
                    "signatures", "baseImages", "labels", "annotations", "maxAge", "scan"})) {
    // Keep validating the known fields too: report every problem at once.
    if (!n.IsMap()) return std::nullopt;
  }
  bool ok = true;
  Rule r;
  r.file = v.file();
  r.line = n.Mark().line + 1;
  if (auto name = n["name"]) {
    auto s = v.string(name, field + ".name");
    if (s && !valid_rule_name(*s)) {
      v.error(
          name, field + ".name",
          fmt::format("must be 1-{} characters of letters, digits, '.', '_' and '-' (got \"{}\")",
                      kMaxNameLength, *s));
      ok = false;
    } else if (s) {
      r.name = *s;
      field = fmt::format("rules[{}] ({})", index, r.name);
    } else {
      ok = false;
    }
  } else {
    v.error(n, field + ".name", "is required");
    ok = false;
  }
  if (auto repos = n["repositories"]) {
    auto list = v.strings(repos, field + ".repositories", false);
    if (list)
      r.repositories = std::move(*list);
    else
      ok = false;
  } else {
    v.error(n, field + ".repositories", "is required (repository patterns such as \"prod/*\")");
    ok = false;
  }
  if (auto mode = n["mode"]) {
    auto s = v.string(mode, field + ".mode");
    if (s && *s == "enforce")
      r.mode = Mode::enforce;
    else if (s && *s == "warn")
      r.mode = Mode::warn;
    else if (s && *s == "off")
      r.mode = Mode::off;
    else {
      if (s)
        v.error(mode, field + ".mode",
                fmt::format("must be enforce, warn or off (got \"{}\")", *s));
      ok = false;
    }
  }
  if (auto p = n["onPush"]) {
    auto b = v.boolean(p, field + ".onPush");
    if (b)
      r.on_push = *b;
    else
      ok = false;
  }
  if (auto q = n["quarantine"]) {
    auto b = v.boolean(q, field + ".quarantine");
    if (b)
      r.quarantine = *b;
    else
      ok = false;
  }
  if (auto vn = n["vulnerabilities"]) {
    r.vulnerabilities = vulnerabilities(v, vn, field + ".vulnerabilities", ok);
  }
  if (auto s = n["signatures"]) {
    std::string sf = field + ".signatures";
    if (v.check_map(s, sf, {"keys", "threshold"})) {
      SignatureRequirement req;
      if (auto k = s["keys"]) {
        auto list = v.strings(k, sf + ".keys", true);
        if (list)
          req.keys = std::move(*list);
        else
          ok = false;
      }
      if (auto t = s["threshold"]) {
        auto i = v.integer(t, sf + ".threshold", 1, kMaxThreshold);
        if (i)
          req.threshold = static_cast<int>(*i);
        else
          ok = false;
      }
      if (!req.keys.empty() && req.threshold > static_cast<int>(req.keys.size())) {
        v.error(s["threshold"], sf + ".threshold",
                fmt::format("{} signatures can never be found among {} listed key(s)",
                            req.threshold, req.keys.size()));
        ok = false;
      }
      r.signatures = std::move(req);
    } else {
      ok = false;
    }
  }
  if (auto b = n["baseImages"]) {
    std::string bf = field + ".baseImages";
    if (b.IsNull()) {
      r.base_images = BaseImageRequirement{};
    } else if (v.check_map(b, bf, {"allowed"})) {
      BaseImageRequirement req;
      if (auto a = b["allowed"]) {
        auto list = v.strings(a, bf + ".allowed", true);
        if (list)
          req.allowed = std::move(*list);
        else
          ok = false;
      }
      r.base_images = std::move(req);
    } else {
      ok = false;
    }
  }
  if (auto l = n["labels"]) {
    r.labels = key_patterns(v, l, field + ".labels");
    if (!r.labels) ok = false;
  }
  if (auto a = n["annotations"]) {
    r.annotations = key_patterns(v, a, field + ".annotations");
    if (!r.annotations) ok = false;
  }
  if (auto m = n["maxAge"]) {
    auto i = v.integer(m, field + ".maxAge", 1, kMaxAgeDays);
    if (i)
      r.max_age_days = static_cast<int>(*i);
    else
      ok = false;
  }
  if (auto s = n["scan"]) {
    std::string text = s.IsScalar() ? s.Scalar() : "";
    if (text == "required") {
      r.scan_required = true;
    } else if (text == "optional") {
      r.scan_required = false;
    } else {
      v.error(s, field + ".scan",
              fmt::format("must be required or optional (got {})", Validator::shown(s)));
      ok = false;
    }
  }
  bool any = r.vulnerabilities || r.signatures || r.base_images || r.labels || r.annotations ||
             r.max_age_days || r.scan_required;
  if (ok && !any) {
    v.error(n, field,
            "has no requirement (vulnerabilities, signatures, baseImages, labels, annotations, "
            "maxAge or scan)");
    ok = false;
  }
  if (ok && r.on_push && !(r.base_images || r.labels || r.annotations || r.max_age_days)) {
    v.error(n["onPush"], field + ".onPush",
            "only labels, annotations, baseImages and maxAge can be checked on push, and this "
            "rule has none of them");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return r;
}

int days_from_civil(int y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm: days since 1970-01-01.
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

bool digits(const std::string& s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<int64_t> parse_expiry(const std::string& text) {
  int y = 0, mo = 0, d = 0;
  if (text.size() < 10 || !digits(text, 0, 4, y) || text[4] != '-' || !digits(text, 5, 2, mo) ||
      text[7] != '-' || !digits(text, 8, 2, d)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1]) return std::nullopt;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return std::nullopt;
  int64_t day = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  if (text.size() == 10) return (day + 1) * 86400;  // through the end of that day
  int h = 0, mi = 0, s = 0;
  if ((text[10] != 'T' && text[10] != 't') || !digits(text, 11, 2, h) || text.size() < 19 ||
      text[13] != ':' || !digits(text, 14, 2, mi) || text[16] != ':' || !digits(text, 17, 2, s) ||
      h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  int64_t offset = 0;
  if (pos == text.size()) return std::nullopt;
  if ((text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) {
    offset = 0;
  } else if ((text[pos] == '+' || text[pos] == '-') && pos + 6 == text.size() &&
             text[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (!digits(text, pos + 1, 2, oh) || !digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  return day * 86400 + h * 3600 + mi * 60 + s - offset;
}

LoadResult load_policy(std::vector<PolicyFile> files) {
  std::sort(files.begin(), files.end(),
            [](const PolicyFile& a, const PolicyFile& b) { return a.name < b.name; });
  LoadResult out;
  Policy policy;
  std::map<std::string, std::string> names;  // rule name -> "file:line"
  if (files.empty()) out.errors.push_back("(policy): no policy files (*.yaml, *.yml)");
  for (const auto& f : files) {
    Validator v(f.name, out.errors);
    YAML::Node root;
    try {
      root = YAML::Load(f.content);
    } catch (const YAML::Exception& e) {
      v.error_at(e.mark.line + 1, "(syntax)", e.msg);
      continue;
    }
    if (root.IsNull()) continue;  // an empty file adds no rules
    if (!v.check_map(root, "", {"rules"})) continue;
    auto rules = root["rules"];
    if (!rules) {
      v.error(root, "rules", "is required");
      continue;
    }
    if (!rules.IsSequence()) {
      v.error(rules, "rules", "must be a list of rules");
      continue;
    }
    for (std::size_t i = 0; i < rules.size(); ++i) {
      auto r = rule(v, rules[i], i);
      if (!r) continue;
      std::string where = fmt::format("{}:{}", r->file, r->line);
      auto [it, inserted] = names.emplace(r->name, where);
      if (!inserted) {
        v.error(
            rules[i]["name"], fmt::format("rules[{}].name", i),
            fmt::format("duplicate rule name \"{}\" (first defined at {})", r->name, it->second));
        continue;
      }
      policy.rules.push_back(std::move(*r));
    }
  }
  if (out.errors.empty()) out.policy = std::move(policy);
  return out;
}

}  // namespace portcullis::policy
