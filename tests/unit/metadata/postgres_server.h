// A throwaway PostgreSQL 15 server for tests: initdb in a temporary
// directory, the postmaster on a free loopback port (unix socket inside the
// directory), fsync off. Started once per test process on first use and
// stopped by PID when the process exits (and killed by the kernel if the
// process dies first). As root, initdb and postgres run as the `postgres` user.
#pragma once

#include <sys/types.h>

#include <string>

#include "temp_dir.h"

namespace portcullis::testutil {

class PostgresServer {
 public:
  // The process-wide server. Throws std::runtime_error saying why it cannot
  // run (e.g. PostgreSQL not installed); every later call throws the same.
  static PostgresServer& instance();

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Creates a fresh, empty database and returns its libpq URL.
  std::string create_database();
  // URL of an existing database.
  std::string url(const std::string& database) const;
  // Runs SQL as the superuser in `database`; returns the first column of the
  // first row ("" if none). Throws std::runtime_error on failure.
  std::string query(const std::string& database, const std::string& sql) const;

 private:
  PostgresServer();
  void start_postmaster();

  TempDir dir_;
  std::string bin_;
  int port_ = 0;
  pid_t pid_ = -1;
  int next_db_ = 0;
};

}  // namespace portcullis::testutil
