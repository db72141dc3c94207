#include "config/config.h"

#include <charconv>
#include <cstdlib>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace portcullis::config {

namespace {

using Setter = std::function<void(Config&, const std::string& value)>;

struct Key {
  KeyInfo info;
  Setter set;
};

template <class T>
T parse_number(const std::string& s, T min, T max) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    throw std::runtime_error(fmt::format("'{}' is not an integer", s));
  }
  if (v < min || v > max) throw std::runtime_error(fmt::format("{} is outside [{}, {}]", v, min, max));
  return v;
}

bool parse_bool(const std::string& s) {
  if (s == "true" || s == "1" || s == "yes") return true;
  if (s == "false" || s == "0" || s == "no") return false;
  throw std::runtime_error(fmt::format("'{}' is not a boolean", s));
}

std::string env_name(const std::string& path) {
  std::string out = "PORTCULLIS_";
  for (char c : path) out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

#define PC_SIZE(field, min, max) \
  [](Config& c, const std::string& v) { c.field = parse_number<std::size_t>(v, min, max); }
#define PC_INT(field, min, max) \
  [](Config& c, const std::string& v) { c.field = parse_number<int>(v, min, max); }

const std::vector<Key>& table() {
  static const std::vector<Key> kKeys = [] {
    std::vector<std::pair<KeyInfo, Setter>> rows = {
        {{"listen", "", "Address to listen on, host:port. Plain HTTP is only allowed on loopback."},
         [](Config& c, const std::string& v) { c.listen = v; }},
        {{"data_dir", "", "Directory for blobs, upload sessions and the SQLite database."},
         [](Config& c, const std::string& v) { c.data_dir = v; }},
        {{"log.level", "", "trace, debug, info, warn, error or off."},
         [](Config& c, const std::string& v) {
           static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
           for (auto l : kLevels) {
             if (v == l) {
               c.log_level = v;
               return;
             }
           }
           throw std::runtime_error(fmt::format("unknown log level '{}'", v));
         }},
        {{"log.access_log", "", "Write one JSON line per request to stderr."},
         [](Config& c, const std::string& v) { c.access_log = parse_bool(v); }},
        {{"http.io_threads", "", "Threads running the network event loop."}, PC_SIZE(io_threads, 1, 256)},
        {{"http.worker_threads", "", "Threads for blocking work (disk, database)."},
         PC_SIZE(worker_threads, 1, 1024)},
        {{"http.header_limit_bytes", "", "Maximum size of request line plus headers (431 beyond)."},
         PC_SIZE(header_limit_bytes, 1024, 60 * 1024)},
        {{"http.idle_timeout_seconds", "", "Close a keep-alive connection idle this long."},
         PC_INT(idle_timeout_seconds, 1, 86400)},
        {{"http.io_timeout_seconds", "", "Abort a request whose socket makes no progress this long."},
         PC_INT(io_timeout_seconds, 1, 86400)},
        {{"http.shutdown_grace_seconds", "", "On SIGTERM, time given to in-flight requests."},
         PC_INT(shutdown_grace_seconds, 0, 3600)},
        {{"http.max_connections", "", "Connections beyond this are closed on accept."},
         PC_SIZE(max_connections, 1, 1000000)},
        {{"http.insecure_allow_plain_http", "",
          "Allow plain HTTP on a non-loopback address (no TLS: traffic readable and forgeable)."},
         [](Config& c, const std::string& v) { c.insecure_allow_plain_http = parse_bool(v); }},
        {{"http.insecure_allow_anonymous", "",
          "Serve a non-loopback address with auth.enabled=false (every client may push and delete)."},
         [](Config& c, const std::string& v) { c.insecure_allow_anonymous = parse_bool(v); }},
        {{"auth.enabled", "",
          "Require authentication (Docker token auth, RBAC, robots). Off: anonymous full access, loopback only."},
         [](Config& c, const std::string& v) { c.auth_enabled = parse_bool(v); }},
        {{"auth.admin_password", "",
          "Password of the initial 'admin' created on first start (else auth.admin_password_file, else generated and logged once)."},
         [](Config& c, const std::string& v) { c.admin_password = v; }},
        {{"auth.admin_password_file", "", "File holding the initial admin password (first line)."},
         [](Config& c, const std::string& v) { c.admin_password_file = v; }},
        {{"auth.basic", "", "Also accept HTTP Basic credentials on /v2/ and /api/v1/ (besides tokens)."},
         [](Config& c, const std::string& v) { c.auth_basic = parse_bool(v); }},
        {{"auth.token.realm", "", "Token endpoint URL in challenges (default <scheme>://<Host>/token)."},
         [](Config& c, const std::string& v) { c.token_realm = v; }},
        {{"auth.token.service", "", "Service name: the tokens' audience and the `service` parameter."},
         [](Config& c, const std::string& v) {
           if (v.empty() || v.size() > 255) throw std::runtime_error("auth.token.service must be 1-255 characters");
           c.token_service = v;
         }},
        {{"auth.token.issuer", "", "The tokens' `iss` claim."},
         [](Config& c, const std::string& v) {
           if (v.empty() || v.size() > 255) throw std::runtime_error("auth.token.issuer must be 1-255 characters");
           c.token_issuer = v;
         }},
        {{"auth.token.key_file", "",
          "ES256 (P-256) signing key, PEM; created if missing (default <data_dir>/token-key.pem). Share it between replicas."},
         [](Config& c, const std::string& v) { c.token_key_file = v; }},
        {{"auth.token.lifetime_seconds", "", "Lifetime of issued tokens."},
         PC_INT(token_lifetime_seconds, 60, 86400)},
        {{"auth.token.refresh_lifetime_seconds", "", "Lifetime of OAuth2 refresh tokens."},
         PC_INT(refresh_lifetime_seconds, 60, 90 * 86400)},
        {{"audit.pulls", "", "Record manifest pulls in the audit log (identical pulls within 1 s coalesced)."},
         [](Config& c, const std::string& v) { c.audit_pulls = parse_bool(v); }},
        {{"uploads.max_age_hours", "",
          "Purge upload sessions started longer ago than this (hours; 0 = never)."},
         PC_INT(upload_max_age_hours, 0, 87600)},
        {{"uploads.purge_interval_minutes", "", "How often to look for abandoned upload sessions."},
         PC_INT(upload_purge_interval_minutes, 1, 10080)},
        {{"gc.enabled", "", "Run online garbage collection in the background (see docs/operations.md)."},
         [](Config& c, const std::string& v) { c.gc_enabled = parse_bool(v); }},
        {{"gc.interval_minutes", "", "How often garbage collection runs (the first run one interval after start)."},
         PC_INT(gc_interval_minutes, 1, 10080)},
        {{"gc.grace_minutes", "",
          "Blobs stored, linked or named by a push more recently than this are never collected; keep it above the longest push."},
         PC_INT(gc_grace_minutes, 1, 525600)},
        {{"gc.untagged", "", "Untagged manifests: keep, or delete once older than gc.untagged_age_hours."},
         [](Config& c, const std::string& v) {
           if (v == "keep") {
             c.gc_delete_untagged = false;
           } else if (v == "delete") {
             c.gc_delete_untagged = true;
           } else {
             throw std::runtime_error(fmt::format("'{}' is not keep or delete", v));
           }
         }},
        {{"gc.untagged_age_hours", "", "With gc.untagged: delete, the age at which an untagged manifest is collected."},
         PC_INT(gc_untagged_age_hours, 0, 87600)},
        {{"gc.mark_delay_seconds", "",
          "Time between marking an unreferenced blob and deleting it (a push that saw it stored can still claim it)."},
         PC_INT(gc_mark_delay_seconds, 0, 3600)},
        {{"policy.directory", "",
          "Directory of registry policy files (*.yaml, *.yml; docs/policy.md). When set, its "
          "files become the active policy version at start and whenever they change; an invalid "
          "set is logged and the previous version stays active. Empty: policies are uploaded "
          "through the API or `portcullis policy push`."},
         [](Config& c, const std::string& v) { c.policy_directory = v; }},
        {{"policy.reload_interval_seconds", "", "How often the policy directory is checked for changes."},
         PC_INT(policy_reload_interval_seconds, 1, 86400)},
        {{"storage.driver", "",
          "Where blobs and upload sessions live: filesystem (under data_dir) or s3."},
         [](Config& c, const std::string& v) {
           if (v != "filesystem" && v != "s3") {
             throw std::runtime_error(fmt::format("'{}' is not filesystem or s3", v));
           }
           c.storage_driver = v;
         }},
        {{"storage.s3.endpoint", "",
          "S3 endpoint, http(s)://host[:port] (path-style requests: bucket in the path)."},
         [](Config& c, const std::string& v) { c.s3_endpoint = v; }},
        {{"storage.s3.region", "", "Region in the SigV4 signature (us-east-1 unless the store wants another)."},
         [](Config& c, const std::string& v) { c.s3_region = v; }},
        {{"storage.s3.bucket", "", "Bucket holding the blobs; must exist."},
         [](Config& c, const std::string& v) { c.s3_bucket = v; }},
        {{"storage.s3.prefix", "", "Key prefix inside the bucket (e.g. registry/prod); empty: the bucket root."},
         [](Config& c, const std::string& v) { c.s3_prefix = v; }},
        {{"storage.s3.access_key", "", "Access key id (default: AWS_ACCESS_KEY_ID)."},
         [](Config& c, const std::string& v) { c.s3_access_key = v; }},
        {{"storage.s3.secret_key", "",
          "Secret access key (default: AWS_SECRET_ACCESS_KEY). Prefer the environment to the file."},
         [](Config& c, const std::string& v) { c.s3_secret_key = v; }},
        {{"storage.s3.ca_file", "", "Extra CA bundle (PEM) to verify an https endpoint with."},
         [](Config& c, const std::string& v) { c.s3_ca_file = v; }},
        {{"storage.s3.redirect", "",
          "Answer blob GETs with a 307 to a presigned URL instead of streaming through the registry."},
         [](Config& c, const std::string& v) { c.s3_redirect = parse_bool(v); }},
        {{"storage.s3.presign_expiry_seconds", "", "Validity of presigned redirect URLs."},
         PC_INT(s3_presign_expiry_seconds, 1, 7 * 86400)},
        {{"storage.s3.part_size_mib", "",
          "Multipart part size of uploads (MiB, at least 5); an append keeps up to this much in memory."},
         PC_SIZE(s3_part_size_mib, 5, 5120)},
        {{"storage.s3.max_attempts", "",
          "Tries per S3 request (transport errors, 5xx and 429 are retried with exponential backoff)."},
         PC_INT(s3_max_attempts, 1, 20)},
        {{"tls.certificate", "",
          "PEM certificate chain; with tls.key, serve HTTPS only. Re-read on SIGHUP."},
         [](Config& c, const std::string& v) { c.tls_certificate = v; }},
        {{"tls.key", "", "PEM private key (unencrypted) of tls.certificate. Re-read on SIGHUP."},
         [](Config& c, const std::string& v) { c.tls_key = v; }},
        {{"limits.max_manifest_bytes", "", "Largest accepted manifest (413 SIZE_INVALID beyond)."},
         PC_SIZE(max_manifest_bytes, 1024, 4 << 20)},
        {{"limits.max_page_size", "", "Cap on `n` for tags/list and _catalog."},
         PC_SIZE(max_page_size, 1, 1000000)},
        {{"cache.manifest_bytes", "", "Memory for the manifest cache."},
         PC_SIZE(manifest_cache_bytes, 0, std::size_t{1} << 40)},
        {{"metadata.sqlite.path", "", "SQLite database file (default <data_dir>/metadata.db)."},
         [](Config& c, const std::string& v) { c.sqlite_path = v; }},
        {{"metadata.postgres.url", "",
          "PostgreSQL URL (postgresql://user@host:port/db); set, it replaces SQLite."},
         [](Config& c, const std::string& v) { c.postgres_url = v; }},
        {{"scanner.scan_on_push", "", "Scan every pushed image for vulnerabilities."},
         [](Config& c, const std::string& v) { c.scan_on_push = parse_bool(v); }},
        {{"scanner.workers", "", "Scans running at once."}, PC_SIZE(scan_workers, 1, 64)},
        {{"scanner.advisory_db", "", "Advisory database file (default <data_dir>/advisories.db)."},
         [](Config& c, const std::string& v) { c.advisory_db_path = v; }},
        {{"scanner.rematch_interval_seconds", "", "How often to look for new advisory data and re-match."},
         PC_INT(rematch_interval_seconds, 1, 86400)},
        {{"scanner.max_uncompressed_mib", "", "Largest uncompressed image a scan reads (MiB)."},
         PC_SIZE(scan_max_uncompressed_mib, 1, std::size_t{1} << 24)},
        {{"scanner.max_entries", "", "Most tar entries a scan reads per image."},
         PC_SIZE(scan_max_entries, 1, std::size_t{1} << 32)},
    };
    std::vector<Key> out;
    for (auto& [info, set] : rows) {
      info.env = env_name(info.path);
      out.push_back({info, set});
    }
    return out;
  }();
  return kKeys;
}

void walk(Config& cfg, const YAML::Node& node, const std::string& prefix, const std::string& file) {
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    std::string path = prefix.empty() ? key : prefix + "." + key;
    auto line = kv.first.Mark().line + 1;
    if (kv.second.IsMap()) {
      // A section is known only if some key lives under it (else `bogus: {}` would pass).
      bool known_section = false;
      for (const auto& k : table()) {
        if (k.info.path.starts_with(path + ".")) known_section = true;
      }
      if (!known_section) {
        throw std::runtime_error(fmt::format("{}:{}: unknown key '{}'", file, line, path));
      }
      walk(cfg, kv.second, path, file);
      continue;
    }
    const Key* found = nullptr;
    for (const auto& k : table()) {
      if (k.info.path == path) found = &k;
    }
    if (!found) throw std::runtime_error(fmt::format("{}:{}: unknown key '{}'", file, line, path));
    if (!kv.second.IsScalar()) {
      throw std::runtime_error(fmt::format("{}:{}: '{}' must be a scalar", file, line, path));
    }
    try {
      found->set(cfg, kv.second.as<std::string>());
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("{}:{}: {}: {}", file, line, path, e.what()));
    }
  }
}

}  // namespace

