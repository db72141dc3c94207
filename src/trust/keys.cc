#include "trust/keys.h"

#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <boost/json.hpp>

#include "crypto/hash.h"
#include "trust/encoding.h"

namespace portcullis::trust {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxPemBytes = 64 * 1024;
constexpr std::size_t kMaxSignatureBytes = 512;
constexpr std::string_view kSigstoreLabel = "ENCRYPTED SIGSTORE PRIVATE KEY";
constexpr std::string_view kCosignLabel = "ENCRYPTED COSIGN PRIVATE KEY";
constexpr std::string_view kPublicLabel = "PUBLIC KEY";

// Caps on scrypt parameters read from a file (see keys.h).
constexpr uint64_t kMaxScryptN = uint64_t{1} << 20;
constexpr uint64_t kMaxScryptR = 32;
constexpr uint64_t kMaxScryptP = 16;
constexpr uint64_t kMaxScryptMemory = uint64_t{256} << 20;
constexpr uint64_t kMaxScryptWork = uint64_t{1} << 30;
constexpr std::size_t kSaltBytes = 32;
constexpr std::size_t kMaxSaltBytes = 1024;
constexpr std::size_t kKeyBytes = crypto_secretbox_KEYBYTES;

Error denied(std::string message) { return make_error(Errc::denied, std::move(message)); }

void ensure_sodium() {
  // sodium_init() is idempotent and thread-safe; the static saves the call.
  static const bool initialised = [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    return true;
  }();
  (void)initialised;
}

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* key) { return {key, EVP_PKEY_free}; }

// Secret bytes wiped on destruction.
class Secret {
 public:
  explicit Secret(std::size_t size) : bytes_(size) {}
  ~Secret() { sodium_memzero(bytes_.data(), bytes_.size()); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  unsigned char* data() { return bytes_.data(); }
  std::size_t size() const { return bytes_.size(); }
  void resize(std::size_t n) { bytes_.resize(n); }

 private:
  std::vector<unsigned char> bytes_;
};

std::string spki_der(EVP_PKEY* key) {
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key, &p);
  return der;
}

// The algorithm of a key, or a message naming what it is instead.
Result<KeyAlgorithm> classify(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         &len) != 1) {
        return denied("unsupported key type: EC key without a named curve");
      }
      std::string_view g(group, len);
      if (g == "prime256v1" || g == "P-256") return KeyAlgorithm::ecdsa_p256;
      if (g == "secp384r1" || g == "P-384") return KeyAlgorithm::ecdsa_p384;
      return denied(fmt::format(
          "unsupported key type: ECDSA curve {} (supported: ECDSA P-256, ECDSA P-384, Ed25519)",
          g));
    }
    case EVP_PKEY_ED25519:
      return KeyAlgorithm::ed25519;
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      return denied(
          fmt::format("unsupported key type: RSA-{} (supported: ECDSA P-256, ECDSA P-384, Ed25519)",
                      EVP_PKEY_get_bits(key)));
    default: {
      const char* name = EVP_PKEY_get0_type_name(key);
      return denied(
          fmt::format("unsupported key type: {} (supported: ECDSA P-256, ECDSA P-384, Ed25519)",
                      name ? name : "unknown"));
    }
  }
}

bool verify_with(EVP_PKEY* key, const EVP_MD* md, std::string_view data,
                 std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1;
}

// A uint64 JSON member, or nullopt.
std::optional<uint64_t> get_uint(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  if (it->value().is_uint64()) return it->value().get_uint64();
  if (it->value().is_int64() && it->value().get_int64() >= 0) {
    return static_cast<uint64_t>(it->value().get_int64());
  }
  return std::nullopt;
}

const json::object* get_object(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? &it->value().get_object() : nullptr;
}

std::optional<std::string_view> get_string(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  const auto& s = it->value().get_string();
  return std::string_view(s.data(), s.size());
}

