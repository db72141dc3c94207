#include "auth/jwt.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <boost/json.hpp>

#include "auth/encoding.h"

namespace portcullis::auth {
namespace {

using std::chrono::seconds;
namespace json = boost::json;

constexpr std::int64_t kT0 = 1'700'000'000;
constexpr std::string_view kIssuer = "portcullis-token-service";
constexpr std::string_view kAudience = "registry.example.test";

std::chrono::system_clock::time_point at(std::int64_t unix_seconds) {
  return std::chrono::system_clock::time_point(seconds(unix_seconds));
}

// The example key of distribution's docs/spec/auth/jwt.md, whose kid the spec
// gives as PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6.
constexpr std::string_view kSpecKid = "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6";
constexpr std::string_view kSpecPrivatePem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgR7OnbfMaD5J2jl7G\n"
    "eE8ESo7CnHSBm/1N2k9IXYFrKJChRANCAASbvNSnHdv7OZUTlzKZKzrg84b1BzIS\n"
    "klpgIPzb7nj39HVN24s/LGf/BjwfqHZvFsc95TQ69cXAEED0GjnK9X5n\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kSpecPublicPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEm7zUpx3b+zmVE5cymSs64POG9Qcy\n"
    "EpJaYCD82+549/R1TduLPyxn/wY8H6h2bxbHPeU0OvXFwBBA9Bo5yvV+Zw==\n"
    "-----END PUBLIC KEY-----\n";

const SigningKey& TestKey() {
  static const SigningKey key = SigningKey::generate();
  return key;
}
const SigningKey& OtherKey() {
  static const SigningKey key = SigningKey::generate();
  return key;
}

std::string PemOf(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

class TokenTest : public ::testing::Test {
 protected:
  TokenIssuerOptions IssuerOptions() const {
    return TokenIssuerOptions{std::string(kIssuer), std::string(kAudience), seconds(300)};
  }
  TokenVerifier Verifier(std::vector<VerificationKey> keys = {TestKey().public_key()}) const {
    return TokenVerifier(
        TokenVerifierOptions{std::string(kIssuer), std::string(kAudience), seconds(30), 8192},
        std::move(keys), clock_);
  }
  std::string Issue(const std::vector<Scope>& access = {Scope::repository("team-a/app",
                                                                          {Action::pull})},
                    TokenIssuerOptions options = {}, const SigningKey& key = TestKey()) {
    if (options.issuer.empty()) options = IssuerOptions();
    TokenIssuer issuer(std::move(options), key, clock_);
    auto t = issuer.issue("alice", access);
    EXPECT_TRUE(t.has_value());
    return t->token;
  }
  // A token with these exact header and claims bytes, properly signed by TestKey().
  static std::string Signed(std::string_view header, std::string_view claims) {
    return sign_compact_jws(TestKey(), header, claims).value();
  }
  std::string Header(std::string_view alg = "ES256") const {
    return json::serialize(json::object{{"typ", "JWT"}, {"alg", alg}, {"kid", TestKey().kid()}});
  }
  json::object Claims() const {
    return json::object{
        {"iss", kIssuer}, {"sub", "alice"}, {"aud", kAudience}, {"exp", kT0 + 300},
        {"nbf", kT0},     {"iat", kT0},     {"jti", "abc"},     {"access", json::array{}}};
  }
  TokenRefusal Refusal(std::string_view token) const {
    auto r = Verifier().check(token);
    EXPECT_FALSE(r.has_value()) << "token was accepted";
    return r.has_value() ? TokenRefusal::malformed : r.error();
  }
  static std::vector<std::string> Parts(const std::string& token) {
    auto d1 = token.find('.');
    auto d2 = token.find('.', d1 + 1);
    return {token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1)};
  }

  ManualClock clock_{at(kT0)};
};

// --- keys and key ids ----------------------------------------------------------

// Twelve groups of four RFC 4648 base32 characters joined by ':'.
bool LooksLikeKid(std::string_view kid) {
  if (kid.size() != 12 * 4 + 11) return false;
  for (std::size_t i = 0; i < kid.size(); ++i) {
    char c = kid[i];
    bool ok = i % 5 == 4 ? c == ':' : ((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'));
    if (!ok) return false;
  }
  return true;
}

TEST(KeyId, HasTwelveGroupsOfFourBase32Characters) {
  EXPECT_TRUE(LooksLikeKid(TestKey().kid())) << TestKey().kid();
  EXPECT_TRUE(LooksLikeKid(OtherKey().kid())) << OtherKey().kid();
  EXPECT_TRUE(LooksLikeKid(kSpecKid));
  EXPECT_FALSE(LooksLikeKid("PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q1"));
  EXPECT_NE(TestKey().kid(), OtherKey().kid());
}

TEST(KeyId, MatchesTheDockerSpecExampleKey) {
  auto priv = SigningKey::from_pem(kSpecPrivatePem);
  ASSERT_TRUE(priv.has_value()) << priv.error().message;
  EXPECT_EQ(priv->kid(), kSpecKid);
  auto pub = VerificationKey::from_pem(kSpecPublicPem);
  ASSERT_TRUE(pub.has_value()) << pub.error().message;
  EXPECT_EQ(pub->kid(), kSpecKid);
}

TEST(SigningKeyPem, RoundTripsPrivateAndPublicKeys) {
  auto reloaded = SigningKey::from_pem(TestKey().private_pem());
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_EQ(reloaded->kid(), TestKey().kid());
  auto pub = VerificationKey::from_pem(TestKey().public_key().pem());
  ASSERT_TRUE(pub.has_value());
  EXPECT_EQ(pub->kid(), TestKey().kid());
  EXPECT_NE(TestKey().public_key().pem().find("BEGIN PUBLIC KEY"), std::string::npos);
  EXPECT_EQ(TestKey().public_key().pem().find("PRIVATE"), std::string::npos);
}

TEST(SigningKeyPem, AcceptsSec1EcPrivateKeys) {
  EVP_PKEY* key = TestKey().native();
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  ASSERT_NE(pem.find("BEGIN EC PRIVATE KEY"), std::string::npos);
  auto reloaded = SigningKey::from_pem(pem);
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_EQ(reloaded->kid(), TestKey().kid());
}

TEST(SigningKeyPem, RefusesKeysThatAreNotP256) {
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  ASSERT_NE(rsa, nullptr);
  ASSERT_NE(p384, nullptr);
  auto r1 = SigningKey::from_pem(PemOf(rsa));
  auto r2 = SigningKey::from_pem(PemOf(p384));
  EXPECT_FALSE(r1.has_value());
  EXPECT_FALSE(r2.has_value());
  EXPECT_EQ(r1.error().code, Errc::denied);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(p384);
}

TEST(SigningKeyPem, RefusesGarbagePublicKeysAndEncryptedKeysWithoutPrompting) {
  EXPECT_FALSE(SigningKey::from_pem("").has_value());
  EXPECT_FALSE(
      SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
          .has_value());
  EXPECT_FALSE(SigningKey::from_pem(kSpecPublicPem).has_value());
  EXPECT_FALSE(VerificationKey::from_pem(kSpecPrivatePem).has_value());
  EXPECT_FALSE(VerificationKey::from_pem("not a key").has_value());

  BIO* bio = BIO_new(BIO_s_mem());
  char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, TestKey().native(), EVP_aes_256_cbc(), pass, 6,
                                          nullptr, nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string encrypted(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
  EXPECT_FALSE(SigningKey::from_pem(encrypted).has_value());
}

// --- issuing ---------------------------------------------------------------------

TEST_F(TokenTest, IssuedTokenHasTheSpecHeaderAndClaims) {
  TokenIssuer issuer(IssuerOptions(), TestKey(), clock_);
  auto issued =
      issuer.issue("alice", std::vector<Scope>{Scope::repository("team-a/app", {Action::pull})});
  ASSERT_TRUE(issued.has_value());
  EXPECT_EQ(issued->token.find('='), std::string::npos);
  auto parts = Parts(issued->token);
  auto header = json::parse(*base64url_decode(parts[0])).as_object();
  EXPECT_EQ(header.size(), 3u);
  EXPECT_EQ(header.at("typ").as_string(), "JWT");
  EXPECT_EQ(header.at("alg").as_string(), "ES256");
  EXPECT_EQ(header.at("kid").as_string(), TestKey().kid());
  auto claims = json::parse(*base64url_decode(parts[1])).as_object();
  EXPECT_EQ(claims.at("iss").as_string(), kIssuer);
  EXPECT_EQ(claims.at("sub").as_string(), "alice");
  EXPECT_EQ(claims.at("aud").as_string(), kAudience);
  EXPECT_EQ(claims.at("iat").as_int64(), kT0);
  EXPECT_EQ(claims.at("nbf").as_int64(), kT0);
  EXPECT_EQ(claims.at("exp").as_int64(), kT0 + 300);
  EXPECT_GE(claims.at("jti").as_string().size(), 16u);
  EXPECT_EQ(json::serialize(claims.at("access")),
            R"([{"type":"repository","name":"team-a/app","actions":["pull"]}])");
  EXPECT_EQ(base64url_decode(parts[2])->size(), 64u);
  EXPECT_EQ(issued->expires_in(), 300);
  EXPECT_EQ(issued->issued_at_rfc3339(), "2023-11-14T22:13:20Z");
}

TEST_F(TokenTest, EachTokenHasItsOwnId) {
  auto a = Verifier().verify(Issue());
  auto b = Verifier().verify(Issue());
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(a->id, b->id);
}

TEST_F(TokenTest, IssuerRefusesBadOptions) {
  EXPECT_THROW(TokenIssuer(TokenIssuerOptions{"", "aud", seconds(300)}, TestKey(), clock_),
               std::invalid_argument);
  EXPECT_THROW(TokenIssuer(TokenIssuerOptions{"iss", "aud", seconds(59)}, TestKey(), clock_),
               std::invalid_argument);
  EXPECT_THROW(TokenVerifier(TokenVerifierOptions{"iss", "aud"}, {}, clock_),
               std::invalid_argument);
  EXPECT_THROW(TokenVerifier(TokenVerifierOptions{"iss", "aud"},
                             {TestKey().public_key(), TestKey().public_key()}, clock_),
               std::invalid_argument);
}

// --- verifying: what is accepted --------------------------------------------------

TEST_F(TokenTest, VerifiedClaimsAreWhatWasIssued) {
  auto claims = Verifier().verify(Issue());
  ASSERT_TRUE(claims.has_value()) << claims.error().message;
  EXPECT_EQ(claims->issuer, kIssuer);
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_EQ(claims->audience, kAudience);
  EXPECT_EQ(claims->issued_at, kT0);
  EXPECT_EQ(claims->not_before, kT0);
  EXPECT_EQ(claims->expires_at, kT0 + 300);
  EXPECT_FALSE(claims->id.empty());
}

TEST_F(TokenTest, AccessClaimRoundTrips) {
  std::vector<Scope> access = {
      Scope::repository("team-a/app", {Action::pull, Action::push}),
      Scope{"repository", "plugin", "team-a/plug", {Action::pull}},
      Scope::repository("team-b/x", {Action::delete_}),
      Scope::catalog(),
  };
  auto claims = Verifier().verify(Issue(access));
  ASSERT_TRUE(claims.has_value()) << claims.error().message;
  EXPECT_EQ(claims->access, access);
  EXPECT_TRUE(permits(claims->access, "repository", "team-a/app", Action::push));
  EXPECT_FALSE(permits(claims->access, "repository", "team-a/app", Action::delete_));
  EXPECT_FALSE(permits(claims->access, "repository", "team-a/other", Action::pull));
}

TEST_F(TokenTest, IssuerMergesAccessAndDropsEmptyEntries) {
  auto claims = Verifier().verify(
      Issue({Scope::repository("a/b", {Action::pull}), Scope::repository("a/b", {Action::push}),
             Scope::repository("a/c", {})}));
  ASSERT_TRUE(claims.has_value());
  ASSERT_EQ(claims->access.size(), 1u);
  EXPECT_EQ(claims->access[0], Scope::repository("a/b", {Action::pull, Action::push}));
}

TEST_F(TokenTest, AnonymousSubjectAndEmptyAccessAreValid) {
  TokenIssuer issuer(IssuerOptions(), TestKey(), clock_);
  auto t = issuer.issue("", {});
  ASSERT_TRUE(t.has_value());
  auto claims = Verifier().verify(t->token);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->subject, "");
  EXPECT_TRUE(claims->access.empty());
}

TEST_F(TokenTest, AcceptsEveryTrustedKeyDuringRotation) {
  auto verifier = Verifier({TestKey().public_key(), OtherKey().public_key()});
  EXPECT_TRUE(verifier.verify(Issue({}, IssuerOptions(), TestKey())).has_value());
  EXPECT_TRUE(verifier.verify(Issue({}, IssuerOptions(), OtherKey())).has_value());
}

TEST_F(TokenTest, AcceptsAnAudienceArrayHoldingOurAudience) {
  auto c = Claims();
  c["aud"] = json::array{"someone-else", kAudience};
  EXPECT_TRUE(Verifier().check(Signed(Header(), json::serialize(c))).has_value());
}

TEST_F(TokenTest, AcceptsNumericDatesWithFractions) {
  auto c = Claims();
  c["exp"] = static_cast<double>(kT0 + 300) + 0.5;
  EXPECT_TRUE(Verifier().check(Signed(Header(), json::serialize(c))).has_value());
}

TEST_F(TokenTest, LeewayBoundaries) {
  std::string token = Issue();  // exp = kT0 + 300, nbf = kT0; leeway 30 s

  ManualClock early(at(kT0 - 30));
  TokenVerifier v(TokenVerifierOptions{std::string(kIssuer), std::string(kAudience)},
                  {TestKey().public_key()}, early);
  EXPECT_TRUE(v.check(token).has_value());  // now == nbf - leeway
  early.advance(seconds(-1));
  EXPECT_EQ(v.check(token).error(), TokenRefusal::not_yet_valid);

  clock_.advance(seconds(300 + 29));
  EXPECT_TRUE(Verifier().check(token).has_value());
  clock_.advance(seconds(1));
  EXPECT_EQ(Refusal(token), TokenRefusal::expired);
}

// --- verifying: every refusal ------------------------------------------------------

TEST_F(TokenTest, RefusesAlgNone) {
  auto c = json::serialize(Claims());
  for (std::string_view alg : {"none", "None", "NONE"}) {
    std::string token = base64url_encode(Header(alg)) + "." + base64url_encode(c) + ".";
    EXPECT_EQ(Refusal(token), TokenRefusal::unsupported_algorithm) << alg;
    // …and with a signature part that is present but meaningless.
    EXPECT_EQ(Refusal(token + "AAAA"), TokenRefusal::unsupported_algorithm) << alg;
  }
  std::string no_alg = json::serialize(json::object{{"typ", "JWT"}, {"kid", TestKey().kid()}});
  EXPECT_EQ(Refusal(Signed(no_alg, c)), TokenRefusal::unsupported_algorithm);
}

TEST_F(TokenTest, RefusesHs256KeyedWithThePublicKey) {
  // The classic confusion attack: HMAC keyed with the verifier's public key,
  // which the attacker knows.
  std::string input =
      base64url_encode(Header("HS256")) + "." + base64url_encode(json::serialize(Claims()));
  for (const std::string& secret : {TestKey().public_key().pem(), std::string(TestKey().kid())}) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
    std::string token =
        input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(mac), mac_len));
    EXPECT_EQ(Refusal(token), TokenRefusal::unsupported_algorithm);
  }
}

TEST_F(TokenTest, RefusesRs256) {
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
  ASSERT_NE(rsa, nullptr);
  std::string input =
      base64url_encode(Header("RS256")) + "." + base64url_encode(json::serialize(Claims()));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  ASSERT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, rsa), 1);
  ASSERT_EQ(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()),
            1);
  std::string sig(len, '\0');
  ASSERT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(rsa);
  EXPECT_EQ(Refusal(input + "." + base64url_encode(sig)), TokenRefusal::unsupported_algorithm);
}

