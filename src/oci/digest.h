// Content digests ("<algorithm>:<encoded>") as the OCI image spec defines them.
// Registered algorithms sha256 (64 hex) and sha512 (128 hex) are accepted;
// anything else, including a well-formed unknown algorithm, is digest_invalid.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "crypto/hash.h"

namespace portcullis::oci {

class Digest {
 public:
  // Validates the grammar and the algorithm's encoding (lower-case hex, right length).
  static Result<Digest> parse(std::string_view text);
  static Digest of(crypto::HashAlgorithm algorithm, std::string_view content);
  static Digest from_hex(crypto::HashAlgorithm algorithm, std::string hex);

  crypto::HashAlgorithm algorithm() const { return algorithm_; }
  std::string_view algorithm_name() const;
  const std::string& hex() const { return hex_; }
  const std::string& str() const { return text_; }

  friend bool operator==(const Digest& a, const Digest& b) { return a.text_ == b.text_; }
  friend bool operator<(const Digest& a, const Digest& b) { return a.text_ < b.text_; }

 private:
  Digest(crypto::HashAlgorithm algorithm, std::string hex);
  crypto::HashAlgorithm algorithm_;
  std::string hex_;
  std::string text_;
};

}  // namespace portcullis::oci
