// OpenSSL 3's EVP contexts cannot be serialised, so the running state uses the
// (deprecated, still shipped) low-level SHA256_CTX, whose fields are plain
// integers: they are written out field by field in a fixed order.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "crypto/resumable_sha256.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "crypto/hash.h"

namespace portcullis::crypto {

struct ResumableSha256::State {
  SHA256_CTX ctx;
};

ResumableSha256::ResumableSha256() : state_(new State) {
  if (SHA256_Init(&state_->ctx) != 1) throw std::runtime_error("SHA256_Init failed");
}
ResumableSha256::~ResumableSha256() { delete state_; }
ResumableSha256::ResumableSha256(const ResumableSha256& o) : state_(new State(*o.state_)) {}
ResumableSha256& ResumableSha256::operator=(const ResumableSha256& o) {
  if (this != &o) *state_ = *o.state_;
  return *this;
}

void ResumableSha256::update(const void* data, std::size_t size) {
  if (size > 0) SHA256_Update(&state_->ctx, data, size);
}

std::string ResumableSha256::hex() const {
  SHA256_CTX copy = state_->ctx;
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256_Final(out, &copy);
  return to_hex(out, sizeof out);
}

namespace {

constexpr std::string_view kVersion = "s256v1:";
// h[8], Nl, Nh, data[16] (the pending block, kept as words), num, md_len.
constexpr std::size_t kWords = 8 + 2 + SHA_LBLOCK + 2;

void put_u32(std::string& out, uint32_t v) {
  unsigned char b[4] = {static_cast<unsigned char>(v), static_cast<unsigned char>(v >> 8),
                        static_cast<unsigned char>(v >> 16), static_cast<unsigned char>(v >> 24)};
  out += to_hex(b, 4);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string ResumableSha256::save() const {
  const SHA256_CTX& c = state_->ctx;
  std::string out(kVersion);
  for (auto h : c.h) put_u32(out, h);
  put_u32(out, c.Nl);
  put_u32(out, c.Nh);
  for (auto d : c.data) put_u32(out, d);
  put_u32(out, c.num);
  put_u32(out, c.md_len);
  return out;
}

std::optional<ResumableSha256> ResumableSha256::restore(std::string_view saved) {
  if (!saved.starts_with(kVersion)) return std::nullopt;
  saved.remove_prefix(kVersion.size());
  if (saved.size() != kWords * 8) return std::nullopt;
  uint32_t words[kWords];
  for (std::size_t i = 0; i < kWords; ++i) {
    uint32_t v = 0;
    for (int b = 0; b < 4; ++b) {
      int hi = hex_value(saved[i * 8 + b * 2]), lo = hex_value(saved[i * 8 + b * 2 + 1]);
      if (hi < 0 || lo < 0) return std::nullopt;
      v |= static_cast<uint32_t>(hi * 16 + lo) << (8 * b);
    }
    words[i] = v;
  }
  ResumableSha256 r;
  SHA256_CTX& c = r.state_->ctx;
  std::size_t i = 0;
  for (auto& h : c.h) h = words[i++];
  c.Nl = words[i++];
  c.Nh = words[i++];
  for (auto& d : c.data) d = words[i++];
  c.num = words[i++];
  c.md_len = words[i++];
  if (c.num >= SHA256_CBLOCK || c.md_len != SHA256_DIGEST_LENGTH) return std::nullopt;
  return r;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &len) == nullptr) {
    throw std::runtime_error("HMAC failed");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha256_raw(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

}  // namespace portcullis::crypto