TEST_F(TokenTest, RefusesOtherAlgorithmSpellings) {
  auto c = json::serialize(Claims());
  for (std::string_view alg : {"es256", "ES384", "ES512", "PS256", "EdDSA", "ES256 ", ""}) {
    EXPECT_EQ(Refusal(Signed(Header(alg), c)), TokenRefusal::unsupported_algorithm) << alg;
  }
  // alg must be a string.
  std::string numeric = R"({"typ":"JWT","alg":256,"kid":")" + TestKey().kid() + "\"}";
  EXPECT_EQ(Refusal(Signed(numeric, c)), TokenRefusal::unsupported_algorithm);
}

TEST_F(TokenTest, RefusesUnknownOrMissingKid) {
  EXPECT_EQ(Refusal(Issue({}, IssuerOptions(), OtherKey())), TokenRefusal::unknown_key);
  auto c = json::serialize(Claims());
  EXPECT_EQ(Refusal(Signed(R"({"typ":"JWT","alg":"ES256"})", c)), TokenRefusal::unknown_key);
  EXPECT_EQ(Refusal(Signed(R"({"typ":"JWT","alg":"ES256","kid":"AAAA:BBBB"})", c)),
            TokenRefusal::unknown_key);
}

TEST_F(TokenTest, NeverTrustsAKeyEmbeddedInTheHeader) {
  // Signed by an untrusted key that the header carries as a "jwk" under an
  // unknown kid: the embedded key is ignored.
  std::string header = json::serialize(json::object{
      {"typ", "JWT"}, {"alg", "ES256"}, {"kid", OtherKey().kid()}, {"jwk", {{"kty", "EC"}}}});
  auto token = sign_compact_jws(OtherKey(), header, json::serialize(Claims()));
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(Refusal(*token), TokenRefusal::unknown_key);
}

