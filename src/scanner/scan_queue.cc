#include "scanner/scan_queue.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "oci/manifest.h"
#include "oci/media_types.h"
#include "scanner/codec.h"

namespace portcullis::scanner {

namespace {

constexpr int kMaxIndexDepth = 4;

bool is_image_config(std::string_view media_type) {
  return media_type == oci::media::kOciConfig ||
         media_type == "application/vnd.docker.container.image.v1+json";
}

// Keeps layer files open while they are scanned; libarchive reads them by path.
struct OpenLayers {
  std::vector<std::unique_ptr<storage::BlobReader>> files;
  std::vector<int> spooled;  // descriptors of local copies of remote layers
  OpenLayers() = default;
  OpenLayers(const OpenLayers&) = delete;
  OpenLayers& operator=(const OpenLayers&) = delete;
  ~OpenLayers() {
    for (int fd : spooled) ::close(fd);
  }
};

// A remote layer (object store) copied to an unnamed temporary file, which
// the kernel removes when its descriptor is closed: the layer walker reads a
// layer by path, and may read it twice.
Result<int> spool(storage::BlobReader& reader, const std::string& digest) {
  auto dir = std::filesystem::temp_directory_path();
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::error("scanner: cannot create a temporary file in {}: {}", dir.string(),
                  std::strerror(errno));
    return make_error(Errc::internal, "cannot create a temporary file for a layer");
  }
  std::vector<char> buf(8 << 20);
  uint64_t offset = 0;
  while (offset < reader.size()) {
    auto n = reader.read_at(offset, buf.data(), buf.size());
    if (!n || *n == 0) {
      ::close(fd);
      return make_error(Errc::internal, "cannot read layer " + digest);
    }
    std::size_t done = 0;
    while (done < *n) {
      ssize_t w = ::write(fd, buf.data() + done, *n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        spdlog::error("scanner: write temporary copy of {}: {}", digest, std::strerror(errno));
        ::close(fd);
        return make_error(Errc::internal, "cannot write a temporary copy of layer " + digest);
      }
      done += static_cast<std::size_t>(w);
    }
    offset += *n;
  }
  return fd;
}

}  // namespace

ScanQueue::ScanQueue(QueueOptions options, storage::BlobStore& blobs,
                     metadata::ScanResults& results, advisories::AdvisoryDatabase& db,
                     const Clock& clock)
    : options_(std::move(options)), blobs_(blobs), results_(results), db_(db), clock_(clock) {}

ScanQueue::~ScanQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ScanQueue::start() {
  {
    std::lock_guard lock(mu_);
    last_data_version_ = db_.data_version();
  }
  if (auto unfinished = results_.unfinished_scans()) {
    for (const auto& d : *unfinished) enqueue(d);
  }
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.workers); ++i) {
    threads_.emplace_back([this] { worker(); });
  }
  threads_.emplace_back([this] { watcher(); });
}

void ScanQueue::enqueue(const std::string& digest) {
  {
    std::lock_guard lock(mu_);
    if (pending_.count(digest)) return;
    if (queue_.size() >= options_.max_queued) {
      spdlog::warn("scanner: queue full, not scanning {}", digest);
      return;
    }
    pending_.insert(digest);
    queue_.push_back(digest);
  }
  (void)results_.put_scan({digest, "queued", "", "", "", "", clock_.unix_seconds()});
  generation_.fetch_add(1, std::memory_order_release);
  // notify_all: the advisory watcher waits on the same condition variable,
  // and a notify_one that woke it instead of a worker would leave the digest
  // queued until the next push.
  cv_.notify_all();
}

QueueStats ScanQueue::stats() const {
  std::lock_guard lock(mu_);
  return {queue_.size(), running_, done_, failed_, seconds_, rematches_};
}

void ScanQueue::worker() {
  while (true) {
    std::string digest;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      digest = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto r = scan_now(digest);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard lock(mu_);
    --running_;
    pending_.erase(digest);
    seconds_ += secs;
    if (r && r->status == "done") {
      ++done_;
    } else {
      ++failed_;
    }
  }
}

