// The metadata store the configuration names, for the server and the CLI.
#include <filesystem>

#include <spdlog/spdlog.h>

#include "metadata/postgres/postgres_store.h"
#include "metadata/sqlite/sqlite_store.h"
#include "server/server.h"

namespace portcullis::server {

std::unique_ptr<metadata::MetadataStore> open_metadata(const config::Config& cfg,
                                                       std::size_t postgres_pool) {
  if (cfg.postgres_url.empty()) {
    std::filesystem::path path = cfg.effective_sqlite_path();
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    return std::make_unique<metadata::SqliteStore>(path);
  }
  metadata::PostgresOptions pg;
  pg.url = cfg.postgres_url;
  pg.pool_size = postgres_pool;
  auto store = std::make_unique<metadata::PostgresStore>(pg);
  spdlog::info("metadata: PostgreSQL, {} connections", pg.pool_size);
  return store;
}

}  // namespace portcullis::server
