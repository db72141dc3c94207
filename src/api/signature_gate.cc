#include "api/signature_gate.h"

#include "oci/digest.h"
#include "trust/cosign.h"

namespace portcullis::api {

namespace {
std::string key_of(std::string_view repo, std::string_view digest) {
  std::string k(repo);
  k.push_back('\0');
  k.append(digest);
  return k;
}
constexpr std::size_t kMaxSignatureManifest = 4 * 1024 * 1024;
}  // namespace

SignatureGate::SignatureGate(storage::BlobStore& blobs, metadata::MetadataStore& meta,
                             ManifestCache& cache, const Clock& clock, bool shared)
    : blobs_(blobs), meta_(meta), cache_(cache), clock_(clock), shared_(shared) {}

std::optional<trust::Decision> SignatureGate::lookup(std::string_view repo,
                                                     std::string_view digest,
                                                     int64_t snapshot_generation) {
  if (shared_) return std::nullopt;
  uint64_t repo_generation = cache_.generation(repo);
  std::lock_guard lock(mu_);
  auto it = entries_.find(key_of(repo, digest));
  if (it == entries_.end()) return std::nullopt;
  const Entry& e = it->second;
  if (e.repo_generation != repo_generation || e.snapshot_generation != snapshot_generation ||
      e.until <= std::chrono::steady_clock::now()) {
    entries_.erase(it);
    return std::nullopt;
  }
  return e.decision;
}

trust::Decision SignatureGate::verify_one(std::string_view repo, std::string_view digest,
                                          const trust::Rule& rule,
                                          const auth::AccessSnapshot& snapshot) {
  trust::VerificationResult result;
  bool present = false;
  auto image = oci::Digest::parse(digest);
  if (!image) return trust::decide(rule, result, false);
  auto sig_digest = meta_.resolve_tag(repo, trust::signature_tag(*image));
  if (!sig_digest) {
    result.problems.push_back("signature lookup failed: " + sig_digest.error().message);
  } else if (*sig_digest) {
    present = true;
    auto parsed_digest = oci::Digest::parse(**sig_digest);
    Result<std::string> bytes = make_error(Errc::internal, "bad stored digest");
    if (parsed_digest) bytes = blobs_.read_all(*parsed_digest, kMaxSignatureManifest);
    if (!bytes) {
      result.problems.push_back("signature manifest unreadable: " + bytes.error().message);
    } else {
      auto layers = trust::parse_signature_manifest(*bytes);
      if (!layers) {
        result.problems.push_back("signature manifest invalid: " + layers.error().message);
      } else {
        auto fetch = [&](const oci::Digest& d) -> Result<std::string> {
          // Only payloads that belong to this repository count.
          auto linked = meta_.linked_blob(repo, d.str());
          if (!linked) return linked.error();
          if (!*linked) return make_error(Errc::blob_unknown, "payload blob not in the repository");
          return blobs_.read_all(d, trust::kMaxPayloadBytes);
        };
        auto keys = snapshot.trust.keys_for(rule, repo, clock_.unix_seconds());
        result = trust::verify_signatures(layers->layers, fetch, keys, digest, repo);
        if (keys.empty()) {
          static const std::string kNoKeys = "no trusted key is valid for this repository";
          result.problems.insert(result.problems.begin(), kNoKeys);
        }
      }
    }
  }
  return trust::decide(rule, result, present);
}

trust::Decision SignatureGate::evaluate(std::string_view repo, std::string_view digest,
                                        const trust::Rule& rule,
                                        const auth::AccessSnapshot& snapshot) {
  uint64_t repo_generation = cache_.generation(repo);
  trust::Decision d = verify(repo, digest, rule, snapshot);
  if (shared_) return d;
  std::lock_guard lock(mu_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_[key_of(repo, digest)] =
      Entry{repo_generation, snapshot.generation, std::chrono::steady_clock::now() + kTtl, d};
  return d;
}

trust::Decision SignatureGate::verify(std::string_view repo, std::string_view digest,
                                      const trust::Rule& rule,
                                      const auth::AccessSnapshot& snapshot) {
  trust::Decision d = verify_one(repo, digest, rule, snapshot);
  if (!d.satisfied) {
    // A platform image of a satisfying index is trusted through it.
    // Bounded: a pusher must not make one pull verify without end.
    constexpr std::size_t kMaxParents = 8;
    auto parents = meta_.manifest_parents(repo, digest);
    if (parents) {
      if (parents->size() > kMaxParents) parents->resize(kMaxParents);
      for (const auto& p : *parents) {
        auto pd = verify_one(repo, p, rule, snapshot);
        if (pd.satisfied) {
          pd.message += " (through index " + p + ")";
          d = std::move(pd);
          break;
        }
      }
    }
  }
  return d;
}

}  // namespace portcullis::api
