// Internal: byte encodings of the cosign formats (standard base64, PEM, Go's
// JSON string quoting). Stateless and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace portcullis::trust::detail {

// RFC 4648 base64 with padding, as Go's base64.StdEncoding writes it.
std::string base64_encode(std::string_view bytes);

// Strict: only [A-Za-z0-9+/], padding to a multiple of 4, unused low bits of
// the last digit zero; no whitespace. nullopt otherwise.
std::optional<std::string> base64_decode(std::string_view text);

struct PemBlock {
  std::string label;  // "PUBLIC KEY", "ENCRYPTED SIGSTORE PRIVATE KEY", …
  std::string der;    // the decoded body
};

// Exactly one PEM block (surrounding whitespace allowed, nothing else; no
// RFC 1421 headers). Errc::denied "malformed PEM: …" otherwise.
Result<PemBlock> pem_decode(std::string_view text);

// "-----BEGIN <label>-----\n", base64 in 64-character lines, "-----END <label>-----\n".
std::string pem_encode(std::string_view label, std::string_view der);

// A JSON string literal as Go's encoding/json writes it: ", \ and control
// characters escaped, and <, >, &, U+2028, U+2029 as \u escapes.
std::string json_quote(std::string_view text);

}  // namespace portcullis::trust::detail
