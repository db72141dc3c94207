#include "scanner/advisories/severity.h"

#include <array>
#include <cmath>
#include <cstdint>

#include "scanner/model.h"

namespace portcullis::scanner::advisories {

namespace {

struct Metric {
  std::string_view key;
  std::string_view value;
};

// Splits "K:V/K:V" into metrics; false on an empty or colon-less part.
bool split_metrics(std::string_view s, std::vector<Metric>& out) {
  while (!s.empty()) {
    std::size_t slash = s.find('/');
    std::string_view part = s.substr(0, slash);
    std::size_t colon = part.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == part.size()) return false;
    out.push_back({part.substr(0, colon), part.substr(colon + 1)});
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
    if (s.empty()) return false;  // trailing '/'
  }
  return !out.empty();
}

template <std::size_t N>
std::optional<double> lookup(std::string_view value,
                             const std::array<std::pair<std::string_view, double>, N>& table) {
  for (const auto& [v, weight] : table) {
    if (v == value) return weight;
  }
  return std::nullopt;
}

// CVSS v3.1 Appendix A: the smallest number with one decimal that is >= x,
// computed on integers so that 4.000000001 does not become 4.1.
double roundup(double x) {
  auto i = static_cast<int64_t>(std::llround(x * 100000.0));
  if (i % 10000 == 0) return static_cast<double>(i) / 100000.0;
  return static_cast<double>(i / 10000 + 1) / 10.0;
}

bool known_key(std::string_view key, std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) {
    if (k == key) return true;
  }
  return false;
}

}  // namespace

std::optional<double> cvss3_base_score(std::string_view vector) {
  if (vector.substr(0, 9) != "CVSS:3.0/" && vector.substr(0, 9) != "CVSS:3.1/") return std::nullopt;
  std::vector<Metric> metrics;
  if (!split_metrics(vector.substr(9), metrics)) return std::nullopt;
  static constexpr std::array<std::string_view, 8> kBase = {"AV", "AC", "PR", "UI",
                                                            "S",  "C",  "I",  "A"};
  std::array<std::string_view, 8> base{};
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (metrics[j].key == metrics[i].key) return std::nullopt;  // repeated
    }
    bool is_base = false;
    for (std::size_t b = 0; b < kBase.size(); ++b) {
      if (metrics[i].key == kBase[b]) {
        base[b] = metrics[i].value;
        is_base = true;
      }
    }
    if (!is_base && !known_key(metrics[i].key, {"E", "RL", "RC", "CR", "IR", "AR", "MAV", "MAC",
                                                "MPR", "MUI", "MS", "MC", "MI", "MA"})) {
      return std::nullopt;
    }
  }
  static constexpr std::array<std::pair<std::string_view, double>, 4> kAv = {
      {{"N", 0.85}, {"A", 0.62}, {"L", 0.55}, {"P", 0.2}}};
  static constexpr std::array<std::pair<std::string_view, double>, 2> kAc = {
      {{"L", 0.77}, {"H", 0.44}}};
  static constexpr std::array<std::pair<std::string_view, double>, 2> kUi = {
      {{"N", 0.85}, {"R", 0.62}}};
  static constexpr std::array<std::pair<std::string_view, double>, 3> kCia = {
      {{"H", 0.56}, {"L", 0.22}, {"N", 0.0}}};
  if (base[4] != "U" && base[4] != "C") return std::nullopt;
  bool changed = base[4] == "C";
  // Privileges Required weighs more when the scope changes.
  std::array<std::pair<std::string_view, double>, 3> pr = {
      {{"N", 0.85}, {"L", changed ? 0.68 : 0.62}, {"H", changed ? 0.5 : 0.27}}};
  auto av = lookup(base[0], kAv);
  auto ac = lookup(base[1], kAc);
  auto prw = lookup(base[2], pr);
  auto ui = lookup(base[3], kUi);
  auto c = lookup(base[5], kCia);
  auto i = lookup(base[6], kCia);
  auto a = lookup(base[7], kCia);
  if (!av || !ac || !prw || !ui || !c || !i || !a) return std::nullopt;

  double iss = 1.0 - (1.0 - *c) * (1.0 - *i) * (1.0 - *a);
  double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * std::pow(iss - 0.02, 15) : 6.42 * iss;
  double exploitability = 8.22 * *av * *ac * *prw * *ui;
  if (impact <= 0) return 0.0;
  if (changed) return roundup(std::min(1.08 * (impact + exploitability), 10.0));
  return roundup(std::min(impact + exploitability, 10.0));
}

