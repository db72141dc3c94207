// Docker registry bearer tokens (distribution docs/spec/auth/jwt.md): compact
// JWS (RFC 7515) JWTs (RFC 7519) signed with ES256 only — ECDSA P-256 over
// SHA-256, the 64-byte raw r||s signature, base64url without padding.
//
//   header  {"typ":"JWT","alg":"ES256","kid":"<libtrust key id>"}
//   claims  {"iss","sub","aud","exp","nbf","iat","jti",
//            "access":[{"type","class"?,"name","actions":[…]}]}
//
// Keys: SigningKey / VerificationKey wrap a P-256 EVP_PKEY (shared, never
// modified after construction, so copies are cheap and safe to use from many
// threads). The `kid` is Docker's libtrust key id: base32 of the first 240
// bits of SHA-256(DER SubjectPublicKeyInfo), in 12 groups of 4 joined by ':'.
//
// Verification is strict: the header must say exactly "ES256" ("none", HS*,
// RS*, PS*, lower-case variants … are refused before any key is touched, so
// there is no algorithm confusion); the key is found by `kid` among the
// trusted keys only (embedded "jwk"/"x5c"/"jku" headers are never used); a
// "crit" header is refused; the signature is checked before the claims are
// parsed; `iss` and `aud` must match exactly (`aud` may be a string or an
// array holding it); exp/nbf are checked with a small leeway. Token size and
// JSON depth are bounded.
//
// Thread-safety: TokenIssuer and TokenVerifier are immutable after
// construction; issue()/verify() may be called concurrently. Both keep a
// reference to the injected Clock, which must outlive them. To rotate keys,
// build a new verifier (trusting old and new keys) and swap it in.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

#include "auth/scope.h"
#include "base/clock.h"
#include "base/error.h"

namespace portcullis::auth {

// The libtrust key id of a DER-encoded SubjectPublicKeyInfo.
std::string libtrust_key_id(std::string_view spki_der);

// A P-256 public key trusted to sign tokens.
class VerificationKey {
 public:
  // PEM "PUBLIC KEY" (SubjectPublicKeyInfo). Errc::denied for anything that
  // is not a P-256 EC public key.
  static Result<VerificationKey> from_pem(std::string_view pem);

  std::string pem() const;
  const std::string& kid() const { return kid_; }
  EVP_PKEY* native() const { return key_.get(); }  // borrowed; do not modify

 private:
  friend class SigningKey;
  explicit VerificationKey(std::shared_ptr<EVP_PKEY> key);
  std::shared_ptr<EVP_PKEY> key_;
  std::string kid_;
};

// A P-256 private key that signs tokens.
class SigningKey {
 public:
  // A fresh key from the OpenSSL CSPRNG. Throws std::runtime_error if OpenSSL
  // cannot generate one (start-up only).
  static SigningKey generate();
  // PEM "PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY" (SEC1), unencrypted.
  // Encrypted keys are refused (never prompts for a passphrase). Errc::denied
  // for anything that is not a P-256 EC private key.
  static Result<SigningKey> from_pem(std::string_view pem);

  // Unencrypted PKCS#8 PEM. The caller writes it with mode 0600.
  std::string private_pem() const;
  const VerificationKey& public_key() const { return public_; }
  const std::string& kid() const { return public_.kid(); }
  EVP_PKEY* native() const { return key_.get(); }  // borrowed; do not modify

