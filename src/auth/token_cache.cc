#include "auth/token_cache.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <openssl/evp.h>

namespace portcullis::auth {

namespace {

constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();

std::string token_key(std::string_view token) {
  // Fetched once: with OpenSSL 3, EVP_sha256() here would look the
  // implementation up in the provider store on every call (the hot path).
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), out, &len, kSha256 ? kSha256 : EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

std::size_t VerifiedTokenCache::KeyHash::operator()(const std::string& k) const {
  std::size_t h = 0;
  std::memcpy(&h, k.data(), std::min(sizeof(h), k.size()));
  return h;
}

VerifiedTokenCache::VerifiedTokenCache(const TokenVerifier& verifier, TokenCacheOptions options)
    : verifier_(verifier), max_entries_(options.max_entries == 0 ? 1 : options.max_entries) {}

Result<std::shared_ptr<const TokenClaims>> VerifiedTokenCache::verify(std::string_view token) {
  // Oversized tokens are refused before hashing them.
  if (token.size() > verifier_.options().max_token_bytes) {
    return make_error(Errc::unauthorized, std::string(refusal_message(TokenRefusal::oversized)));
  }
  std::string key = token_key(token);
  const std::int64_t now = verifier_.clock().unix_seconds();
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      if (now < it->second->usable_until) {
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->claims;
      }
      lru_.erase(it->second);
      index_.erase(it);
      return make_error(Errc::unauthorized, std::string(refusal_message(TokenRefusal::expired)));
    }
  }

  // Verify outside the lock: concurrent misses on one token may both verify;
  // the second insert below finds the entry and keeps it.
  auto verified = verifier_.verify(token);
  if (!verified) return verified.error();
  auto claims = std::make_shared<const TokenClaims>(std::move(*verified));
  const std::int64_t leeway = verifier_.options().leeway.count();
  const std::int64_t usable_until =
      claims->expires_at > kMaxTime - leeway ? kMaxTime : claims->expires_at + leeway;

  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) return it->second->claims;
  if (lru_.size() >= max_entries_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
  lru_.push_front(Entry{key, usable_until, claims});
  index_.emplace(std::move(key), lru_.begin());
  return claims;
}

std::size_t VerifiedTokenCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

void VerifiedTokenCache::clear() {
  std::lock_guard lock(mu_);
  index_.clear();
  lru_.clear();
}

}  // namespace portcullis::auth