// A binary member: standard base64 as Go's encoding/json writes []byte.
Result<std::string> get_bytes(const json::object& o, std::string_view key, std::string_view where) {
  auto text = get_string(o, key);
  if (!text) return denied(fmt::format("encrypted key: {} is missing", where));
  auto bytes = detail::base64_decode(*text);
  if (!bytes) return denied(fmt::format("encrypted key: {} is not valid base64", where));
  return std::move(*bytes);
}

bool is_power_of_two(uint64_t n) { return n >= 2 && (n & (n - 1)) == 0; }

struct ScryptParams {
  uint64_t n, r, p;
};

Result<ScryptParams> check_scrypt(uint64_t n, uint64_t r, uint64_t p) {
  if (!is_power_of_two(n))
    return denied(fmt::format("encrypted key: scrypt N={} is not a power of two", n));
  if (r < 1 || p < 1) return denied("encrypted key: scrypt r and p must be at least 1");
  if (n > kMaxScryptN || r > kMaxScryptR || p > kMaxScryptP || n * r * 128 > kMaxScryptMemory ||
      n * r * p * 128 > kMaxScryptWork) {
    return denied(
        fmt::format("encrypted key: scrypt parameters N={} r={} p={} exceed the limits (N <= 2^20, "
                    "r <= 32, p <= 16, "
                    "memory <= 256 MiB)",
                    n, r, p));
  }
  return ScryptParams{n, r, p};
}

Result<void> derive_key(std::string_view password, std::string_view salt,
                        const ScryptParams& params, Secret& key) {
  ensure_sodium();
  if (crypto_pwhash_scryptsalsa208sha256_ll(
          reinterpret_cast<const uint8_t*>(password.data()), password.size(),
          reinterpret_cast<const uint8_t*>(salt.data()), salt.size(), params.n,
          static_cast<uint32_t>(params.r), static_cast<uint32_t>(params.p), key.data(),
          key.size()) != 0) {
    return make_error(Errc::internal, "scrypt key derivation failed (out of memory?)");
  }
  return {};
}

}  // namespace

std::string_view algorithm_name(KeyAlgorithm a) {
  switch (a) {
    case KeyAlgorithm::ecdsa_p256:
      return "ecdsa-p256";
    case KeyAlgorithm::ecdsa_p384:
      return "ecdsa-p384";
    case KeyAlgorithm::ed25519:
      return "ed25519";
  }
  return "unknown";
}

// ---------------------------------------------------------------- PublicKey

PublicKey::PublicKey(std::shared_ptr<EVP_PKEY> key, KeyAlgorithm algorithm)
    : key_(std::move(key)), algorithm_(algorithm) {
  fingerprint_ =
      "sha256:" + crypto::hex_digest(crypto::HashAlgorithm::sha256, spki_der(key_.get()));
}

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return denied("public key PEM exceeds 64 KiB");
  auto block = detail::pem_decode(pem);
  if (!block) return block.error();
  if (block->label != kPublicLabel) {
    return denied(fmt::format("expected a PUBLIC KEY PEM block, not {}", block->label));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(block->der.data());
  const auto* end = p + block->der.size();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(block->der.size()));
  if (raw == nullptr) return denied("malformed PEM: not a SubjectPublicKeyInfo");
  auto key = own(raw);
  if (p != end) return denied("malformed PEM: trailing bytes after the public key");
  auto algorithm = classify(key.get());
  if (!algorithm) return algorithm.error();
  return PublicKey(std::move(key), *algorithm);
}

std::string PublicKey::pem() const {
  return detail::pem_encode(kPublicLabel, spki_der(key_.get()));
}

bool PublicKey::verify(std::string_view data, std::string_view signature) const {
  if (signature.empty() || signature.size() > kMaxSignatureBytes) return false;
  switch (algorithm_) {
    case KeyAlgorithm::ecdsa_p256:
      return verify_with(key_.get(), EVP_sha256(), data, signature);
    case KeyAlgorithm::ecdsa_p384:
      // cosign 2.x and containers/image hash with SHA-256 for every curve;
      // SHA-384 is P-384's own default in sigstore's newer signers.
      return verify_with(key_.get(), EVP_sha256(), data, signature) ||
             verify_with(key_.get(), EVP_sha384(), data, signature);
    case KeyAlgorithm::ed25519:
      return signature.size() == 64 && verify_with(key_.get(), nullptr, data, signature);
  }
  return false;
}