 private:
  explicit SigningKey(std::shared_ptr<EVP_PKEY> key);
  std::shared_ptr<EVP_PKEY> key_;
  VerificationKey public_;
};

// Low level, for tests and tools: the compact JWS of the given header and
// payload bytes, signed ES256 with `key` (no checks on what they contain).
// TokenIssuer::issue() is the way to make real tokens.
Result<std::string> sign_compact_jws(const SigningKey& key, std::string_view header_json,
                                     std::string_view payload_json);

// The verified content of a token. Times are Unix seconds.
struct TokenClaims {
  std::string issuer;           // iss
  std::string subject;          // sub; "" for an anonymous client
  std::string audience;         // aud (the one that matched)
  std::string id;               // jti
  std::int64_t issued_at = 0;   // iat (0 when absent)
  std::int64_t not_before = 0;  // nbf
  std::int64_t expires_at = 0;  // exp
  std::vector<Scope> access;    // unknown action names dropped
};

struct TokenIssuerOptions {
  std::string issuer;    // "iss", e.g. "portcullis-token-service"
  std::string audience;  // "aud": the registry's service name (the `service` parameter)
  // Token lifetime; the token spec requires at least 60 s.
  std::chrono::seconds lifetime{300};
};

struct IssuedToken {
  std::string token;
  TokenClaims claims;
  // The token response's `expires_in` and `issued_at` fields.
  std::int64_t expires_in() const { return claims.expires_at - claims.issued_at; }
  std::string issued_at_rfc3339() const;
};

class TokenIssuer {
 public:
  // Throws std::invalid_argument for an empty issuer/audience or a lifetime
  // under 60 s (configuration errors, found at start-up).
  TokenIssuer(TokenIssuerOptions options, SigningKey key, const Clock& clock);

  // Signs a token for `subject` carrying `access` (normalised: merged per
  // resource, entries without actions dropped). `access` must already be the
  // granted subset (see rbac.h authorize()). Errc::internal if signing fails.
  // `id_suffix`, when given, is appended to the random `jti` after a '.'
  // (refresh tokens bind the account's credential epoch this way).
  Result<IssuedToken> issue(std::string_view subject, std::span<const Scope> access,
                            std::string_view id_suffix = {}) const;

  const VerificationKey& public_key() const { return key_.public_key(); }

 private:
  TokenIssuerOptions options_;
  SigningKey key_;
  const Clock& clock_;
};

// Why a token was refused. refusal_message() is the Error message clients see.
enum class TokenRefusal {
  oversized,              // longer than max_token_bytes, or a header over 1 KiB
  malformed,              // not three base64url parts, bad base64, bad JSON, "crit" header
  unsupported_algorithm,  // alg is not exactly "ES256"
  unknown_key,            // no kid, or a kid that is not trusted
  bad_signature,          // not 64 bytes, or does not verify
  invalid_claims,         // a required claim is missing or has the wrong type
  wrong_issuer,
  wrong_audience,
  expired,
  not_yet_valid,
};
std::string_view refusal_message(TokenRefusal refusal);
// For boost::system::result<T, TokenRefusal>::value(): throws std::runtime_error.
[[noreturn]] void throw_exception_from_error(TokenRefusal refusal,
                                             const boost::source_location& loc);

struct TokenVerifierOptions {
  std::string issuer;    // the only accepted "iss"
  std::string audience;  // the only accepted "aud" (this registry's service name)
  // Clock skew tolerated on exp and nbf.
  std::chrono::seconds leeway{30};
  // Longest accepted token (compact serialisation). A token with a dozen
  // access entries is ~1 KiB.
  std::size_t max_token_bytes = 8192;
};

class TokenVerifier {
 public:
  // Throws std::invalid_argument for an empty issuer/audience, no keys, or two
  // keys with the same kid (start-up configuration errors).
  TokenVerifier(TokenVerifierOptions options, std::vector<VerificationKey> trusted_keys,
                const Clock& clock);

  // The claims of a valid token; otherwise Errc::unauthorized with
  // refusal_message() of the reason.
  Result<TokenClaims> verify(std::string_view token) const;
  // The same check, returning the reason (for logs and tests).
  boost::system::result<TokenClaims, TokenRefusal> check(std::string_view token) const;

  const TokenVerifierOptions& options() const { return options_; }
  const Clock& clock() const { return clock_; }

 private:
  const VerificationKey* find_key(std::string_view kid) const;

  TokenVerifierOptions options_;
  std::vector<VerificationKey> keys_;
  const Clock& clock_;
};

}  // namespace portcullis::auth
