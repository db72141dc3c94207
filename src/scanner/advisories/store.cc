#include "scanner/advisories/store.h"

#include <sqlite3.h>

#include <random>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace portcullis::scanner::advisories {

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  format TEXT NOT NULL,
  data_date TEXT NOT NULL,
  imported_at INTEGER NOT NULL,
  records INTEGER NOT NULL);
CREATE TABLE advisories (
  id INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  vuln_id TEXT NOT NULL,
  modified TEXT NOT NULL,
  published TEXT NOT NULL,
  withdrawn TEXT NOT NULL,
  summary TEXT NOT NULL,
  rating TEXT NOT NULL,
  UNIQUE (source_id, vuln_id));
CREATE TABLE aliases (
  advisory_id INTEGER NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  alias TEXT NOT NULL);
CREATE INDEX aliases_by_advisory ON aliases(advisory_id);
CREATE INDEX aliases_by_alias ON aliases(alias);
CREATE TABLE affected (
  id INTEGER PRIMARY KEY,
  advisory_id INTEGER NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
  ecosystem TEXT NOT NULL,
  package TEXT NOT NULL,
  status TEXT NOT NULL,
  rating TEXT NOT NULL);
CREATE INDEX affected_by_package ON affected(ecosystem, package);
CREATE INDEX affected_by_advisory ON affected(advisory_id);
CREATE TABLE severities (
  advisory_id INTEGER NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
  affected_id INTEGER REFERENCES affected(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  score TEXT NOT NULL);
CREATE INDEX severities_by_advisory ON severities(advisory_id);
CREATE INDEX severities_by_affected ON severities(affected_id);
CREATE TABLE affected_versions (
  affected_id INTEGER NOT NULL REFERENCES affected(id) ON DELETE CASCADE,
  version TEXT NOT NULL);
CREATE INDEX affected_versions_by_affected ON affected_versions(affected_id);
CREATE TABLE ranges (
  id INTEGER PRIMARY KEY,
  affected_id INTEGER NOT NULL REFERENCES affected(id) ON DELETE CASCADE,
  type TEXT NOT NULL);
CREATE INDEX ranges_by_affected ON ranges(affected_id);
CREATE TABLE range_events (
  range_id INTEGER NOT NULL REFERENCES ranges(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  version TEXT NOT NULL);
CREATE INDEX range_events_by_range ON range_events(range_id);
)sql";

std::string random_instance() {
  std::random_device rd;
  std::uniform_int_distribution<uint32_t> dist;
  return fmt::format("{:08x}{:08x}", dist(rd), dist(rd));
}

}  // namespace


Store::Store(const std::filesystem::path& path)
    // The data can always be imported again: NORMAL durability is enough in WAL mode.
    : db_(path, {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"},
          "advisories", "advisory database error") {
  int version = db_.user_version();
  if (version > kSchemaVersion) {
    throw std::runtime_error(
        fmt::format("advisory database schema version {} is newer than this binary ({})", version,
                    kSchemaVersion));
  }
  if (version == 0) {
    db_.exec_transaction_or_throw(
        fmt::format("{} INSERT INTO meta VALUES ('instance', '{}'), ('generation', '0'); "
                    "PRAGMA user_version={};",
                    kSchema, random_instance(), kSchemaVersion),
        "creating the advisory schema");
  }
  if (!refresh()) throw std::runtime_error("cannot read the advisory database version");
}

Store::~Store() = default;

Error Store::fail(const char* what) { return db_.fail(what); }

metadata::SqliteDb::Stmt Store::prepare(const char* sql) { return db_.prepare(sql); }

Result<void> Store::exec(const char* sql) { return db_.exec(sql); }

Result<void> Store::refresh() {
  auto s = prepare("SELECT key, value FROM meta WHERE key IN ('instance', 'generation')");
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    std::string key = s.text(0);
    if (key == "instance") instance_ = s.text(1);
    if (key == "generation") generation_ = static_cast<uint64_t>(std::stoull("0" + s.text(1)));
  }
  if (rc != SQLITE_DONE) return fail("read meta");
  data_version_ = fmt::format("{}-{}", instance_, generation_);
  return {};
}