TEST_F(TokenTest, RefusesATamperedPayload) {
  auto parts = Parts(Issue());
  auto claims = json::parse(*base64url_decode(parts[1])).as_object();
  claims["access"] = json::array{
      {{"type", "repository"}, {"name", "team-a/app"}, {"actions", {"pull", "push", "delete"}}}};
  std::string forged = parts[0] + "." + base64url_encode(json::serialize(claims)) + "." + parts[2];
  EXPECT_EQ(Refusal(forged), TokenRefusal::bad_signature);

  // Swapping the signed header for another one breaks it too.
  std::string other_header =
      json::serialize(json::object{{"alg", "ES256"}, {"kid", TestKey().kid()}, {"typ", "JWT"}});
  EXPECT_EQ(Refusal(base64url_encode(other_header) + "." + parts[1] + "." + parts[2]),
            TokenRefusal::bad_signature);
}

TEST_F(TokenTest, RefusesATamperedSignature) {
  auto parts = Parts(Issue());
  std::string sig = *base64url_decode(parts[2]);
  for (std::size_t i : {std::size_t{0}, std::size_t{31}, std::size_t{32}, std::size_t{63}}) {
    std::string bad = sig;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + "." + base64url_encode(bad)),
              TokenRefusal::bad_signature)
        << i;
  }
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + "." + base64url_encode(sig.substr(0, 63))),
            TokenRefusal::bad_signature);
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + "." + base64url_encode(sig + "x")),
            TokenRefusal::bad_signature);
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + "." + base64url_encode(std::string(64, '\0'))),
            TokenRefusal::bad_signature);
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + "."), TokenRefusal::bad_signature);
}

