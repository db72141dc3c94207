// Password hashing for users (argon2id, libsodium) and random secrets for robot
// accounts.
//
// Contract:
// - Every function here is thread-safe and keeps no state (libsodium is
//   initialised once, on first use, in a thread-safe way).
// - A stored password hash is libsodium's self-describing string
//   ("$argon2id$v=19$m=…,t=…,p=1$salt$hash"): parameters and salt travel with
//   it, so the cost can be raised later and old hashes still verify;
//   needs_rehash() says when to replace one after a successful login.
// - Robot secrets carry 256 random bits, so they are stored as a plain SHA-256
//   ("sha256:<hex>") rather than argon2id: nothing to brute-force, and robot
//   logins (CI jobs) stay cheap. The plaintext is returned once, never stored.
// - Comparisons of secrets are constant-time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace portcullis::auth {

// argon2id cost. The defaults are OWASP's recommended argon2id setting
// (m=19 MiB, t=2, p=1): ~50 ms on one core and 19 MiB per login in flight,
// so a burst of logins cannot balloon the server's memory (RFC 9106's 64 MiB
// option would cost 64 MiB per concurrent login). A login costs that once;
// the token issued afterwards carries the session. Hashes made with other
// parameters still verify (needs_rehash() tells; they are replaced when the
// password is next set, not silently on login, which could race a reset).
struct PasswordCost {
  std::uint64_t opslimit = 2;                    // argon2 passes (t)
  std::size_t memlimit = std::size_t{19} << 20;  // bytes (m)
};

// Bounds on what a client may send as a password.
inline constexpr std::size_t kMaxPasswordLength = 1024;

// Hashes a password with a fresh random salt. Errors: Errc::denied for an
// empty or over-long password; Errc::internal if libsodium fails (out of
// memory for memlimit, or parameters outside libsodium's limits).
Result<std::string> hash_password(std::string_view password, const PasswordCost& cost = {});

// True when `password` matches `stored_hash`. False on mismatch, and for a
// stored hash that is not an argon2id string (never throws, never errors:
// callers answer 401 either way and log the stored-hash problem themselves).
bool verify_password(std::string_view stored_hash, std::string_view password);

// True when `stored_hash` was made with parameters other than `cost` (or is
// not an argon2id string at all): rehash the password after a successful login.
bool needs_rehash(std::string_view stored_hash, const PasswordCost& cost = {});

// A robot secret: `plaintext` is shown to the operator once; only `stored_hash`
// is kept.
struct RobotSecret {
  std::string plaintext;    // "pcr_" + 43 base64url characters (32 random bytes)
  std::string stored_hash;  // "sha256:" + 64 lower-case hex of the plaintext
};
RobotSecret generate_robot_secret();

// The stored form of a presented robot secret (for lookups and comparisons).
std::string robot_secret_hash(std::string_view plaintext);

// True when `presented` hashes to `stored_hash` (constant-time comparison).
bool verify_robot_secret(std::string_view stored_hash, std::string_view presented);

// n random bytes from the OS CSPRNG, base64url-encoded without padding.
std::string random_token(std::size_t n);

// Compares two strings in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace portcullis::auth
