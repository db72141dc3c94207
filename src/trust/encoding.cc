#include "trust/encoding.h"

#include <array>
#include <cstdint>

#include <fmt/format.h>

namespace portcullis::trust::detail {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_reverse() {
  std::array<int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    r[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return r;
}
constexpr std::array<int8_t, 256> kReverse = make_reverse();

constexpr std::size_t kPemLine = 64;
constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";

Error malformed(std::string_view why) {
  return make_error(Errc::denied, fmt::format("malformed PEM: {}", why));
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the valid UTF-8 sequence at the start of s, or 0.
std::size_t utf8_length(std::string_view s) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = 1;
  if (text.size() >= 2 && text[text.size() - 2] == '=') pad = 2;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    std::size_t digits = last ? 4 - pad : 4;
    uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      int d = 0;
      if (k < digits) {
        d = kReverse[static_cast<unsigned char>(text[i + k])];
        if (d < 0) return std::nullopt;
      }
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out += static_cast<char>(v >> 16 & 0xFF);
    if (digits >= 3) out += static_cast<char>(v >> 8 & 0xFF);
    if (digits == 4) out += static_cast<char>(v & 0xFF);
    // One encoding per byte string: bits below the last byte must be zero.
    if (digits == 2 && (v & 0xFFFF) != 0) return std::nullopt;
    if (digits == 3 && (v & 0xFF) != 0) return std::nullopt;
  }
  return out;
}

Result<PemBlock> pem_decode(std::string_view text) {
  std::string_view s = trim(text);
  if (!s.starts_with(kBegin)) return malformed("no BEGIN line");
  std::size_t eol = s.find('\n');
  if (eol == std::string_view::npos) return malformed("no END line");
  std::string_view begin = trim(s.substr(0, eol));
  if (!begin.ends_with(kDashes) || begin.size() < kBegin.size() + kDashes.size() + 1) {
    return malformed("bad BEGIN line");
  }
  std::string_view label =
      begin.substr(kBegin.size(), begin.size() - kBegin.size() - kDashes.size());
  std::string end_line = fmt::format("{}{}{}", kEnd, label, kDashes);
  std::size_t end = s.find(end_line, eol);
  if (end == std::string_view::npos) return malformed(fmt::format("no END line for {}", label));
  if (end + end_line.size() != s.size()) return malformed("data after the END line");

  std::string body;
  std::string_view lines = s.substr(eol + 1, end - eol - 1);
  while (!lines.empty()) {
    std::size_t nl = lines.find('\n');
    std::string_view line = trim(lines.substr(0, nl));
    lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
    if (line.find(':') != std::string_view::npos) return malformed("PEM headers are not supported");
    body += line;
  }
  auto der = base64_decode(body);
  if (!der) return malformed("body is not valid base64");
  if (der->empty()) return malformed("empty body");
  return PemBlock{std::string(label), std::move(*der)};
}

std::string pem_encode(std::string_view label, std::string_view der) {
  std::string b64 = base64_encode(der);
  std::string out = fmt::format("{}{}{}\n", kBegin, label, kDashes);
  for (std::size_t i = 0; i < b64.size(); i += kPemLine) {
    out.append(b64, i, kPemLine);
    out += '\n';
  }
  out += fmt::format("{}{}{}\n", kEnd, label, kDashes);
  return out;
}

std::string json_quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    std::size_t n = utf8_length(text.substr(i));
    if (n == 0) {
      out += "\\ufffd";  // Go replaces invalid UTF-8 with U+FFFD
      ++i;
      continue;
    }
    std::string_view seq = text.substr(i, n);
    if (seq == "\xE2\x80\xA8") {
      out += "\\u2028";
    } else if (seq == "\xE2\x80\xA9") {
      out += "\\u2029";
    } else {
      out += seq;
    }
    i += n;
  }
  out += '"';
  return out;
}

}  // namespace portcullis::trust::detail