TEST_F(TokenTest, RefusesAnExpiredToken) {
  std::string token = Issue();
  clock_.advance(seconds(3600));
  EXPECT_EQ(Refusal(token), TokenRefusal::expired);
  auto r = Verifier().verify(token);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::unauthorized);
  EXPECT_EQ(r.error().message, refusal_message(TokenRefusal::expired));
}

TEST_F(TokenTest, RefusesATokenNotYetValid) {
  ManualClock future(at(kT0 + 600));
  TokenIssuer issuer(IssuerOptions(), TestKey(), future);
  auto token = issuer.issue("alice", {});
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(Refusal(token->token), TokenRefusal::not_yet_valid);
}

TEST_F(TokenTest, RefusesTheWrongAudience) {
  auto options = IssuerOptions();
  options.audience = "other-registry.example.test";
  EXPECT_EQ(Refusal(Issue({}, options)), TokenRefusal::wrong_audience);
  auto c = Claims();
  c["aud"] = json::array{"a", "b"};
  EXPECT_EQ(Refusal(Signed(Header(), json::serialize(c))), TokenRefusal::wrong_audience);
  c.erase("aud");
  EXPECT_EQ(Refusal(Signed(Header(), json::serialize(c))), TokenRefusal::wrong_audience);
  c["aud"] = std::string(kAudience) + "x";
  EXPECT_EQ(Refusal(Signed(Header(), json::serialize(c))), TokenRefusal::wrong_audience);
}