const std::vector<KeyInfo>& keys() {
  static const std::vector<KeyInfo> kInfo = [] {
    std::vector<KeyInfo> out;
    for (const auto& k : table()) out.push_back(k.info);
    return out;
  }();
  return kInfo;
}

std::string Config::effective_advisory_db_path() const {
  return advisory_db_path.empty() ? data_dir + "/advisories.db" : advisory_db_path;
}

std::string Config::effective_sqlite_path() const {
  return sqlite_path.empty() ? data_dir + "/metadata.db" : sqlite_path;
}

std::string Config::effective_token_key_file() const {
  return token_key_file.empty() ? data_dir + "/token-key.pem" : token_key_file;
}

void apply_file(Config& cfg, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw std::runtime_error(fmt::format("{}: top level must be a mapping", path));
  walk(cfg, root, "", path);
}

void apply_env(Config& cfg) {
  for (const auto& k : table()) {
    const char* v = std::getenv(k.info.env.c_str());
    if (v == nullptr) continue;
    try {
      k.set(cfg, v);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("{}: {}", k.info.env, e.what()));
    }
  }
  // The AWS SDKs' variables, when the credentials are not configured otherwise.
  if (cfg.s3_access_key.empty()) {
    if (const char* v = std::getenv("AWS_ACCESS_KEY_ID")) cfg.s3_access_key = v;
  }
  if (cfg.s3_secret_key.empty()) {
    if (const char* v = std::getenv("AWS_SECRET_ACCESS_KEY")) cfg.s3_secret_key = v;
  }
}

