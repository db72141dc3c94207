// Typed configuration: defaults, then a YAML file, then PORTCULLIS_* environment
// variables, then command-line flags (applied by the CLI). Every key is listed
// in docs/configuration.md; unknown keys are errors, not silently ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace portcullis::config {

struct Config {
  std::string listen = "127.0.0.1:5000";  // host:port ([v6]:port for IPv6)
  std::string data_dir = "./data";        // root for blobs, uploads and the SQLite database
  std::string log_level = "info";
  bool access_log = true;
  std::size_t io_threads = 2;
  std::size_t worker_threads = 4;
  std::size_t header_limit_bytes = 16 * 1024;
  int idle_timeout_seconds = 60;
  int io_timeout_seconds = 120;
  int shutdown_grace_seconds = 10;
  std::size_t max_connections = 4096;
  std::size_t max_manifest_bytes = 4 * 1024 * 1024;
  std::size_t max_page_size = 10000;
  std::size_t manifest_cache_bytes = 64 * 1024 * 1024;
  std::string sqlite_path;  // empty: <data_dir>/metadata.db
  std::string postgres_url;  // libpq URL; non-empty selects PostgreSQL instead of SQLite
  bool scan_on_push = true;
  std::size_t scan_workers = 1;
  std::string advisory_db_path;  // empty: <data_dir>/advisories.db
  int rematch_interval_seconds = 30;
  std::size_t scan_max_uncompressed_mib = 16 * 1024;
  std::size_t scan_max_entries = 2'000'000;
  std::string tls_certificate;  // PEM chain; with tls_key, serve HTTPS only
  std::string tls_key;          // PEM private key, unencrypted
  bool insecure_allow_plain_http = false;  // plain HTTP on a non-loopback address
  bool insecure_allow_anonymous = false;   // serve a non-loopback address without authentication
  bool auth_enabled = false;               // off: anonymous full access (loopback only)
  std::string admin_password;              // initial admin password (first start)
  std::string admin_password_file;
  bool auth_basic = true;
  std::string token_realm;  // empty: derived from the Host header
  std::string token_service = "portcullis";
  std::string token_issuer = "portcullis-token-service";
  std::string token_key_file;  // empty: <data_dir>/token-key.pem
  int token_lifetime_seconds = 300;
  int refresh_lifetime_seconds = 7 * 86400;
  bool audit_pulls = true;
  int upload_max_age_hours = 168;        // abandoned upload sessions older than this are purged; 0: never
  int upload_purge_interval_minutes = 60;
  bool gc_enabled = true;                 // scheduled online garbage collection (maintenance/gc.h)
  int gc_interval_minutes = 60;
  int gc_grace_minutes = 24 * 60;         // blobs stored, linked or referenced more recently are live
  bool gc_delete_untagged = false;        // gc.untagged: keep | delete
  int gc_untagged_age_hours = 7 * 24;     // with delete: untagged manifests older than this go
  int gc_mark_delay_seconds = 60;         // between marking a blob and deleting it
  std::string policy_directory;  // registry policy files; "" = managed through the API/CLI only
  int policy_reload_interval_seconds = 10;
  std::string storage_driver = "filesystem";  // filesystem | s3
  std::string s3_endpoint;                    // http(s)://host[:port]
  std::string s3_region = "us-east-1";
  std::string s3_bucket;
  std::string s3_prefix;
  std::string s3_access_key;  // empty: AWS_ACCESS_KEY_ID
  std::string s3_secret_key;  // empty: AWS_SECRET_ACCESS_KEY
  std::string s3_ca_file;
  bool s3_redirect = false;
  int s3_presign_expiry_seconds = 900;
  std::size_t s3_part_size_mib = 16;
  int s3_max_attempts = 5;

  std::string effective_token_key_file() const;

  std::string effective_advisory_db_path() const;

  std::string effective_sqlite_path() const;
};

// One documented key: its YAML path, its environment variable and its meaning.
struct KeyInfo {
  std::string path;  // e.g. "http.io_threads"
  std::string env;   // e.g. "PORTCULLIS_HTTP_IO_THREADS"
  std::string help;
};
const std::vector<KeyInfo>& keys();

// Applies a YAML file over cfg. Throws std::runtime_error naming the file,
// line and key on any problem (unknown key, wrong type, out of range).
void apply_file(Config& cfg, const std::string& path);
// Applies PORTCULLIS_* variables from the environment. Throws like apply_file.
void apply_env(Config& cfg);
// Cross-field checks. Throws std::runtime_error.
void validate(const Config& cfg);

struct HostPort {
  std::string host;
  uint16_t port;
};
// Parses "host:port" / "[v6]:port". Throws std::runtime_error.
HostPort parse_listen(const std::string& listen);

}  // namespace portcullis::config