// ---------------------------------------------------------------- PrivateKey

PrivateKey::PrivateKey(std::shared_ptr<EVP_PKEY> key, PublicKey pub)
    : key_(std::move(key)), public_(std::move(pub)) {}

namespace {

// The public half as its own EVP_PKEY, so that a PublicKey never holds the
// private scalar.
Result<PublicKey> public_of(EVP_PKEY* key) {
  std::string der = spki_der(key);
  if (der.empty()) return make_error(Errc::internal, "cannot extract the public key");
  return PublicKey::from_pem(detail::pem_encode(kPublicLabel, der));
}

}  // namespace

PrivateKey PrivateKey::generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (raw == nullptr) throw std::runtime_error("OpenSSL cannot generate an ECDSA P-256 key");
  auto key = own(raw);
  auto pub = public_of(key.get());
  if (!pub) throw std::runtime_error(pub.error().message);
  return PrivateKey(std::move(key), std::move(*pub));
}

Result<PrivateKey> PrivateKey::from_encrypted_pem(std::string_view pem, std::string_view password) {
  if (pem.size() > kMaxPemBytes) return denied("private key PEM exceeds 64 KiB");
  auto block = detail::pem_decode(pem);
  if (!block) return block.error();
  if (block->label != kSigstoreLabel && block->label != kCosignLabel) {
    return denied(fmt::format("unsupported PEM block {} (expected {} or {})", block->label,
                              kSigstoreLabel, kCosignLabel));
  }

  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 8;
  json::value root =
      json::parse(json::string_view(block->der.data(), block->der.size()), ec, {}, opts);
  if (ec || !root.is_object()) return denied("encrypted key: not a JSON object");
  const auto& o = root.get_object();
  const json::object* kdf = get_object(o, "kdf");
  const json::object* cipher = get_object(o, "cipher");
  if (kdf == nullptr || cipher == nullptr)
    return denied("encrypted key: kdf and cipher objects are required");
  if (get_string(*kdf, "name") != std::optional<std::string_view>("scrypt")) {
    return denied("encrypted key: unsupported kdf (expected scrypt)");
  }
  if (get_string(*cipher, "name") != std::optional<std::string_view>("nacl/secretbox")) {
    return denied("encrypted key: unsupported cipher (expected nacl/secretbox)");
  }
  const json::object* params = get_object(*kdf, "params");
  if (params == nullptr) return denied("encrypted key: kdf.params is missing");
  auto n = get_uint(*params, "N");
  auto r = get_uint(*params, "r");
  auto p = get_uint(*params, "p");
  if (!n || !r || !p)
    return denied("encrypted key: scrypt N, r and p must be non-negative integers");
  auto scrypt = check_scrypt(*n, *r, *p);
  if (!scrypt) return scrypt.error();
  auto salt = get_bytes(*kdf, "salt", "kdf.salt");
  if (!salt) return salt.error();
  if (salt->empty() || salt->size() > kMaxSaltBytes)
    return denied("encrypted key: bad salt length");
  auto nonce = get_bytes(*cipher, "nonce", "cipher.nonce");
  if (!nonce) return nonce.error();
  if (nonce->size() != crypto_secretbox_NONCEBYTES) {
    return denied(
        fmt::format("encrypted key: nonce must be {} bytes", crypto_secretbox_NONCEBYTES));
  }
  auto ciphertext = get_bytes(o, "ciphertext", "ciphertext");
  if (!ciphertext) return ciphertext.error();
  if (ciphertext->size() <= crypto_secretbox_MACBYTES)
    return denied("encrypted key: ciphertext is too short");

  Secret key(kKeyBytes);
  if (auto d = derive_key(password, *salt, *scrypt, key); !d) return d.error();
  Secret der(ciphertext->size() - crypto_secretbox_MACBYTES);
  if (crypto_secretbox_open_easy(
          der.data(), reinterpret_cast<const unsigned char*>(ciphertext->data()),
          ciphertext->size(), reinterpret_cast<const unsigned char*>(nonce->data()),
          key.data()) != 0) {
    return denied("wrong password or corrupted key");
  }

  const unsigned char* q = der.data();
  PKCS8_PRIV_KEY_INFO* info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &q, static_cast<long>(der.size()));
  if (info == nullptr) return denied("encrypted key: decrypted data is not a PKCS#8 private key");
  bool trailing = q != der.data() + der.size();
  EVP_PKEY* raw = EVP_PKCS82PKEY(info);
  PKCS8_PRIV_KEY_INFO_free(info);
  if (raw == nullptr) return denied("encrypted key: decrypted data is not a PKCS#8 private key");
  auto pkey = own(raw);
  if (trailing) return denied("encrypted key: trailing bytes after the PKCS#8 private key");
  auto algorithm = classify(pkey.get());
  if (!algorithm) return algorithm.error();
  if (*algorithm != KeyAlgorithm::ecdsa_p256) {
    return denied(fmt::format("unsupported key type: {} private key (only ECDSA P-256 keys sign)",
                              algorithm_name(*algorithm)));
  }
  auto pub = public_of(pkey.get());
  if (!pub) return pub.error();
  return PrivateKey(std::move(pkey), std::move(*pub));
}