TEST_F(TokenTest, RefusesTheWrongIssuer) {
  auto options = IssuerOptions();
  options.issuer = "evil-token-service";
  EXPECT_EQ(Refusal(Issue({}, options)), TokenRefusal::wrong_issuer);
  options.issuer = std::string(kIssuer).substr(1);
  EXPECT_EQ(Refusal(Issue({}, options)), TokenRefusal::wrong_issuer);
}

TEST_F(TokenTest, RefusesAnOversizedToken) {
  EXPECT_EQ(Refusal(std::string(8193, 'a')), TokenRefusal::oversized);
  std::vector<Scope> many;
  for (int i = 0; i < 200; ++i) {
    many.push_back(Scope::repository("team-a/repository-number-" + std::to_string(i),
                                     {Action::pull, Action::push}));
  }
  std::string big = Issue(many);
  ASSERT_GT(big.size(), 8192u);
  EXPECT_EQ(Refusal(big), TokenRefusal::oversized);
  // A header over 1 KiB inside an otherwise small token.
  std::string header = json::serialize(
      json::object{{"alg", "ES256"}, {"kid", TestKey().kid()}, {"pad", std::string(1200, 'x')}});
  EXPECT_EQ(Refusal(Signed(header, json::serialize(Claims()))), TokenRefusal::oversized);
}

