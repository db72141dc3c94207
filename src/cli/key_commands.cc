#include "cli/key_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "base/error.h"
#include "cli/prompt.h"
#include "trust/keys.h"

namespace portcullis::cli {

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "portcullis key generate: %s\n", message.c_str());
  return 1;
}

// Wipes a password once it is no longer needed.
struct Wiped {
  std::string value;
  ~Wiped() { OPENSSL_cleanse(value.data(), value.size()); }
};

Result<std::string> read_new_password() {
  for (const char* name : {"PORTCULLIS_PASSWORD", "COSIGN_PASSWORD"}) {
    if (const char* env = std::getenv(name))
      return std::string(env);  // empty allowed, as cosign does
  }
  bool tty = stdin_is_terminal();
  auto first = read_secret_line("Enter password for private key: ");
  if (!first) {
    return make_error(
        Errc::denied,
        "no password: set PORTCULLIS_PASSWORD or COSIGN_PASSWORD, or give it on stdin");
  }
  if (tty) {
    auto again = read_secret_line("Enter password for private key again: ");
    if (!again || *again != *first) return make_error(Errc::denied, "the passwords do not match");
  }
  if (first->empty()) {
    return make_error(Errc::denied,
                      "empty password refused (set COSIGN_PASSWORD to an empty value to mean it)");
  }
  return *first;
}

// Writes `contents` to `path` with `mode`: a temporary file in the same
// directory, fsync'd, then renamed over `path` (force) or hard-linked to it,
// which fails if `path` exists (no race with another writer).
Result<void> write_file(const std::string& path, std::string_view contents, mode_t mode,
                        bool force) {
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(tmp.data());  // created 0600
  if (fd < 0)
    return make_error(Errc::internal,
                      fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  auto cleanup = [&](std::string message) {
    int saved = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return make_error(Errc::internal, fmt::format("{}: {}", message, std::strerror(saved)));
  };
  if (::fchmod(fd, mode) != 0) return cleanup(fmt::format("cannot set the mode of {}", tmp));
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return cleanup(fmt::format("cannot write {}", tmp));
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return cleanup(fmt::format("cannot write {}", tmp));
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return make_error(Errc::internal,
                      fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  }
  if (force) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int saved = errno;
      ::unlink(tmp.c_str());
      return make_error(Errc::internal,
                        fmt::format("cannot write {}: {}", path, std::strerror(saved)));
    }
  } else {
    int rc = ::link(tmp.c_str(), path.c_str());
    int saved = errno;
    ::unlink(tmp.c_str());
    if (rc != 0 && saved == EEXIST) {
      return make_error(Errc::conflict,
                        fmt::format("{} exists (use --force to overwrite it)", path));
    }
    if (rc != 0)
      return make_error(Errc::internal,
                        fmt::format("cannot write {}: {}", path, std::strerror(saved)));
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

int key_generate(const std::string& prefix, bool force) {
  if (prefix.empty()) return fail("the output prefix is empty");
  const std::string key_path = prefix + ".key";
  const std::string pub_path = prefix + ".pub";
  if (!force) {
    // Checked before asking for a password; write_file checks again atomically.
    for (const auto& p : {key_path, pub_path}) {
      std::error_code ec;
      if (std::filesystem::exists(std::filesystem::symlink_status(p, ec))) {
        return fail(fmt::format("{} exists (use --force to overwrite it)", p));
      }
    }
  }
  auto password = read_new_password();
  if (!password) return fail(password.error().message);
  Wiped secret{std::move(*password)};

  try {
    trust::PrivateKey key = trust::PrivateKey::generate();
    auto pem = key.to_encrypted_pem(secret.value);
    if (!pem) return fail(pem.error().message);
    if (auto r = write_file(key_path, *pem, 0600, force); !r) return fail(r.error().message);
    std::fprintf(stderr, "Private key written to %s\n", key_path.c_str());
    if (auto r = write_file(pub_path, key.public_key().pem(), 0644, force); !r)
      return fail(r.error().message);
    std::fprintf(stderr, "Public key written to %s\n", pub_path.c_str());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}

}  // namespace portcullis::cli
