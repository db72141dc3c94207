#include "maintenance/fsck.h"

#include <set>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "crypto/hash.h"

namespace portcullis::maintenance {

namespace {

// True when the blob's bytes hash to its digest.
Result<bool> digest_matches(storage::BlobStore& blobs, const oci::Digest& digest) {
  auto file = blobs.open(digest);
  if (!file) return file.error();
  crypto::Hasher hasher(digest.algorithm());
  std::vector<char> buf(1 << 20);
  uint64_t offset = 0;
  for (;;) {
    auto n = (*file)->read_at(offset, buf.data(), buf.size());
    if (!n) return make_error(Errc::internal, "read failed for " + digest.str());
    if (*n == 0) break;
    hasher.update(buf.data(), *n);
    offset += *n;
  }
  return hasher.finish_hex() == digest.hex();
}

}  // namespace

Result<FsckReport> fsck(storage::BlobStore& blobs, metadata::MetadataStore& meta,
                        const Clock& clock, const FsckOptions& options) {
  FsckReport report;
  // The references are read first: a blob linked after this read looks like
  // an orphan, which the grace period covers.
  auto refs = meta.blob_references();
  if (!refs) return refs.error();
  report.references = refs->size();
  std::unordered_set<std::string> referenced;
  for (const auto& [repo, digest] : *refs) referenced.insert(digest);

  std::set<std::string> stored;
  std::vector<std::pair<oci::Digest, uint64_t>> orphans;
  const int64_t now = clock.unix_seconds();
  Result<void> walk = blobs.list_blobs([&](const oci::Digest& d, uint64_t size, int64_t mtime) {
    ++report.blobs;
    report.bytes += size;
    stored.insert(d.str());
    if (options.verify_digests) {
      auto ok = digest_matches(blobs, d);
      if (!ok) {
        spdlog::warn("fsck: cannot read {}: {}", d.str(), ok.error().message);
      } else if (!*ok) {
        report.corrupt.push_back(d.str());
      }
    }
    if (!referenced.count(d.str()) && now - mtime >= options.orphan_grace.count()) {
      report.orphans.push_back(d.str());
      orphans.emplace_back(d, size);
    }
    return true;
  });
  if (!walk) return walk.error();

  for (const auto& [repo, digest] : *refs) {
    if (stored.count(digest)) continue;
    // Stored after the walk passed its directory? Ask once more.
    auto parsed = oci::Digest::parse(digest);
    if (parsed && blobs.stat(*parsed)) continue;
    report.missing.push_back(repo + "@" + digest);
  }

  if (options.repair) {
    // Re-read the references: anything linked since the first read stays.
    auto again = meta.blob_references();
    if (!again) return again.error();
    std::unordered_set<std::string> now_referenced;
    for (const auto& [repo, digest] : *again) now_referenced.insert(digest);
    for (const auto& [d, size] : orphans) {
      if (now_referenced.count(d.str())) continue;
      if (auto r = blobs.remove(d); !r) {
        spdlog::warn("fsck: cannot remove orphan {}: {}", d.str(), r.error().message);
        continue;
      }
      ++report.removed;
      report.removed_bytes += size;
    }
  }
  return report;
}

}  // namespace portcullis::maintenance
