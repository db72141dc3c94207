#include "api/policy_gate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "oci/digest.h"
#include "oci/manifest.h"
#include "policy/lineage.h"
#include "policy/loader.h"
#include "scanner/codec.h"
#include "scanner/scan_queue.h"

namespace portcullis::api {

namespace {

namespace json = boost::json;

constexpr std::size_t kMaxManifest = 4 * 1024 * 1024;
constexpr std::size_t kMaxConfig = 8 * 1024 * 1024;
constexpr std::size_t kMaxBlobUsers = 16;

std::string key_of(std::string_view repo, std::string_view digest) {
  std::string k(repo);
  k.push_back('\0');
  k.append(digest);
  return k;
}

// RFC 3339 as written by image builders: "2023-11-14T22:13:20Z",
// fractional seconds and offsets allowed.
std::optional<int64_t> parse_created(const std::string& text) {
  if (text.size() <= 10) return std::nullopt;  // a bare date is not an RFC 3339 time
  return policy::parse_expiry(text);
}

struct ConfigFacts {
  bool known = false;
  std::map<std::string, std::string> labels;
  std::optional<int64_t> created;
  std::vector<std::string> diff_ids;
};

ConfigFacts read_config(storage::BlobStore& blobs, const oci::Descriptor& config) {
  ConfigFacts out;
  auto bytes = blobs.read_all(config.digest, kMaxConfig);
  if (!bytes) return out;
  boost::system::error_code ec;
  auto v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return out;
  out.known = true;
  const auto& o = v.as_object();
  if (auto* c = o.if_contains("created"); c && c->is_string()) {
    out.created = parse_created(std::string(c->as_string()));
  }
  if (auto* cfg = o.if_contains("config"); cfg && cfg->is_object()) {
    if (auto* l = cfg->as_object().if_contains("Labels"); l && l->is_object()) {
      for (const auto& [k, val] : l->as_object()) {
        if (val.is_string()) out.labels[std::string(k)] = std::string(val.as_string());
      }
    }
  }
  if (auto* r = o.if_contains("rootfs"); r && r->is_object()) {
    if (auto* ids = r->as_object().if_contains("diff_ids"); ids && ids->is_array()) {
      for (const auto& id : ids->as_array()) {
        if (id.is_string()) out.diff_ids.emplace_back(id.as_string());
      }
    }
  }
  return out;
}

policy::ScanFacts scan_facts(metadata::MetadataStore& meta, std::string_view digest) {
  policy::ScanFacts s;
  auto rec = meta.get_scan(digest);
  if (!rec) {
    s.state = policy::ScanState::failed;
    s.error = "scan results unavailable";
    return s;
  }
  if (!*rec) {
    s.state = policy::ScanState::missing;
    return s;
  }
  const auto& r = **rec;
  if (r.status == "queued" || r.status == "running") {
    s.state = policy::ScanState::pending;
    return s;
  }
  if (r.status != "done") {
    s.state = policy::ScanState::failed;
    s.error = r.error.empty() ? r.status : r.error;
    return s;
  }
  s.state = policy::ScanState::done;
  s.data_version = r.data_version;
  auto findings = scanner::findings_from_json(r.findings);
  auto inventory = scanner::inventory_from_json(r.inventory);
  if (!findings) {
    s.state = policy::ScanState::failed;
    s.error = "stored findings unreadable";
    return s;
  }
  for (const auto& f : *findings) {
    policy::FindingFact ff;
    ff.id = f.advisory_id;
    ff.aliases = f.aliases;
    ff.fixed_version = f.fixed_version;
    ff.severity = f.severity;
    ff.cvss = f.cvss_score;
    if (inventory && f.package_index < inventory->packages.size()) {
      const auto& p = inventory->packages[f.package_index];
      ff.package = p.name + "@" + p.version;
    } else {
      ff.package = "a package";
    }
    s.findings.push_back(std::move(ff));
  }
  return s;
}

std::string scan_version(const policy::ScanFacts& s) {
  switch (s.state) {
    case policy::ScanState::done:
      return "advisory data " + s.data_version;
    case policy::ScanState::pending:
      return "scan pending";
    case policy::ScanState::failed:
      return "scan failed";
    case policy::ScanState::missing:
      return "not scanned";
  }
  return "";
}

}  // namespace

PolicyGate::PolicyGate(storage::BlobStore& blobs, metadata::MetadataStore& meta,
                       ManifestCache& cache, SignatureGate& signatures, const Clock& clock,
                       scanner::ScanQueue* scans, std::chrono::seconds ttl)
    : blobs_(blobs),
      meta_(meta),
      cache_(cache),
      signatures_(signatures),
      clock_(clock),
      scans_(scans),
      ttl_(ttl) {}

PolicyGate::Key PolicyGate::current_key(std::string_view repo,
                                        const auth::AccessSnapshot& snapshot) const {
  return Key{cache_.generation(repo), snapshot.generation, scans_ ? scans_->generation() : 0};
}

bool PolicyGate::fresh(const Key& k, int64_t valid_until,
                       std::chrono::steady_clock::time_point until, const Key& now_key) const {
  return k.repo_generation == now_key.repo_generation &&
         k.snapshot_generation == now_key.snapshot_generation &&
         k.scan_generation == now_key.scan_generation &&
         (valid_until == 0 || clock_.unix_seconds() < valid_until) &&
         std::chrono::steady_clock::now() < until;
}

std::optional<PolicyVerdict> PolicyGate::lookup(std::string_view repo, std::string_view digest,
                                                const auth::AccessSnapshot& snapshot) {
  Key now_key = current_key(repo, snapshot);
  std::lock_guard lock(mu_);
  auto it = entries_.find(key_of(repo, digest));
  if (it == entries_.end()) return std::nullopt;
  if (!fresh(it->second.key, it->second.valid_until, it->second.until, now_key)) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.verdict;
}

PolicyVerdict PolicyGate::evaluate_bytes(std::string_view repo, std::string_view digest,
                                         std::string_view bytes, std::string_view media_type,
                                         const auth::AccessSnapshot& snapshot,
                                         const policy::Policy& pol, policy::Phase phase) {
  policy::Facts f;
  f.repository = std::string(repo);
  f.digest = std::string(digest);
  f.now = clock_.unix_seconds();
  std::vector<std::string> diff_ids;
  auto m = oci::parse_manifest(bytes, media_type);
  if (m) {
    f.is_index = m->is_index();
    f.annotations = m->annotations;
    if (!f.is_index && m->config) {
      auto c = read_config(blobs_, *m->config);
      f.config_known = c.known;
      f.labels = std::move(c.labels);
      f.created = c.created;
      diff_ids = std::move(c.diff_ids);
    }
  }
  f.lineage = policy::derive_lineage(diff_ids, f.annotations, snapshot.bases);
  if (phase == policy::Phase::pull) {
    f.scan = scan_facts(meta_, digest);
    f.verify_signatures = [&](const policy::SignatureRequirement& req) {
      trust::Rule rule;
      rule.name = "policy";
      rule.repositories = {std::string(repo)};
      rule.key_ids = req.keys;
      rule.threshold = req.threshold;
      rule.mode = trust::Mode::enforce;
      auto d = signatures_.verify(repo, digest, rule, snapshot);
      std::string msg = d.message;
      // "signature policy 'policy' requires …" reads better without the name.
      const std::string prefix = "signature policy 'policy' ";
      if (msg.starts_with(prefix)) msg = msg.substr(prefix.size());
      const std::string prefix2 = "signature policy 'policy': ";
      if (msg.starts_with(prefix2)) msg = msg.substr(prefix2.size());
      return policy::SignatureOutcome{d.satisfied, msg};
    };
  }
  PolicyVerdict v;
  v.decision = policy::evaluate(pol, f, phase);
  v.lineage = f.lineage;
  v.inputs = fmt::format("policy v{}, access generation {}, {}",
                         &pol == snapshot.registry_policy.get() ? snapshot.policy_version : 0,
                         snapshot.generation,
                         phase == policy::Phase::pull ? scan_version(f.scan) : "push");
  return v;
}

PolicyVerdict PolicyGate::evaluate(std::string_view repo, std::string_view digest,
                                   const auth::AccessSnapshot& snapshot, policy::Phase phase,
                                   const policy::Policy* candidate) {
  Key key = current_key(repo, snapshot);
  const policy::Policy& pol = candidate ? *candidate : *snapshot.registry_policy;
  PolicyVerdict v;
  auto record = meta_.get_manifest(repo, digest);
  auto parsed = oci::Digest::parse(digest);
  Result<std::string> bytes = make_error(Errc::manifest_unknown, "manifest unknown");
  if (record && *record && parsed) bytes = blobs_.read_all(*parsed, kMaxManifest);
  if (!bytes) {
    v.decision.allowed = false;
    v.decision.message = "policy: the manifest cannot be read: " + bytes.error().message;
    return v;
  }
  v = evaluate_bytes(repo, digest, *bytes, (*record)->media_type, snapshot, pol, phase);
  if (candidate) v.inputs = "candidate policy, " + v.inputs;
  if (!candidate && phase == policy::Phase::pull) {
    const auto& d = v.decision;
    metadata::PolicyVerdictRecord rec{std::string(repo),
                                      std::string(digest),
                                      d.allowed ? (d.message.empty() ? "allowed" : "warn")
                                                : (d.quarantined ? "quarantined" : "denied"),
                                      policy::summarize(d),
                                      v.inputs,
                                      clock_.unix_seconds()};
    if (auto stored = meta_.put_policy_verdict(rec); !stored) {
      spdlog::warn("policy: storing the verdict of {}@{}: {}", repo, digest,
                   stored.error().message);
    }
    std::lock_guard lock(mu_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_[key_of(repo, digest)] =
        Entry{key, v.decision.valid_until, std::chrono::steady_clock::now() + ttl_, v};
  }
  return v;
}

PolicyVerdict PolicyGate::evaluate_push(std::string_view repo, std::string_view digest,
                                        std::string_view bytes, std::string_view media_type,
                                        const auth::AccessSnapshot& snapshot) {
  return evaluate_bytes(repo, digest, bytes, media_type, snapshot, *snapshot.registry_policy,
                        policy::Phase::push);
}

std::optional<std::optional<std::string>> PolicyGate::cached_blob_refusal(
    std::string_view repo, std::string_view digest, const auth::AccessSnapshot& snapshot) {
  Key key = current_key(repo, snapshot);
  std::lock_guard lock(mu_);
  auto it = blobs_refused_.find(key_of(repo, digest));
  if (it == blobs_refused_.end() ||
      !fresh(it->second.key, it->second.valid_until, it->second.until, key)) {
    return std::nullopt;
  }
  return it->second.refusal;
}

std::optional<std::string> PolicyGate::blob_refusal(std::string_view repo, std::string_view digest,
                                                    const auth::AccessSnapshot& snapshot) {
  Key key = current_key(repo, snapshot);
  std::string k = key_of(repo, digest);
  {
    std::lock_guard lock(mu_);
    auto it = blobs_refused_.find(k);
    if (it != blobs_refused_.end()) {
      if (fresh(it->second.key, it->second.valid_until, it->second.until, key)) {
        return it->second.refusal;
      }
      blobs_refused_.erase(it);
    }
  }
  std::optional<std::string> refusal;
  int64_t valid_until = 0;
  // One more than evaluated: with more users than that, some may be served,
  // so the blob is (the manifests stay gated).
  auto users = meta_.manifests_using_blob(repo, digest, kMaxBlobUsers + 1);
  if (users && !users->empty() && users->size() <= kMaxBlobUsers) {
    bool all_refused = true;
    for (const auto& m : *users) {
      auto v = lookup(repo, m, snapshot);
      if (!v) v = evaluate(repo, m, snapshot, policy::Phase::pull);
      if (v->decision.valid_until && (valid_until == 0 || v->decision.valid_until < valid_until)) {
        valid_until = v->decision.valid_until;
      }
      if (v->decision.allowed) {
        all_refused = false;
        break;
      }
      if (!refusal)
        refusal = fmt::format("blob belongs to refused image {}: {}", m, v->decision.message);
    }
    if (!all_refused) refusal.reset();
  }
  std::lock_guard lock(mu_);
  if (blobs_refused_.size() >= kMaxEntries) blobs_refused_.clear();
  blobs_refused_[k] = BlobEntry{key, valid_until, std::chrono::steady_clock::now() + ttl_, refusal};
  return refusal;
}

bool PolicyGate::track_bases(const auth::AccessSnapshot& snapshot, std::string_view repo,
                             std::string_view tag) {
  bool any = false;
  for (const auto& b : snapshot.bases) {
    if (!repo.empty() && (b.repository != repo || b.tag != tag)) continue;
    auto current = meta_.resolve_tag(b.repository, b.tag);
    if (!current || !*current) continue;
    bool known = false;
    for (const auto& h : b.history) known |= h.digest == **current;
    if (known) continue;
    auto record = meta_.get_manifest(b.repository, **current);
    auto parsed = oci::Digest::parse(**current);
    if (!record || !*record || !parsed) continue;
    auto bytes = blobs_.read_all(*parsed, kMaxManifest);
    if (!bytes) continue;
    auto m = oci::parse_manifest(*bytes, (*record)->media_type);
    if (!m || m->is_index() || !m->config) {
      spdlog::warn("policy: approved base {} ({}:{}) is not a single image; not recorded", b.name,
                   b.repository, b.tag);
      continue;
    }
    auto c = read_config(blobs_, *m->config);
    if (!c.known || c.diff_ids.empty()) continue;
    json::array ids;
    for (const auto& id : c.diff_ids) ids.emplace_back(id);
    audit::AuditEvent e;
    e.time_ms = clock_.unix_millis();
    e.actor = "system";
    e.source_address = "local";
    e.action = "base.digest";
    e.repository = b.repository;
    e.reference = b.tag;
    e.digest = **current;
    e.result = "success";
    e.detail = fmt::format("base={} layers={}", b.name, c.diff_ids.size());
    auto added =
        meta_.add_base_digest({b.name, **current, json::serialize(ids), clock_.unix_seconds()}, e);
    if (!added) {
      spdlog::warn("policy: recording base {} digest {}: {}", b.name, **current,
                   added.error().message);
    } else if (*added) {
      spdlog::info("policy: approved base {} now includes {}", b.name, **current);
      any = true;
    }
  }
  return any;
}

}  // namespace portcullis::api
