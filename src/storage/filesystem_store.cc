#include "storage/filesystem_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace portcullis::storage {

namespace fs = std::filesystem;

namespace {

// A blob file; owns fd.
class FileReader final : public BlobReader {
 public:
  FileReader(int fd, uint64_t size) : BlobReader(size), fd_(fd) {}
  ~FileReader() override {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const override { return fd_; }
  int release() override {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  Result<std::size_t> read_at(uint64_t offset, char* buf, std::size_t n) override {
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, buf + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        spdlog::error("storage: read blob: {}", std::strerror(errno));
        return make_error(Errc::internal, "storage I/O error");
      }
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    return got;
  }

 private:
  int fd_;
};

Error io_error(std::string_view what, const fs::path& path) {
  spdlog::error("storage: {} {}: {}", what, path.string(), std::strerror(errno));
  return make_error(Errc::internal, "storage I/O error");
}

bool valid_upload_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<void> fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open dir", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("fsync dir", dir);
  return {};
}

Result<void> write_all(int fd, const char* data, std::size_t size, const fs::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write", path);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

// Hashes a whole file with the given algorithm.
Result<std::string> hash_file(const fs::path& path, crypto::HashAlgorithm algorithm,
                              uint64_t* size_out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path);
  crypto::Hasher h(algorithm);
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return io_error("read", path);
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<std::size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  if (size_out) *size_out = total;
  return h.finish_hex();
}

}  // namespace

FilesystemBlobStore::FilesystemBlobStore(fs::path root) : root_(std::move(root)) {
  fs::create_directories(root_ / "blobs");
  fs::create_directories(root_ / "uploads");
  fs::create_directories(root_ / "tmp");
  // Staging files left by a crash were never acknowledged: drop them. Only
  // old ones: another process on the same root (a server while `portcullis
  // gc` or `fsck` starts) may be writing its own right now.
  const auto stale = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& e : fs::directory_iterator(root_ / "tmp")) {
    std::error_code ec;
    auto modified = fs::last_write_time(e.path(), ec);
    if (!ec && modified < stale) fs::remove_all(e.path(), ec);
  }
}

fs::path FilesystemBlobStore::blob_path(const oci::Digest& d) const {
  return root_ / "blobs" / std::string(d.algorithm_name()) / d.hex().substr(0, 2) / d.hex();
}

fs::path FilesystemBlobStore::upload_dir(std::string_view id) const {
  return root_ / "uploads" / std::string(id);
}

Result<void> FilesystemBlobStore::list_blobs(const BlobVisitor& each) {
  std::error_code ec;
  fs::path blobs = root_ / "blobs";
  if (!fs::exists(blobs, ec)) return {};
  // blobs/<algorithm>/<2 hex>/<hex>: anything else is a stray file.
  for (const auto& alg : fs::directory_iterator(blobs, ec)) {
    if (!alg.is_directory()) continue;
    for (const auto& prefix : fs::directory_iterator(alg.path(), ec)) {
      if (!prefix.is_directory()) continue;
      for (const auto& file : fs::directory_iterator(prefix.path(), ec)) {
        std::string name = file.path().filename().string();
        auto digest = oci::Digest::parse(alg.path().filename().string() + ":" + name);
        if (!digest || name.substr(0, 2) != prefix.path().filename().string() ||
            !file.is_regular_file()) {
          spdlog::warn("storage: stray entry in the blob store: {}", file.path().string());
          continue;
        }
        struct stat st {};
        if (::stat(file.path().c_str(), &st) != 0) continue;  // removed meanwhile
        if (!each(*digest, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime))) {
          return {};
        }
      }
      if (ec) return io_error("list", prefix.path());
    }
    if (ec) return io_error("list", alg.path());
  }
  if (ec) return io_error("list", blobs);
  return {};
}

Result<uint64_t> FilesystemBlobStore::stat(const oci::Digest& digest) {
  struct stat st {};
  if (::stat(blob_path(digest).c_str(), &st) != 0) {
    if (errno == ENOENT) return make_error(Errc::blob_unknown, "blob unknown to registry");
    return io_error("stat", blob_path(digest));
  }
  return static_cast<uint64_t>(st.st_size);
}

Result<std::unique_ptr<BlobReader>> FilesystemBlobStore::open(const oci::Digest& digest) {
  auto path = blob_path(digest);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(Errc::blob_unknown, "blob unknown to registry");
    return io_error("open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return io_error("fstat", path);
  }
  return std::make_unique<FileReader>(fd, static_cast<uint64_t>(st.st_size));
}

