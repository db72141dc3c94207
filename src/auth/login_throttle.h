// Login throttling: after repeated failed logins for one account, or from one
// source address, further attempts are refused for a while without checking
// the password (so guessing is slow and the argon2id cost cannot be turned
// into a denial of service).
//
// Per key ("account:<name>" and "address:<ip>"): failures inside `window`
// are counted; from `max_failures` on, the key is locked for
// base_lockout × 2^(failures - max_failures), capped at max_lockout. A
// success clears the account's key (not the address's: one right password
// must not reset an attacker's count for the whole address).
//
// State is per process (replicas throttle independently; an attacker spreading
// over N replicas gets N times the attempts). Bounded: when max_keys is
// reached, idle entries go first, then counts that have not locked anything.
//
// Thread-safe (one mutex); time from the injected Clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"

namespace portcullis::auth {

struct ThrottleOptions {
  int max_failures = 5;
  std::chrono::seconds window{15 * 60};
  std::chrono::seconds base_lockout{30};
  std::chrono::seconds max_lockout{15 * 60};
  std::size_t max_keys = 100000;
};

class LoginThrottle {
 public:
  LoginThrottle(const Clock& clock, ThrottleOptions options = {});

  // nullopt: go ahead; otherwise how long until a new attempt is accepted.
  std::optional<std::chrono::seconds> blocked(std::string_view account, std::string_view address);
  void record_failure(std::string_view account, std::string_view address);
  void record_success(std::string_view account);

 private:
  struct Entry {
    int failures = 0;
    std::chrono::system_clock::time_point first_failure;
    std::chrono::system_clock::time_point locked_until;
  };
  std::optional<std::chrono::seconds> blocked_key(const std::string& key,
                                                  std::chrono::system_clock::time_point now);
  void fail_key(const std::string& key, std::chrono::system_clock::time_point now);
  void prune(std::chrono::system_clock::time_point now);

  const Clock& clock_;
  ThrottleOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace portcullis::auth
