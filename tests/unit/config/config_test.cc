#include "config/config.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include "temp_dir.h"

namespace portcullis::config {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

using testutil::TempDir;

// Sets an environment variable for the scope, restoring the previous value.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& yaml) {
    auto path = dir_.path() / ("config" + std::to_string(n_++) + ".yaml");
    std::ofstream(path) << yaml;
    return path.string();
  }
  // The message apply_file throws, or "" when it does not throw.
  std::string ErrorOf(const std::string& yaml) {
    auto path = Write(yaml);
    Config cfg;
    try {
      apply_file(cfg, path);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "apply_file accepted:\n" << yaml;
    return "";
  }

  TempDir dir_;
  int n_ = 0;
};

// --- defaults -------------------------------------------------------------------

TEST(ConfigDefaults, AreSafeAndDocumented) {
  Config cfg;
  EXPECT_EQ(cfg.listen, "127.0.0.1:5000");  // loopback unless told otherwise
  EXPECT_EQ(cfg.data_dir, "./data");
  EXPECT_EQ(cfg.log_level, "info");
  EXPECT_TRUE(cfg.access_log);
  EXPECT_EQ(cfg.max_manifest_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(cfg.sqlite_path, "");
  EXPECT_GE(cfg.io_threads, 1u);
  EXPECT_GE(cfg.worker_threads, 1u);
  EXPECT_NO_THROW(validate(cfg));
}

TEST(ConfigDefaults, SqlitePathDefaultsToTheDataDir) {
  Config cfg;
  cfg.data_dir = "/var/lib/portcullis";
  EXPECT_EQ(cfg.effective_sqlite_path(), "/var/lib/portcullis/metadata.db");
  cfg.sqlite_path = "/elsewhere/meta.db";
  EXPECT_EQ(cfg.effective_sqlite_path(), "/elsewhere/meta.db");
}

TEST(ConfigKeys, EveryKeyHasAnEnvironmentNameAndHelp) {
  std::set<std::string> paths, envs;
  for (const auto& k : keys()) {
    EXPECT_FALSE(k.path.empty());
    EXPECT_FALSE(k.help.empty()) << k.path;
    EXPECT_TRUE(k.env.starts_with("PORTCULLIS_")) << k.env;
    EXPECT_TRUE(paths.insert(k.path).second) << "duplicate " << k.path;
    EXPECT_TRUE(envs.insert(k.env).second) << "duplicate " << k.env;
  }
  EXPECT_TRUE(paths.count("listen"));
  EXPECT_TRUE(paths.count("http.io_threads"));
  EXPECT_TRUE(envs.count("PORTCULLIS_HTTP_IO_THREADS"));
  EXPECT_TRUE(envs.count("PORTCULLIS_METADATA_SQLITE_PATH"));
  EXPECT_TRUE(envs.count("PORTCULLIS_METADATA_POSTGRES_URL"));
}

// --- YAML file ------------------------------------------------------------------

TEST_F(ConfigFileTest, FileOverridesDefaultsAndLeavesTheRestAlone) {
  auto path = Write(R"(
listen: "0.0.0.0:8080"
data_dir: /srv/registry
log:
  level: debug
  access_log: false
http:
  io_threads: 8
  idle_timeout_seconds: 30
limits:
  max_manifest_bytes: 2097152
cache:
  manifest_bytes: 0
metadata:
  sqlite:
    path: /srv/meta.db
)");
  Config cfg;
  apply_file(cfg, path);
  EXPECT_EQ(cfg.listen, "0.0.0.0:8080");
  EXPECT_EQ(cfg.data_dir, "/srv/registry");
  EXPECT_EQ(cfg.log_level, "debug");
  EXPECT_FALSE(cfg.access_log);
  EXPECT_EQ(cfg.io_threads, 8u);
  EXPECT_EQ(cfg.idle_timeout_seconds, 30);
  EXPECT_EQ(cfg.max_manifest_bytes, 2097152u);
  EXPECT_EQ(cfg.manifest_cache_bytes, 0u);
  EXPECT_EQ(cfg.sqlite_path, "/srv/meta.db");
  EXPECT_EQ(cfg.effective_sqlite_path(), "/srv/meta.db");
  // Untouched keys keep their defaults.
  Config defaults;
  EXPECT_EQ(cfg.worker_threads, defaults.worker_threads);
  EXPECT_EQ(cfg.max_page_size, defaults.max_page_size);
}

TEST_F(ConfigFileTest, EmptyFileChangesNothing) {
  auto path = Write("");
  Config cfg;
  apply_file(cfg, path);
  EXPECT_EQ(cfg.listen, Config{}.listen);
  EXPECT_EQ(cfg.io_threads, Config{}.io_threads);
}

TEST_F(ConfigFileTest, UnknownKeyNamesFileLineAndKey) {
  std::string msg = ErrorOf("listen: \"127.0.0.1:5000\"\nhttp:\n  io_threads: 2\n  bogus_key: 1\n");
  EXPECT_THAT(msg, AllOf(HasSubstr("config0.yaml"), HasSubstr(":4"), HasSubstr("http.bogus_key")));
}

TEST_F(ConfigFileTest, UnknownTopLevelKeyIsAnError) {
  std::string msg = ErrorOf("data_dir: /x\nlistn: \"127.0.0.1:5000\"\n");
  EXPECT_THAT(msg, AllOf(HasSubstr("config0.yaml"), HasSubstr(":2"), HasSubstr("listn")));
}

TEST_F(ConfigFileTest, UnknownSectionIsAnErrorEvenWhenEmpty) {
  std::string msg = ErrorOf("data_dir: /x\nbogus_section: {}\n");
  EXPECT_THAT(msg, AllOf(HasSubstr("config0.yaml"), HasSubstr(":2"), HasSubstr("bogus_section")));
}

TEST_F(ConfigFileTest, KeyAtTheWrongLevelIsUnknown) {
  // io_threads belongs under http:, not at the top level.
  std::string msg = ErrorOf("io_threads: 4\n");
  EXPECT_THAT(msg, AllOf(HasSubstr(":1"), HasSubstr("io_threads")));
}

TEST_F(ConfigFileTest, WrongTypeIsAnErrorNamingTheKey) {
  EXPECT_THAT(ErrorOf("http:\n  io_threads: many\n"),
              AllOf(HasSubstr("config0.yaml"), HasSubstr(":2"), HasSubstr("http.io_threads")));
  EXPECT_THAT(ErrorOf("http:\n  io_threads: 2.5\n"), HasSubstr("http.io_threads"));
  EXPECT_THAT(ErrorOf("http:\n  io_threads: [1, 2]\n"), HasSubstr("http.io_threads"));
  EXPECT_THAT(ErrorOf("log:\n  access_log: maybe\n"), HasSubstr("log.access_log"));
  EXPECT_THAT(ErrorOf("log:\n  level: loud\n"), HasSubstr("log.level"));
  EXPECT_THAT(ErrorOf("listen:\n  - a\n"), HasSubstr("listen"));
}

TEST_F(ConfigFileTest, GarbageCollectionKeysParseAndRejectBadValues) {
  Config defaults;
  EXPECT_TRUE(defaults.gc_enabled);
  EXPECT_EQ(defaults.gc_grace_minutes, 1440);
  EXPECT_FALSE(defaults.gc_delete_untagged);
  auto path = Write(
      "gc:\n  enabled: false\n  interval_minutes: 15\n  grace_minutes: 120\n"
      "  untagged: delete\n  untagged_age_hours: 48\n  mark_delay_seconds: 5\n");
  Config cfg;
  apply_file(cfg, path);
  EXPECT_FALSE(cfg.gc_enabled);
  EXPECT_EQ(cfg.gc_interval_minutes, 15);
  EXPECT_EQ(cfg.gc_grace_minutes, 120);
  EXPECT_TRUE(cfg.gc_delete_untagged);
  EXPECT_EQ(cfg.gc_untagged_age_hours, 48);
  EXPECT_EQ(cfg.gc_mark_delay_seconds, 5);
  EXPECT_THAT(ErrorOf("gc:\n  untagged: sometimes\n"), AllOf(HasSubstr("gc.untagged"), HasSubstr("keep or delete")));
  EXPECT_THAT(ErrorOf("gc:\n  grace_minutes: 0\n"), HasSubstr("gc.grace_minutes"));
  EXPECT_THAT(ErrorOf("gc:\n  interval_minutes: 0\n"), HasSubstr("gc.interval_minutes"));
  ScopedEnv env("PORTCULLIS_GC_UNTAGGED", "keep");
  apply_env(cfg);
  EXPECT_FALSE(cfg.gc_delete_untagged);
}

TEST_F(ConfigFileTest, OutOfRangeNumberIsAnError) {
  EXPECT_THAT(ErrorOf("http:\n  io_threads: 0\n"), HasSubstr("http.io_threads"));
  EXPECT_THAT(ErrorOf("http:\n  io_threads: -1\n"), HasSubstr("http.io_threads"));
  EXPECT_THAT(ErrorOf("http:\n  io_threads: 99999999999999999999999\n"),
              HasSubstr("http.io_threads"));
}

TEST_F(ConfigFileTest, MalformedYamlNamesTheFile) {
  EXPECT_THAT(ErrorOf("listen: [unclosed\n"), HasSubstr("config0.yaml"));
}

TEST_F(ConfigFileTest, NonMappingTopLevelIsAnError) {
  EXPECT_THAT(ErrorOf("- a\n- b\n"), HasSubstr("config0.yaml"));
}

TEST_F(ConfigFileTest, MissingFileIsAnError) {
  Config cfg;
  EXPECT_THROW(apply_file(cfg, (dir_.path() / "missing.yaml").string()), std::runtime_error);
}

// --- environment ----------------------------------------------------------------

TEST(ConfigEnv, PortcullisVariablesOverrideValues) {
  ScopedEnv listen("PORTCULLIS_LISTEN", "[::1]:6000");
  ScopedEnv threads("PORTCULLIS_HTTP_IO_THREADS", "3");
  ScopedEnv sqlite("PORTCULLIS_METADATA_SQLITE_PATH", "/tmp/x.db");
  ScopedEnv access("PORTCULLIS_LOG_ACCESS_LOG", "false");
  Config cfg;
  cfg.io_threads = 7;  // as if set by a file: the environment wins
  apply_env(cfg);
  EXPECT_EQ(cfg.listen, "[::1]:6000");
  EXPECT_EQ(cfg.io_threads, 3u);
  EXPECT_EQ(cfg.sqlite_path, "/tmp/x.db");
  EXPECT_FALSE(cfg.access_log);
  EXPECT_EQ(cfg.data_dir, Config{}.data_dir);
}

TEST(ConfigEnv, UnsetVariablesChangeNothing) {
  Config cfg;
  cfg.io_threads = 7;
  apply_env(cfg);
  EXPECT_EQ(cfg.io_threads, 7u);
}

TEST(ConfigEnv, BadValueIsAnErrorNamingTheVariable) {
  ScopedEnv threads("PORTCULLIS_HTTP_IO_THREADS", "lots");
  Config cfg;
  try {
    apply_env(cfg);
    FAIL() << "apply_env accepted a non-integer";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("PORTCULLIS_HTTP_IO_THREADS"));
  }
}

