// A bounded cache of verified tokens, so that the request hot path does not
// check an ECDSA signature per request (that check costs more than serving a
// cached manifest).
//
// Keyed by SHA-256 of the token text (tokens themselves are not kept). Only
// successful verifications are cached. An entry lives until the instant the
// verifier would itself start refusing the token as expired (exp + leeway,
// on the same injected Clock); a hit after that is refused as expired and
// dropped. When full, the least recently used entry is evicted.
//
// Because a cached token is not re-verified, a change of trusted keys must be
// followed by clear() (or a new cache for the new verifier). Revoking a user
// or robot does not shorten tokens already issued: keep token lifetimes short.
//
// Thread-safe: one mutex around an LRU list and its index; the critical
// section is a hash lookup and a list splice. The verifier (and its clock)
// must outlive the cache.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/jwt.h"

namespace portcullis::auth {

struct TokenCacheOptions {
  std::size_t max_entries = 4096;  // ~ 400 bytes each for a typical token
};

class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(const TokenVerifier& verifier, TokenCacheOptions options = {});
  VerifiedTokenCache(const VerifiedTokenCache&) = delete;
  VerifiedTokenCache& operator=(const VerifiedTokenCache&) = delete;

  // Same answers as TokenVerifier::verify(), with shared, immutable claims
  // (no copy per request).
  Result<std::shared_ptr<const TokenClaims>> verify(std::string_view token);

  std::size_t size() const;
  void clear();

 private:
  struct Entry {
    std::string key;            // raw SHA-256 of the token
    std::int64_t usable_until;  // unix seconds: exp + leeway
    std::shared_ptr<const TokenClaims> claims;
  };
  struct KeyHash {
    // The key is already a uniform hash: its first bytes are a fine bucket hash.
    std::size_t operator()(const std::string& k) const;
  };

  const TokenVerifier& verifier_;
  const std::size_t max_entries_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first; guarded by mu_
  std::unordered_map<std::string, std::list<Entry>::iterator, KeyHash> index_;  // guarded by mu_
};

}  // namespace portcullis::auth
