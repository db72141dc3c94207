#include "scanner/advisories/matcher.h"

#include <algorithm>
#include <deque>

#include "scanner/advisories/ecosystems.h"
#include "scanner/advisories/severity.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::advisories {

namespace {

std::string key_of(std::string_view ecosystem, std::string_view package) {
  std::string key;
  key.reserve(ecosystem.size() + 1 + package.size());
  key.append(ecosystem).push_back('\n');
  key.append(package);
  return key;
}

// "12" of "12", "12.5"; "" when it does not start with a digit.
std::string major_of(std::string_view version_id) {
  std::size_t end = 0;
  while (end < version_id.size() && version_id[end] >= '0' && version_id[end] <= '9') ++end;
  return std::string(version_id.substr(0, end));
}

// A stable merge sort. std::sort needs a strict weak ordering, which
// hostile version strings cannot promise; a merge sort only needs the
// comparison to be deterministic.
template <class T, class Less>
void merge_sort(std::vector<T>& v, Less less) {
  std::vector<T> tmp(v.size());
  for (std::size_t width = 1; width < v.size(); width *= 2) {
    for (std::size_t lo = 0; lo < v.size(); lo += 2 * width) {
      std::size_t mid = std::min(lo + width, v.size());
      std::size_t hi = std::min(lo + 2 * width, v.size());
      std::size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = less(v[j], v[i]) ? std::move(v[j++]) : std::move(v[i++]);
      while (i < mid) tmp[k++] = std::move(v[i++]);
      while (j < hi) tmp[k++] = std::move(v[j++]);
    }
    v.swap(tmp);
  }
}

}  // namespace

std::optional<PackageQuery> query_for(const Package& p, const std::optional<Distro>& distro) {
  PackageQuery q;
  const std::string& source = p.source_name.empty() ? p.name : p.source_name;
  auto by_source = [&](std::string version) {
    q.name = source;
    q.version = std::move(version);
    if (!p.source_name.empty() && p.source_name != p.name) {
      q.fallback_name = p.name;
      q.fallback_version = p.version;
    }
  };
  if (p.type == kTypeDeb) {
    if (!distro) return std::nullopt;
    std::string source_version = p.source_version.empty() ? p.version : p.source_version;
    if (distro->id == "debian") {
      std::string release = major_of(distro->version_id);
      if (release.empty()) release = debian_release_number(distro->version_codename).value_or("");
      if (!release.empty()) q.ecosystems.push_back("Debian:" + release);
      q.any_release = "Debian";
    } else if (distro->id == "ubuntu" && !distro->version_id.empty()) {
      q.ecosystems.push_back("Ubuntu:" + distro->version_id + ":LTS");
      q.ecosystems.push_back("Ubuntu:" + distro->version_id);
    } else {
      return std::nullopt;
    }
    by_source(std::move(source_version));
    return q;
  }
  if (p.type == kTypeApk) {
    if (!distro) return std::nullopt;
    if (distro->id == "alpine") {
      auto eco = alpine_ecosystem(distro->version_id);
      if (!eco) return std::nullopt;
      q.ecosystems.push_back(*eco);
    } else if (distro->id == "wolfi") {
      q.ecosystems.push_back("Wolfi");
    } else if (distro->id == "chainguard") {
      q.ecosystems.push_back("Chainguard");
    } else {
      return std::nullopt;
    }
    by_source(p.version);  // an apk's origin has the same version
    return q;
  }
  if (p.type == kTypeRpm) {
    if (!distro) return std::nullopt;
    std::string major = major_of(distro->version_id);
    if (distro->id == "rocky" && !major.empty()) {
      q.ecosystems.push_back("Rocky Linux:" + major);
    } else if (distro->id == "almalinux" && !major.empty()) {
      q.ecosystems.push_back("AlmaLinux:" + major);
    } else if (distro->id == "mageia" && !distro->version_id.empty()) {
      q.ecosystems.push_back("Mageia:" + distro->version_id);
    } else if (distro->id == "photon" && !distro->version_id.empty()) {
      q.ecosystems.push_back("Photon OS:" + distro->version_id);
    } else {
      return std::nullopt;
    }
    by_source(p.source_version.empty() ? p.version : p.source_version);
    return q;
  }
  q.version = p.version;
  if (p.type == kTypeNpm) {
    q.ecosystems.push_back("npm");
    q.name = p.name;
  } else if (p.type == kTypePypi) {
    q.ecosystems.push_back("PyPI");
    q.name = pep503_normalize(p.name);
  } else if (p.type == kTypeGolang) {
    q.ecosystems.push_back("Go");
    q.name = p.name;
  } else if (p.type == kTypeMaven) {
    q.ecosystems.push_back("Maven");
    q.name = p.name;
  } else {
    return std::nullopt;
  }
  if (q.name.empty() || q.version.empty()) return std::nullopt;
  return q;
}