HostPort parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    throw std::runtime_error(fmt::format("listen address '{}' must be host:port", listen));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of("[]:") != std::string::npos) {
    // Unbalanced brackets, or an IPv6 address without them ("::1:5000" is ambiguous).
    throw std::runtime_error(
        fmt::format("listen address '{}' must be host:port or [v6]:port", listen));
  }
  if (host.empty()) throw std::runtime_error(fmt::format("listen address '{}' has no host", listen));
  auto port = parse_number<int>(listen.substr(colon + 1), 0, 65535);
  return {host, static_cast<uint16_t>(port)};
}

void validate(const Config& cfg) {
  parse_listen(cfg.listen);
  if (cfg.data_dir.empty()) throw std::runtime_error("data_dir must not be empty");
  if (cfg.storage_driver == "s3") {
    if (cfg.s3_endpoint.empty() || cfg.s3_bucket.empty()) {
      throw std::runtime_error("storage.driver s3 needs storage.s3.endpoint and storage.s3.bucket");
    }
    if (!cfg.s3_endpoint.starts_with("http://") && !cfg.s3_endpoint.starts_with("https://")) {
      throw std::runtime_error("storage.s3.endpoint must start with http:// or https://");
    }
    if (cfg.s3_access_key.empty() || cfg.s3_secret_key.empty()) {
      throw std::runtime_error(
          "storage.driver s3 needs credentials: storage.s3.access_key and storage.s3.secret_key "
          "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
    }
  }
  if (cfg.tls_certificate.empty() != cfg.tls_key.empty()) {
    throw std::runtime_error("tls.certificate and tls.key must be set together");
  }
}

}  // namespace portcullis::config
