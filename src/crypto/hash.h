// Streaming message digests (OpenSSL EVP). Not thread-safe: one Hasher per stream.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace portcullis::crypto {

enum class HashAlgorithm { sha256, sha512 };

class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex of the digest. The hasher must not be used afterwards.
  std::string finish_hex();
  HashAlgorithm algorithm() const { return algorithm_; }

 private:
  HashAlgorithm algorithm_;
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string hex_digest(HashAlgorithm algorithm, std::string_view data);
std::string to_hex(const unsigned char* data, std::size_t size);

// n cryptographically random bytes, hex-encoded (2n characters).
std::string random_hex(std::size_t n);

}  // namespace portcullis::crypto