TEST_F(TokenTest, RefusesMalformedStructure) {
  std::string token = Issue();
  auto parts = Parts(token);
  EXPECT_EQ(Refusal(""), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(parts[0]), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1]), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(token + ".x"), TokenRefusal::malformed);
  EXPECT_EQ(Refusal("." + parts[1] + "." + parts[2]), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(parts[0] + ".." + parts[2]), TokenRefusal::malformed);
}

TEST_F(TokenTest, RefusesMalformedBase64) {
  auto parts = Parts(Issue());
  // Standard-alphabet characters, padding, whitespace, non-ASCII.
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + "+/." + parts[2]), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(parts[0] + "=." + parts[1] + "." + parts[2]), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + "." + parts[2] + "=="), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + " ." + parts[2]), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + "\xc3\xa9." + parts[2]), TokenRefusal::malformed);
  // A length no base64 string can have (4n + 1).
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + ".AAAAA"), TokenRefusal::malformed);
  // Non-zero unused bits: "QR" decodes like "QQ" ("A") in lenient decoders.
  EXPECT_EQ(Refusal(parts[0] + "." + parts[1] + "." + "QR"), TokenRefusal::malformed);
}

TEST_F(TokenTest, RefusesBadJson) {
  std::string c = json::serialize(Claims());
  // Header.
  EXPECT_EQ(Refusal(Signed("{not json", c)), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(Signed(R"(["ES256"])", c)), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(Signed(Header() + "x", c)), TokenRefusal::malformed);
  // Claims, correctly signed.
  EXPECT_EQ(Refusal(Signed(Header(), "{\"iss\":")), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(Signed(Header(), "[]")), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(Signed(Header(), "\"claims\"")), TokenRefusal::malformed);
  EXPECT_EQ(Refusal(Signed(Header(), c + "}")), TokenRefusal::malformed);
  // Deeply nested JSON is refused before it can cost anything.
  std::string deep = R"({"iss":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(Refusal(Signed(Header(), deep)), TokenRefusal::malformed);
}

