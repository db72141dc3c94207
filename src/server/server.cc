#include "server/server.h"

#include <filesystem>
#include <memory>

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include "api/registry_handler.h"
#include "base/log.h"
#include "metadata/postgres/postgres_store.h"
#include "metadata/sqlite/sqlite_store.h"
#include "net/server.h"
#include "scanner/advisories/database.h"
#include "scanner/scan_queue.h"
#include "storage/filesystem_store.h"

namespace portcullis::server {

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

int serve(const config::Config& cfg) {
  try {
    config::validate(cfg);
    auto hp = config::parse_listen(cfg.listen);
    bool tls = !cfg.tls_certificate.empty();
    // Authentication does not exist yet: every client is anonymous and may push,
    // so a non-loopback address needs the operator's explicit consent, TLS or not.
    if (!is_loopback(hp.host)) {
      if (!cfg.insecure_allow_anonymous) {
        spdlog::error(
            "refusing to listen on {}: authentication is not available yet, so every client "
            "would be anonymous with push and delete rights; only loopback addresses are allowed "
            "unless --insecure-anonymous (http.insecure_allow_anonymous) is given",
            cfg.listen);
        return 2;
      }
      spdlog::warn(
          "INSECURE: serving {} to anonymous clients: anyone who can reach it may push and delete "
          "(http.insecure_allow_anonymous is set)",
          cfg.listen);
    }
    if (!tls && !is_loopback(hp.host)) {
      if (!cfg.insecure_allow_plain_http) {
        spdlog::error(
            "refusing to listen on {}: plain HTTP is only allowed on loopback; configure "
            "tls.certificate and tls.key, or pass --insecure-http "
            "(http.insecure_allow_plain_http) to accept plain HTTP anyway",
            cfg.listen);
        return 2;
      }
      spdlog::warn(
          "INSECURE: serving plain HTTP on {}: anyone on the network can read and alter "
          "registry traffic (http.insecure_allow_plain_http is set)",
          cfg.listen);
    }
    std::filesystem::create_directories(cfg.data_dir);
    storage::FilesystemBlobStore blobs(cfg.data_dir);
    std::unique_ptr<metadata::MetadataStore> meta_store;
    if (cfg.postgres_url.empty()) {
      meta_store = std::make_unique<metadata::SqliteStore>(cfg.effective_sqlite_path());
    } else {
      metadata::PostgresOptions pg;
      pg.url = cfg.postgres_url;
      // Every thread that may block on the database gets its own connection.
      pg.pool_size = cfg.worker_threads + cfg.scan_workers;
      meta_store = std::make_unique<metadata::PostgresStore>(pg);
      spdlog::info("metadata: PostgreSQL, {} connections", pg.pool_size);
    }
    metadata::MetadataStore& meta = *meta_store;
    api::ManifestCache cache(cfg.manifest_cache_bytes);
    api::Metrics metrics;
    SystemClock clock;
    api::Options api_options;
    api_options.max_manifest_bytes = cfg.max_manifest_bytes;
    api_options.max_page_size = cfg.max_page_size;
    api::Context ctx{blobs, meta, cache, metrics, clock, api_options};
    std::unique_ptr<scanner::advisories::AdvisoryDatabase> advisories;
    std::unique_ptr<scanner::ScanQueue> scans;
    if (cfg.scan_on_push) {
      advisories = std::make_unique<scanner::advisories::AdvisoryDatabase>(cfg.effective_advisory_db_path());
      scanner::QueueOptions q;
      q.workers = cfg.scan_workers;
      q.rematch_interval = std::chrono::seconds(cfg.rematch_interval_seconds);
      q.limits.max_uncompressed_bytes = uint64_t{cfg.scan_max_uncompressed_mib} << 20;
      q.limits.max_entries = cfg.scan_max_entries;
      scans = std::make_unique<scanner::ScanQueue>(q, blobs, meta, *advisories, clock);
      scans->start();
      ctx.scans = scans.get();
    }
    api::RegistryHandler handler(ctx);

    net::Options net_options;
    net_options.host = hp.host;
    net_options.port = hp.port;
    net_options.io_threads = cfg.io_threads;
    net_options.worker_threads = cfg.worker_threads;
    net_options.header_limit = cfg.header_limit_bytes;
    net_options.idle_timeout = std::chrono::seconds(cfg.idle_timeout_seconds);
    net_options.io_timeout = std::chrono::seconds(cfg.io_timeout_seconds);
    net_options.shutdown_grace = std::chrono::seconds(cfg.shutdown_grace_seconds);
    net_options.max_connections = cfg.max_connections;
    net_options.tls = {cfg.tls_certificate, cfg.tls_key};
    net::Server server(net_options, handler);
    server.bind();
    spdlog::info("portcullis listening on {}:{} ({}, data {})", hp.host, server.port(),
                 tls ? "https" : "http", cfg.data_dir);
    server.run();
    spdlog::info("portcullis stopped");
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("start-up failed: {}", e.what());
    return 1;
  }
}

}  // namespace portcullis::server
