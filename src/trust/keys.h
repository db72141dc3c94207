// Signing keys, cosign-compatible.
//
// Public keys: PEM "PUBLIC KEY" (SubjectPublicKeyInfo) for ECDSA P-256,
// ECDSA P-384 and Ed25519. Signatures are what cosign and skopeo produce:
// ECDSA as ASN.1 DER over SHA-256 of the payload (cosign 2.x and
// containers/image hash with SHA-256 whatever the curve; for P-384 a
// signature over SHA-384 is accepted too, as sigstore's per-curve default
// would make it), Ed25519 over the payload itself.
//
// Private keys (ECDSA P-256) are stored encrypted, as cosign and skopeo
// `generate-sigstore-key` write them:
//
//   -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----  (skopeo: ENCRYPTED COSIGN PRIVATE KEY)
//   base64 of JSON
//     {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<b64 32 bytes>"},
//      "cipher":{"name":"nacl/secretbox","nonce":"<b64 24 bytes>"},
//      "ciphertext":"<b64 secretbox(PKCS#8 DER)>"}
//
// with the 32-byte secretbox key = scrypt(password, salt, N, r, p) and base64
// the standard alphabet with padding. Both PEM labels are read; ENCRYPTED
// SIGSTORE PRIVATE KEY is written.
//
// Errors are Errc::denied with a message for the operator: "malformed PEM",
// "unsupported key type …", "wrong password or corrupted key", … Every
// input is bounded (PEM ≤ 64 KiB; scrypt parameters read from a file capped
// at N ≤ 2^20, r ≤ 32, p ≤ 16, N·r·128 ≤ 256 MiB of memory and N·r·p·128 ≤
// 1 GiB of work, so a hostile file cannot make the KDF allocate or spin).
//
// Thread-safety: keys are immutable after construction and may be shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "base/error.h"

namespace portcullis::trust {

enum class KeyAlgorithm { ecdsa_p256, ecdsa_p384, ed25519 };
std::string_view algorithm_name(KeyAlgorithm a);  // "ecdsa-p256", "ecdsa-p384", "ed25519"

class PublicKey {
 public:
  static Result<PublicKey> from_pem(std::string_view pem);

  std::string pem() const;  // PEM SubjectPublicKeyInfo
  KeyAlgorithm algorithm() const { return algorithm_; }
  // "sha256:<hex of SHA-256 over the DER SubjectPublicKeyInfo>": a stable id.
  const std::string& fingerprint() const { return fingerprint_; }
  // True when `signature` is a valid signature of `data` by this key.
  bool verify(std::string_view data, std::string_view signature) const;
  EVP_PKEY* native() const { return key_.get(); }

 private:
  friend class PrivateKey;
  PublicKey(std::shared_ptr<EVP_PKEY> key, KeyAlgorithm algorithm);
  std::shared_ptr<EVP_PKEY> key_;
  KeyAlgorithm algorithm_;
  std::string fingerprint_;
};

// Cost of the key-encryption KDF written by to_encrypted_pem. The default is
// what cosign 2.x and skopeo write; cosign (go-securesystemslib ≥ 0.27) reads
// only N ∈ {32768, 65536, 131072} with r = 8, p = 1, so to_encrypted_pem
// refuses anything else rather than write a key cosign cannot open.
struct ScryptCost {
  std::uint64_t n = 65536;
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};

class PrivateKey {
 public:
  // A fresh ECDSA P-256 key. Throws std::runtime_error if OpenSSL cannot make one.
  static PrivateKey generate();
  // Reads an encrypted cosign/sigstore private key (see above).
  static Result<PrivateKey> from_encrypted_pem(std::string_view pem, std::string_view password);

  // The encrypted PEM (ENCRYPTED SIGSTORE PRIVATE KEY). Errc::denied for a
  // cost cosign cannot read (see ScryptCost).
  Result<std::string> to_encrypted_pem(std::string_view password, ScryptCost cost = {}) const;
  const PublicKey& public_key() const { return public_; }
  // ECDSA P-256: DER signature over SHA-256(data).
  Result<std::string> sign(std::string_view data) const;

 private:
  PrivateKey(std::shared_ptr<EVP_PKEY> key, PublicKey pub);
  std::shared_ptr<EVP_PKEY> key_;
  PublicKey public_;
};

}  // namespace portcullis::trust