void ScanQueue::watcher() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.rematch_interval, [&] { return stopping_; });
      if (stopping_) return;
    }
    rematch_stale();
  }
}

std::size_t ScanQueue::rematch_stale() {
  std::string version = db_.data_version();
  auto stale = results_.stale_scans(version);
  if (!stale) return 0;
  std::size_t n = 0;
  for (const auto& digest : *stale) {
    auto record = results_.get_scan(digest);
    if (!record || !*record) continue;
    auto inv = inventory_from_json((*record)->inventory);
    if (!inv) continue;
    auto findings = db_.match(*inv);
    (*record)->findings = findings_to_json(findings);
    (*record)->data_version = version;
    (*record)->updated_at = clock_.unix_seconds();
    if (results_.put_scan(**record)) ++n;
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::lock_guard lock(mu_);
  rematches_ += n;
  if (n > 0) spdlog::info("scanner: re-matched {} inventories against advisory data {}", n, version);
  last_data_version_ = version;
  return n;
}

Result<Inventory> ScanQueue::inventory_of(const oci::Digest& digest, int depth) {
  auto bytes = blobs_.read_all(digest, oci::kMaxManifestBytes);
  if (!bytes) return bytes.error();
  auto m = oci::parse_manifest(*bytes, "");
  if (!m) return m.error();
  if (m->is_index()) {
    if (depth >= kMaxIndexDepth) return make_error(Errc::manifest_invalid, "index nesting too deep");
    Inventory all;
    for (const auto& child : m->manifests) {
      if (!oci::media::is_manifest_type(child.media_type)) continue;
      // Children are pushed (and scanned) before their index: reuse what is stored.
      Result<Inventory> inv = make_error(Errc::internal, "");
      auto stored = results_.get_scan(child.digest.str());
      if (stored && *stored && (*stored)->status == "done") inv = inventory_from_json((*stored)->inventory);
      if (!inv) inv = inventory_of(child.digest, depth + 1);
      if (!inv) {
        if (inv.error().code == Errc::unsupported) continue;  // e.g. an attestation manifest
        return inv.error();
      }
      if (!all.distro) all.distro = inv->distro;
      for (auto& p : inv->packages) all.packages.push_back(std::move(p));
    }
    return all;
  }
  if (!m->config || !is_image_config(m->config->media_type)) {
    return make_error(Errc::unsupported, "not a container image (artifact)");
  }
  OpenLayers open;
  std::vector<image::Layer> layers;
  for (const auto& l : m->layers) {
    if (!l.urls.empty()) continue;  // foreign layer: not stored here
    auto f = blobs_.open(l.digest);
    if (!f) return f.error();
    int fd = (*f)->fd();
    if (fd < 0) {
      auto copy = spool(**f, l.digest.str());
      if (!copy) return copy.error();
      fd = *copy;
      open.spooled.push_back(fd);
    }
    // The descriptor stays valid while `open` lives; /proc/self/fd names it.
    layers.push_back({l.digest.str(), fmt::format("/proc/self/fd/{}", fd)});
    open.files.push_back(std::move(*f));
  }
  return image::scan_layers(layers, options_.limits);
}

Result<metadata::ScanRecord> ScanQueue::scan_now(const std::string& digest_text) {
  metadata::ScanRecord record{digest_text, "running", "", "", "", "", clock_.unix_seconds()};
  auto digest = oci::Digest::parse(digest_text);
  if (!digest) return digest.error();
  (void)results_.put_scan(record);
  generation_.fetch_add(1, std::memory_order_release);
  auto inv = inventory_of(*digest, 0);
  record.updated_at = clock_.unix_seconds();
  if (!inv) {
    record.status = inv.error().code == Errc::unsupported ? "unsupported" : "failed";
    record.error = inv.error().message;
    spdlog::warn("scanner: {}: {}", digest_text, record.error);
  } else {
    record.data_version = db_.data_version();
    record.inventory = inventory_to_json(*inv);
    record.findings = findings_to_json(db_.match(*inv));
    record.status = "done";
  }
  auto stored = results_.put_scan(record);
  generation_.fetch_add(1, std::memory_order_release);
  if (!stored) return stored.error();
  return record;
}

}  // namespace portcullis::scanner
