// Fixtures and OpenSSL helpers for the trust tests. The fixture files in
// tests/data/trust/ were made by cosign 2.5 and skopeo 1.18 (see its README).
#pragma once

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/pem.h>

namespace portcullis::trust::testing {

inline constexpr std::string_view kFixturePassword = "portcullis-fixture";
// The image the fixture signatures sign (busybox, linux/amd64).
inline constexpr std::string_view kFixtureImage =
    "sha256:4b91194b8a90dec8822b2560b84cab78281973f03e862f58980db5b042093567";

inline std::string fixture(std::string_view name) {
  std::ifstream in(std::string(PC_TRUST_DATA_DIR) + "/" + std::string(name), std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + std::string(name));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// A fresh key: type "EC" with group "P-384"/"P-521", "ED25519", or "RSA" with bits.
inline PkeyPtr make_key(const char* type, const char* param = nullptr) {
  EVP_PKEY* k = nullptr;
  if (std::string_view(type) == "RSA") {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
  } else if (param != nullptr) {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, type, param);
  } else {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  }
  if (k == nullptr) throw std::runtime_error("keygen failed");
  return PkeyPtr(k, EVP_PKEY_free);
}

inline std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

inline std::string pkcs8_der(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  i2d_PKCS8PrivateKey_bio(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

// Signs with `md` (nullptr for Ed25519).
inline std::string sign_with(EVP_PKEY* key, const EVP_MD* md, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, md, nullptr, key);
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                 data.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

}  // namespace portcullis::trust::testing