// --- listen addresses -----------------------------------------------------------

TEST(ParseListen, ParsesHostAndPort) {
  auto hp = parse_listen("127.0.0.1:5000");
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, 5000);
  auto named = parse_listen("localhost:80");
  EXPECT_EQ(named.host, "localhost");
  EXPECT_EQ(named.port, 80);
}

TEST(ParseListen, ParsesBracketedIpv6) {
  auto hp = parse_listen("[::1]:5000");
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(hp.port, 5000);
  auto any = parse_listen("[::]:443");
  EXPECT_EQ(any.host, "::");
  EXPECT_EQ(any.port, 443);
}

TEST(ParseListen, AcceptsPortZeroAndTheFullRange) {
  EXPECT_EQ(parse_listen("127.0.0.1:0").port, 0);
  EXPECT_EQ(parse_listen("127.0.0.1:65535").port, 65535);
}

TEST(ParseListen, RejectsBadInputs) {
  for (const char* bad : {"", "5000", "127.0.0.1", "127.0.0.1:", ":5000", "127.0.0.1:65536",
                          "127.0.0.1:-1", "127.0.0.1:http", "127.0.0.1: 5000", "127.0.0.1:5000x",
                          "[::1]", "[]:5000", "[::1:5000", "::1]:5000", "::1:5000"}) {
    EXPECT_THROW(parse_listen(bad), std::runtime_error) << "accepted '" << bad << "'";
  }
}

