#include "auth/jwt.h"

#include <time.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_set>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/json.hpp>

#include "auth/encoding.h"
#include "auth/passwords.h"

namespace portcullis::auth {

namespace json = boost::json;

namespace {

constexpr std::string_view kAlgorithm = "ES256";
constexpr std::size_t kCoordinateBytes = 32;  // P-256
constexpr std::size_t kSignatureBytes = 2 * kCoordinateBytes;
constexpr std::size_t kMaxHeaderBytes = 1024;
constexpr std::size_t kKidBytes = 30;  // 240 bits

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

std::shared_ptr<EVP_PKEY> adopt(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

BioPtr read_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string drain(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

// Refuses to prompt for a passphrase: encrypted PEM fails to load instead.
int no_passphrase(char*, int, int, void*) { return -1; }

bool is_p256(EVP_PKEY* key) {
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC")) return false;
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) return false;
  std::string_view name(group, len);
  return name == "prime256v1" || name == "P-256";
}

std::string spki_der(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) throw std::runtime_error("i2d_PUBKEY failed");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// A key holding only the public half of `key` (the verifier never needs more).
std::shared_ptr<EVP_PKEY> public_only(EVP_PKEY* key) {
  std::string der = spki_der(key);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (pub == nullptr) throw std::runtime_error("d2i_PUBKEY failed");
  return adopt(pub);
}

std::string sha256_raw(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

// ECDSA over SHA-256, converted from OpenSSL's DER ECDSA-Sig-Value to the
// JWS form: r and s, each left-padded to 32 bytes.
std::optional<std::string> sign_es256(EVP_PKEY* key, std::string_view data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return std::nullopt;
  }
  std::string der(der_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return std::nullopt;
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(kSignatureBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kCoordinateBytes) != static_cast<int>(kCoordinateBytes) ||
      BN_bn2binpad(s, out + kCoordinateBytes, kCoordinateBytes) !=
          static_cast<int>(kCoordinateBytes)) {
    return std::nullopt;
  }
  return raw;
}

bool verify_es256(EVP_PKEY* key, std::string_view data, std::string_view raw) {
  if (raw.size() != kSignatureBytes) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(in, kCoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(in + kCoordinateBytes, kCoordinateBytes, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_len),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  OPENSSL_free(der);
  // A failed verification leaves entries on this thread's error queue.
  if (!ok) ERR_clear_error();
  return ok;
}

std::optional<json::value> parse_json_object(std::string_view text) {
  json::parse_options opt;
  opt.max_depth = 8;  // header and claims are at most three levels deep
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec || !v.is_object()) return std::nullopt;
  return v;
}

const json::string* string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

// NumericDate: an integer, or a finite number of seconds (fraction dropped).
std::optional<std::int64_t> numeric_date(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) {
    if (v->get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_double()) {
    double d = v->get_double();
    if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

// "typ", if present, must say JWT; media type names compare case-insensitively
// (RFC 7515 section 4.1.9).
bool is_jwt_type(std::string_view t) {
  constexpr std::string_view kJwt = "jwt";
  if (t.size() != kJwt.size()) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i] >= 'A' && t[i] <= 'Z' ? static_cast<char>(t[i] - 'A' + 'a') : t[i];
    if (c != kJwt[i]) return false;
  }
  return true;
}

json::array access_to_json(std::span<const Scope> access) {
  json::array out;
  for (const Scope& s : access) {
    json::object e;
    e["type"] = s.type;
    if (!s.klass.empty()) e["class"] = s.klass;
    e["name"] = s.name;
    json::array actions;
    for (std::string_view a : s.actions.names()) actions.emplace_back(a);
    e["actions"] = std::move(actions);
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<std::vector<Scope>> access_from_json(const json::value* v) {
  std::vector<Scope> out;
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return std::nullopt;
  for (const json::value& item : v->get_array()) {
    const json::object* e = item.if_object();
    if (e == nullptr) return std::nullopt;
    const json::string* type = string_member(*e, "type");
    const json::string* name = string_member(*e, "name");
    const json::value* actions = e->if_contains("actions");
    if (type == nullptr || name == nullptr || actions == nullptr || !actions->is_array()) {
      return std::nullopt;
    }
    Scope s;
    s.type = std::string(*type);
    s.name = std::string(*name);
    if (const json::value* klass = e->if_contains("class")) {
      if (!klass->is_string()) return std::nullopt;
      s.klass = std::string(klass->get_string());
    }
    for (const json::value& a : actions->get_array()) {
      if (!a.is_string()) return std::nullopt;
      if (auto action = parse_action(a.get_string())) s.actions.add(*action);
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool audience_matches(const json::value* aud, std::string_view expected, std::string* matched) {
  if (aud == nullptr) return false;
  if (aud->is_string()) {
    if (aud->get_string() != expected) return false;
    *matched = std::string(expected);
    return true;
  }
  if (aud->is_array()) {
    for (const json::value& a : aud->get_array()) {
      if (a.is_string() && a.get_string() == expected) {
        *matched = std::string(expected);
        return true;
      }
    }
  }
  return false;
}

}  // namespace

// --- keys -------------------------------------------------------------------

std::string libtrust_key_id(std::string_view spki) {
  std::string b32 = base32_encode(sha256_raw(spki).substr(0, kKidBytes));  // 48 characters
  std::string out;
  for (std::size_t i = 0; i < b32.size(); i += 4) {
    if (i > 0) out.push_back(':');
    out += b32.substr(i, 4);
  }
  return out;
}

VerificationKey::VerificationKey(std::shared_ptr<EVP_PKEY> key)
    : key_(std::move(key)), kid_(libtrust_key_id(spki_der(key_.get()))) {}

Result<VerificationKey> VerificationKey::from_pem(std::string_view pem) {
  BioPtr bio = read_bio(pem);
  std::shared_ptr<EVP_PKEY> key =
      adopt(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) return make_error(Errc::denied, "not a PEM public key");
  if (!is_p256(key.get())) return make_error(Errc::denied, "token keys must be EC P-256");
  return VerificationKey(std::move(key));
}

std::string VerificationKey::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    throw std::runtime_error("PEM_write_bio_PUBKEY failed");
  }
  return drain(bio.get());
}

SigningKey::SigningKey(std::shared_ptr<EVP_PKEY> key)
    : key_(std::move(key)), public_(public_only(key_.get())) {}

SigningKey SigningKey::generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) throw std::runtime_error("P-256 key generation failed");
  return SigningKey(adopt(key));
}

Result<SigningKey> SigningKey::from_pem(std::string_view pem) {
  BioPtr bio = read_bio(pem);
  std::shared_ptr<EVP_PKEY> key =
      adopt(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) return make_error(Errc::denied, "not an unencrypted PEM private key");
  if (!is_p256(key.get())) return make_error(Errc::denied, "token keys must be EC P-256");
  return SigningKey(std::move(key));
}

std::string SigningKey::private_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("PEM_write_bio_PrivateKey failed");
  }
  return drain(bio.get());
}

// --- issuing ----------------------------------------------------------------

std::string IssuedToken::issued_at_rfc3339() const {
  time_t t = static_cast<time_t>(claims.issued_at);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

TokenIssuer::TokenIssuer(TokenIssuerOptions options, SigningKey key, const Clock& clock)
    : options_(std::move(options)), key_(std::move(key)), clock_(clock) {
  if (options_.issuer.empty() || options_.audience.empty()) {
    throw std::invalid_argument("token issuer needs an issuer and an audience");
  }
  if (options_.lifetime < std::chrono::seconds(60)) {
    throw std::invalid_argument("token lifetime must be at least 60 seconds");
  }
}

Result<IssuedToken> TokenIssuer::issue(std::string_view subject, std::span<const Scope> access,
                                       std::string_view id_suffix) const {
  IssuedToken out;
  TokenClaims& c = out.claims;
  const std::int64_t now = clock_.unix_seconds();
  c.issuer = options_.issuer;
  c.subject = std::string(subject);
  c.audience = options_.audience;
  c.id = random_token(16);
  if (!id_suffix.empty()) c.id += "." + std::string(id_suffix);
  c.issued_at = now;
  c.not_before = now;
  c.expires_at = now + options_.lifetime.count();
  c.access = normalize_scopes(access);

  json::object header;
  header["typ"] = "JWT";
  header["alg"] = kAlgorithm;
  header["kid"] = key_.kid();
  json::object claims;
  claims["iss"] = c.issuer;
  claims["sub"] = c.subject;
  claims["aud"] = c.audience;
  claims["exp"] = c.expires_at;
  claims["nbf"] = c.not_before;
  claims["iat"] = c.issued_at;
  claims["jti"] = c.id;
  claims["access"] = access_to_json(c.access);

  auto token = sign_compact_jws(key_, json::serialize(header), json::serialize(claims));
  if (!token) return token.error();
  out.token = std::move(*token);
  return out;
}

Result<std::string> sign_compact_jws(const SigningKey& key, std::string_view header_json,
                                     std::string_view payload_json) {
  std::string signing_input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  auto signature = sign_es256(key.native(), signing_input);
  if (!signature) {
    ERR_clear_error();
    return make_error(Errc::internal, "token signing failed");
  }
  return std::move(signing_input) + "." + base64url_encode(*signature);
}

// --- verifying --------------------------------------------------------------

std::string_view refusal_message(TokenRefusal refusal) {
  switch (refusal) {
    case TokenRefusal::oversized: return "token too large";
    case TokenRefusal::malformed: return "malformed token";
    case TokenRefusal::unsupported_algorithm: return "token algorithm not accepted (ES256 only)";
    case TokenRefusal::unknown_key: return "token signed by an unknown key";
    case TokenRefusal::bad_signature: return "token signature invalid";
    case TokenRefusal::invalid_claims: return "token claims invalid";
    case TokenRefusal::wrong_issuer: return "token issuer not trusted";
    case TokenRefusal::wrong_audience: return "token intended for another audience";
    case TokenRefusal::expired: return "token expired";
    case TokenRefusal::not_yet_valid: return "token not yet valid";
  }
  return "invalid token";
}

void throw_exception_from_error(TokenRefusal refusal, const boost::source_location&) {
  throw std::runtime_error(std::string(refusal_message(refusal)));
}

TokenVerifier::TokenVerifier(TokenVerifierOptions options, std::vector<VerificationKey> keys,
                             const Clock& clock)
    : options_(std::move(options)), keys_(std::move(keys)), clock_(clock) {
  if (options_.issuer.empty() || options_.audience.empty()) {
    throw std::invalid_argument("token verifier needs an issuer and an audience");
  }
  if (keys_.empty()) throw std::invalid_argument("token verifier needs at least one key");
  std::unordered_set<std::string> kids;
  for (const auto& k : keys_) {
    if (!kids.insert(k.kid()).second) throw std::invalid_argument("duplicate token key id");
  }
}

const VerificationKey* TokenVerifier::find_key(std::string_view kid) const {
  for (const auto& k : keys_) {
    if (k.kid() == kid) return &k;
  }
  return nullptr;
}

Result<TokenClaims> TokenVerifier::verify(std::string_view token) const {
  auto r = check(token);
  if (!r) return make_error(Errc::unauthorized, std::string(refusal_message(r.error())));
  return std::move(*r);
}

boost::system::result<TokenClaims, TokenRefusal> TokenVerifier::check(
    std::string_view token) const {
  using R = TokenRefusal;
  if (token.size() > options_.max_token_bytes) return R::oversized;

  // header "." payload "." signature; the signature may be empty only for the
  // refused "none" algorithm, which is reported as such.
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return R::malformed;
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty()) return R::malformed;
  if (header_b64.size() > kMaxHeaderBytes * 4 / 3 + 4) return R::oversized;

  auto header_json = base64url_decode(header_b64);
  if (!header_json) return R::malformed;
  auto header = parse_json_object(*header_json);
  if (!header) return R::malformed;
  const json::object& h = header->get_object();

  const json::string* alg = string_member(h, "alg");
  if (alg == nullptr || *alg != kAlgorithm) return R::unsupported_algorithm;
  if (const json::value* typ = h.if_contains("typ")) {
    if (!typ->is_string()) return R::malformed;
    if (!is_jwt_type(typ->get_string())) return R::malformed;
  }
  if (h.contains("crit")) return R::malformed;  // no extensions are understood
  const json::string* kid = string_member(h, "kid");
  const VerificationKey* key = kid != nullptr ? find_key(*kid) : nullptr;
  if (key == nullptr) return R::unknown_key;

  auto signature = base64url_decode(signature_b64);
  if (!signature) return R::malformed;
  auto payload_json = base64url_decode(payload_b64);
  if (!payload_json) return R::malformed;
  if (signature->size() != kSignatureBytes) return R::bad_signature;
  if (!verify_es256(key->native(), token.substr(0, dot2), *signature)) return R::bad_signature;

  // Only signed bytes are parsed from here on.
  auto payload = parse_json_object(*payload_json);
  if (!payload) return R::malformed;
  const json::object& p = payload->get_object();

  TokenClaims c;
  const json::string* iss = string_member(p, "iss");
  const json::string* sub = string_member(p, "sub");
  auto exp = numeric_date(p, "exp");
  auto nbf = numeric_date(p, "nbf");
  if (iss == nullptr || sub == nullptr || !exp || !nbf) return R::invalid_claims;
  if (p.contains("iat")) {
    auto iat = numeric_date(p, "iat");
    if (!iat) return R::invalid_claims;
    c.issued_at = *iat;
  }
  if (const json::value* jti = p.if_contains("jti")) {
    if (!jti->is_string()) return R::invalid_claims;
    c.id = std::string(jti->get_string());
  }
  auto access = access_from_json(p.if_contains("access"));
  if (!access) return R::invalid_claims;

  if (*iss != options_.issuer) return R::wrong_issuer;
  if (!audience_matches(p.if_contains("aud"), options_.audience, &c.audience)) {
    return R::wrong_audience;
  }
  const std::int64_t now = clock_.unix_seconds();
  const std::int64_t leeway = options_.leeway.count();
  // Valid while now < exp (+ leeway) and now >= nbf (- leeway); written so
  // that a huge exp or nbf from the token cannot overflow.
  if (now - leeway >= *exp) return R::expired;
  if (now + leeway < *nbf) return R::not_yet_valid;

  c.issuer = std::string(*iss);
  c.subject = std::string(*sub);
  c.expires_at = *exp;
  c.not_before = *nbf;
  c.access = std::move(*access);
  return c;
}

}  // namespace portcullis::auth
