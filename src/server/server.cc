#include "server/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include "api/access_control.h"
#include "api/audit_recorder.h"
#include "api/policy_gate.h"
#include "api/registry_handler.h"
#include "api/signature_gate.h"
#include "auth/access_service.h"
#include "auth/admin.h"
#include "auth/token_service.h"
#include "base/log.h"
#include "maintenance/gc.h"
#include "maintenance/upload_purge.h"
#include "net/server.h"
#include "scanner/advisories/database.h"
#include "scanner/scan_queue.h"
#include "server/policy_directory.h"

namespace portcullis::server {

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The token signing key: read it, or create it (mode 0600, O_EXCL so that
// replicas starting together end up sharing whichever was written first).
auth::SigningKey load_or_create_signing_key(const std::string& path) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (std::filesystem::exists(path)) {
      auto key = auth::SigningKey::from_pem(read_file(path));
      if (!key) throw std::runtime_error(path + ": " + key.error().message);
      return std::move(*key);
    }
    auto key = auth::SigningKey::generate();
    std::string pem = key.private_pem();
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + tmp);
    bool ok = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
    ::close(fd);
    // link() fails if another process created the key meanwhile: use theirs.
    if (ok && ::link(tmp.c_str(), path.c_str()) == 0) {
      ::unlink(tmp.c_str());
      spdlog::info("auth: created token signing key {}", path);
      return key;
    }
    ::unlink(tmp.c_str());
    if (!ok) throw std::runtime_error("cannot write " + path);
  }
  throw std::runtime_error("cannot create or read " + path);
}

std::string initial_admin_password(const config::Config& cfg) {
  if (!cfg.admin_password.empty()) return cfg.admin_password;
  if (cfg.admin_password_file.empty()) return {};
  std::string text = read_file(cfg.admin_password_file);
  auto nl = text.find_first_of("\r\n");
  if (nl != std::string::npos) text.resize(nl);
  if (text.empty()) throw std::runtime_error(cfg.admin_password_file + " is empty");
  return text;
}

}  // namespace