TEST(Validate, RejectsABadListenAddressOrEmptyDataDir) {
  Config bad_listen;
  bad_listen.listen = "nope";
  EXPECT_THROW(validate(bad_listen), std::runtime_error);
  Config no_data;
  no_data.data_dir = "";
  EXPECT_THROW(validate(no_data), std::runtime_error);
}

TEST(Validate, TlsCertificateAndKeyComeTogether) {
  Config only_cert;
  only_cert.tls_certificate = "/etc/portcullis/tls.crt";
  EXPECT_THROW(validate(only_cert), std::runtime_error);
  Config only_key;
  only_key.tls_key = "/etc/portcullis/tls.key";
  EXPECT_THROW(validate(only_key), std::runtime_error);
  Config both = only_cert;
  both.tls_key = "/etc/portcullis/tls.key";
  EXPECT_NO_THROW(validate(both));
}

TEST(ConfigDefaults, NoTlsAndNoInsecurePlainHttp) {
  Config cfg;
  EXPECT_TRUE(cfg.tls_certificate.empty());
  EXPECT_TRUE(cfg.tls_key.empty());
  EXPECT_FALSE(cfg.insecure_allow_plain_http);
}

TEST_F(ConfigFileTest, TlsAndInsecureKeysFromFileAndEnvironment) {
  Config cfg;
  apply_file(cfg, Write("tls:\n  certificate: /a.crt\n  key: /a.key\nhttp:\n  insecure_allow_plain_http: true\n"));
  EXPECT_EQ(cfg.tls_certificate, "/a.crt");
  EXPECT_EQ(cfg.tls_key, "/a.key");
  EXPECT_TRUE(cfg.insecure_allow_plain_http);
  ScopedEnv cert("PORTCULLIS_TLS_CERTIFICATE", "/b.crt");
  ScopedEnv key("PORTCULLIS_TLS_KEY", "/b.key");
  ScopedEnv insecure("PORTCULLIS_HTTP_INSECURE_ALLOW_PLAIN_HTTP", "false");
  apply_env(cfg);
  EXPECT_EQ(cfg.tls_certificate, "/b.crt");
  EXPECT_EQ(cfg.tls_key, "/b.key");
  EXPECT_FALSE(cfg.insecure_allow_plain_http);
}

}  // namespace
}  // namespace portcullis::config

