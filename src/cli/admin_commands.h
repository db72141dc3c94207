// `portcullis user|robot|namespace|member|tag-rule|audit …`: administration
// straight on the configured metadata database (SQLite or PostgreSQL), for
// first set-up and for when the HTTP API is unreachable. Every command acts as
// auth::Actor::local_operator() — a system administrator recorded as "system"
// from "local" in the audit log — through the same auth::Admin as the
// /api/v1/ API, so validation and auditing are identical. Whoever can run
// these can read the database anyway.
//
// Every command takes --config FILE (loaded like `serve`: file, then
// PORTCULLIS_* variables, then validation) and --data DIR. Passwords are read
// from $PORTCULLIS_PASSWORD, else one line from stdin; never from argv.
//
// Exit codes: 0 done, 1 refused or failed (message on stderr; `audit verify`:
// the chain is broken), 2 configuration or start-up error.
#pragma once

#include <functional>
#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace portcullis::cli {

class AdminCommands {
 public:
  // Adds the subcommands to `app`; `app` must outlive this object.
  explicit AdminCommands(CLI::App& app);
  ~AdminCommands();
  AdminCommands(const AdminCommands&) = delete;
  AdminCommands& operator=(const AdminCommands&) = delete;

  // After parsing: runs the chosen command and returns its exit code;
  // nullopt when none of these commands was chosen.
  std::optional<int> run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace portcullis::cli
