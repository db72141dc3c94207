// Typed access to the fields of a parsed JSON object, for the importers: a
// missing (or null) field is nullptr; a field of another type is an error that
// names it. Errors are Errc::manifest_invalid; callers add where it was.
#pragma once

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "base/error.h"

namespace portcullis::scanner::advisories {

inline Error malformed(std::string what) {
  return make_error(Errc::manifest_invalid, std::move(what));
}

Result<const boost::json::string*> get_string(const boost::json::object& o, std::string_view key);
Result<const boost::json::array*> get_array(const boost::json::object& o, std::string_view key);
Result<const boost::json::object*> get_object(const boost::json::object& o, std::string_view key);

// A string field of at most max_len bytes; "" when absent.
Result<std::string> get_text(const boost::json::object& o, std::string_view key,
                             std::size_t max_len);

// The first line of s, trimmed and cut to at most max_len bytes without
// splitting a UTF-8 sequence.
std::string first_line(std::string_view s, std::size_t max_len);

// 1-based line of byte offset `at` in text.
uint64_t line_of(std::string_view text, std::size_t at);

}  // namespace portcullis::scanner::advisories
