#include "scanner/advisories/osv.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "scanner/advisories/json_fields.h"

namespace portcullis::scanner::advisories {

namespace {

// Bounds on one record, far above anything real data has (the largest in
// vulndata: 30 events in a range, 1,132 listed versions, 12 affected).
constexpr std::size_t kMaxId = 256;
constexpr std::size_t kMaxName = 1024;
constexpr std::size_t kMaxVersion = 1024;
constexpr std::size_t kMaxDate = 64;
constexpr std::size_t kMaxRating = 64;
constexpr std::size_t kMaxScore = 512;
constexpr std::size_t kMaxSummary = 512;
constexpr std::size_t kMaxAliases = 4096;
constexpr std::size_t kMaxAffected = 100'000;
constexpr std::size_t kMaxRanges = 1024;
constexpr std::size_t kMaxEvents = 4096;
constexpr std::size_t kMaxVersions = 1'000'000;

template <class T>
Error at(const Result<T>& r, const std::string& where) {
  return malformed(fmt::format("{}: {}", where, r.error().message));
}

Result<std::vector<std::string>> string_list(const boost::json::object& o, std::string_view key,
                                             std::size_t max_items, std::size_t max_len) {
  std::vector<std::string> out;
  auto arr = get_array(o, key);
  if (!arr) return arr.error();
  if (*arr == nullptr) return out;
  if ((*arr)->size() > max_items) {
    return malformed(fmt::format("\"{}\" has more than {} items", key, max_items));
  }
  out.reserve((*arr)->size());
  for (std::size_t i = 0; i < (*arr)->size(); ++i) {
    const auto& v = (**arr)[i];
    if (!v.is_string()) return malformed(fmt::format("{}[{}] is not a string", key, i));
    const auto& s = v.get_string();
    if (s.size() > max_len) {
      return malformed(fmt::format("{}[{}] is longer than {} bytes", key, i, max_len));
    }
    out.emplace_back(s.data(), s.size());
  }
  return out;
}

Result<std::vector<SeverityScore>> severities(const boost::json::object& o) {
  std::vector<SeverityScore> out;
  auto arr = get_array(o, "severity");
  if (!arr) return arr.error();
  if (*arr == nullptr) return out;
  for (std::size_t i = 0; i < (*arr)->size() && i < 64; ++i) {
    const auto& v = (**arr)[i];
    if (!v.is_object()) return malformed(fmt::format("severity[{}] is not an object", i));
    auto type = get_text(v.get_object(), "type", kMaxRating);
    if (!type) return at(type, fmt::format("severity[{}]", i));
    auto score = get_text(v.get_object(), "score", kMaxScore);
    if (!score) return at(score, fmt::format("severity[{}]", i));
    if (type->empty() || score->empty()) continue;
    out.push_back({std::move(*type), std::move(*score)});
  }
  return out;
}

// A string member of a free-form object (database_specific, ecosystem_specific):
// its shape is the database's business, so anything else reads as absent.
std::string loose_text(const boost::json::object& o, std::string_view object_key,
                       std::string_view key, std::size_t max_len) {
  const boost::json::value* obj = o.if_contains(object_key);
  if (obj == nullptr || !obj->is_object()) return {};
  const boost::json::value* v = obj->get_object().if_contains(key);
  if (v == nullptr || !v->is_string() || v->get_string().size() > max_len) return {};
  return std::string(v->get_string());
}

Result<Range> parse_range(const boost::json::object& o, bool& usable) {
  Range range;
  usable = false;
  auto type = get_text(o, "type", kMaxRating);
  if (!type) return type.error();
  if (type->empty()) return malformed("\"type\" is missing");
  if (*type != "SEMVER" && *type != "ECOSYSTEM") return range;  // GIT, or a type from the future
  auto events = get_array(o, "events");
  if (!events) return events.error();
  if (*events == nullptr) return malformed("\"events\" is missing");
  if ((*events)->size() > kMaxEvents) {
    return malformed(fmt::format("more than {} events", kMaxEvents));
  }
  range.type = std::move(*type);
  static constexpr std::array<EventKind, 4> kinds = {EventKind::introduced, EventKind::fixed,
                                                     EventKind::last_affected, EventKind::limit};
  for (std::size_t i = 0; i < (*events)->size(); ++i) {
    const auto& ev = (**events)[i];
    if (!ev.is_object()) return malformed(fmt::format("events[{}] is not an object", i));
    const auto& eo = ev.get_object();
    std::optional<Event> found;
    for (EventKind kind : kinds) {
      const boost::json::value* v = eo.if_contains(event_kind_name(kind));
      if (v == nullptr) continue;
      if (found) {
        return malformed(
            fmt::format("events[{}] has more than one of introduced, fixed, "
                        "last_affected, limit",
                        i));
      }
      if (!v->is_string() || v->get_string().empty()) {
        return malformed(
            fmt::format("events[{}].{} is not a non-empty string", i, event_kind_name(kind)));
      }
      if (v->get_string().size() > kMaxVersion) {
        return malformed(fmt::format("events[{}].{} is longer than {} bytes", i,
                                     event_kind_name(kind), kMaxVersion));
      }
      found = Event{kind, std::string(v->get_string())};
    }
    if (!found) {
      return malformed(
          fmt::format("events[{}] has none of introduced, fixed, last_affected, limit", i));
    }
    range.events.push_back(std::move(*found));
  }
  usable = true;
  return range;
}

Result<std::optional<Affected>> parse_affected(const boost::json::object& o) {
  auto pkg = get_object(o, "package");
  if (!pkg) return pkg.error();
  if (*pkg == nullptr) return std::optional<Affected>();  // GIT-only entries may have no package
  Affected a;
  auto eco = get_text(**pkg, "ecosystem", kMaxName);
  if (!eco) return at(eco, "package");
  auto name = get_text(**pkg, "name", kMaxName);
  if (!name) return at(name, "package");
  if (eco->empty() || name->empty()) return std::optional<Affected>();
  a.ecosystem = std::move(*eco);
  a.package = std::move(*name);

  auto ranges = get_array(o, "ranges");
  if (!ranges) return ranges.error();
  if (*ranges != nullptr) {
    if ((*ranges)->size() > kMaxRanges)
      return malformed(fmt::format("more than {} ranges", kMaxRanges));
    for (std::size_t i = 0; i < (*ranges)->size(); ++i) {
      const auto& rv = (**ranges)[i];
      if (!rv.is_object()) return malformed(fmt::format("ranges[{}] is not an object", i));
      bool usable = false;
      auto range = parse_range(rv.get_object(), usable);
      if (!range) return at(range, fmt::format("ranges[{}]", i));
      if (usable) a.ranges.push_back(std::move(*range));
    }
  }
  auto versions = string_list(o, "versions", kMaxVersions, kMaxVersion);
  if (!versions) return versions.error();
  a.versions = std::move(*versions);
  auto sev = severities(o);
  if (!sev) return sev.error();
  a.severity = std::move(*sev);
  a.status = loose_text(o, "ecosystem_specific", "status", kMaxRating);
  a.rating = loose_text(o, "ecosystem_specific", "severity", kMaxRating);
  if (a.rating.empty()) a.rating = loose_text(o, "ecosystem_specific", "urgency", kMaxRating);
  if (a.rating.empty()) a.rating = loose_text(o, "database_specific", "severity", kMaxRating);
  return std::optional<Affected>(std::move(a));
}

}  // namespace

bool looks_like_osv(const boost::json::object& o) {
  const boost::json::value* id = o.if_contains("id");
  if (id == nullptr || !id->is_string()) return false;
  return o.contains("modified") || o.contains("affected") || o.contains("schema_version");
}

Result<Advisory> advisory_from_osv(const boost::json::value& record) {
  if (!record.is_object()) return malformed("not a JSON object");
  const auto& o = record.get_object();
  Advisory adv;
  auto id = get_text(o, "id", kMaxId);
  if (!id) return id.error();
  if (id->empty()) return malformed("\"id\" is missing");
  adv.id = std::move(*id);
  auto fail = [&](const Error& e) { return malformed(fmt::format("{}: {}", adv.id, e.message)); };
  for (auto [key, field] :
       {std::pair{"modified", &adv.modified}, std::pair{"published", &adv.published},
        std::pair{"withdrawn", &adv.withdrawn}}) {
    auto v = get_text(o, key, kMaxDate);
    if (!v) return fail(v.error());
    *field = std::move(*v);
  }
  for (const char* key : {"aliases", "upstream"}) {
    auto list = string_list(o, key, kMaxAliases, kMaxId);
    if (!list) return fail(list.error());
    for (auto& alias : *list) {
      if (alias.empty() || alias == adv.id) continue;
      if (std::find(adv.aliases.begin(), adv.aliases.end(), alias) != adv.aliases.end()) continue;
      adv.aliases.push_back(std::move(alias));
    }
  }
  auto summary = get_string(o, "summary");
  if (!summary) return fail(summary.error());
  if (*summary != nullptr) adv.summary = first_line(**summary, kMaxSummary);
  if (adv.summary.empty()) {
    auto details = get_string(o, "details");
    if (!details) return fail(details.error());
    if (*details != nullptr) adv.summary = first_line(**details, kMaxSummary);
  }
  auto sev = severities(o);
  if (!sev) return fail(sev.error());
  adv.severity = std::move(*sev);
  adv.rating = loose_text(o, "database_specific", "severity", kMaxRating);

  auto affected = get_array(o, "affected");
  if (!affected) return fail(affected.error());
  if (*affected != nullptr) {
    if ((*affected)->size() > kMaxAffected) {
      return fail(malformed(fmt::format("more than {} affected entries", kMaxAffected)));
    }
    for (std::size_t i = 0; i < (*affected)->size(); ++i) {
      const auto& av = (**affected)[i];
      if (!av.is_object()) return fail(malformed(fmt::format("affected[{}] is not an object", i)));
      auto a = parse_affected(av.get_object());
      if (!a) return fail(malformed(fmt::format("affected[{}]: {}", i, a.error().message)));
      if (*a) adv.affected.push_back(std::move(**a));
    }
  }
  return adv;
}

}  // namespace portcullis::scanner::advisories
