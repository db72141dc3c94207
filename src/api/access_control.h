// Per-request authentication and authorisation for the HTTP API.
//
// A request presents no credentials (anonymous), a Bearer token from our
// token service, or (when allowed) Basic credentials. authenticate() turns
// that into a Principal; permits() answers whether the principal may perform
// an action on a repository:
//   - a Bearer token: only what its verified `access` claim grants (the
//     Docker token spec), checked against the token cache, never the database;
//   - Basic or anonymous: the current access policy (rbac.h).
// refuse() builds the answer when a check fails: 401 UNAUTHORIZED with a
// `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge (adding
// error="insufficient_scope" for a valid token that lacks the scope, so
// clients fetch a better one), or 403 DENIED for Basic credentials that are
// valid but not allowed.
//
// When authentication is disabled (auth.enabled=false, loopback only) every
// request gets an unrestricted principal named "anonymous".
//
// Thread-safe. Verified Basic credentials are cached (bounded, 60 s, dropped
// by any change of users, robots or roles) so that argon2id runs once per
// minute per client, not per request.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/access_service.h"
#include "auth/scope.h"
#include "auth/token_cache.h"
#include "auth/token_service.h"
#include "base/error.h"
#include "net/http.h"

namespace portcullis::api {

class AuditRecorder;

// "Retry-After" seconds for a throttled login (Errc::too_many_requests), from
// its message ("… retry in N s"); 60 when it names none.
std::string retry_after(const Error& e);

struct Principal {
  auth::Identity identity;
  std::shared_ptr<const auth::TokenClaims> token;  // set when a Bearer token was presented
  bool basic = false;                              // authenticated with Basic credentials
  bool unrestricted = false;                       // authentication disabled
  std::string address;
  const std::string& actor() const { return identity.name; }
  bool authenticated() const {
    return unrestricted || identity.kind != auth::Identity::Kind::anonymous;
  }
};

struct AccessControlOptions {
  bool allow_basic = true;  // accept Basic credentials on /v2/ and /api/v1/
  std::string realm;        // token endpoint URL; "" = <scheme>://<Host header>/token
  bool tls = false;         // scheme for a derived realm
};

class AccessControl {
 public:
  // `audit` (may be null) receives a "login" event for every Basic
  // credential check that is not a cache hit.
  AccessControl(AccessControlOptions options, auth::AccessService& access,
                auth::TokenService& tokens, AuditRecorder* audit);

  // Errc::unauthorized for bad credentials (the caller answers with
  // challenge()), Errc::too_many_requests when a Basic login is throttled.
  net::Task<Result<Principal>> authenticate(net::Exchange& ex);

  bool permits(const Principal& who, std::string_view repository, auth::Action action);
  bool may_list_catalog(const Principal& who);
  // Which repositories the catalog shows `who`: those it may pull from, by
  // its current identity and policy (a token's subject is looked up again,
  // since a catalog token names no repositories). Blocking: call on a worker.
  std::function<bool(std::string_view)> catalog_filter(const Principal& who);

  // 401 with a Bearer challenge for `scope` ("" for none); `error` is the
  // RFC 6750 error attribute ("" for none).
  net::Response challenge(const net::Exchange& ex, std::string_view scope, std::string_view error,
                          const Error& body) const;
  // The refusal for a principal that failed permits() on `scope`.
  net::Response refuse(const net::Exchange& ex, const Principal& who, std::string_view scope) const;

  auth::AccessService& access() { return access_; }
  auth::TokenService& tokens() { return tokens_; }
  const AccessControlOptions& options() const { return options_; }
  std::string realm(const net::Exchange& ex) const;

 private:
  struct BasicEntry {
    std::string key;
    std::chrono::steady_clock::time_point until;
    int64_t generation;  // access generation when verified: any access change drops it
    auth::Identity identity;
  };
  std::optional<auth::Identity> cached_basic(const std::string& key, int64_t generation);
  void cache_basic(const std::string& key, int64_t generation, const auth::Identity& identity);

  AccessControlOptions options_;
  auth::AccessService& access_;
  auth::TokenService& tokens_;
  AuditRecorder* audit_;
  auth::VerifiedTokenCache token_cache_;
  std::mutex basic_mu_;
  std::list<BasicEntry> basic_lru_;  // guarded by basic_mu_
  std::unordered_map<std::string, std::list<BasicEntry>::iterator> basic_index_;  // guarded by basic_mu_
};

// The parts of an Authorization header.
struct Credentials {
  enum class Kind { none, basic, bearer, malformed } kind = Kind::none;
  std::string user;    // basic
  std::string secret;  // basic password, or the bearer token
};
Credentials parse_authorization(std::string_view header);

// The identity a token's subject names ("" anonymous, "robot$…" robot, else user).
auth::Identity identity_from_subject(std::string_view subject);

}  // namespace portcullis::api
