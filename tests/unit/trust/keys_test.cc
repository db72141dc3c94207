#include "trust/keys.h"

#include <chrono>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <boost/json.hpp>

#include "crypto/hash.h"
#include "test_support.h"
#include "trust/encoding.h"

namespace portcullis::trust {
namespace {

namespace json = boost::json;
using testing::fixture;
using testing::kFixturePassword;

constexpr ScryptCost kFastCost{32768, 8, 1};  // the cheapest cost cosign reads

std::string message_of(const Result<PrivateKey>& r) { return r ? "accepted" : r.error().message; }
std::string message_of(const Result<PublicKey>& r) { return r ? "accepted" : r.error().message; }

// An encrypted key file in cosign's format with any parameters and contents,
// made here with libsodium directly (not with the code under test).
std::string encrypted_pem(std::string_view plaintext, std::string_view password, uint64_t n,
                          uint32_t r, uint32_t p,
                          std::string_view label = "ENCRYPTED SIGSTORE PRIVATE KEY") {
  if (sodium_init() < 0) throw std::runtime_error("sodium_init");
  std::string salt(32, '\0'), nonce(crypto_secretbox_NONCEBYTES, '\0');
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  unsigned char key[crypto_secretbox_KEYBYTES];
  if (crypto_pwhash_scryptsalsa208sha256_ll(reinterpret_cast<const uint8_t*>(password.data()),
                                            password.size(),
                                            reinterpret_cast<const uint8_t*>(salt.data()),
                                            salt.size(), n, r, p, key, sizeof key) != 0) {
    throw std::runtime_error("scrypt");
  }
  std::string box(plaintext.size() + crypto_secretbox_MACBYTES, '\0');
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(box.data()),
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        reinterpret_cast<const unsigned char*>(nonce.data()), key);
  std::string body = fmt::format(
      R"({{"kdf":{{"name":"scrypt","params":{{"N":{},"r":{},"p":{}}},"salt":"{}"}},"cipher":{{"name":"nacl/secretbox","nonce":"{}"}},"ciphertext":"{}"}})",
      n, r, p, detail::base64_encode(salt), detail::base64_encode(nonce),
      detail::base64_encode(box));
  return detail::pem_encode(label, body);
}

// A PEM whose JSON body is `body` (no encryption at all).
std::string pem_with_json(std::string_view body) {
  return detail::pem_encode("ENCRYPTED SIGSTORE PRIVATE KEY", body);
}

// ---------------------------------------------------------------- fixtures

TEST(EncryptedKey, DecryptsCosignGenerateKeyPairAndMatchesItsPublicKey) {
  auto key = PrivateKey::from_encrypted_pem(fixture("cosign.key"), kFixturePassword);
  ASSERT_TRUE(key) << key.error().message;
  auto pub = PublicKey::from_pem(fixture("cosign.pub"));
  ASSERT_TRUE(pub) << pub.error().message;
  EXPECT_EQ(key->public_key().fingerprint(), pub->fingerprint());
  EXPECT_EQ(key->public_key().pem(), fixture("cosign.pub"));
  EXPECT_EQ(pub->algorithm(), KeyAlgorithm::ecdsa_p256);
}

TEST(EncryptedKey, DecryptsSkopeoGenerateSigstoreKeyWithTheCosignLabel) {
  std::string pem = fixture("skopeo.private");
  ASSERT_TRUE(pem.starts_with("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----"));
  auto key = PrivateKey::from_encrypted_pem(pem, kFixturePassword);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->public_key().fingerprint(),
            PublicKey::from_pem(fixture("skopeo.pub"))->fingerprint());
}

TEST(EncryptedKey, WrongPasswordIsAClearError) {
  auto key = PrivateKey::from_encrypted_pem(fixture("cosign.key"), "not-the-password");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, Errc::denied);
  EXPECT_EQ(key.error().message, "wrong password or corrupted key");
}

TEST(EncryptedKey, FlippedCiphertextByteIsDetected) {
  std::string pem = fixture("cosign.key");
  auto block = detail::pem_decode(pem);
  auto doc = json::parse(block->der).as_object();
  auto ct = *detail::base64_decode(std::string(doc["ciphertext"].as_string()));
  ct[10] ^= 1;
  doc["ciphertext"] = detail::base64_encode(ct);
  auto key = PrivateKey::from_encrypted_pem(pem_with_json(json::serialize(doc)), kFixturePassword);
  EXPECT_EQ(message_of(key), "wrong password or corrupted key");
}

