// Bounded reading of an advisory file: plain or gzip (detected by its magic
// bytes, several members allowed), line by line or whole. Every bound of
// ImportLimits that concerns bytes is enforced here.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "base/error.h"
#include "scanner/advisories/database.h"

namespace portcullis::scanner::advisories {

class InputReader {
 public:
  // `label` prefixes every error message (the source name). Errors:
  // not_found, size_invalid (file over max_file_bytes), internal (cannot read).
  static Result<std::unique_ptr<InputReader>> open(const std::filesystem::path& file,
                                                   std::string label, const ImportLimits& limits);
  ~InputReader();
  InputReader(const InputReader&) = delete;
  InputReader& operator=(const InputReader&) = delete;

  // The next line, without its '\n' (or "\r\n"). False at the end of input.
  // A line longer than max_line bytes is an error (size_invalid).
  Result<bool> next_line(std::string& line, std::size_t max_line);
  // Appends the rest of the input to out; an error once out would exceed max_total.
  Result<void> read_rest(std::string& out, std::size_t max_total);

  // 1-based number of the line last returned by next_line().
  uint64_t line_number() const { return line_number_; }
  bool gzip() const { return gzip_; }
  const std::string& label() const { return label_; }

 private:
  InputReader(std::FILE* f, std::string label, const ImportLimits& limits);
  Result<void> start();
  // Appends up to `want` decompressed bytes to buf_; 0 at the end of input.
  Result<std::size_t> fill(std::size_t want);
  Result<std::size_t> read_raw();
  Error error(Errc code, const std::string& what) const;

  struct Inflater;
  std::FILE* file_;
  std::string label_;
  ImportLimits limits_;
  bool gzip_ = false;
  bool eof_ = false;             // no more raw bytes
  std::unique_ptr<Inflater> z_;  // set when gzip_
  std::string raw_;              // raw bytes read ahead (gzip input)
  std::string buf_;              // decompressed bytes not yet consumed, from pos_
  std::size_t pos_ = 0;
  uint64_t produced_ = 0;  // decompressed bytes so far
  uint64_t line_number_ = 0;
};

}  // namespace portcullis::scanner::advisories