Result<std::unique_ptr<Store::Import>> Store::begin_import(const std::string& name) {
  if (auto r = exec("BEGIN IMMEDIATE"); !r) return r.error();
  auto rollback = [&](const char* what) {
    Error e = fail(what);
    exec("ROLLBACK");
    return e;
  };
  {
    auto s = prepare("DELETE FROM sources WHERE name = ?");
    s.bind(1, name);
    if (s.step() != SQLITE_DONE) return rollback("delete source");
  }
  {
    auto s = prepare(
        "INSERT INTO sources (name, format, data_date, imported_at, records) VALUES (?, '', '', 0, "
        "0)");
    s.bind(1, name);
    if (s.step() != SQLITE_DONE) return rollback("insert source");
  }
  SourceInfo info;
  info.name = name;
  return std::unique_ptr<Import>(new Import(this, db_.last_insert_rowid(), std::move(info)));
}

Store::Import::~Import() {
  if (!done_) store_->exec("ROLLBACK");
}

Result<void> Store::Import::add(const Advisory& adv) {
  Store& st = *store_;
  {
    auto s = st.prepare("DELETE FROM advisories WHERE source_id = ? AND vuln_id = ?");
    s.bind(1, source_id_).bind(2, adv.id);
    if (s.step() != SQLITE_DONE) return st.fail("replace advisory");
  }
  int64_t adv_row;
  {
    auto s = st.prepare(
        "INSERT INTO advisories (source_id, vuln_id, modified, published, withdrawn, summary, "
        "rating) VALUES (?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, source_id_).bind(2, adv.id).bind(3, adv.modified).bind(4, adv.published);
    s.bind(5, adv.withdrawn).bind(6, adv.summary).bind(7, adv.rating);
    if (s.step() != SQLITE_DONE) return st.fail("insert advisory");
    adv_row = st.db_.last_insert_rowid();
  }
  for (std::size_t i = 0; i < adv.aliases.size(); ++i) {
    auto s = st.prepare("INSERT INTO aliases (advisory_id, seq, alias) VALUES (?, ?, ?)");
    s.bind(1, adv_row).bind(2, static_cast<int64_t>(i)).bind(3, adv.aliases[i]);
    if (s.step() != SQLITE_DONE) return st.fail("insert alias");
  }
  auto add_severities = [&](const std::vector<SeverityScore>& list,
                            std::optional<int64_t> affected_row) -> Result<void> {
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto s = st.prepare(
          "INSERT INTO severities (advisory_id, affected_id, seq, type, score) "
          "VALUES (?, ?, ?, ?, ?)");
      s.bind(1, adv_row);
      if (affected_row) {
        s.bind(2, *affected_row);
      } else {
        s.bind_null(2);
      }
      s.bind(3, static_cast<int64_t>(i)).bind(4, list[i].type).bind(5, list[i].score);
      if (s.step() != SQLITE_DONE) return st.fail("insert severity");
    }
    return {};
  };
  if (auto r = add_severities(adv.severity, std::nullopt); !r) return r;
  for (const Affected& a : adv.affected) {
    int64_t aff_row;
    {
      auto s = st.prepare(
          "INSERT INTO affected (advisory_id, ecosystem, package, status, rating) "
          "VALUES (?, ?, ?, ?, ?)");
      s.bind(1, adv_row)
          .bind(2, a.ecosystem)
          .bind(3, a.package)
          .bind(4, a.status)
          .bind(5, a.rating);
      if (s.step() != SQLITE_DONE) return st.fail("insert affected");
      aff_row = st.db_.last_insert_rowid();
    }
    for (const std::string& v : a.versions) {
      auto s = st.prepare("INSERT INTO affected_versions (affected_id, version) VALUES (?, ?)");
      s.bind(1, aff_row).bind(2, v);
      if (s.step() != SQLITE_DONE) return st.fail("insert version");
    }
    if (auto r = add_severities(a.severity, aff_row); !r) return r;
    for (const Range& range : a.ranges) {
      int64_t range_row;
      {
        auto s = st.prepare("INSERT INTO ranges (affected_id, type) VALUES (?, ?)");
        s.bind(1, aff_row).bind(2, range.type);
        if (s.step() != SQLITE_DONE) return st.fail("insert range");
        range_row = st.db_.last_insert_rowid();
      }
      for (std::size_t i = 0; i < range.events.size(); ++i) {
        auto s = st.prepare(
            "INSERT INTO range_events (range_id, seq, kind, version) VALUES (?, ?, ?, ?)");
        s.bind(1, range_row).bind(2, static_cast<int64_t>(i));
        s.bind(3, event_kind_name(range.events[i].kind)).bind(4, range.events[i].version);
        if (s.step() != SQLITE_DONE) return st.fail("insert event");
      }
    }
  }
  return {};
}

