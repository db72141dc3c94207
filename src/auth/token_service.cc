#include "auth/token_service.h"

namespace portcullis::auth {

namespace {
TokenIssuerOptions issuer_options(const TokenServiceOptions& o, bool refresh) {
  return TokenIssuerOptions{o.issuer, refresh ? o.service + "#refresh" : o.service,
                            refresh ? o.refresh_lifetime : o.lifetime};
}
TokenVerifierOptions verifier_options(const TokenServiceOptions& o, bool refresh) {
  TokenVerifierOptions v;
  v.issuer = o.issuer;
  v.audience = refresh ? o.service + "#refresh" : o.service;
  return v;
}
}  // namespace

TokenService::TokenService(AccessService& access, SigningKey key, TokenServiceOptions options,
                           const Clock& clock)
    : access_(access),
      options_(std::move(options)),
      clock_(clock),
      issuer_(issuer_options(options_, false), key, clock),
      refresh_issuer_(issuer_options(options_, true), key, clock),
      verifier_(verifier_options(options_, false), {key.public_key()}, clock),
      refresh_verifier_(verifier_options(options_, true), {key.public_key()}, clock) {}

Result<IssuedToken> TokenService::issue(const Identity& identity,
                                        std::span<const Scope> requested) {
  auto snap = access_.snapshot();
  if (!snap) return snap.error();
  auto granted = authorize(identity, (*snap)->policy, requested, clock_.now());
  return issuer_.issue(identity.name, granted);
}

Result<std::string> TokenService::issue_refresh(const Identity& identity) {
  if (identity.kind == Identity::Kind::anonymous) {
    return make_error(Errc::denied, "anonymous clients get no refresh token");
  }
  // The jti carries the credential epoch: a password reset or a new robot
  // secret invalidates every refresh token issued before it.
  auto epoch = access_.credential_epoch(identity.name);
  if (!epoch) return epoch.error();
  if (!*epoch) return make_error(Errc::unauthorized, "no such account");
  auto t = refresh_issuer_.issue(identity.name, {}, **epoch);
  if (!t) return t.error();
  return std::move(t->token);
}

Result<Identity> TokenService::redeem_refresh(std::string_view refresh_token) {
  auto claims = refresh_verifier_.verify(refresh_token);
  if (!claims) return make_error(Errc::unauthorized, "invalid refresh token");
  if (claims->subject.empty()) return make_error(Errc::unauthorized, "invalid refresh token");
  auto epoch = access_.credential_epoch(claims->subject);
  if (!epoch) return epoch.error();
  auto dot = claims->id.rfind('.');
  if (!*epoch || dot == std::string::npos || claims->id.substr(dot + 1) != **epoch) {
    return make_error(Errc::unauthorized,
                      "the refresh token's account no longer exists or its credentials changed");
  }
  auto who = access_.identity_of(claims->subject);
  if (!who) return who.error();
  if (!*who) return make_error(Errc::unauthorized, "the refresh token's account no longer exists");
  return std::move(**who);
}

}  // namespace portcullis::auth
