// PostgresStore internals shared by its translation units (postgres_store.cc:
// pool, migrations, registry roles; postgres_access.cc: access control and
// the audit log). Not part of the metadata library's interface.
#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "metadata/postgres/postgres_store.h"

namespace portcullis::metadata {

namespace pg {

inline int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline Error store_error() { return make_error(Errc::internal, "metadata store error"); }

// libpq messages end in a newline and may span lines; logs want one line.
inline std::string one_line(const char* msg) {
  std::string s = msg ? msg : "(no message)";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

inline int64_t to_int64(const char* s, int len) {
  int64_t v = 0;
  std::from_chars(s, s + len, v);
  return v;
}

inline int64_t clamp_count(std::size_t n) {
  return static_cast<int64_t>(std::min<std::size_t>(n, std::numeric_limits<int64_t>::max()));
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

}  // namespace pg

// A statement parameter, sent as text (PostgreSQL converts it to the column's type).
struct PostgresStore::Param {
  Param(std::string_view v) : text(v) {}         // NOLINT(google-explicit-constructor)
  Param(const std::string& v) : text(v) {}       // NOLINT(google-explicit-constructor)
  Param(int64_t v) : text(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
  std::string text;
};

// The rows (or the row count) of one statement.
class PostgresStore::Rows {
 public:
  explicit Rows(pg::PgResult r) : r_(std::move(r)) {}
  int size() const { return PQntuples(r_.get()); }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col),
                       static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
  }
  int64_t integer(int row, int col) const {
    return pg::to_int64(PQgetvalue(r_.get(), row, col), PQgetlength(r_.get(), row, col));
  }
  // Rows an INSERT/UPDATE/DELETE changed.
  int64_t affected() const {
    const char* s = PQcmdTuples(r_.get());
    return pg::to_int64(s, static_cast<int>(std::strlen(s)));
  }

 private:
  pg::PgResult r_;
};

// One pooled connection and the statements prepared on it. Used by one
// thread at a time (whoever holds its Lease).
class PostgresStore::Conn {
 public:
  explicit Conn(PGconn* pg) : pg_(pg) {}
  ~Conn() { PQfinish(pg_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Called when lent out: notices a connection the server closed while it
  // was idle (without a round trip) and re-establishes it.
  Result<void> ready() {
    sent_ = 0;
    retry = false;
    PQconsumeInput(pg_);
    if (PQstatus(pg_) == CONNECTION_OK) return {};
    spdlog::warn("metadata: PostgreSQL connection lost ({}); reconnecting",
                 pg::one_line(PQerrorMessage(pg_)));
    prepared_.clear();  // prepared statements die with the server session
    PQreset(pg_);
    if (PQstatus(pg_) == CONNECTION_OK) return {};
    spdlog::error("metadata: reconnecting to PostgreSQL failed: {}",
                  pg::one_line(PQerrorMessage(pg_)));
    return pg::store_error();
  }

  // Runs one parameterised statement, prepared on first use; `sql` must be a
  // string literal (its address keys the cache).
  Result<Rows> run(const char* what, const char* sql, std::initializer_list<Param> params) {
    bool first = sent_++ == 0;
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      std::string name = fmt::format("pc{}", prepared_.size());
      pg::PgResult r(PQprepare(pg_, name.c_str(), sql, static_cast<int>(params.size()), nullptr));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return fail(what, r.get(), first);
      it = prepared_.emplace(sql, std::move(name)).first;
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.text.c_str());
    pg::PgResult r(PQexecPrepared(pg_, it->second.c_str(), static_cast<int>(values.size()),
                                  values.data(), nullptr, nullptr, 0));
    auto status = PQresultStatus(r.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return fail(what, r.get(), first);
    return Rows(std::move(r));
  }

  // Runs fixed SQL without values (transaction control, migration DDL; may
  // hold several statements).
  Result<void> exec(const char* what, const char* sql) {
    bool first = sent_++ == 0;
    pg::PgResult r(PQexec(pg_, sql));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      return fail(what, r.get(), first);
    }
    return {};
  }

  Result<std::optional<int64_t>> find_repo(std::string_view repo) {
    auto rows = run("find repository", "SELECT id FROM repositories WHERE name = $1", {repo});
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<int64_t>();
    return std::optional<int64_t>(rows->integer(0, 0));
  }

  // Inside a transaction: the repository's id, creating it if needed.
  Result<int64_t> ensure_repo(std::string_view repo) {
    auto found = find_repo(repo);
    if (!found) return found.error();
    if (*found) return **found;
    auto rows = run("insert repository",
                    "INSERT INTO repositories (name, created_at) VALUES ($1, $2) "
                    "ON CONFLICT (name) DO NOTHING RETURNING id",
                    {repo, pg::now_seconds()});
    if (!rows) return rows.error();
    if (rows->size() == 1) return rows->integer(0, 0);
    // Another transaction created it and committed meanwhile; each statement
    // sees the latest commits (READ COMMITTED).
    found = find_repo(repo);
    if (!found) return found.error();
    if (*found) return **found;
    spdlog::error("metadata: repository {} vanished while being created", repo);
    return pg::store_error();
  }

  std::string last_error;  // last engine message, for start-up exceptions
  bool retry = false;      // the current call failed in a way that is safe to repeat

 private:
  Error fail(const char* what, const PGresult* r, bool first) {
    last_error = pg::one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(pg_));
    if (last_error.empty()) last_error = pg::one_line(PQerrorMessage(pg_));
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    // Nothing of this call reached the database before a broken connection,
    // and a deadlock or serialisation failure rolled the whole transaction back.
    if (first && PQstatus(pg_) != CONNECTION_OK) retry = true;
    if (state && (std::strcmp(state, "40001") == 0 || std::strcmp(state, "40P01") == 0)) {
      retry = true;
    }
    spdlog::error("metadata: {}: {}", what, last_error);
    return pg::store_error();
  }

  PGconn* pg_;
  std::map<const char*, std::string> prepared_;  // SQL literal -> statement name
  int sent_ = 0;                                 // statements sent in the current call
};

// A connection borrowed from the pool; returned on destruction.
class PostgresStore::Lease {
 public:
  Lease(PostgresStore* store, Conn* c) : store_(store), c_(c) {}
  Lease(Lease&& o) noexcept : store_(o.store_), c_(std::exchange(o.c_, nullptr)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (c_) store_->release(c_);
  }
  Conn& conn() const { return *c_; }

 private:
  PostgresStore* store_;
  Conn* c_;
};

// A transaction on one connection, rolled back unless committed.
class PostgresStore::Tx {
 public:
  explicit Tx(Conn& c) : c_(c) {}
  ~Tx() {
    if (open_) (void)c_.exec("rollback", "ROLLBACK");
  }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  Result<void> begin() {
    auto r = c_.exec("begin", "BEGIN");
    open_ = static_cast<bool>(r);
    return r;
  }
  // COMMIT ends the transaction whatever it answers.
  Result<void> commit() {
    open_ = false;
    return c_.exec("commit", "COMMIT");
  }

 private:
  Conn& c_;
  bool open_ = false;
};

template <class F>
auto PostgresStore::with_conn(F&& fn) -> decltype(fn(std::declval<Conn&>())) {
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    auto lease = acquire();
    if (!lease) return lease.error();
    Conn& c = lease->conn();
    auto r = fn(c);
    if (r || !c.retry || attempt == kAttempts) return r;
    spdlog::warn("metadata: retrying after a transient PostgreSQL failure (attempt {})", attempt);
  }
}

}  // namespace portcullis::metadata
