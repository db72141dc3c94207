#include "oci/digest.h"

#include <fmt/format.h>

namespace portcullis::oci {

namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// algorithm-component ::= [a-z0-9]+ ; separator ::= [+._-]
bool valid_algorithm_grammar(std::string_view a) {
  if (a.empty()) return false;
  bool prev_sep = true;
  for (char c : a) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool sep = c == '+' || c == '.' || c == '_' || c == '-';
    if (!alnum && !sep) return false;
    if (sep && prev_sep) return false;
    prev_sep = sep;
  }
  return !prev_sep;
}

bool valid_encoded_grammar(std::string_view e) {
  if (e.empty()) return false;
  for (char c : e) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '=' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Digest::Digest(crypto::HashAlgorithm algorithm, std::string hex)
    : algorithm_(algorithm), hex_(std::move(hex)) {
  text_ = fmt::format("{}:{}", algorithm_name(), hex_);
}

std::string_view Digest::algorithm_name() const {
  return algorithm_ == crypto::HashAlgorithm::sha256 ? "sha256" : "sha512";
}

Result<Digest> Digest::parse(std::string_view text) {
  if (text.size() > 256) return make_error(Errc::digest_invalid, "digest too long");
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return make_error(Errc::digest_invalid, "digest has no algorithm prefix");
  }
  std::string_view alg = text.substr(0, colon);
  std::string_view enc = text.substr(colon + 1);
  if (!valid_algorithm_grammar(alg) || !valid_encoded_grammar(enc)) {
    return make_error(Errc::digest_invalid, "malformed digest");
  }
  crypto::HashAlgorithm algorithm;
  std::size_t want = 0;
  if (alg == "sha256") {
    algorithm = crypto::HashAlgorithm::sha256;
    want = 64;
  } else if (alg == "sha512") {
    algorithm = crypto::HashAlgorithm::sha512;
    want = 128;
  } else {
    return make_error(Errc::digest_invalid, fmt::format("unsupported digest algorithm {}", alg));
  }
  if (enc.size() != want || !is_lower_hex(enc)) {
    return make_error(Errc::digest_invalid, fmt::format("invalid {} digest encoding", alg));
  }
  return Digest(algorithm, std::string(enc));
}

Digest Digest::of(crypto::HashAlgorithm algorithm, std::string_view content) {
  return Digest(algorithm, crypto::hex_digest(algorithm, content));
}

Digest Digest::from_hex(crypto::HashAlgorithm algorithm, std::string hex) {
  return Digest(algorithm, std::move(hex));
}

}  // namespace portcullis::oci
