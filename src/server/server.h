// Composition root: the only place that names concrete types. Builds the
// stores, caches and the HTTP server from a Config and owns their lifetimes.
#pragma once

#include <memory>

#include "config/config.h"
#include "metadata/metadata.h"
#include "storage/blob_store.h"

namespace portcullis::server {

// Serves until SIGINT/SIGTERM. Returns the process exit code; start-up errors
// are logged and give a non-zero code.
int serve(const config::Config& cfg);

// Opens the configured metadata store and applies pending migrations:
// PostgreSQL when cfg.postgres_url is set, with `postgres_pool` connections
// (the server passes one per thread that may block on the database; the CLI
// needs 2), else SQLite at cfg.effective_sqlite_path(), creating its
// directory. Throws std::runtime_error when the store cannot be opened
// (start-up and CLI only).
std::unique_ptr<metadata::MetadataStore> open_metadata(const config::Config& cfg,
                                                       std::size_t postgres_pool = 2);

// Opens the configured blob store: S3 when cfg.storage_driver is "s3" (checks
// that the bucket answers), else the filesystem under cfg.data_dir. Throws
// std::runtime_error when it cannot be opened (start-up and CLI only).
std::unique_ptr<storage::BlobStore> open_blob_store(const config::Config& cfg);

// True for addresses that only this machine can reach.
bool is_loopback(const std::string& host);

}  // namespace portcullis::server
