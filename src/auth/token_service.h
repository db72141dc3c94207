// The Docker token service (distribution docs/spec/auth/token.md, oauth.md):
// turns an authenticated identity and a requested scope into a short-lived
// ES256 JWT whose `access` claim is only the granted subset, and issues and
// redeems OAuth2 refresh tokens.
//
// Refresh tokens are JWTs too, signed with the same key but for a different
// audience ("<service>#refresh"), so neither kind is accepted as the other.
// Redeeming one looks the subject up again: a deleted user, a revoked or
// expired robot, or an account whose password or secret changed since the
// token was issued (its jti carries a credential fingerprint) cannot refresh.
//
// Thread-safe (everything immutable after construction). The access service
// and clock must outlive it.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/access_service.h"
#include "auth/jwt.h"
#include "auth/scope.h"

namespace portcullis::auth {

struct TokenServiceOptions {
  std::string service = "portcullis";  // the `service` parameter and the tokens' audience
  std::string issuer = "portcullis-token-service";
  std::chrono::seconds lifetime{300};
  std::chrono::seconds refresh_lifetime{7 * 24 * 3600};
};

class TokenService {
 public:
  TokenService(AccessService& access, SigningKey key, TokenServiceOptions options,
               const Clock& clock);

  // A token for `identity` holding the granted subset of `requested`.
  Result<IssuedToken> issue(const Identity& identity, std::span<const Scope> requested);
  // A refresh token for a user or robot (Errc::denied for anonymous).
  Result<std::string> issue_refresh(const Identity& identity);
  // The identity a refresh token names, if it is valid and the identity still
  // exists; Errc::unauthorized otherwise.
  Result<Identity> redeem_refresh(std::string_view refresh_token);

  const TokenVerifier& verifier() const { return verifier_; }
  const TokenServiceOptions& options() const { return options_; }

 private:
  AccessService& access_;
  TokenServiceOptions options_;
  const Clock& clock_;
  TokenIssuer issuer_;
  TokenIssuer refresh_issuer_;
  TokenVerifier verifier_;
  TokenVerifier refresh_verifier_;
};

}  // namespace portcullis::auth
