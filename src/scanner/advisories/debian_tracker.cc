#include "scanner/advisories/debian_tracker.h"

#include <array>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "scanner/advisories/ecosystems.h"
#include "scanner/advisories/json_fields.h"

namespace portcullis::scanner::advisories {

namespace {

constexpr std::size_t kMaxName = 256;
constexpr std::size_t kMaxVersion = 1024;
constexpr std::size_t kMaxWord = 64;
constexpr std::size_t kMaxSummary = 512;

// The ranks of the tracker's bugs.internUrgency; "unknown" has none.
std::optional<int> urgency_rank(std::string_view u) {
  static constexpr std::array<std::string_view, 6> kOrder = {
      "high", "medium", "low", "unimportant", "end-of-life", "not yet assigned"};
  for (std::size_t i = 0; i < kOrder.size(); ++i) {
    if (kOrder[i] == u) return -static_cast<int>(i);
  }
  return std::nullopt;
}

// One step of calculateDebsecan1's fold of an issue's urgencies.
std::string fold_urgency(const std::string& total, std::string_view urgency) {
  // "high**": the tracker's JSON marks urgencies derived from NVD with "**".
  while (!urgency.empty() && urgency.back() == '*') urgency.remove_suffix(1);
  std::string u = urgency_rank(urgency) ? std::string(urgency) : std::string("unknown");
  if (total.empty()) return u;
  if (total == "unknown") return u != "unimportant" ? u : total;
  if (u == "unknown") return total == "unimportant" ? u : total;
  return *urgency_rank(u) > *urgency_rank(total) ? u : total;
}

struct ReleaseEntry {
  std::string codename;
  std::string status;
  std::optional<std::string> fixed_version;
  std::string urgency;
};

Result<ReleaseEntry> parse_release(const std::string& codename, const boost::json::value& v) {
  if (!v.is_object()) return malformed(fmt::format("releases.{} is not an object", codename));
  const auto& o = v.get_object();
  ReleaseEntry e;
  e.codename = codename;
  auto status = get_text(o, "status", kMaxWord);
  if (!status) return malformed(fmt::format("releases.{}: {}", codename, status.error().message));
  e.status = std::move(*status);
  auto fixed = get_string(o, "fixed_version");
  if (!fixed) return malformed(fmt::format("releases.{}: {}", codename, fixed.error().message));
  if (*fixed != nullptr) {
    if ((*fixed)->size() > kMaxVersion) {
      return malformed(fmt::format("releases.{}.fixed_version is too long", codename));
    }
    if (!(*fixed)->empty()) e.fixed_version = std::string(**fixed);
  }
  auto urgency = get_text(o, "urgency", kMaxWord);
  if (!urgency) return malformed(fmt::format("releases.{}: {}", codename, urgency.error().message));
  e.urgency = std::move(*urgency);
  return e;
}

Range below(EventKind end_kind, const std::optional<std::string>& end) {
  Range r{"ECOSYSTEM", {{EventKind::introduced, "0"}}};
  if (end) r.events.push_back({end_kind, *end});
  return r;
}

}  // namespace

bool looks_like_debian_tracker(const boost::json::object& doc) {
  if (doc.empty()) return false;
  std::size_t checked = 0;
  for (const auto& [source, issues] : doc) {
    if (!issues.is_object()) return false;
    for (const auto& [issue, data] : issues.get_object()) {
      if (!data.is_object() || !data.get_object().contains("releases")) return false;
      break;
    }
    if (++checked == 3) break;
  }
  return true;
}

Result<std::vector<Advisory>> advisories_from_debian_tracker(const boost::json::object& doc,
                                                             std::size_t max_issues) {
  std::vector<Advisory> out;
  std::unordered_map<std::string, std::size_t> by_id;
  std::size_t pairs = 0;
  for (const auto& [source_key, issues] : doc) {
    std::string source(source_key);
    if (source.empty() || source.size() > kMaxName) {
      return malformed(
          fmt::format("source package name \"{}\" is empty or too long", first_line(source, 64)));
    }
    if (!issues.is_object()) return malformed(fmt::format("{}: not an object", source));
    for (const auto& [issue_key, data] : issues.get_object()) {
      std::string issue(issue_key);
      std::string where = fmt::format("{}/{}", source, first_line(issue, 64));
      if (++pairs > max_issues) {
        return make_error(Errc::size_invalid,
                          fmt::format("more than {} (source, issue) entries", max_issues));
      }
      if (!data.is_object()) return malformed(fmt::format("{}: not an object", where));
      if (issue.size() > kMaxName) return malformed(fmt::format("{}: issue id too long", where));
      const auto& io = data.get_object();

      std::vector<ReleaseEntry> releases;
      const boost::json::value* rel = io.if_contains("releases");
      if (rel != nullptr && rel->is_object()) {
        for (const auto& [codename, rv] : rel->get_object()) {
          auto e = parse_release(std::string(codename), rv);
          if (!e) return malformed(fmt::format("{}: {}", where, e.error().message));
          releases.push_back(std::move(*e));
        }
      } else if (rel != nullptr && !(rel->is_array() && rel->get_array().empty()) &&
                 !rel->is_null()) {
        return malformed(fmt::format("{}: \"releases\" is not an object", where));
      }
      auto description = get_string(io, "description");
      if (!description) return malformed(fmt::format("{}: {}", where, description.error().message));

      // The tracker's debsecan feed only carries CVE and TEMP issues.
      if (issue.rfind("CVE-", 0) != 0 && issue.rfind("TEMP-", 0) != 0) continue;

      std::string total;
      for (const auto& e : releases) total = fold_urgency(total, e.urgency);
      if (total == "unimportant" || total == "end-of-life") continue;
      const ReleaseEntry* sid = nullptr;
      for (const auto& e : releases) {
        if (e.codename == "sid") sid = &e;
      }
      if (sid != nullptr && sid->fixed_version == "0") continue;

      auto [it, inserted] = by_id.try_emplace(issue, out.size());
      if (inserted) {
        Advisory adv;
        adv.id = issue;
        if (*description != nullptr) adv.summary = first_line(**description, kMaxSummary);
        out.push_back(std::move(adv));
      }
      Advisory& adv = out[it->second];
      if (adv.summary.empty() && *description != nullptr) {
        adv.summary = first_line(**description, kMaxSummary);
      }
      std::optional<std::string> sid_fix = sid != nullptr ? sid->fixed_version : std::nullopt;
      for (const auto& e : releases) {
        if (e.codename == "sid") continue;
        auto number = debian_release_number(e.codename);
        if (!number) continue;  // a release this code does not know (e.g. "experimental")
        Affected a;
        a.ecosystem = "Debian:" + *number;
        a.package = source;
        a.status = e.status;
        a.rating = e.urgency;
        if (e.fixed_version == "0") {
          a.status = std::string(kStatusNotAffected);
        } else if (e.fixed_version) {
          a.ranges.push_back(below(EventKind::fixed, e.fixed_version));
        } else {
          a.ranges.push_back(below(EventKind::limit, sid_fix));
        }
        adv.affected.push_back(std::move(a));
      }
      Affected any_release;
      any_release.ecosystem = "Debian";
      any_release.package = source;
      any_release.status = sid != nullptr ? sid->status : std::string();
      any_release.rating = sid != nullptr ? sid->urgency : total;
      any_release.ranges.push_back(below(EventKind::limit, sid_fix));
      adv.affected.push_back(std::move(any_release));
    }
  }
  return out;
}

}  // namespace portcullis::scanner::advisories