uint32_t MatchIndex::Order::position_of(std::string_view version) const {
  // The first sorted string not below `version`.
  std::size_t lo = 0, hi = sorted.size();
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    if (versions::compare(scheme, sorted[mid], version) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == sorted.size()) return 2 * (rank.empty() ? 0 : rank.back()) + 1;
  if (versions::compare(scheme, sorted[lo], version) == 0) return 2 * rank[lo];
  return 2 * rank[lo] - 1;
}

std::shared_ptr<const MatchIndex> MatchIndex::build(StoredData data) {
  auto index = std::make_shared<MatchIndex>();
  index->generation_ = data.generation;
  std::unordered_map<int64_t, std::string> source_names(data.sources.begin(), data.sources.end());

  // Phase 1: entries per bucket, their ranges still as stored.
  struct Staged {
    Entry entry;
    std::vector<Range> ranges;
  };
  struct StagedBucket {
    versions::Scheme scheme{};
    std::vector<Staged> entries;
  };
  std::unordered_map<std::string, StagedBucket> staging;
  for (auto& [source_id, adv] : data.advisories) {
    if (!adv.withdrawn.empty()) continue;
    AdvisoryInfo info;
    info.id = display_id(adv.id);
    if (info.id != adv.id) info.aliases.push_back(adv.id);
    for (auto& alias : adv.aliases) {
      if (alias != info.id &&
          std::find(info.aliases.begin(), info.aliases.end(), alias) == info.aliases.end()) {
        info.aliases.push_back(std::move(alias));
      }
    }
    info.summary = std::move(adv.summary);
    info.rating = std::move(adv.rating);
    info.severity = std::move(adv.severity);
    if (auto it = source_names.find(source_id); it != source_names.end()) info.source = it->second;
    auto advisory = static_cast<uint32_t>(index->advisories_.size());
    index->advisories_.push_back(std::move(info));
    const AdvisoryInfo& stored = index->advisories_.back();

    for (Affected& a : adv.affected) {
      std::string package = a.ecosystem == "PyPI" ? pep503_normalize(a.package) : a.package;
      auto [it, fresh] = staging.try_emplace(key_of(a.ecosystem, package));
      if (fresh) it->second.scheme = versions::scheme_for_ecosystem(a.ecosystem);
      Staged st;
      st.entry.advisory = advisory;
      st.entry.not_affected = a.status == kStatusNotAffected;
      st.entry.rating = a.rating.empty() ? stored.rating : std::move(a.rating);
      st.entry.severity = assess_severity({&a.severity, &stored.severity}, st.entry.rating);
      st.entry.versions = std::move(a.versions);
      std::sort(st.entry.versions.begin(), st.entry.versions.end());
      st.ranges = std::move(a.ranges);
      it->second.entries.push_back(std::move(st));
      ++index->entry_count_;
    }
  }

  // Phase 2: per bucket, the order of every version its ranges name.
  auto is_zero_introduced = [](const Event& e) {
    return e.kind == EventKind::introduced && e.version == "0";
  };
  auto is_infinite_limit = [](const Event& e) {
    return e.kind == EventKind::limit && e.version.find('*') != std::string::npos;
  };
  for (auto& [key, staged] : staging) {
    Bucket& bucket = index->buckets_[key];
    auto order_for = [&](const Range& r) -> uint32_t {
      versions::Scheme scheme = r.type == "SEMVER" ? versions::Scheme::kSemver : staged.scheme;
      for (uint32_t i = 0; i < bucket.orders.size(); ++i) {
        if (bucket.orders[i].scheme == scheme) return i;
      }
      bucket.orders.push_back(Order{scheme, {}, {}});
      return static_cast<uint32_t>(bucket.orders.size() - 1);
    };
    // Distinct version strings per order.
    std::vector<std::unordered_map<std::string, uint32_t>> rank_of;
    for (const Staged& st : staged.entries) {
      for (const Range& r : st.ranges) {
        uint32_t o = order_for(r);
        if (rank_of.size() <= o) rank_of.resize(o + 1);
        for (const Event& ev : r.events) {
          if (!is_zero_introduced(ev) && !is_infinite_limit(ev))
            rank_of[o].try_emplace(ev.version, 0);
        }
      }
    }
    for (uint32_t o = 0; o < bucket.orders.size(); ++o) {
      Order& order = bucket.orders[o];
      for (const auto& [version, unused] : rank_of[o]) order.sorted.push_back(version);
      std::sort(order.sorted.begin(), order.sorted.end());  // deterministic input to the merge sort
      merge_sort(order.sorted, [&](const std::string& a, const std::string& b) {
        return versions::compare(order.scheme, a, b) < 0;
      });
      uint32_t rank = 0;
      for (std::size_t i = 0; i < order.sorted.size(); ++i) {
        if (i == 0 || versions::compare(order.scheme, order.sorted[i - 1], order.sorted[i]) != 0)
          ++rank;
        order.rank.push_back(rank);
        rank_of[o][order.sorted[i]] = rank;
      }
    }
    for (Staged& st : staged.entries) {
      for (Range& r : st.ranges) {
        CompiledRange cr;
        cr.order = order_for(r);
        for (Event& ev : r.events) {
          uint32_t position = is_zero_introduced(ev)  ? kBeforeAll
                              : is_infinite_limit(ev) ? kAfterAll
                                                      : 2 * rank_of[cr.order].at(ev.version);
          if (ev.kind == EventKind::limit) {
            cr.limits.push_back(position);
          } else {
            cr.events.push_back(CompiledEvent{ev.kind, position, std::move(ev.version)});
          }
        }
        std::stable_sort(
            cr.events.begin(), cr.events.end(),
            [](const CompiledEvent& a, const CompiledEvent& b) { return a.position < b.position; });
        st.entry.ranges.push_back(std::move(cr));
      }
      bucket.entries.push_back(std::move(st.entry));
    }
  }

  // Release-independent entries ("Debian") learn which releases have an
  // entry of their own for the same advisory and package ("Debian:12").
  std::unordered_map<const Bucket*, std::unordered_map<std::string_view, std::vector<Entry*>>>
      by_id;  // per release-independent bucket: its entries by displayed id
  for (const auto& [key, bucket] : index->buckets_) {
    std::size_t colon = key.find(':');
    std::size_t nl = key.find('\n');
    if (colon == std::string::npos || colon > nl) continue;
    auto any = index->buckets_.find(key.substr(0, colon) + key.substr(nl));
    if (any == index->buckets_.end()) continue;
    auto [ids, fresh] = by_id.try_emplace(&any->second);
    if (fresh) {
      for (Entry& e : any->second.entries)
        ids->second[index->advisories_[e.advisory].id].push_back(&e);
    }
    std::string release = key.substr(0, nl);
    for (const Entry& specific : bucket.entries) {
      auto it = ids->second.find(index->advisories_[specific.advisory].id);
      if (it == ids->second.end()) continue;
      for (Entry* e : it->second) {
        if (std::find(e->own_releases.begin(), e->own_releases.end(), release) ==
            e->own_releases.end()) {
          e->own_releases.push_back(release);
        }
      }
    }
  }
  return index;
}

