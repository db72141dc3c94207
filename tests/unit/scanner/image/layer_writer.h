// Builds real layer tars (plain, gzip, zstd) and zip archives with libarchive's
// writer, for tests. Paths are written exactly as given, hostile ones included.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "oci/digest.h"
#include "scanner/image/image_scan.h"

namespace portcullis::scanner::image::testing {

enum class Compression { none, gzip, zstd };

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, std::string_view data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

class ArchiveWriter {
 public:
  void file(const std::string& path, std::string_view data, unsigned mode = 0644) {
    archive_entry* e = new_entry(path, AE_IFREG, mode);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    write_header(e);
    if (!data.empty()) write_data(data.data(), data.size());
  }
  // A file of `size` zero bytes, written in chunks (never held in memory).
  void zeros(const std::string& path, uint64_t size, unsigned mode = 0644) {
    archive_entry* e = new_entry(path, AE_IFREG, mode);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    write_header(e);
    std::vector<char> chunk(1 << 20, '\0');
    while (size > 0) {
      std::size_t n = size < chunk.size() ? static_cast<std::size_t>(size) : chunk.size();
      write_data(chunk.data(), n);
      size -= n;
    }
  }
  void dir(const std::string& path, unsigned mode = 0755) {
    archive_entry* e = new_entry(path, AE_IFDIR, mode);
    write_header(e);
  }
  void symlink(const std::string& path, const std::string& target) {
    archive_entry* e = new_entry(path, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target.c_str());
    write_header(e);
  }
  void hardlink(const std::string& path, const std::string& target) {
    archive_entry* e = new_entry(path, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    write_header(e);
  }
  void close() {
    if (a_ == nullptr) return;
    if (archive_write_close(a_) != ARCHIVE_OK) fail("close");
    archive_write_free(a_);
    a_ = nullptr;
  }
  ~ArchiveWriter() {
    if (a_ != nullptr) archive_write_free(a_);
    if (entry_ != nullptr) archive_entry_free(entry_);
  }

 protected:
  ArchiveWriter() : a_(archive_write_new()) {}
  void open(const std::filesystem::path& file) {
    if (archive_write_open_filename(a_, file.c_str()) != ARCHIVE_OK) fail("open");
  }
  [[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("libarchive writer ") + what + ": " +
                             (archive_error_string(a_) ? archive_error_string(a_) : "?"));
  }
  archive* a_;

 private:
  archive_entry* new_entry(const std::string& path, unsigned type, unsigned mode) {
    if (entry_ == nullptr) entry_ = archive_entry_new();
    archive_entry_clear(entry_);
    archive_entry_set_pathname(entry_, path.c_str());
    archive_entry_set_filetype(entry_, type);
    archive_entry_set_perm(entry_, mode);
    archive_entry_set_mtime(entry_, 1700000000, 0);
    return entry_;
  }
  void write_header(archive_entry* e) {
    if (archive_write_header(a_, e) != ARCHIVE_OK) fail("header");
  }
  void write_data(const char* p, std::size_t n) {
    if (archive_write_data(a_, p, n) < 0) fail("data");
  }
  archive_entry* entry_ = nullptr;
};

// A layer tar; layer() returns it with its real sha256 digest.
class LayerWriter : public ArchiveWriter {
 public:
  LayerWriter(std::filesystem::path file, Compression c, int gzip_level = 6)
      : file_(std::move(file)) {
    archive_write_set_format_pax_restricted(a_);
    if (c == Compression::gzip) {
      archive_write_add_filter_gzip(a_);
      archive_write_set_filter_option(a_, "gzip", "compression-level",
                                      std::to_string(gzip_level).c_str());
    } else if (c == Compression::zstd) {
      archive_write_add_filter_zstd(a_);
    }
    archive_write_set_bytes_in_last_block(a_, 1);
    open(file_);
  }
  Layer layer() {
    close();
    std::string bytes = read_file(file_);
    return Layer{oci::Digest::of(crypto::HashAlgorithm::sha256, bytes).str(), file_};
  }

 private:
  std::filesystem::path file_;
};

// A zip archive (jar/war/ear).
class ZipWriter : public ArchiveWriter {
 public:
  explicit ZipWriter(const std::filesystem::path& file) {
    archive_write_set_format_zip(a_);
    open(file);
  }
};

}  // namespace portcullis::scanner::image::testing
