#include "scanner/advisories/input.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace portcullis::scanner::advisories {

namespace {
constexpr std::size_t kChunk = 64 * 1024;
}  // namespace

struct InputReader::Inflater {
  z_stream zs{};
  bool initialized = false;
  bool member_done = false;  // Z_STREAM_END seen for the current gzip member
  ~Inflater() {
    if (initialized) inflateEnd(&zs);
  }
};

InputReader::InputReader(std::FILE* f, std::string label, const ImportLimits& limits)
    : file_(f), label_(std::move(label)), limits_(limits) {}

InputReader::~InputReader() {
  if (file_ != nullptr) std::fclose(file_);
}

Error InputReader::error(Errc code, const std::string& what) const {
  return make_error(code, fmt::format("{}: {}", label_, what));
}

Result<std::unique_ptr<InputReader>> InputReader::open(const std::filesystem::path& file,
                                                       std::string label,
                                                       const ImportLimits& limits) {
  std::error_code ec;
  auto status = std::filesystem::status(file, ec);
  if (ec || !std::filesystem::exists(status)) {
    return make_error(Errc::not_found, fmt::format("{}: no such file", label));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return make_error(Errc::not_found, fmt::format("{}: not a regular file", label));
  }
  uint64_t size = std::filesystem::file_size(file, ec);
  if (ec)
    return make_error(Errc::internal, fmt::format("{}: cannot stat: {}", label, ec.message()));
  if (size > limits.max_file_bytes) {
    return make_error(Errc::size_invalid, fmt::format("{}: file is {} bytes, over the limit of {}",
                                                      label, size, limits.max_file_bytes));
  }
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) {
    return make_error(Errc::internal,
                      fmt::format("{}: cannot open: {}", label, std::strerror(errno)));
  }
  std::unique_ptr<InputReader> reader(new InputReader(f, std::move(label), limits));
  if (auto r = reader->start(); !r) return r.error();
  return reader;
}

Result<std::size_t> InputReader::read_raw() {
  if (eof_) return std::size_t{0};
  std::size_t old = raw_.size();
  raw_.resize(old + kChunk);
  std::size_t n = std::fread(raw_.data() + old, 1, kChunk, file_);
  raw_.resize(old + n);
  if (n < kChunk) {
    if (std::ferror(file_)) return error(Errc::internal, "read error");
    eof_ = true;
  }
  return n;
}

Result<void> InputReader::start() {
  // Two bytes decide: the gzip magic, or plain content.
  while (raw_.size() < 2 && !eof_) {
    if (auto r = read_raw(); !r) return r.error();
  }
  if (raw_.size() >= 2 && static_cast<unsigned char>(raw_[0]) == 0x1f &&
      static_cast<unsigned char>(raw_[1]) == 0x8b) {
    gzip_ = true;
    z_ = std::make_unique<Inflater>();
    // 16 + MAX_WBITS: gzip wrapper only, so zlib checks the CRC and length.
    if (inflateInit2(&z_->zs, 16 + MAX_WBITS) != Z_OK) {
      return error(Errc::internal, "cannot initialise zlib");
    }
    z_->initialized = true;
    return {};
  }
  produced_ = raw_.size();
  buf_ = std::move(raw_);
  raw_.clear();
  return {};
}

