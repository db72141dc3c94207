// /v2/<name>/manifests/<reference>: GET, HEAD, PUT, DELETE.
#include <boost/json.hpp>
#include <boost/range/iterator_range.hpp>
#include <fmt/format.h>

#include "api/audit_recorder.h"
#include "api/handlers/handlers.h"
#include "api/handlers/util.h"
#include "api/policy_gate.h"
#include "api/signature_gate.h"
#include "maintenance/gc.h"
#include "auth/access_service.h"
#include "auth/immutable_tags.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/names.h"
#include "scanner/scan_queue.h"

namespace portcullis::api {

namespace {

audit::AuditEvent event(Context& ctx, const Principal& who, std::string action,
                        std::string_view repo, std::string reference, std::string digest) {
  audit::AuditEvent e;
  e.time_ms = ctx.clock.unix_millis();
  e.actor = who.actor();
  e.source_address = who.address;
  e.action = std::move(action);
  e.repository = std::string(repo);
  e.reference = std::move(reference);
  e.digest = std::move(digest);
  e.result = "success";
  return e;
}

// The immutable tag rules, checked inside the write transaction.
metadata::TagGuard tag_guard(Context& ctx, std::string_view repo, std::optional<std::string> new_digest) {
  if (!ctx.security) return {};
  auto snap = ctx.security->snapshot();
  if (!snap || (*snap)->tag_rules.rules().empty()) return {};
  return [snap = *snap, repo = std::string(repo), new_digest = std::move(new_digest)](
             std::string_view tag, std::optional<std::string_view> current) -> Result<void> {
    std::optional<std::string_view> next;
    if (new_digest) next = *new_digest;
    auto d = snap->tag_rules.decide({repo, tag, current, next});
    if (!d.allowed) return d.to_error();
    return {};
  };
}

void record_denied(Context& ctx, const Principal& who, std::string action, std::string_view repo,
                   std::string reference, std::string digest, const Error& e) {
  if (!ctx.audit || e.code != Errc::denied) return;
  auto ev = event(ctx, who, std::move(action), repo, std::move(reference), std::move(digest));
  ev.result = "denied";
  ev.detail = e.message;
  ctx.audit->record(std::move(ev));
}

// Signatures, attestations, SBOMs and other artifacts, as opposed to images:
// an image manifest none of whose layers is a filesystem layer (tar, in any
// compression). Only that makes it unrunnable: `subject` and `artifactType`
// are whatever the pusher wrote, so they never exempt an image from a
// signature policy. Indexes are always gated.
bool is_filesystem_layer(std::string_view media_type) {
  return media_type.find(".tar") != std::string_view::npos ||
         media_type.find("rootfs.diff") != std::string_view::npos;
}

bool is_artifact(std::string_view bytes, std::string_view media_type) {
  auto m = oci::parse_manifest(bytes, media_type);
  if (!m || m->is_index()) return false;
  for (const auto& l : m->layers) {
    if (is_filesystem_layer(l.media_type)) return false;
  }
  return true;
}

std::shared_ptr<const CachedManifest> make_entry(std::string digest, std::string media_type,
                                                 std::string bytes) {
  bool artifact = is_artifact(bytes, media_type);
  auto headers = std::make_shared<std::string>(fmt::format(
      "Content-Type: {}\r\nDocker-Content-Digest: {}\r\nETag: \"{}\"\r\n"
      "Docker-Distribution-API-Version: registry/2.0\r\n",
      media_type, digest, digest));
  return std::make_shared<const CachedManifest>(CachedManifest{
      std::move(digest), std::move(media_type),
      std::make_shared<const std::string>(std::move(bytes)), std::move(headers), artifact});
}

// Loads a manifest by tag or digest from the database and the blob store.
Result<std::shared_ptr<const CachedManifest>> load(Context& ctx, std::string_view repo,
                                                   const oci::ManifestRef& ref) {
  std::string digest;
  if (ref.is_digest()) {
    digest = ref.digest->str();
  } else {
    auto resolved = ctx.meta.resolve_tag(repo, ref.tag);
    if (!resolved) return resolved.error();
    if (!*resolved) return make_error(Errc::manifest_unknown, "manifest unknown");
    digest = **resolved;
  }
  auto record = ctx.meta.get_manifest(repo, digest);
  if (!record) return record.error();
  if (!*record) return make_error(Errc::manifest_unknown, "manifest unknown");
  auto parsed = oci::Digest::parse(digest);
  if (!parsed) return make_error(Errc::internal, "stored digest is invalid");
  auto bytes = ctx.blobs.read_all(*parsed, ctx.options.max_manifest_bytes);
  if (!bytes) {
    if (bytes.error().code == Errc::blob_unknown) {
      return make_error(Errc::internal, "manifest content missing from blob store");
    }
    return bytes.error();
  }
  return make_entry(std::move(digest), (*record)->media_type, std::move(*bytes));
}

bool accepts(std::string_view accept, std::string_view type) {
  if (accept.empty()) return true;
  while (!accept.empty()) {
    auto comma = accept.find(',');
    auto item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    if (auto semi = item.find(';'); semi != std::string_view::npos) item = item.substr(0, semi);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == type || item == "*/*") return true;
  }
  return false;
}

bool needs_negotiation(std::string_view accept, const CachedManifest& m) {
  bool has_accept = false;
  for (char c : accept) has_accept |= (c != ' ');
  return has_accept && oci::media::is_index(m.media_type) && !accepts(accept, m.media_type);
}

// A client that cannot read indexes gets the linux/amd64 image of an index
// (as Distribution does), when it accepts that image's type.
Result<std::shared_ptr<const CachedManifest>> negotiate(Context& ctx, std::string_view repo,
                                                        const CachedManifest& m,
                                                        std::string_view accept) {
  auto parsed = oci::parse_manifest(*m.bytes, m.media_type);
  if (parsed) {
    for (const auto& d : parsed->manifests) {
      if (d.platform && d.platform->os == "linux" && d.platform->architecture == "amd64" &&
          accepts(accept, d.media_type)) {
        return load(ctx, repo, oci::ManifestRef{d.digest, {}});
      }
    }
  }
  return make_error(Errc::manifest_unknown,
                    "manifest is an index and the client accepts no index media type");
}

// The signature policy for this pull: nullopt to serve, or the refusal.
net::Task<std::optional<net::Response>> check_signatures(Context& ctx, net::Exchange& ex,
                                                         std::string_view repo,
                                                         std::string_view reference,
                                                         const CachedManifest& entry,
                                                         const Principal& who) {
  auto snap = ctx.security->snapshot();
  if (!snap || (*snap)->trust.empty()) co_return std::nullopt;
  const trust::Rule* rule = (*snap)->trust.rule_for(repo);
  if (!rule) co_return std::nullopt;
  auto decision = ctx.signatures->lookup(repo, entry.digest, (*snap)->generation);
  if (!decision) {
    decision = co_await net::offload(
        ex, [&] { return ctx.signatures->evaluate(repo, entry.digest, *rule, **snap); });
    if (ctx.audit) {
      auto e = event(ctx, who, "verify", repo, std::string(reference), entry.digest);
      e.result = decision->satisfied ? "success" : (decision->allowed ? "warn" : "denied");
      e.detail = decision->message;
      ctx.audit->record(std::move(e));
    }
  }
  if (decision->allowed) co_return std::nullopt;
  if (ctx.audit) {
    auto e = event(ctx, who, "pull", repo, std::string(reference), entry.digest);
    e.result = "denied";
    e.detail = decision->message;
    ctx.audit->record(std::move(e));
  }
  co_return error(Errc::denied, decision->message);
}

// The registry policy for this pull: nullopt to serve, or the refusal. A
// new verdict is audited with the versions of its inputs.
net::Task<std::optional<net::Response>> check_policy(Context& ctx, net::Exchange& ex,
                                                     std::string_view repo,
                                                     std::string_view reference,
                                                     const CachedManifest& entry,
                                                     const Principal& who) {
  auto snap = ctx.security->snapshot();
  if (!snap || (*snap)->registry_policy->rules_for(repo).empty()) co_return std::nullopt;
  auto verdict = ctx.policy->lookup(repo, entry.digest, **snap);
  if (!verdict) {
    verdict = co_await net::offload(
        ex, [&] { return ctx.policy->evaluate(repo, entry.digest, **snap, policy::Phase::pull); });
    if (ctx.audit) {
      auto e = event(ctx, who, "policy", repo, std::string(reference), entry.digest);
      const auto& d = verdict->decision;
      e.result = d.allowed ? (d.message.empty() ? "success" : "warn")
                           : (d.quarantined ? "quarantined" : "denied");
      e.detail = policy::summarize(d) + " (" + verdict->inputs + ")";
      ctx.audit->record(std::move(e));
    }
  }
  const auto& d = verdict->decision;
  if (d.allowed) co_return std::nullopt;
  // Administrators may inspect what waits for its verdict.
  if (d.quarantined && who.identity.system_admin) co_return std::nullopt;
  if (ctx.audit) {
    auto e = event(ctx, who, "pull", repo, std::string(reference), entry.digest);
    e.result = "denied";
    e.detail = d.message;
    ctx.audit->record(std::move(e));
  }
  co_return error(Errc::denied, d.message);
}

net::Task<net::Response> get(Context& ctx, net::Exchange& ex, std::string_view repo,
                             const oci::ManifestRef& ref, std::string_view route_reference,
                             bool head, const Principal& who) {
  std::shared_ptr<const CachedManifest> entry;
  if (ctx.options.shared_metadata) {
    // Another replica may have moved the tag or deleted the manifest: ask the
    // database what the reference names now; the bytes of a digest never change.
    auto found = co_await net::offload(ex, [&]() -> Result<std::shared_ptr<const CachedManifest>> {
      std::string digest;
      if (ref.is_digest()) {
        digest = ref.digest->str();
        auto record = ctx.meta.get_manifest(repo, digest);
        if (!record) return record.error();
        if (!*record) return make_error(Errc::manifest_unknown, "manifest unknown");
      } else {
        auto resolved = ctx.meta.resolve_tag(repo, ref.tag);
        if (!resolved) return resolved.error();
        if (!*resolved) return make_error(Errc::manifest_unknown, "manifest unknown");
        digest = std::move(**resolved);
      }
      if (auto cached = ctx.cache.get(repo, digest)) return cached;
      uint64_t generation = ctx.cache.generation(repo);
      auto parsed = oci::Digest::parse(digest);
      if (!parsed) return make_error(Errc::internal, "stored digest is invalid");
      auto loaded = load(ctx, repo, oci::ManifestRef{*parsed, {}});
      if (loaded) ctx.cache.put(repo, digest, *loaded, generation);
      return loaded;
    });
    if (!found) co_return error_response(found.error());
    entry = std::move(*found);
  } else {
    entry = ctx.cache.get(repo, ref.str());
  }
  if (!entry) {
    uint64_t generation = ctx.cache.generation(repo);
    auto loaded = co_await net::offload(ex, [&] { return load(ctx, repo, ref); });
    if (!loaded) co_return error_response(loaded.error());
    entry = *loaded;
    ctx.cache.put(repo, ref.str(), entry, generation);
  }
  // Clients (Go's net/http among them) may send several Accept lines.
  std::string accept;
  for (const auto& f : boost::make_iterator_range(ex.header().equal_range(http::field::accept))) {
    if (!accept.empty()) accept += ',';
    accept.append(f.value().data(), f.value().size());
  }
  // By digest the client verifies the bytes: never substitute another manifest.
  if (!ref.is_digest() && needs_negotiation(accept, *entry)) {
    auto chosen = co_await net::offload(ex, [&] { return negotiate(ctx, repo, *entry, accept); });
    if (!chosen) co_return error_response(chosen.error());
    entry = *chosen;
  }
  // HEAD is not gated: it reveals only the digest, which signers need to sign.
  if (!head && ctx.signatures && ctx.security && ctx.security->trust_active() && !entry->artifact) {
    if (auto refused = co_await check_signatures(ctx, ex, repo, route_reference, *entry, who)) {
      co_return std::move(*refused);
    }
  }
  if (!head && ctx.policy && ctx.security && ctx.security->policy_active() && !entry->artifact) {
    if (auto refused = co_await check_policy(ctx, ex, repo, route_reference, *entry, who)) {
      co_return std::move(*refused);
    }
  }
  if (!head && ctx.audit) {
    ctx.audit->record_pull(who.actor(), who.address, repo, route_reference, entry->digest);
  }
  net::Response r;
  r.prebuilt_headers = entry->headers;
  r.shared_body = entry->bytes;
  r.omit_body = head;
  co_return r;
}

// Checks everything a manifest references, then stores it: bytes first (a
// blob), then the metadata rows in one transaction.
Result<void> store(Context& ctx, std::string_view repo, const oci::ManifestRef& ref,
                   const oci::Manifest& m, const oci::Digest& digest, const std::string& bytes,
                   const Principal& who) {
  // Touch everything this manifest is and names before checking it: from
  // here on the garbage collector leaves them alone (maintenance/gc.h).
  std::vector<std::string> touched{digest.str()};
  for (const oci::Descriptor* d : m.required_blob_descriptors()) touched.push_back(d->digest.str());
  for (const auto& d : m.manifests) touched.push_back(d.digest.str());
  if (auto t = maintenance::touch_before_write(ctx.meta, ctx.clock, touched); !t) return t.error();
  std::vector<metadata::ManifestChild> children;
  // One lookup per blob: it must be in the repository, with the declared size.
  for (const oci::Descriptor* d : m.required_blob_descriptors()) {
    std::string digest_text = d->digest.str();
    auto linked = ctx.meta.linked_blob(repo, digest_text);
    if (!linked) return linked.error();
    if (!*linked) return make_error(Errc::manifest_blob_unknown, fmt::format("blob unknown: {}", digest_text));
    if (**linked != d->size) {
      return make_error(Errc::manifest_invalid,
                        fmt::format("{} size does not match the stored blob", digest_text));
    }
    children.push_back({std::move(digest_text), false});
  }
  for (const auto& d : m.manifests) {
    auto child = ctx.meta.get_manifest(repo, d.digest.str());
    if (!child) return child.error();
    if (!*child) {
      return make_error(Errc::manifest_blob_unknown,
                        fmt::format("manifest unknown: {}", d.digest.str()));
    }
    children.push_back({d.digest.str(), true});
  }
  auto put = ctx.blobs.put(digest, bytes);
  if (!put) return put.error();
  std::string annotations;
  if (!m.annotations.empty()) {
    boost::json::object o;
    for (const auto& [k, v] : m.annotations) o[k] = v;
    annotations = boost::json::serialize(o);
  }
  metadata::ManifestRecord record{digest.str(),
                                  m.media_type,
                                  static_cast<int64_t>(bytes.size()),
                                  m.referrer_artifact_type(),
                                  m.subject ? m.subject->digest.str() : std::string(),
                                  annotations,
                                  ctx.clock.unix_seconds()};
  std::string tag = ref.is_digest() ? "" : ref.tag;
  auto audit_event = event(ctx, who, "push", repo, ref.str(), digest.str());
  metadata::WriteOptions write{tag_guard(ctx, repo, digest.str()), &audit_event};
  return ctx.meta.put_manifest(repo, record, children, tag, write);
}

// onPush rules (labels, annotations, base image, max age): the refusal, or
// nullopt to store. Skipped when the config blob is not in the repository
// (store() then refuses the manifest for that).
std::optional<Error> check_push_policy(Context& ctx, std::string_view repo,
                                       const oci::ManifestRef& ref, const oci::Manifest& m,
                                       const oci::Digest& digest, const std::string& bytes,
                                       const auth::AccessSnapshot* snap, const Principal& who) {
  if (!snap || !ctx.policy || is_artifact(bytes, m.media_type)) return std::nullopt;
  bool any = false;
  for (const auto* rule : snap->registry_policy->rules_for(repo)) any |= rule->on_push;
  if (!any) return std::nullopt;
  if (m.config) {
    auto linked = ctx.meta.linked_blob(repo, m.config->digest.str());
    if (!linked || !*linked) return std::nullopt;
  }
  auto v = ctx.policy->evaluate_push(repo, digest.str(), bytes, m.media_type, *snap);
  if (v.decision.allowed) return std::nullopt;
  // The refused push itself is audited by the caller; this records the
  // decision with the versions of its inputs, as pull decisions are.
  if (ctx.audit) {
    auto e = event(ctx, who, "policy", repo, ref.str(), digest.str());
    e.result = "denied";
    e.detail = policy::summarize(v.decision) + " (" + v.inputs + ")";
    ctx.audit->record(std::move(e));
  }
  return make_error(Errc::denied, v.decision.message);
}

net::Task<net::Response> put(Context& ctx, net::Exchange& ex, std::string_view repo,
                             const oci::ManifestRef& ref, const Principal& who) {
  auto body = co_await ex.read_all(ctx.options.max_manifest_bytes);
  if (!body) {
    if (body.error().code == Errc::size_invalid) {
      co_return error(Errc::payload_too_large, "manifest exceeds the size limit");
    }
    co_return error_response(body.error());
  }
  auto ct = ex.header()[http::field::content_type];
  auto parsed = oci::parse_manifest(*body, std::string_view(ct.data(), ct.size()));
  if (!parsed) co_return error_response(parsed.error());
  auto algorithm = ref.is_digest() ? ref.digest->algorithm() : crypto::HashAlgorithm::sha256;
  auto digest = oci::Digest::of(algorithm, *body);
  if (ref.is_digest() && digest != *ref.digest) {
    co_return error(Errc::digest_invalid, "manifest content does not match the digest in the URL");
  }
  auto stored = co_await net::offload(ex, [&]() -> Result<void> {
    std::shared_ptr<const auth::AccessSnapshot> snap;
    if (ctx.security && (ctx.policy || ctx.security->policy_active())) {
      if (auto s = ctx.security->snapshot()) snap = *s;
    }
    if (auto refused = check_push_policy(ctx, repo, ref, *parsed, digest, *body, snap.get(), who)) {
      return *refused;
    }
    auto r = store(ctx, repo, ref, *parsed, digest, *body, who);
    ctx.cache.invalidate(repo);
    if (r && ctx.scans) ctx.scans->enqueue(digest.str());
    if (r && snap && ctx.policy && !ref.is_digest() &&
        ctx.policy->track_bases(*snap, repo, ref.tag)) {
      (void)ctx.security->reload();
    }
    return r;
  });
  if (!stored) {
    record_denied(ctx, who, "push", repo, ref.str(), digest.str(), stored.error());
    co_return error_response(stored.error());
  }
  net::Response r;
  r.status = 201;
  r.header("Location", fmt::format("/v2/{}/manifests/{}", repo, digest.str()));
  r.header("Docker-Content-Digest", digest.str());
  if (parsed->subject) r.header("OCI-Subject", parsed->subject->digest.str());
  co_return r;
}

net::Task<net::Response> remove(Context& ctx, net::Exchange& ex, std::string_view repo,
                                const oci::ManifestRef& ref, const Principal& who) {
  std::string digest = ref.is_digest() ? ref.digest->str() : std::string();
  auto removed = co_await net::offload(ex, [&]() -> Result<bool> {
    auto audit_event = event(ctx, who, "delete", repo, ref.str(), digest);
    metadata::WriteOptions write{tag_guard(ctx, repo, std::nullopt), &audit_event};
    auto r = ref.is_digest() ? ctx.meta.delete_manifest(repo, digest, write)
                             : ctx.meta.delete_tag(repo, ref.tag, write);
    ctx.cache.invalidate(repo);
    return r;
  });
  if (!removed) {
    record_denied(ctx, who, "delete", repo, ref.str(), digest, removed.error());
    co_return error_response(removed.error());
  }
  if (!*removed) co_return error(Errc::manifest_unknown, "manifest unknown");
  co_return status_only(202);
}

}  // namespace

net::Task<net::Response> handle_manifest(Context& ctx, net::Exchange& ex, const Route& route,
                                         const Principal& who) {
  if (auto bad = check_name(route.name)) co_return std::move(*bad);
  auto method = ex.header().method();
  auto ref = oci::parse_manifest_ref(route.reference);
  if (!ref) {
    // A reference that cannot exist is simply unknown to readers and deleters.
    if (method != http::verb::put) co_return error(Errc::manifest_unknown, "manifest unknown");
    co_return error_response(ref.error());
  }
  switch (method) {
    case http::verb::get:
      co_return co_await get(ctx, ex, route.name, *ref, route.reference, false, who);
    case http::verb::head:
      co_return co_await get(ctx, ex, route.name, *ref, route.reference, true, who);
    case http::verb::put: co_return co_await put(ctx, ex, route.name, *ref, who);
    case http::verb::delete_: co_return co_await remove(ctx, ex, route.name, *ref, who);
    default: co_return error(Errc::unsupported, "method not allowed");
  }
}

}  // namespace portcullis::api
