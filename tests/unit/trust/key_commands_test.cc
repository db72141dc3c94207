// `portcullis key generate` (src/cli/key_commands.cc, compiled into this test).
#include "cli/key_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include <gtest/gtest.h>

#include "../temp_dir.h"
#include "test_support.h"
#include "trust/keys.h"

namespace portcullis::cli {
namespace {

namespace fs = std::filesystem;

class KeyGenerate : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"PORTCULLIS_PASSWORD", "COSIGN_PASSWORD"}) {
      if (const char* v = std::getenv(name)) saved_[name] = v;
      ::unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : {"PORTCULLIS_PASSWORD", "COSIGN_PASSWORD"}) {
      ::unsetenv(name);
      if (auto it = saved_.find(name); it != saved_.end()) ::setenv(name, it->second.c_str(), 1);
    }
    if (old_cin_ != nullptr) std::cin.rdbuf(old_cin_);
  }
  // Feeds `text` to the command's stdin reads.
  void stdin_text(const std::string& text) {
    input_.str(text);
    old_cin_ = std::cin.rdbuf(input_.rdbuf());
  }
  std::string prefix() const { return (dir_.path() / "signer").string(); }
  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_mode & 0777;
  }
  static std::optional<trust::PrivateKey> open(const std::string& prefix,
                                               std::string_view password) {
    auto key = trust::PrivateKey::from_encrypted_pem(read(prefix + ".key"), password);
    if (!key) return std::nullopt;
    return std::move(*key);
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  testutil::TempDir dir_;
  std::map<std::string, std::string> saved_;
  std::istringstream input_;
  std::streambuf* old_cin_ = nullptr;
};

TEST_F(KeyGenerate, WritesAnEncryptedKeyOnlyTheOwnerCanReadAndItsPublicKey) {
  ::setenv("COSIGN_PASSWORD", "pw from env", 1);
  ASSERT_EQ(key_generate(prefix(), false), 0);
  EXPECT_EQ(mode_of(prefix() + ".key"), 0600u);
  EXPECT_EQ(mode_of(prefix() + ".pub"), 0644u);
  EXPECT_TRUE(
      read(prefix() + ".key").starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
  auto key = open(prefix(), "pw from env");
  ASSERT_TRUE(key);
  auto pub = trust::PublicKey::from_pem(read(prefix() + ".pub"));
  ASSERT_TRUE(pub);
  EXPECT_EQ(key->public_key().fingerprint(), pub->fingerprint());
  EXPECT_FALSE(open(prefix(), "other"));
  // No temporary files left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()), 2);
}

TEST_F(KeyGenerate, RefusesToOverwriteUnlessForced) {
  ::setenv("PORTCULLIS_PASSWORD", "first", 1);
  ASSERT_EQ(key_generate(prefix(), false), 0);
  std::string first_pub = read(prefix() + ".pub");
  ::setenv("PORTCULLIS_PASSWORD", "second", 1);
  EXPECT_EQ(key_generate(prefix(), false), 1);
  EXPECT_EQ(read(prefix() + ".pub"), first_pub);
  EXPECT_TRUE(open(prefix(), "first"));

  fs::remove(prefix() + ".key");  // a lone .pub is protected too
  EXPECT_EQ(key_generate(prefix(), false), 1);

  ASSERT_EQ(key_generate(prefix(), true), 0);
  EXPECT_NE(read(prefix() + ".pub"), first_pub);
  EXPECT_TRUE(open(prefix(), "second"));
  EXPECT_EQ(mode_of(prefix() + ".key"), 0600u);
}

TEST_F(KeyGenerate, PortcullisPasswordWinsAndAnEmptyEnvPasswordIsAllowed) {
  ::setenv("PORTCULLIS_PASSWORD", "", 1);
  ::setenv("COSIGN_PASSWORD", "ignored", 1);
  ASSERT_EQ(key_generate(prefix(), false), 0);
  EXPECT_TRUE(open(prefix(), ""));
}

TEST_F(KeyGenerate, ReadsThePasswordFromStdinAndRefusesAnEmptyOne) {
  // Two identical lines satisfy both the terminal (asked twice) and the pipe (one line) paths.
  stdin_text("typed pw\ntyped pw\n");
  ASSERT_EQ(key_generate(prefix(), false), 0);
  EXPECT_TRUE(open(prefix(), "typed pw"));

  std::cin.rdbuf(old_cin_);
  stdin_text("\n\n");
  EXPECT_EQ(key_generate(prefix() + "2", false), 1);
  EXPECT_FALSE(fs::exists(prefix() + "2.key"));

  std::cin.rdbuf(old_cin_);
  stdin_text("");
  EXPECT_EQ(key_generate(prefix() + "3", false), 1);
  EXPECT_FALSE(fs::exists(prefix() + "3.key"));
}

}  // namespace
}  // namespace portcullis::cli