Result<std::size_t> InputReader::fill(std::size_t want) {
  if (!gzip_) {
    if (eof_) return std::size_t{0};
    std::size_t old = buf_.size();
    buf_.resize(old + want);
    std::size_t n = std::fread(buf_.data() + old, 1, want, file_);
    buf_.resize(old + n);
    if (n < want) {
      if (std::ferror(file_)) return error(Errc::internal, "read error");
      eof_ = true;
    }
    produced_ += n;
    if (produced_ > limits_.max_decompressed_bytes) {
      return error(Errc::size_invalid, fmt::format("content over the limit of {} bytes",
                                                   limits_.max_decompressed_bytes));
    }
    return n;
  }

  z_stream& zs = z_->zs;
  for (;;) {
    if (z_->member_done) {
      // Another gzip member may follow (as `cat a.gz b.gz` makes); nothing else may.
      while (raw_.size() < 2 && !eof_) {
        if (auto r = read_raw(); !r) return r.error();
      }
      if (raw_.empty()) return std::size_t{0};
      if (raw_.size() < 2 || static_cast<unsigned char>(raw_[0]) != 0x1f ||
          static_cast<unsigned char>(raw_[1]) != 0x8b) {
        return error(Errc::manifest_invalid, "trailing data after the gzip stream");
      }
      if (inflateReset(&zs) != Z_OK) return error(Errc::internal, "zlib reset failed");
      z_->member_done = false;
    }
    if (raw_.empty() && !eof_) {
      if (auto r = read_raw(); !r) return r.error();
    }
    std::size_t old = buf_.size();
    buf_.resize(old + want);
    zs.next_in = reinterpret_cast<Bytef*>(raw_.data());
    zs.avail_in = static_cast<uInt>(raw_.size());
    zs.next_out = reinterpret_cast<Bytef*>(buf_.data() + old);
    zs.avail_out = static_cast<uInt>(want);
    int rc = inflate(&zs, Z_NO_FLUSH);
    std::size_t consumed = raw_.size() - zs.avail_in;
    std::size_t n = want - zs.avail_out;
    raw_.erase(0, consumed);
    buf_.resize(old + n);
    produced_ += n;
    if (produced_ > limits_.max_decompressed_bytes) {
      return error(Errc::size_invalid,
                   fmt::format("decompressed content over the limit of {} bytes",
                               limits_.max_decompressed_bytes));
    }
    if (rc == Z_STREAM_END) {
      z_->member_done = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return error(Errc::manifest_invalid, fmt::format("corrupt gzip data ({})",
                                                       zs.msg != nullptr ? zs.msg : "zlib error"));
    }
    if (n > 0) return n;
    if (z_->member_done) continue;
    if (consumed == 0) {
      // No progress: zlib needs more input than there is.
      if (eof_ && raw_.empty()) return error(Errc::manifest_invalid, "truncated gzip data");
      if (eof_) return error(Errc::manifest_invalid, "corrupt gzip data");
      if (auto r = read_raw(); !r) return r.error();
    } else if (raw_.empty() && eof_) {
      return error(Errc::manifest_invalid, "truncated gzip data");
    }
  }
}

Result<bool> InputReader::next_line(std::string& line, std::size_t max_line) {
  std::size_t scan = pos_;
  for (;;) {
    std::size_t nl = buf_.find('\n', scan);
    if (nl != std::string::npos) {
      std::size_t len = nl - pos_;
      if (len > max_line) {
        return error(Errc::size_invalid, fmt::format("line {}: longer than the limit of {} bytes",
                                                     line_number_ + 1, max_line));
      }
      if (len > 0 && buf_[nl - 1] == '\r') --len;
      line.assign(buf_, pos_, len);
      pos_ = nl + 1;
      ++line_number_;
      return true;
    }
    if (buf_.size() - pos_ > max_line) {
      return error(Errc::size_invalid, fmt::format("line {}: longer than the limit of {} bytes",
                                                   line_number_ + 1, max_line));
    }
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    scan = buf_.size();
    auto n = fill(kChunk);
    if (!n) return n.error();
    if (*n == 0) {
      if (pos_ < buf_.size()) {
        line.assign(buf_, pos_, buf_.size() - pos_);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pos_ = buf_.size();
        ++line_number_;
        return true;
      }
      return false;
    }
  }
}

Result<void> InputReader::read_rest(std::string& out, std::size_t max_total) {
  for (;;) {
    std::size_t avail = buf_.size() - pos_;
    if (out.size() + avail > max_total) {
      return error(Errc::size_invalid,
                   fmt::format("document over the limit of {} bytes", max_total));
    }
    out.append(buf_, pos_, avail);
    buf_.clear();
    pos_ = 0;
    auto n = fill(std::max<std::size_t>(kChunk, out.size() / 8));
    if (!n) return n.error();
    if (*n == 0) return {};
  }
}

}  // namespace portcullis::scanner::advisories