Result<SourceInfo> Store::Import::commit(const std::string& format, const std::string& data_date,
                                         int64_t imported_at) {
  Store& st = *store_;
  int64_t records = 0;
  {
    auto s = st.prepare("SELECT COUNT(*) FROM advisories WHERE source_id = ?");
    s.bind(1, source_id_);
    if (s.step() != SQLITE_ROW) return st.fail("count advisories");
    records = s.integer(0);
  }
  {
    auto s = st.prepare(
        "UPDATE sources SET format = ?, data_date = ?, imported_at = ?, records = ? WHERE id = ?");
    s.bind(1, format).bind(2, data_date).bind(3, imported_at).bind(4, records).bind(5, source_id_);
    if (s.step() != SQLITE_DONE) return st.fail("update source");
  }
  {
    auto s =
        st.prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'");
    if (s.step() != SQLITE_DONE) return st.fail("bump generation");
  }
  if (auto r = st.exec("COMMIT"); !r) return r.error();
  done_ = true;
  if (auto r = st.refresh(); !r) return r.error();
  info_.format = format;
  info_.data_date = data_date;
  info_.imported_at = imported_at;
  info_.records = static_cast<std::size_t>(records);
  return info_;
}

Result<std::vector<SourceInfo>> Store::sources() {
  std::vector<SourceInfo> out;
  auto s =
      prepare("SELECT name, format, data_date, imported_at, records FROM sources ORDER BY name");
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    SourceInfo info;
    info.name = s.text(0);
    info.format = s.text(1);
    info.data_date = s.text(2);
    info.imported_at = s.integer(3);
    info.records = static_cast<std::size_t>(s.integer(4));
    out.push_back(std::move(info));
  }
  if (rc != SQLITE_DONE) return fail("list sources");
  return out;
}

Result<StoredData> Store::load() {
  if (auto r = exec("BEGIN"); !r) return r.error();
  auto data = load_snapshot();
  exec(data ? "COMMIT" : "ROLLBACK");
  return data;
}