TEST(EncryptedKey, ReadsAKeyWrittenByKeyGenerateThatCosignSignedWith) {
  // portcullis.key: written by `portcullis key generate`; cosign 2.5 sign-blob
  // used it to make blob.txt.portcullis-key.cosign.sig.
  auto key = PrivateKey::from_encrypted_pem(fixture("portcullis.key"), "gen-pw");
  ASSERT_TRUE(key) << key.error().message;
  auto pub = PublicKey::from_pem(fixture("portcullis.pub"));
  ASSERT_TRUE(pub);
  EXPECT_EQ(key->public_key().fingerprint(), pub->fingerprint());
  auto sig = detail::base64_decode(fixture("blob.txt.portcullis-key.cosign.sig"));
  ASSERT_TRUE(sig);
  EXPECT_TRUE(pub->verify(fixture("blob.txt"), *sig));
}

TEST(PublicKey, VerifiesCosignSignBlobSignature) {
  auto pub = PublicKey::from_pem(fixture("cosign.pub"));
  auto sig = detail::base64_decode(fixture("blob.txt.cosign.sig"));
  ASSERT_TRUE(sig);
  EXPECT_TRUE(pub->verify(fixture("blob.txt"), *sig));
  EXPECT_FALSE(pub->verify(fixture("blob.txt") + " ", *sig));
  EXPECT_FALSE(PublicKey::from_pem(fixture("skopeo.pub"))->verify(fixture("blob.txt"), *sig));
}

// ---------------------------------------------------------------- round trips

TEST(PrivateKey, GeneratedKeyRoundTripsThroughTheEncryptedPem) {
  PrivateKey key = PrivateKey::generate();
  auto pem = key.to_encrypted_pem("s3cret", kFastCost);
  ASSERT_TRUE(pem) << pem.error().message;
  auto back = PrivateKey::from_encrypted_pem(*pem, "s3cret");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->public_key().fingerprint(), key.public_key().fingerprint());

  auto sig = back->sign("payload");
  ASSERT_TRUE(sig);
  EXPECT_TRUE(key.public_key().verify("payload", *sig));
  EXPECT_EQ(message_of(PrivateKey::from_encrypted_pem(*pem, "s3cret ")),
            "wrong password or corrupted key");
}

TEST(PrivateKey, EmptyPasswordRoundTrips) {
  PrivateKey key = PrivateKey::generate();
  auto pem = key.to_encrypted_pem("", kFastCost);
  ASSERT_TRUE(pem);
  auto back = PrivateKey::from_encrypted_pem(*pem, "");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->public_key().fingerprint(), key.public_key().fingerprint());
}

