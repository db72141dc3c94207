#include "auth/login_throttle.h"

#include <algorithm>

namespace portcullis::auth {

namespace {
std::string account_key(std::string_view account) { return "account:" + std::string(account); }
std::string address_key(std::string_view address) { return "address:" + std::string(address); }
}  // namespace

LoginThrottle::LoginThrottle(const Clock& clock, ThrottleOptions options)
    : clock_(clock), options_(options) {}

std::optional<std::chrono::seconds> LoginThrottle::blocked_key(
    const std::string& key, std::chrono::system_clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.locked_until <= now) return std::nullopt;
  auto left = std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
  return std::max(left, std::chrono::seconds(1));
}

std::optional<std::chrono::seconds> LoginThrottle::blocked(std::string_view account,
                                                           std::string_view address) {
  auto now = clock_.now();
  std::lock_guard lock(mu_);
  auto a = blocked_key(account_key(account), now);
  auto b = blocked_key(address_key(address), now);
  if (a && b) return std::max(*a, *b);
  return a ? a : b;
}

void LoginThrottle::fail_key(const std::string& key, std::chrono::system_clock::time_point now) {
  auto& e = entries_[key];
  if (e.failures == 0 || now - e.first_failure > options_.window) {
    e.failures = 0;
    e.first_failure = now;
  }
  ++e.failures;
  if (e.failures >= options_.max_failures) {
    int shift = std::min(e.failures - options_.max_failures, 20);
    auto lock = options_.base_lockout * (int64_t{1} << shift);
    e.locked_until = now + std::min<std::chrono::seconds>(lock, options_.max_lockout);
  }
}

void LoginThrottle::prune(std::chrono::system_clock::time_point now) {
  if (entries_.size() < options_.max_keys) return;
  // First what no longer matters, then counts that have not locked anything
  // yet (an attacker flooding from many addresses can reset those, but never
  // lift a lock), then, if it is all locks, arbitrary ones down to 90 %.
  auto drop = [&](auto&& pred) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = pred(it->second) ? entries_.erase(it) : std::next(it);
    }
  };
  drop([&](const Entry& e) {
    return e.locked_until <= now && now - e.first_failure > options_.window;
  });
  if (entries_.size() < options_.max_keys) return;
  drop([&](const Entry& e) { return e.locked_until <= now; });
  while (entries_.size() > options_.max_keys * 9 / 10) entries_.erase(entries_.begin());
}

void LoginThrottle::record_failure(std::string_view account, std::string_view address) {
  auto now = clock_.now();
  std::lock_guard lock(mu_);
  prune(now);
  fail_key(account_key(account), now);
  fail_key(address_key(address), now);
}

void LoginThrottle::record_success(std::string_view account) {
  std::lock_guard lock(mu_);
  entries_.erase(account_key(account));
}

}  // namespace portcullis::auth