namespace portcullis::config {
namespace {

TEST_F(ConfigFileTest, S3StorageKeysFromTheFile) {
  auto path = Write(R"(
storage:
  driver: s3
  s3:
    endpoint: "https://s3.internal:8443"
    region: eu-west-1
    bucket: registry
    prefix: prod/
    access_key: AKID
    secret_key: SECRET
    redirect: true
    presign_expiry_seconds: 60
    part_size_mib: 32
    max_attempts: 3
)");
  Config cfg;
  apply_file(cfg, path);
  EXPECT_EQ(cfg.storage_driver, "s3");
  EXPECT_EQ(cfg.s3_endpoint, "https://s3.internal:8443");
  EXPECT_EQ(cfg.s3_region, "eu-west-1");
  EXPECT_EQ(cfg.s3_bucket, "registry");
  EXPECT_EQ(cfg.s3_prefix, "prod/");
  EXPECT_EQ(cfg.s3_access_key, "AKID");
  EXPECT_EQ(cfg.s3_secret_key, "SECRET");
  EXPECT_TRUE(cfg.s3_redirect);
  EXPECT_EQ(cfg.s3_presign_expiry_seconds, 60);
  EXPECT_EQ(cfg.s3_part_size_mib, 32u);
  EXPECT_EQ(cfg.s3_max_attempts, 3);
  EXPECT_NO_THROW(validate(cfg));
}

TEST_F(ConfigFileTest, BadStorageValuesAreErrorsNamingTheKey) {
  EXPECT_THAT(ErrorOf("storage:\n  driver: nfs\n"), HasSubstr("storage.driver"));
  EXPECT_THAT(ErrorOf("storage:\n  s3:\n    part_size_mib: 4\n"),
              HasSubstr("storage.s3.part_size_mib"));
}

TEST(Validate, S3NeedsEndpointBucketAndCredentials) {
  Config cfg;
  cfg.storage_driver = "s3";
  EXPECT_THROW(validate(cfg), std::runtime_error);
  cfg.s3_endpoint = "http://127.0.0.1:7480";
  cfg.s3_bucket = "registry";
  try {
    validate(cfg);
    ADD_FAILURE() << "no credentials accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("credentials"));
  }
  cfg.s3_access_key = "a";
  cfg.s3_secret_key = "b";
  EXPECT_NO_THROW(validate(cfg));
  cfg.s3_endpoint = "127.0.0.1:7480";
  EXPECT_THROW(validate(cfg), std::runtime_error);
}

TEST(ConfigEnv, AwsCredentialVariablesFillOnlyWhatIsNotConfigured) {
  ScopedEnv id("AWS_ACCESS_KEY_ID", "from-aws-env");
  ScopedEnv secret("AWS_SECRET_ACCESS_KEY", "aws-secret");
  Config cfg;
  apply_env(cfg);
  EXPECT_EQ(cfg.s3_access_key, "from-aws-env");
  EXPECT_EQ(cfg.s3_secret_key, "aws-secret");
  Config configured;
  configured.s3_access_key = "from-file";
  ScopedEnv own("PORTCULLIS_STORAGE_S3_SECRET_KEY", "portcullis-secret");
  apply_env(configured);
  EXPECT_EQ(configured.s3_access_key, "from-file");
  EXPECT_EQ(configured.s3_secret_key, "portcullis-secret");
}

}  // namespace
}  // namespace portcullis::config