Result<std::string> FilesystemBlobStore::read_all(const oci::Digest& digest, std::size_t limit) {
  auto file = open(digest);
  if (!file) return file.error();
  if ((*file)->size() > limit) return make_error(Errc::size_invalid, "blob too large");
  std::string out((*file)->size(), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread((*file)->fd(), out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("read", blob_path(digest));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<void> FilesystemBlobStore::install(const fs::path& from, const oci::Digest& digest) {
  auto to = blob_path(digest);
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) return io_error("mkdir", to.parent_path());
  // Content addressing makes an existing blob identical: keep it (dedup), but
  // refresh its modification time, so that garbage collection's grace period
  // counts from this upload (the blob may be about to be referenced again).
  if (::access(to.c_str(), F_OK) == 0) {
    fs::remove(from, ec);
    ::utimensat(AT_FDCWD, to.c_str(), nullptr, 0);
    return {};
  }
  if (::rename(from.c_str(), to.c_str()) != 0) return io_error("rename", to);
  return fsync_dir(to.parent_path());
}

Result<void> FilesystemBlobStore::put(const oci::Digest& digest, std::string_view bytes) {
  if (oci::Digest::of(digest.algorithm(), bytes) != digest) {
    return make_error(Errc::digest_invalid, "content does not match digest");
  }
  if (::access(blob_path(digest).c_str(), F_OK) == 0) {
    ::utimensat(AT_FDCWD, blob_path(digest).c_str(), nullptr, 0);  // as in install()
    return {};
  }
  auto tmp = root_ / "tmp" / crypto::random_hex(16);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", tmp);
  auto written = write_all(fd, bytes.data(), bytes.size(), tmp);
  bool synced = written && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return written ? io_error("fsync", tmp) : written.error();
  }
  return install(tmp, digest);
}

Result<void> FilesystemBlobStore::remove(const oci::Digest& digest) {
  auto path = blob_path(digest);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return make_error(Errc::blob_unknown, "blob unknown to registry");
    return io_error("unlink", path);
  }
  return {};
}

Result<std::string> FilesystemBlobStore::create_upload() {
  std::string id = crypto::random_hex(16);
  auto dir = upload_dir(id);
  std::error_code ec;
  fs::create_directory(dir, ec);
  if (ec) return io_error("mkdir", dir);
  int fd = ::open((dir / "data").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", dir / "data");
  ::close(fd);
  auto synced = fsync_dir(dir);
  if (!synced) return synced.error();
  {
    std::lock_guard lock(mu_);
    sessions_[id] = std::make_unique<HashState>();
  }
  return id;
}

Result<uint64_t> FilesystemBlobStore::upload_size(std::string_view id) {
  if (!valid_upload_id(id)) return make_error(Errc::blob_upload_unknown, "upload unknown");
  struct stat st {};
  auto path = upload_dir(id) / "data";
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return make_error(Errc::blob_upload_unknown, "upload unknown");
    return io_error("stat", path);
  }
  return static_cast<uint64_t>(st.st_size);
}

bool FilesystemBlobStore::checkout(const std::string& id, std::unique_ptr<HashState>* state) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    // First use since start-up: the writer rebuilds the state from the file.
    sessions_.emplace(id, nullptr);
    *state = nullptr;
    return true;
  }
  if (!it->second) return false;
  *state = std::move(it->second);
  return true;
}

void FilesystemBlobStore::checkin(const std::string& id, std::unique_ptr<HashState> state) {
  std::lock_guard lock(mu_);
  sessions_[id] = std::move(state);
}

void FilesystemBlobStore::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  sessions_.erase(id);
}

