#include "scanner/advisories/json_fields.h"

#include <algorithm>

#include <fmt/format.h>

namespace portcullis::scanner::advisories {

namespace {
const boost::json::value* present(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}
}  // namespace

Result<const boost::json::string*> get_string(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = present(o, key);
  if (v == nullptr) return static_cast<const boost::json::string*>(nullptr);
  if (!v->is_string()) return malformed(fmt::format("\"{}\" is not a string", key));
  return &v->get_string();
}

Result<const boost::json::array*> get_array(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = present(o, key);
  if (v == nullptr) return static_cast<const boost::json::array*>(nullptr);
  if (!v->is_array()) return malformed(fmt::format("\"{}\" is not an array", key));
  return &v->get_array();
}

Result<const boost::json::object*> get_object(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = present(o, key);
  if (v == nullptr) return static_cast<const boost::json::object*>(nullptr);
  if (!v->is_object()) return malformed(fmt::format("\"{}\" is not an object", key));
  return &v->get_object();
}

Result<std::string> get_text(const boost::json::object& o, std::string_view key,
                             std::size_t max_len) {
  auto s = get_string(o, key);
  if (!s) return s.error();
  if (*s == nullptr) return std::string();
  if ((*s)->size() > max_len) {
    return malformed(fmt::format("\"{}\" is longer than {} bytes", key, max_len));
  }
  return std::string((*s)->data(), (*s)->size());
}

std::string first_line(std::string_view s, std::size_t max_len) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  s = s.substr(0, std::min(s.find('\n'), s.size()));
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  if (s.size() > max_len) {
    std::size_t cut = max_len;
    // Back up over UTF-8 continuation bytes so no character is split.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut);
  }
  return std::string(s);
}

uint64_t line_of(std::string_view text, std::size_t at) {
  at = std::min(at, text.size());
  return 1 + static_cast<uint64_t>(
                 std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

}  // namespace portcullis::scanner::advisories
