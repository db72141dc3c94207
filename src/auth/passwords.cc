#include "auth/passwords.h"

#include <sodium.h>

#include "auth/encoding.h"
#include "auth/sodium_init.h"
#include "crypto/hash.h"

namespace portcullis::auth {

namespace {

constexpr std::string_view kArgon2idPrefix = "$argon2id$";
constexpr std::string_view kRobotSecretPrefix = "pcr_";
constexpr std::string_view kSha256Prefix = "sha256:";

// libsodium wants NUL-terminated hash strings of at most crypto_pwhash_STRBYTES.
bool copy_stored_hash(std::string_view stored, char (&out)[crypto_pwhash_STRBYTES]) {
  if (stored.size() >= sizeof(out) || !stored.starts_with(kArgon2idPrefix)) return false;
  stored.copy(out, stored.size());
  out[stored.size()] = '\0';
  return true;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, const PasswordCost& cost) {
  ensure_sodium();
  if (password.empty()) return make_error(Errc::denied, "password must not be empty");
  if (password.size() > kMaxPasswordLength) {
    return make_error(Errc::denied, "password is too long");
  }
  if (cost.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      cost.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN) {
    return make_error(Errc::internal, "argon2id cost below libsodium's minimum");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost.opslimit, cost.memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(Errc::internal, "argon2id hashing failed");
  }
  return std::string(out);
}

bool verify_password(std::string_view stored_hash, std::string_view password) {
  ensure_sodium();
  char stored[crypto_pwhash_STRBYTES];
  if (!copy_stored_hash(stored_hash, stored)) return false;
  if (password.empty() || password.size() > kMaxPasswordLength) return false;
  return crypto_pwhash_str_verify(stored, password.data(), password.size()) == 0;
}

bool needs_rehash(std::string_view stored_hash, const PasswordCost& cost) {
  ensure_sodium();
  char stored[crypto_pwhash_STRBYTES];
  if (!copy_stored_hash(stored_hash, stored)) return true;
  // 0: same parameters; 1: different; -1: not a valid argon2id string.
  return crypto_pwhash_str_needs_rehash(stored, cost.opslimit, cost.memlimit) != 0;
}

std::string random_token(std::size_t n) {
  ensure_sodium();
  std::string bytes(n, '\0');
  randombytes_buf(bytes.data(), n);
  std::string out = base64url_encode(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return out;
}

RobotSecret generate_robot_secret() {
  RobotSecret s;
  s.plaintext = std::string(kRobotSecretPrefix) + random_token(32);
  s.stored_hash = robot_secret_hash(s.plaintext);
  return s;
}

std::string robot_secret_hash(std::string_view plaintext) {
  return std::string(kSha256Prefix) + crypto::hex_digest(crypto::HashAlgorithm::sha256, plaintext);
}

bool verify_robot_secret(std::string_view stored_hash, std::string_view presented) {
  if (!presented.starts_with(kRobotSecretPrefix) || presented.size() > 256) return false;
  return constant_time_equal(robot_secret_hash(presented), stored_hash);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  ensure_sodium();
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace portcullis::auth