Result<StoredData> Store::load_snapshot() {
  StoredData data;
  if (auto r = refresh(); !r) return r.error();
  data.generation = generation_;
  int rc;
  {
    auto s = prepare("SELECT id, name FROM sources ORDER BY id");
    while ((rc = s.step()) == SQLITE_ROW) data.sources.emplace_back(s.integer(0), s.text(1));
    if (rc != SQLITE_DONE) return fail("load sources");
  }
  std::unordered_map<int64_t, std::size_t> advisory_at;
  {
    auto s = prepare(
        "SELECT id, source_id, vuln_id, modified, published, withdrawn, summary, rating "
        "FROM advisories ORDER BY id");
    while ((rc = s.step()) == SQLITE_ROW) {
      Advisory adv;
      adv.id = s.text(2);
      adv.modified = s.text(3);
      adv.published = s.text(4);
      adv.withdrawn = s.text(5);
      adv.summary = s.text(6);
      adv.rating = s.text(7);
      advisory_at.emplace(s.integer(0), data.advisories.size());
      data.advisories.emplace_back(s.integer(1), std::move(adv));
    }
    if (rc != SQLITE_DONE) return fail("load advisories");
  }
  auto advisory = [&](int64_t row) -> Advisory* {
    auto it = advisory_at.find(row);
    return it == advisory_at.end() ? nullptr : &data.advisories[it->second].second;
  };
  {
    auto s = prepare("SELECT advisory_id, alias FROM aliases ORDER BY advisory_id, seq");
    while ((rc = s.step()) == SQLITE_ROW) {
      if (Advisory* adv = advisory(s.integer(0))) adv->aliases.push_back(s.text(1));
    }
    if (rc != SQLITE_DONE) return fail("load aliases");
  }
  std::unordered_map<int64_t, std::pair<std::size_t, std::size_t>> affected_at;
  auto affected = [&](int64_t row) -> Affected* {
    auto it = affected_at.find(row);
    if (it == affected_at.end()) return nullptr;
    return &data.advisories[it->second.first].second.affected[it->second.second];
  };
  {
    auto s = prepare(
        "SELECT id, advisory_id, ecosystem, package, status, rating FROM affected ORDER BY id");
    while ((rc = s.step()) == SQLITE_ROW) {
      auto it = advisory_at.find(s.integer(1));
      if (it == advisory_at.end()) continue;
      Advisory& adv = data.advisories[it->second].second;
      Affected a;
      a.ecosystem = s.text(2);
      a.package = s.text(3);
      a.status = s.text(4);
      a.rating = s.text(5);
      affected_at.emplace(s.integer(0), std::pair{it->second, adv.affected.size()});
      adv.affected.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE) return fail("load affected");
  }
  {
    auto s = prepare(
        "SELECT advisory_id, affected_id, type, score FROM severities "
        "ORDER BY advisory_id, affected_id, seq");
    while ((rc = s.step()) == SQLITE_ROW) {
      SeverityScore sev{s.text(2), s.text(3)};
      if (s.is_null(1)) {
        if (Advisory* adv = advisory(s.integer(0))) adv->severity.push_back(std::move(sev));
      } else if (Affected* a = affected(s.integer(1))) {
        a->severity.push_back(std::move(sev));
      }
    }
    if (rc != SQLITE_DONE) return fail("load severities");
  }
  {
    auto s = prepare("SELECT affected_id, version FROM affected_versions ORDER BY rowid");
    while ((rc = s.step()) == SQLITE_ROW) {
      if (Affected* a = affected(s.integer(0))) a->versions.push_back(s.text(1));
    }
    if (rc != SQLITE_DONE) return fail("load versions");
  }
  // Where each range row went: (advisory, affected, range) indices.
  struct RangeAt {
    std::size_t advisory, affected, range;
  };
  std::unordered_map<int64_t, RangeAt> range_at;
  {
    auto s = prepare("SELECT id, affected_id, type FROM ranges ORDER BY id");
    while ((rc = s.step()) == SQLITE_ROW) {
      auto it = affected_at.find(s.integer(1));
      if (it == affected_at.end()) continue;
      Affected& a = data.advisories[it->second.first].second.affected[it->second.second];
      range_at.emplace(s.integer(0), RangeAt{it->second.first, it->second.second, a.ranges.size()});
      a.ranges.push_back(Range{s.text(2), {}});
    }
    if (rc != SQLITE_DONE) return fail("load ranges");
  }
  {
    auto s = prepare("SELECT range_id, kind, version FROM range_events ORDER BY range_id, seq");
    while ((rc = s.step()) == SQLITE_ROW) {
      auto it = range_at.find(s.integer(0));
      if (it == range_at.end()) continue;
      auto kind = parse_event_kind(s.text(1));
      if (!kind) continue;
      const RangeAt& at = it->second;
      data.advisories[at.advisory].second.affected[at.affected].ranges[at.range].events.push_back(
          Event{*kind, s.text(2)});
    }
    if (rc != SQLITE_DONE) return fail("load events");
  }
  return data;
}

}  // namespace portcullis::scanner::advisories