TEST(PrivateKey, WritesTheJsonShapeCosignWrites) {
  auto pem = PrivateKey::generate().to_encrypted_pem("pw");  // default cost
  ASSERT_TRUE(pem);
  auto block = detail::pem_decode(*pem);
  ASSERT_TRUE(block);
  EXPECT_EQ(block->label, "ENCRYPTED SIGSTORE PRIVATE KEY");
  // Same field order as go-securesystemslib (and the cosign fixture).
  std::string_view body = block->der;
  EXPECT_TRUE(
      body.starts_with(R"({"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":")"))
      << body;
  EXPECT_NE(body.find(R"(},"cipher":{"name":"nacl/secretbox","nonce":")"), std::string_view::npos);
  auto doc = json::parse(body).as_object();
  EXPECT_EQ(detail::base64_decode(std::string(doc["kdf"].as_object()["salt"].as_string()))->size(),
            32u);
  EXPECT_EQ(
      detail::base64_decode(std::string(doc["cipher"].as_object()["nonce"].as_string()))->size(),
      24u);
  EXPECT_TRUE(detail::base64_decode(std::string(doc["ciphertext"].as_string())));
  auto cosign_block = detail::pem_decode(fixture("cosign.key"));
  EXPECT_EQ(cosign_block->der.substr(0, 60), block->der.substr(0, 60));
}

TEST(PrivateKey, RefusesAScryptCostCosignCannotRead) {
  PrivateKey key = PrivateKey::generate();
  for (ScryptCost cost :
       {ScryptCost{16384, 8, 1}, ScryptCost{65536, 16, 1}, ScryptCost{65536, 8, 2}}) {
    auto pem = key.to_encrypted_pem("pw", cost);
    ASSERT_FALSE(pem);
    EXPECT_EQ(pem.error().code, Errc::denied);
    EXPECT_NE(pem.error().message.find("cannot be read by cosign"), std::string::npos);
  }
  EXPECT_TRUE(key.to_encrypted_pem("pw", ScryptCost{131072, 8, 1}));
}

TEST(PrivateKey, ReadsOtherScryptParametersWithinTheCaps) {
  auto ec = testing::make_key("EC", "P-256");
  auto key = PrivateKey::from_encrypted_pem(
      encrypted_pem(testing::pkcs8_der(ec.get()), "pw", 1024, 4, 2), "pw");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->public_key().pem(), testing::public_pem(ec.get()));
}

TEST(PrivateKey, SignaturesAreDerEcdsaOverSha256) {
  PrivateKey key = PrivateKey::generate();
  auto sig = key.sign("hello");
  ASSERT_TRUE(sig);
  EXPECT_EQ(static_cast<unsigned char>((*sig)[0]), 0x30);  // DER SEQUENCE
  EXPECT_TRUE(key.public_key().verify("hello", *sig));
  EXPECT_FALSE(key.public_key().verify("hellO", *sig));
  EXPECT_FALSE(key.public_key().verify("hello", sig->substr(0, sig->size() - 1)));
  EXPECT_FALSE(key.public_key().verify("hello", ""));
  EXPECT_FALSE(PrivateKey::generate().public_key().verify("hello", *sig));
}

// ---------------------------------------------------------------- hostile input

TEST(EncryptedKey, MalformedInputIsAClearError) {
  EXPECT_EQ(message_of(PrivateKey::from_encrypted_pem("not a pem", "pw")),
            "malformed PEM: no BEGIN line");
  std::string pem = fixture("cosign.key");
  // Cut in the middle of the base64 body.
  std::string truncated = pem.substr(0, 200) + "\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
  EXPECT_EQ(message_of(PrivateKey::from_encrypted_pem(truncated, kFixturePassword)),
            "malformed PEM: body is not valid base64");
  std::string cut = pem.substr(0, pem.size() - 20);
  EXPECT_EQ(message_of(PrivateKey::from_encrypted_pem(cut, kFixturePassword)),
            "malformed PEM: no END line for ENCRYPTED SIGSTORE PRIVATE KEY");
  EXPECT_EQ(message_of(PrivateKey::from_encrypted_pem(pem_with_json("{\"kdf\":"), "pw")),
            "encrypted key: not a JSON object");
  EXPECT_EQ(message_of(PrivateKey::from_encrypted_pem(pem_with_json("[1,2]"), "pw")),
            "encrypted key: not a JSON object");
  EXPECT_EQ(message_of(PrivateKey::from_encrypted_pem(pem_with_json("{}"), "pw")),
            "encrypted key: kdf and cipher objects are required");
  EXPECT_EQ(message_of(PrivateKey::from_encrypted_pem(fixture("cosign.pub"), "pw")),
            "unsupported PEM block PUBLIC KEY (expected ENCRYPTED SIGSTORE PRIVATE KEY or "
            "ENCRYPTED COSIGN "
            "PRIVATE KEY)");
  EXPECT_EQ(message_of(PrivateKey::from_encrypted_pem(std::string(70 * 1024, 'A'), "pw")),
            "private key PEM exceeds 64 KiB");
}

TEST(EncryptedKey, WrongAlgorithmsAndShapesAreNamed) {
  auto doc = json::parse(detail::pem_decode(fixture("cosign.key"))->der).as_object();
  auto with = [&](auto edit) {
    json::object d = doc;
    edit(d);
    return message_of(
        PrivateKey::from_encrypted_pem(pem_with_json(json::serialize(d)), kFixturePassword));
  };
  EXPECT_EQ(with([](json::object& d) { d["kdf"].as_object()["name"] = "pbkdf2"; }),
            "encrypted key: unsupported kdf (expected scrypt)");
  EXPECT_EQ(with([](json::object& d) { d["cipher"].as_object()["name"] = "aes-gcm"; }),
            "encrypted key: unsupported cipher (expected nacl/secretbox)");
  EXPECT_EQ(with([](json::object& d) { d["cipher"].as_object()["nonce"] = "AAAA"; }),
            "encrypted key: nonce must be 24 bytes");
  EXPECT_EQ(with([](json::object& d) { d["kdf"].as_object()["salt"] = "!!"; }),
            "encrypted key: kdf.salt is not valid base64");
  EXPECT_EQ(with([](json::object& d) { d.erase("ciphertext"); }),
            "encrypted key: ciphertext is missing");
  EXPECT_EQ(with([](json::object& d) { d["ciphertext"] = "AAAA"; }),
            "encrypted key: ciphertext is too short");
  EXPECT_EQ(
      with([](json::object& d) { d["kdf"].as_object()["params"].as_object()["N"] = "65536"; }),
      "encrypted key: scrypt N, r and p must be non-negative integers");
  EXPECT_EQ(with([](json::object& d) { d["kdf"].as_object()["params"].as_object()["r"] = -8; }),
            "encrypted key: scrypt N, r and p must be non-negative integers");
}

TEST(EncryptedKey, HostileScryptParametersAreRefusedBeforeTheKdfRuns) {
  auto doc = json::parse(detail::pem_decode(fixture("cosign.key"))->der).as_object();
  auto with = [&](uint64_t n, uint64_t r, uint64_t p) {
    json::object d = doc;
    auto& params = d["kdf"].as_object()["params"].as_object();
    params["N"] = n;
    params["r"] = r;
    params["p"] = p;
    return message_of(
        PrivateKey::from_encrypted_pem(pem_with_json(json::serialize(d)), kFixturePassword));
  };
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(with(uint64_t{1} << 40, 8, 1),
            "encrypted key: scrypt parameters N=1099511627776 r=8 p=1 exceed the limits (N <= "
            "2^20, r <= 32, "
            "p <= 16, memory <= 256 MiB)");
  EXPECT_NE(with(uint64_t{1} << 20, 8, 1).find("exceed the limits"), std::string::npos);  // 1 GiB
  EXPECT_NE(with(65536, 1024, 1).find("exceed the limits"), std::string::npos);
  EXPECT_NE(with(65536, 8, 1000).find("exceed the limits"), std::string::npos);
  EXPECT_NE(with(262144, 8, 16).find("exceed the limits"), std::string::npos);  // 4 GiB of work
  EXPECT_NE(with(UINT64_MAX / 2 + 1, UINT64_MAX / 2, UINT64_MAX).find("exceed the limits"),
            std::string::npos);
  EXPECT_EQ(with(65537, 8, 1), "encrypted key: scrypt N=65537 is not a power of two");
  EXPECT_EQ(with(0, 8, 1), "encrypted key: scrypt N=0 is not a power of two");
  EXPECT_EQ(with(65536, 0, 1), "encrypted key: scrypt r and p must be at least 1");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(EncryptedKey, UnsupportedPrivateKeyTypesAreNamed) {
  auto p384 = testing::make_key("EC", "P-384");
  auto key = PrivateKey::from_encrypted_pem(
      encrypted_pem(testing::pkcs8_der(p384.get()), "pw", 1024, 8, 1), "pw");
  EXPECT_EQ(message_of(key),
            "unsupported key type: ecdsa-p384 private key (only ECDSA P-256 keys sign)");
  auto rsa = testing::make_key("RSA");
  key = PrivateKey::from_encrypted_pem(
      encrypted_pem(testing::pkcs8_der(rsa.get()), "pw", 1024, 8, 1), "pw");
  EXPECT_EQ(message_of(key),
            "unsupported key type: RSA-2048 (supported: ECDSA P-256, ECDSA P-384, Ed25519)");
  key = PrivateKey::from_encrypted_pem(encrypted_pem("not der at all", "pw", 1024, 8, 1), "pw");
  EXPECT_EQ(message_of(key), "encrypted key: decrypted data is not a PKCS#8 private key");
  auto ec = testing::make_key("EC", "P-256");
  key = PrivateKey::from_encrypted_pem(
      encrypted_pem(testing::pkcs8_der(ec.get()) + "x", "pw", 1024, 8, 1), "pw");
  EXPECT_EQ(message_of(key), "encrypted key: trailing bytes after the PKCS#8 private key");
}

// ---------------------------------------------------------------- public keys

TEST(PublicKey, UnsupportedKeyTypesAreNamed) {
  auto rsa = testing::make_key("RSA");
  EXPECT_EQ(message_of(PublicKey::from_pem(testing::public_pem(rsa.get()))),
            "unsupported key type: RSA-2048 (supported: ECDSA P-256, ECDSA P-384, Ed25519)");
  auto p521 = testing::make_key("EC", "P-521");
  EXPECT_EQ(
      message_of(PublicKey::from_pem(testing::public_pem(p521.get()))),
      "unsupported key type: ECDSA curve secp521r1 (supported: ECDSA P-256, ECDSA P-384, Ed25519)");
}

TEST(PublicKey, MalformedPemIsAClearError) {
  EXPECT_EQ(message_of(PublicKey::from_pem("")), "malformed PEM: no BEGIN line");
  EXPECT_EQ(message_of(PublicKey::from_pem(
                "-----BEGIN PUBLIC KEY-----\nZm9vYmFy\n-----END PUBLIC KEY-----\n")),
            "malformed PEM: not a SubjectPublicKeyInfo");
  EXPECT_EQ(message_of(PublicKey::from_pem(fixture("cosign.key"))),
            "expected a PUBLIC KEY PEM block, not ENCRYPTED SIGSTORE PRIVATE KEY");
  std::string pem = fixture("cosign.pub");
  auto der = detail::pem_decode(pem)->der;
  EXPECT_EQ(
      message_of(PublicKey::from_pem(detail::pem_encode("PUBLIC KEY", der + std::string(1, '\0')))),
      "malformed PEM: trailing bytes after the public key");
  EXPECT_EQ(message_of(PublicKey::from_pem(
                detail::pem_encode("PUBLIC KEY", der.substr(0, der.size() - 1)))),
            "malformed PEM: not a SubjectPublicKeyInfo");
  EXPECT_EQ(message_of(PublicKey::from_pem(std::string(65 * 1024, ' ') + pem)),
            "public key PEM exceeds 64 KiB");
}

TEST(PublicKey, FingerprintIsSha256OfTheSubjectPublicKeyInfo) {
  auto pub = PublicKey::from_pem(fixture("cosign.pub"));
  auto der = detail::pem_decode(fixture("cosign.pub"))->der;
  EXPECT_EQ(pub->fingerprint(), "sha256:" + crypto::hex_digest(crypto::HashAlgorithm::sha256, der));
  EXPECT_EQ(PublicKey::from_pem(pub->pem())->fingerprint(), pub->fingerprint());
}

TEST(PublicKey, VerifiesEcdsaP384SignaturesOverSha256AndSha384) {
  auto k = testing::make_key("EC", "P-384");
  auto pub = PublicKey::from_pem(testing::public_pem(k.get()));
  ASSERT_TRUE(pub) << pub.error().message;
  EXPECT_EQ(pub->algorithm(), KeyAlgorithm::ecdsa_p384);
  EXPECT_EQ(algorithm_name(pub->algorithm()), "ecdsa-p384");
  // cosign 2.x signs and verifies every ECDSA key over SHA-256.
  std::string sig256 = testing::sign_with(k.get(), EVP_sha256(), "payload");
  std::string sig384 = testing::sign_with(k.get(), EVP_sha384(), "payload");
  EXPECT_TRUE(pub->verify("payload", sig256));
  EXPECT_TRUE(pub->verify("payload", sig384));
  EXPECT_FALSE(pub->verify("payload", testing::sign_with(k.get(), EVP_sha512(), "payload")));
  EXPECT_FALSE(pub->verify("payloaD", sig256));
  EXPECT_FALSE(pub->verify("payload", sig384.substr(0, sig384.size() - 2)));
}

TEST(PublicKey, VerifiesEd25519SignaturesOverThePayloadItself) {
  auto k = testing::make_key("ED25519");
  auto pub = PublicKey::from_pem(testing::public_pem(k.get()));
  ASSERT_TRUE(pub) << pub.error().message;
  EXPECT_EQ(pub->algorithm(), KeyAlgorithm::ed25519);
  EXPECT_EQ(algorithm_name(pub->algorithm()), "ed25519");
  std::string sig = testing::sign_with(k.get(), nullptr, "payload");
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(pub->verify("payload", sig));
  EXPECT_FALSE(pub->verify("payload!", sig));
  EXPECT_FALSE(pub->verify("payload", sig.substr(0, 63)));
  EXPECT_FALSE(pub->verify("payload", sig + "x"));
  EXPECT_FALSE(pub->verify(
      "payload", testing::sign_with(testing::make_key("ED25519").get(), nullptr, "payload")));
}

TEST(PublicKey, P256KeyRefusesSha384Signatures) {
  auto k = testing::make_key("EC", "P-256");
  auto pub = PublicKey::from_pem(testing::public_pem(k.get()));
  ASSERT_TRUE(pub);
  EXPECT_EQ(algorithm_name(pub->algorithm()), "ecdsa-p256");
  EXPECT_TRUE(pub->verify("x", testing::sign_with(k.get(), EVP_sha256(), "x")));
  EXPECT_FALSE(pub->verify("x", testing::sign_with(k.get(), EVP_sha384(), "x")));
}

}  // namespace
}  // namespace portcullis::trust