std::optional<double> cvss2_base_score(std::string_view vector) {
  if (vector.size() >= 2 && vector.front() == '(' && vector.back() == ')') {
    vector = vector.substr(1, vector.size() - 2);
  }
  if (vector.substr(0, 9) == "CVSS:2.0/") vector.remove_prefix(9);
  std::vector<Metric> metrics;
  if (!split_metrics(vector, metrics)) return std::nullopt;
  static constexpr std::array<std::string_view, 6> kBase = {"AV", "AC", "Au", "C", "I", "A"};
  std::array<std::string_view, 6> base{};
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (metrics[j].key == metrics[i].key) return std::nullopt;
    }
    bool is_base = false;
    for (std::size_t b = 0; b < kBase.size(); ++b) {
      if (metrics[i].key == kBase[b]) {
        base[b] = metrics[i].value;
        is_base = true;
      }
    }
    if (!is_base && !known_key(metrics[i].key, {"E", "RL", "RC", "CDP", "TD", "CR", "IR", "AR"})) {
      return std::nullopt;
    }
  }
  static constexpr std::array<std::pair<std::string_view, double>, 3> kAv = {
      {{"L", 0.395}, {"A", 0.646}, {"N", 1.0}}};
  static constexpr std::array<std::pair<std::string_view, double>, 3> kAc = {
      {{"H", 0.35}, {"M", 0.61}, {"L", 0.71}}};
  static constexpr std::array<std::pair<std::string_view, double>, 3> kAu = {
      {{"M", 0.45}, {"S", 0.56}, {"N", 0.704}}};
  static constexpr std::array<std::pair<std::string_view, double>, 3> kCia = {
      {{"N", 0.0}, {"P", 0.275}, {"C", 0.660}}};
  auto av = lookup(base[0], kAv);
  auto ac = lookup(base[1], kAc);
  auto au = lookup(base[2], kAu);
  auto c = lookup(base[3], kCia);
  auto i = lookup(base[4], kCia);
  auto a = lookup(base[5], kCia);
  if (!av || !ac || !au || !c || !i || !a) return std::nullopt;
  double impact = 10.41 * (1.0 - (1.0 - *c) * (1.0 - *i) * (1.0 - *a));
  double exploitability = 20.0 * *av * *ac * *au;
  double f = impact == 0 ? 0.0 : 1.176;
  double score = (0.6 * impact + 0.4 * exploitability - 1.5) * f;
  // Round to one decimal, half up; the epsilon absorbs binary representation.
  return std::floor(score * 10.0 + 0.5 + 1e-9) / 10.0;
}

std::string severity_from_rating(std::string_view rating) {
  while (!rating.empty() && (rating.back() == '*' || rating.back() == ' ')) rating.remove_suffix(1);
  while (!rating.empty() && rating.front() == ' ') rating.remove_prefix(1);
  std::string r;
  for (char ch : rating)
    r.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
  if (r == "critical") return "critical";
  if (r == "high" || r == "important") return "high";
  if (r == "medium" || r == "moderate") return "medium";
  if (r == "low") return "low";
  if (r == "negligible" || r == "unimportant" || r == "none") return "negligible";
  return "unknown";
}

Assessment assess_severity(const std::vector<const std::vector<SeverityScore>*>& entries,
                           std::string_view rating) {
  Assessment out;
  std::string v2_vector;
  double v2_score = -1;
  std::string v4_vector;
  std::string other_rating;
  for (const auto* list : entries) {
    if (list == nullptr) continue;
    for (const SeverityScore& s : *list) {
      if (s.type == "CVSS_V3" || s.score.rfind("CVSS:3.", 0) == 0) {
        if (auto score = cvss3_base_score(s.score); score && out.cvss_score < 0) {
          out.cvss_vector = s.score;
          out.cvss_score = *score;
        }
      } else if (s.type == "CVSS_V2") {
        if (auto score = cvss2_base_score(s.score); score && v2_score < 0) {
          v2_vector = s.score;
          v2_score = *score;
        }
      } else if (s.type == "CVSS_V4") {
        if (v4_vector.empty()) v4_vector = s.score;
      } else if (other_rating.empty()) {
        other_rating = s.score;
      }
    }
    if (out.cvss_score >= 0) break;  // a package's own score outranks the advisory's
  }
  if (out.cvss_score < 0 && v2_score >= 0) {
    // CVSS v2 has no "critical" (NVD's v2 ratings: low < 4, medium < 7, high).
    out.cvss_vector = v2_vector;
    out.cvss_score = v2_score;
    out.severity = v2_score < 4.0 ? "low" : v2_score < 7.0 ? "medium" : "high";
    return out;
  }
  if (out.cvss_score >= 0) {
    std::string s = severity_from_cvss(out.cvss_score);
    out.severity = s == "none" ? "negligible" : s;
    return out;
  }
  out.cvss_vector = v4_vector;
  out.severity = severity_from_rating(rating);
  if (out.severity == "unknown" && !other_rating.empty()) {
    out.severity = severity_from_rating(other_rating);
  }
  return out;
}

}  // namespace portcullis::scanner::advisories
