// The blob store the configuration names, for the server and the CLI.
#include <filesystem>

#include <spdlog/spdlog.h>

#include "server/server.h"
#include "storage/filesystem_store.h"
#include "storage/s3_store.h"

namespace portcullis::server {

std::unique_ptr<storage::BlobStore> open_blob_store(const config::Config& cfg) {
  if (cfg.storage_driver == "s3") {
    storage::S3Options o;
    o.client.endpoint = cfg.s3_endpoint;
    o.client.region = cfg.s3_region;
    o.client.bucket = cfg.s3_bucket;
    o.client.access_key = cfg.s3_access_key;
    o.client.secret_key = cfg.s3_secret_key;
    o.client.ca_file = cfg.s3_ca_file;
    o.client.max_attempts = cfg.s3_max_attempts;
    o.prefix = cfg.s3_prefix;
    o.part_size = cfg.s3_part_size_mib * 1024 * 1024;
    o.redirect = cfg.s3_redirect;
    o.presign_expiry = std::chrono::seconds(cfg.s3_presign_expiry_seconds);
    auto store = std::make_unique<storage::S3BlobStore>(std::move(o));
    spdlog::info("storage: s3 bucket '{}' at {} (prefix '{}')", cfg.s3_bucket, cfg.s3_endpoint,
                 cfg.s3_prefix);
    return store;
  }
  std::filesystem::create_directories(cfg.data_dir);
  return std::make_unique<storage::FilesystemBlobStore>(cfg.data_dir);
}

}  // namespace portcullis::server
