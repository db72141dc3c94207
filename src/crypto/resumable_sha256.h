// A SHA-256 whose running state can be saved as text and resumed in another
// process: an upload session hashed as it arrives, continued on any replica.
// Not thread-safe: one instance per stream.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::crypto {

class ResumableSha256 {
 public:
  ResumableSha256();
  ~ResumableSha256();
  ResumableSha256(const ResumableSha256&);
  ResumableSha256& operator=(const ResumableSha256&);

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex digest of everything so far; the state is left unchanged.
  std::string hex() const;
  // The state as printable text (hex of a fixed little-endian layout).
  std::string save() const;
  // nullopt when the text is not a state save() produced.
  static std::optional<ResumableSha256> restore(std::string_view saved);

 private:
  struct State;
  State* state_;
};

// HMAC-SHA256(key, data), raw 32 bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
// SHA-256 of data, raw 32 bytes.
std::string sha256_raw(std::string_view data);

}  // namespace portcullis::crypto
