// Byte encodings used by the token service: base64url without padding (JOSE,
// RFC 7515 section 2) and RFC 4648 base32 (libtrust key ids). Stateless and
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portcullis::auth {

std::string base64url_encode(std::string_view bytes);

// Strict: only [A-Za-z0-9_-], no padding, no whitespace, and the unused low
// bits of the last character must be zero (one encoding per byte string, so a
// token cannot be altered without changing its signed text). nullopt otherwise.
std::optional<std::string> base64url_decode(std::string_view text);

// Standard base64 with padding (HTTP Basic credentials). Strict like
// base64url_decode(); nullopt otherwise.
std::optional<std::string> base64_decode(std::string_view text);

// RFC 4648 base32 (A-Z2-7), without padding.
std::string base32_encode(std::string_view bytes);

}  // namespace portcullis::auth