int serve(const config::Config& cfg) {
  try {
    config::validate(cfg);
    auto hp = config::parse_listen(cfg.listen);
    bool tls = !cfg.tls_certificate.empty();
    // Without authentication every client is anonymous and may push, so a
    // non-loopback address needs the operator's explicit consent, TLS or not.
    if (!cfg.auth_enabled && !is_loopback(hp.host)) {
      if (!cfg.insecure_allow_anonymous) {
        spdlog::error(
            "refusing to listen on {}: authentication is off (auth.enabled=false), so every "
            "client would be anonymous with push and delete rights; enable auth.enabled, or pass "
            "--insecure-anonymous (http.insecure_allow_anonymous) to serve anonymously anyway",
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
    auto blob_store = open_blob_store(cfg);
    storage::BlobStore& blobs = *blob_store;
    // Every thread that may block on the database gets its own PostgreSQL connection.
    auto meta_store = open_metadata(cfg, cfg.worker_threads + cfg.scan_workers);
    metadata::MetadataStore& meta = *meta_store;
    api::ManifestCache cache(cfg.manifest_cache_bytes);
    api::Metrics metrics;
    SystemClock clock;
    api::Options api_options;
    api_options.max_manifest_bytes = cfg.max_manifest_bytes;
    api_options.shared_metadata = !cfg.postgres_url.empty();
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
    api::AuditRecorderOptions audit_options;
    audit_options.record_pulls = cfg.audit_pulls;
    api::AuditRecorder audit_recorder(meta, clock, audit_options);
    ctx.audit = &audit_recorder;
    std::unique_ptr<auth::AccessService> access;
    std::unique_ptr<auth::TokenService> tokens;
    std::unique_ptr<api::AccessControl> access_control;
    std::unique_ptr<auth::Admin> admin;
    // Namespaces, tag rules, keys and trust policies apply with or without
    // authentication (the CLI can configure them either way).
    access = std::make_unique<auth::AccessService>(meta, clock);
    if (auto loaded = access->reload(); !loaded) {
      throw std::runtime_error("loading the security configuration: " + loaded.error().message);
    }
    ctx.security = access.get();
    access->start_refresher();
    api::SignatureGate signature_gate(blobs, meta, cache, clock, api_options.shared_metadata);
    ctx.signatures = &signature_gate;
    // The registry policy: evaluated and enforced with or without authentication.
    // Replicas: another replica's signatures and scan results are seen within
    // the access refresh interval (policy_gate.h).
    api::PolicyGate policy_gate(blobs, meta, cache, signature_gate, clock, scans.get(),
                                api_options.shared_metadata ? std::chrono::seconds(2)
                                                            : std::chrono::seconds(60));
    ctx.policy = &policy_gate;
    auth::Admin policy_admin(*access);
    ctx.policy_admin = &policy_admin;
    // Approved base tags re-resolved to digests (bases approved by the CLI or
    // another replica, tags moved): at start and every reload interval.
    auto track_bases = [&policy_gate, &access] {
      if (auto snap = access->snapshot(); snap && policy_gate.track_bases(**snap)) {
        (void)access->reload();
      }
    };
    PolicyDirectoryWatcher policy_watcher(cfg.policy_directory,
                                          std::chrono::seconds(cfg.policy_reload_interval_seconds),
                                          policy_admin, *access, track_bases);
    policy_watcher.sync();
    track_bases();
    policy_watcher.start();
    if (cfg.auth_enabled) {
      auto boot = access->bootstrap_admin(initial_admin_password(cfg));
      if (!boot) throw std::runtime_error("creating the initial admin: " + boot.error().message);
      if (*boot && !(*boot)->empty()) {
        spdlog::warn(
            "auth: created the initial system administrator 'admin' with password {} "
            "(shown once; change it with PUT /api/v1/users/admin/password)",
            **boot);
      } else if (*boot) {
        spdlog::info("auth: created the initial system administrator 'admin' (configured password)");
      }
      if (auto loaded = access->reload(); !loaded) {
        throw std::runtime_error("loading the access policy: " + loaded.error().message);
      }
      auth::TokenServiceOptions token_options;
      token_options.service = cfg.token_service;
      token_options.issuer = cfg.token_issuer;
      token_options.lifetime = std::chrono::seconds(cfg.token_lifetime_seconds);
      token_options.refresh_lifetime = std::chrono::seconds(cfg.refresh_lifetime_seconds);
      tokens = std::make_unique<auth::TokenService>(
          *access, load_or_create_signing_key(cfg.effective_token_key_file()), token_options, clock);
      api::AccessControlOptions ac_options;
      ac_options.allow_basic = cfg.auth_basic;
      ac_options.realm = cfg.token_realm;
      ac_options.tls = tls;
      access_control = std::make_unique<api::AccessControl>(ac_options, *access, *tokens,
                                                             &audit_recorder);
      admin = std::make_unique<auth::Admin>(*access);
      ctx.access = access_control.get();
      ctx.admin = admin.get();
    }
    std::unique_ptr<maintenance::UploadPurger> upload_purger;
    if (cfg.upload_max_age_hours > 0) {
      upload_purger = std::make_unique<maintenance::UploadPurger>(
          blobs, meta, clock, std::chrono::hours(cfg.upload_max_age_hours),
          std::chrono::minutes(cfg.upload_purge_interval_minutes));
    }
    // Blob HEADs touch each digest at most every min(grace/4, 60 s): well
    // inside the grace period of this server and of `portcullis gc` runs.
    maintenance::RecentTouches recent_touches(std::min(
        std::chrono::seconds(std::chrono::minutes(cfg.gc_grace_minutes)) / 4,
        std::chrono::seconds(60)));
    ctx.touches = &recent_touches;
    std::unique_ptr<maintenance::GarbageCollector> collector;
    if (cfg.gc_enabled) {
      maintenance::GcOptions gc_options;
      gc_options.grace = std::chrono::minutes(cfg.gc_grace_minutes);
      gc_options.delete_untagged = cfg.gc_delete_untagged;
      gc_options.untagged_age = std::chrono::hours(cfg.gc_untagged_age_hours);
      gc_options.mark_delay = std::chrono::seconds(cfg.gc_mark_delay_seconds);
      collector = std::make_unique<maintenance::GarbageCollector>(
          blobs, meta, clock, gc_options, std::chrono::minutes(cfg.gc_interval_minutes),
          [&metrics, &cache, &clock](const Result<maintenance::GcReport>& report) {
            if (!report) {
              metrics.gc_run(false, 0, 0, 0, std::chrono::milliseconds(0), clock.unix_seconds());
              return;
            }
            // Links and untagged manifests went away: drop what this replica cached.
            for (const auto& repo : report->repositories) cache.invalidate(repo);
            metrics.gc_run(true, report->blobs.size(), report->bytes_reclaimed,
                           report->manifests.size(), report->duration, clock.unix_seconds());
          });
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
    spdlog::info("portcullis listening on {}:{} ({}, data {}, authentication {})", hp.host,
                 server.port(), tls ? "https" : "http", cfg.data_dir,
                 cfg.auth_enabled ? "on" : "off (anonymous)");
    server.run();
    spdlog::info("portcullis stopped");
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("start-up failed: {}", e.what());
    return 1;
  }
}

}  // namespace portcullis::server
