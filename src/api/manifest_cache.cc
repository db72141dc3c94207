#include "api/manifest_cache.h"

#include <mutex>

namespace portcullis::api {

std::shared_ptr<const CachedManifest> ManifestCache::get(std::string_view repo,
                                                         std::string_view ref) const {
  std::shared_lock lock(mu_);
  auto r = repos_.find(repo);
  if (r == repos_.end()) return nullptr;
  auto it = r->second.refs.find(ref);
  return it == r->second.refs.end() ? nullptr : it->second;
}

uint64_t ManifestCache::generation(std::string_view repo) const {
  std::shared_lock lock(mu_);
  auto r = repos_.find(repo);
  return r == repos_.end() ? 0 : r->second.generation;
}

void ManifestCache::put(std::string_view repo, std::string_view ref,
                        std::shared_ptr<const CachedManifest> m, uint64_t seen_generation) {
  std::size_t size = m->bytes->size() + m->headers->size() + ref.size() + 64;
  // An entry that alone exceeds the bound is never cached (and 0 disables the cache).
  if (size > max_bytes_) return;
  std::unique_lock lock(mu_);
  auto r = repos_.find(repo);
  uint64_t current = r == repos_.end() ? 0 : r->second.generation;
  if (current != seen_generation) return;
  make_room(size);
  if (r == repos_.end()) r = repos_.emplace(std::string(repo), Repo{}).first;
  auto [it, inserted] = r->second.refs.emplace(std::string(ref), std::move(m));
  if (inserted) bytes_ += size;
}

void ManifestCache::make_room(std::size_t size) {
  if (bytes_ + size <= max_bytes_) return;
  // Bounded memory: start over rather than track recency on the read path.
  // Generations survive so that in-flight readers still see writes.
  for (auto& [name, entry] : repos_) {
    entry.refs.clear();
    entry.blobs.clear();
  }
  bytes_ = 0;
}

int64_t ManifestCache::get_blob(std::string_view repo, std::string_view digest) const {
  std::shared_lock lock(mu_);
  auto r = repos_.find(repo);
  if (r == repos_.end()) return -1;
  auto it = r->second.blobs.find(digest);
  return it == r->second.blobs.end() ? -1 : it->second;
}

void ManifestCache::put_blob(std::string_view repo, std::string_view digest, int64_t size,
                             uint64_t seen_generation) {
  if (kBlobEntryBytes > max_bytes_) return;
  std::unique_lock lock(mu_);
  auto r = repos_.find(repo);
  uint64_t current = r == repos_.end() ? 0 : r->second.generation;
  if (current != seen_generation) return;
  make_room(kBlobEntryBytes);
  if (r == repos_.end()) r = repos_.emplace(std::string(repo), Repo{}).first;
  if (r->second.blobs.emplace(std::string(digest), size).second) bytes_ += kBlobEntryBytes;
}

void ManifestCache::invalidate(std::string_view repo) {
  std::unique_lock lock(mu_);
  auto r = repos_.find(repo);
  if (r == repos_.end()) {
    Repo fresh;
    fresh.generation = 1;
    repos_.emplace(std::string(repo), std::move(fresh));
    return;
  }
  for (auto& [ref, m] : r->second.refs) bytes_ -= m->bytes->size() + m->headers->size() + ref.size() + 64;
  bytes_ -= r->second.blobs.size() * kBlobEntryBytes;
  r->second.refs.clear();
  r->second.blobs.clear();
  ++r->second.generation;
}

}  // namespace portcullis::api
