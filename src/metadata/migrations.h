// Versioned schema migrations, shared by every engine. Migration i (1-based)
// takes the schema from version i-1 to i. Append only; never edit a released one.
//
// One list of versions for both engines. A migration's SQL runs unchanged on
// SQLite and PostgreSQL unless it gives PostgreSQL its own text for the same
// version (released SQLite text stays byte-for-byte what existing databases
// ran). Write new migrations portably: BIGINT for integers that may outgrow
// 32 bits, TEXT, ON CONFLICT ... DO UPDATE; only auto ids and collations need
// per-engine text.
#pragma once

#include <string_view>
#include <vector>

namespace portcullis::metadata {

enum class Engine { sqlite, postgres };

struct Migration {
  std::string_view sql;       // both engines, unless postgres is set
  std::string_view postgres;  // PostgreSQL text for the same version, "" when sql is portable

  std::string_view for_engine(Engine e) const {
    return e == Engine::postgres && !postgres.empty() ? postgres : sql;
  }
};

const std::vector<Migration>& migrations();

}  // namespace portcullis::metadata