TEST_F(TokenTest, RefusesCriticalHeaderExtensionsAndOtherTypes) {
  std::string c = json::serialize(Claims());
  std::string crit = json::serialize(
      json::object{{"alg", "ES256"}, {"kid", TestKey().kid()}, {"crit", {"exp"}}, {"exp", 1}});
  EXPECT_EQ(Refusal(Signed(crit, c)), TokenRefusal::malformed);
  std::string typ = json::serialize(
      json::object{{"typ", "JOSE+JSON"}, {"alg", "ES256"}, {"kid", TestKey().kid()}});
  EXPECT_EQ(Refusal(Signed(typ, c)), TokenRefusal::malformed);
  // …while "typ" compares case-insensitively and may be absent.
  for (std::string_view ok : {"jwt", "jWt"}) {
    std::string h =
        json::serialize(json::object{{"typ", ok}, {"alg", "ES256"}, {"kid", TestKey().kid()}});
    EXPECT_TRUE(Verifier().check(Signed(h, c)).has_value()) << ok;
  }
  std::string untyped = json::serialize(json::object{{"alg", "ES256"}, {"kid", TestKey().kid()}});
  EXPECT_TRUE(Verifier().check(Signed(untyped, c)).has_value());
}

TEST_F(TokenTest, RefusesMissingOrMistypedClaims) {
  for (std::string_view claim : {"iss", "sub", "exp", "nbf"}) {
    auto c = Claims();
    c.erase(claim);
    EXPECT_EQ(Refusal(Signed(Header(), json::serialize(c))), TokenRefusal::invalid_claims) << claim;
  }
  auto check = [&](std::string_view claim, json::value v) {
    auto c = Claims();
    c[claim] = std::move(v);
    EXPECT_EQ(Refusal(Signed(Header(), json::serialize(c))), TokenRefusal::invalid_claims) << claim;
  };
  check("exp", "tomorrow");
  check("exp", nullptr);
  check("nbf", json::array{});
  check("iat", "now");
  check("sub", 42);
  check("iss", json::object{});
  check("jti", 7);
  check("access", "repository:a:pull");
  check("access", json::array{"repository:a:pull"});
  check("access", json::array{{{"type", "repository"}, {"name", "a"}}});
  check("access", json::array{{{"type", "repository"}, {"name", "a"}, {"actions", "pull"}}});
  check("access", json::array{{{"type", "repository"}, {"name", "a"}, {"actions", {1}}}});
}

}  // namespace
}  // namespace portcullis::auth