bool MatchIndex::affects(const Entry& e, std::string_view version, const Positions& at) {
  if (e.not_affected) return false;
  if (std::binary_search(e.versions.begin(), e.versions.end(), version)) return true;
  for (const CompiledRange& r : e.ranges) {
    uint32_t v = at[r.order];
    if (!r.limits.empty() &&
        std::none_of(r.limits.begin(), r.limits.end(), [&](uint32_t limit) { return v < limit; })) {
      continue;
    }
    bool vulnerable = false;
    for (const CompiledEvent& ev : r.events) {
      switch (ev.kind) {
        case EventKind::introduced:
          if (v >= ev.position) vulnerable = true;
          break;
        case EventKind::fixed:
          if (v >= ev.position) vulnerable = false;
          break;
        case EventKind::last_affected:
          if (v > ev.position) vulnerable = false;
          break;
        case EventKind::limit:
          break;
      }
    }
    if (vulnerable) return true;
  }
  return false;
}

const MatchIndex::Bucket* MatchIndex::find(const std::string& ecosystem,
                                           const std::string& name) const {
  auto it = buckets_.find(key_of(ecosystem, name));
  return it == buckets_.end() ? nullptr : &it->second;
}

bool MatchIndex::match_package(std::size_t index, const PackageQuery& q,
                               std::vector<Finding>& out) const {
  // The entries that affect the version: the release-specific ones, and the
  // release-independent ones of advisories without an entry for the release.
  struct Match {
    const Entry* entry;
    const Bucket* bucket;
    const Positions* at;
  };
  std::vector<Match> matched;
  std::deque<Positions> positions;  // per bucket looked at (few); references stay valid
  auto positions_in = [&](const Bucket& b, std::string_view version) -> const Positions& {
    Positions& at = positions.emplace_back();
    for (const Order& o : b.orders) at.push_back(o.position_of(version));
    return at;
  };
  auto gather = [&](const std::string& name, std::string_view version) {
    bool listed = false;
    for (const std::string& eco : q.ecosystems) {
      if (const Bucket* b = find(eco, name)) {
        listed = true;
        const Positions& at = positions_in(*b, version);
        for (const Entry& e : b->entries) {
          if (affects(e, version, at)) matched.push_back({&e, b, &at});
        }
      }
    }
    if (q.any_release.empty()) return listed;
    if (const Bucket* b = find(q.any_release, name)) {
      listed = true;
      const Positions& at = positions_in(*b, version);
      for (const Entry& e : b->entries) {
        bool own_entry =
            std::any_of(q.ecosystems.begin(), q.ecosystems.end(), [&](const std::string& eco) {
              return std::find(e.own_releases.begin(), e.own_releases.end(), eco) !=
                     e.own_releases.end();
            });
        if (!own_entry && affects(e, version, at)) matched.push_back({&e, b, &at});
      }
    }
    return listed;
  };
  std::string_view version = q.version;
  bool by_name = gather(q.name, version);
  if (!by_name && !q.fallback_name.empty()) {
    version = q.fallback_version;
    gather(q.fallback_name, version);
  }
  if (matched.empty()) return by_name;

  // One finding per displayed id, in id order.
  std::stable_sort(matched.begin(), matched.end(), [&](const Match& a, const Match& b) {
    return advisories_[a.entry->advisory].id < advisories_[b.entry->advisory].id;
  });
  for (std::size_t i = 0; i < matched.size();) {
    const Entry* first = matched[i].entry;
    const AdvisoryInfo& adv = advisories_[first->advisory];
    Finding f;
    f.advisory_id = adv.id;
    f.aliases = adv.aliases;
    f.package_index = index;
    f.summary = adv.summary;
    f.source = adv.source;
    f.rating = first->rating;
    f.severity = first->severity.severity;
    f.cvss_vector = first->severity.cvss_vector;
    f.cvss_score = first->severity.cvss_score;
    // The lowest fix above the installed version: by position within a
    // bucket's order, by real comparison across buckets (rare).
    const CompiledEvent* best = nullptr;
    std::size_t j = i;
    for (; j < matched.size() && advisories_[matched[j].entry->advisory].id == adv.id; ++j) {
      const Match& m = matched[j];
      if (m.entry->advisory != first->advisory) {
        const AdvisoryInfo& other = advisories_[m.entry->advisory];
        for (const std::string& alias : other.aliases) {
          if (std::find(f.aliases.begin(), f.aliases.end(), alias) == f.aliases.end()) {
            f.aliases.push_back(alias);
          }
        }
        if (f.summary.empty()) f.summary = other.summary;
      }
      for (const CompiledRange& r : m.entry->ranges) {
        uint32_t v = (*m.at)[r.order];
        const CompiledEvent* lowest = nullptr;
        for (const CompiledEvent& ev : r.events) {
          if (ev.kind == EventKind::fixed && ev.position > v &&
              (lowest == nullptr || ev.position < lowest->position)) {
            lowest = &ev;
          }
        }
        if (lowest == nullptr) continue;
        versions::Scheme scheme = m.bucket->orders[r.order].scheme;
        if (best == nullptr || versions::compare(scheme, lowest->version, best->version) < 0) {
          best = lowest;
        }
      }
    }
    if (best != nullptr) f.fixed_version = best->version;
    out.push_back(std::move(f));
    i = j;
  }
  return by_name;
}

std::vector<Finding> MatchIndex::match(const Inventory& inventory) const {
  std::vector<Finding> out;
  // The binaries of one source share its findings: match each (ecosystems,
  // name, version) once. [first, last) of `out`.
  std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> done;
  for (std::size_t i = 0; i < inventory.packages.size(); ++i) {
    auto q = query_for(inventory.packages[i], inventory.distro);
    if (!q) continue;
    std::string key = q->any_release;
    for (const auto& eco : q->ecosystems) key.append("\n").append(eco);
    key.append("\n").append(q->name).append("\n").append(q->version);
    if (auto it = done.find(key); it != done.end()) {
      for (std::size_t k = it->second.first; k < it->second.second; ++k) {
        Finding f = out[k];
        f.package_index = i;
        out.push_back(std::move(f));
      }
      continue;
    }
    std::size_t first = out.size();
    if (match_package(i, *q, out)) done.emplace(std::move(key), std::pair{first, out.size()});
  }
  return out;
}

}  // namespace portcullis::scanner::advisories