Result<std::string> PrivateKey::to_encrypted_pem(std::string_view password, ScryptCost cost) const {
  bool readable_by_cosign =
      (cost.n == 32768 || cost.n == 65536 || cost.n == 131072) && cost.r == 8 && cost.p == 1;
  if (!readable_by_cosign) {
    return denied(
        fmt::format("scrypt cost N={} r={} p={} cannot be read by cosign "
                    "(N must be 32768, 65536 or 131072 with r=8, p=1)",
                    cost.n, cost.r, cost.p));
  }
  ensure_sodium();

  PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(key_.get());
  if (info == nullptr) return make_error(Errc::internal, "cannot encode the private key as PKCS#8");
  int len = i2d_PKCS8_PRIV_KEY_INFO(info, nullptr);
  Secret der(len > 0 ? static_cast<std::size_t>(len) : 0);
  unsigned char* w = der.data();
  if (len <= 0 || i2d_PKCS8_PRIV_KEY_INFO(info, &w) != len) {
    PKCS8_PRIV_KEY_INFO_free(info);
    return make_error(Errc::internal, "cannot encode the private key as PKCS#8");
  }
  PKCS8_PRIV_KEY_INFO_free(info);

  std::string salt(kSaltBytes, '\0');
  std::string nonce(crypto_secretbox_NONCEBYTES, '\0');
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  Secret key(kKeyBytes);
  if (auto d = derive_key(password, salt, ScryptParams{cost.n, cost.r, cost.p}, key); !d)
    return d.error();
  std::string ciphertext(der.size() + crypto_secretbox_MACBYTES, '\0');
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(ciphertext.data()), der.data(), der.size(),
                        reinterpret_cast<const unsigned char*>(nonce.data()), key.data());

  // Field order and encoding as go-securesystemslib's encrypted.Encrypt.
  std::string body =
      fmt::format(R"({{"kdf":{{"name":"scrypt","params":{{"N":{},"r":{},"p":{}}},"salt":"{}"}},)"
                  R"("cipher":{{"name":"nacl/secretbox","nonce":"{}"}},"ciphertext":"{}"}})",
                  cost.n, cost.r, cost.p, detail::base64_encode(salt), detail::base64_encode(nonce),
                  detail::base64_encode(ciphertext));
  return detail::pem_encode(kSigstoreLabel, body);
}

Result<std::string> PrivateKey::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1) {
    return make_error(Errc::internal, "cannot initialise ECDSA signing");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    return make_error(Errc::internal, "ECDSA signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1) {
    return make_error(Errc::internal, "ECDSA signing failed");
  }
  sig.resize(len);
  return sig;
}

}  // namespace portcullis::trust