class FilesystemBlobStore::Writer final : public UploadWriter {
 public:
  Writer(FilesystemBlobStore* store, std::string id, int fd, std::unique_ptr<HashState> state)
      : store_(store), id_(std::move(id)), fd_(fd), state_(std::move(state)), size_(state_->size) {}
  ~Writer() override {
    if (fd_ >= 0) (void)close();
  }
  Result<void> write(const char* data, std::size_t size) override {
    auto r = write_all(fd_, data, size, store_->upload_dir(id_));
    if (!r) {
      failed_ = true;
      return r;
    }
    state_->hasher.update(data, size);
    state_->size += size;
    size_ = state_->size;
    return {};
  }
  uint64_t size() const override { return size_; }
  Result<void> close() override {
    if (fd_ < 0) return {};
    bool ok = ::fdatasync(fd_) == 0;
    ::close(fd_);
    fd_ = -1;
    // After a failed write the file and the hash may disagree: drop the state
    // so the next writer rebuilds it from what is really on disk.
    if (failed_ || !ok) {
      store_->checkin(id_, nullptr);
      store_->forget(id_);
      if (!ok) return io_error("fsync", store_->upload_dir(id_));
      return {};
    }
    // A session cancelled while this writer was open must not come back.
    if (::access(store_->upload_dir(id_).c_str(), F_OK) != 0) {
      store_->forget(id_);
      return {};
    }
    store_->checkin(id_, std::move(state_));
    return {};
  }

 private:
  FilesystemBlobStore* store_;
  std::string id_;
  int fd_;
  std::unique_ptr<HashState> state_;  // null once closed
  uint64_t size_;
  bool failed_ = false;
};

Result<std::unique_ptr<UploadWriter>> FilesystemBlobStore::append(std::string_view id_view,
                                                                  uint64_t offset) {
  auto size = upload_size(id_view);
  if (!size) return size.error();
  std::string id(id_view);
  std::unique_ptr<HashState> state;
  if (!checkout(id, &state)) {
    return make_error(Errc::blob_upload_invalid, "another request is writing to this upload");
  }
  auto path = upload_dir(id) / "data";
  if (!state || state->size != *size) {
    // Rebuild the running hash from the bytes on disk (after a restart, or
    // when another replica appended).
    state = std::make_unique<HashState>();
    uint64_t hashed = 0;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      checkin(id, nullptr);
      forget(id);
      return io_error("open", path);
    }
    std::vector<char> buf(1 << 20);
    ssize_t n;
    while ((n = ::read(fd, buf.data(), buf.size())) > 0) {
      state->hasher.update(buf.data(), static_cast<std::size_t>(n));
      hashed += static_cast<uint64_t>(n);
    }
    ::close(fd);
    state->size = hashed;
  }
  if (offset != state->size) {
    uint64_t have = state->size;
    checkin(id, std::move(state));
    return make_error(Errc::range_invalid,
                      fmt::format("chunk starts at {}, upload has {} bytes", offset, have));
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    checkin(id, std::move(state));
    return io_error("open", path);
  }
  return std::unique_ptr<UploadWriter>(new Writer(this, std::move(id), fd, std::move(state)));
}

Result<uint64_t> FilesystemBlobStore::commit_upload(std::string_view id_view,
                                                    const oci::Digest& digest) {
  auto size = upload_size(id_view);
  if (!size) return size.error();
  std::string id(id_view);
  std::unique_ptr<HashState> state;
  if (!checkout(id, &state)) {
    return make_error(Errc::blob_upload_invalid, "another request is writing to this upload");
  }
  auto dir = upload_dir(id);
  auto data = dir / "data";
  std::string hex;
  if (state && state->size == *size && digest.algorithm() == crypto::HashAlgorithm::sha256) {
    hex = state->hasher.finish_hex();
  } else {
    auto h = hash_file(data, digest.algorithm(), nullptr);
    if (!h) {
      checkin(id, nullptr);
      forget(id);
      return h.error();
    }
    hex = *h;
  }
  // The session stays checked out until its file has been moved into place,
  // so that no append can slip bytes into a blob after they were verified.
  std::error_code ec;
  if (hex != digest.hex()) {
    fs::remove_all(dir, ec);
    forget(id);
    return make_error(Errc::digest_invalid, "uploaded content does not match digest");
  }
  int fd = ::open(data.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    forget(id);
    return io_error("open", data);
  }
  bool ok = ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok) {
    forget(id);
    return io_error("fsync", data);
  }
  auto installed = install(data, digest);
  if (!installed) {
    forget(id);
    return installed.error();
  }
  fs::remove_all(dir, ec);
  forget(id);
  return *size;
}

Result<void> FilesystemBlobStore::cancel_upload(std::string_view id) {
  auto size = upload_size(id);
  if (!size) return size.error();
  forget(std::string(id));
  std::error_code ec;
  fs::remove_all(upload_dir(id), ec);
  if (ec) return io_error("remove", upload_dir(id));
  return {};
}

}  // namespace portcullis::storage
