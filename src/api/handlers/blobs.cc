// /v2/<name>/blobs/<digest>: GET (with Range), HEAD, DELETE.
#include <charconv>

#include <boost/beast/core/string.hpp>
#include <fmt/format.h>

#include "api/audit_recorder.h"
#include "api/handlers/handlers.h"
#include "api/handlers/util.h"
#include "api/policy_gate.h"
#include "auth/access_service.h"
#include "maintenance/gc.h"
#include "oci/digest.h"

namespace portcullis::api {

namespace {

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// RFC 9110 single byte range: "bytes=a-b", "bytes=a-", "bytes=-n".
// Returns nullopt for "serve the whole blob" (absent or multi-range header),
// an error for an unsatisfiable or malformed range.
Result<std::optional<ByteRange>> parse_range(std::string_view h, uint64_t size) {
  if (h.empty()) return std::optional<ByteRange>();
  // RFC 9110 14.2: a Range with a unit the server does not understand MUST be
  // ignored (serve the whole blob). Unit names are case-insensitive.
  auto eq = h.find('=');
  if (eq == std::string_view::npos || !boost::beast::iequals(h.substr(0, eq), "bytes")) {
    return std::optional<ByteRange>();
  }
  h.remove_prefix(eq + 1);
  if (h.find(',') != std::string_view::npos) return std::optional<ByteRange>();  // serve all
  auto dash = h.find('-');
  if (dash == std::string_view::npos) return make_error(Errc::range_invalid, "malformed range");
  auto a = h.substr(0, dash), b = h.substr(dash + 1);
  ByteRange r;
  if (a.empty()) {
    uint64_t n = 0;
    if (!parse_u64(b, &n) || n == 0 || size == 0) {
      return make_error(Errc::range_invalid, "unsatisfiable range");
    }
    r.first = n >= size ? 0 : size - n;
    r.last = size - 1;
  } else {
    if (!parse_u64(a, &r.first)) return make_error(Errc::range_invalid, "malformed range");
    if (b.empty()) {
      r.last = size == 0 ? 0 : size - 1;
    } else if (!parse_u64(b, &r.last) || r.last < r.first) {
      return make_error(Errc::range_invalid, "malformed range");
    }
    if (r.first >= size) return make_error(Errc::range_invalid, "unsatisfiable range");
    if (r.last >= size) r.last = size - 1;
  }
  return std::optional<ByteRange>(r);
}

struct Opened {
  std::unique_ptr<storage::BlobReader> file;
  uint64_t size = 0;
};

// A byte range of a remote blob, read in chunks on the worker pool.
class BlobRangeStream final : public net::BodyStream {
 public:
  BlobRangeStream(std::unique_ptr<storage::BlobReader> reader, uint64_t first, uint64_t length)
      : reader_(std::move(reader)), next_(first), length_(length) {}
  uint64_t length() const override { return length_; }
  Result<std::size_t> read(char* buf, std::size_t n) override {
    auto got = reader_->read_at(next_, buf, n);
    if (got) next_ += *got;
    return got;
  }

 private:
  std::unique_ptr<storage::BlobReader> reader_;
  uint64_t next_;
  uint64_t length_;
};

}  // namespace

net::Task<net::Response> handle_blob(Context& ctx, net::Exchange& ex, const Route& route,
                                     const Principal& who) {
  if (auto bad = check_name(route.name)) co_return std::move(*bad);
  auto digest = oci::Digest::parse(route.reference);
  if (!digest) co_return error_response(digest.error());
  std::string_view repo = route.name;
  auto method = ex.header().method();

  if (method == http::verb::delete_) {
    auto removed = co_await net::offload(ex, [&] {
      auto r = ctx.meta.unlink_blob(repo, digest->str());
      ctx.cache.invalidate(repo);
      return r;
    });
    if (!removed) co_return error_response(removed.error());
    if (!*removed) co_return error(Errc::blob_unknown, "blob unknown to registry");
    if (ctx.audit) {
      audit::AuditEvent e;
      e.time_ms = ctx.clock.unix_millis();
      e.actor = who.actor();
      e.source_address = who.address;
      e.action = "delete";
      e.repository = std::string(repo);
      e.digest = digest->str();
      e.result = "success";
      e.detail = "blob";
      ctx.audit->record(std::move(e));
    }
    co_return status_only(202);
  }
  if (method != http::verb::get && method != http::verb::head) {
    co_return error(Errc::unsupported, "method not allowed");
  }
  bool head = method == http::verb::head;
  // Under a signature or registry policy, manifest bytes are served only
  // through the manifests route (where the policy is checked), never as a blob.
  if (!head && ctx.security &&
      (ctx.security->trust_active() || (ctx.policy && ctx.security->policy_active()))) {
    auto snap = ctx.security->snapshot();
    if (snap && ((*snap)->trust.rule_for(repo) ||
                 (ctx.policy && !(*snap)->registry_policy->rules_for(repo).empty()))) {
      auto manifest = co_await net::offload(ex, [&] { return ctx.meta.get_manifest(repo, digest->str()); });
      if (!manifest) co_return error_response(manifest.error());
      if (*manifest) {
        co_return error(Errc::denied,
                        "a policy covers this repository: manifests are served only "
                        "through /v2/<name>/manifests/<reference>");
      }
    }
  }
  // The registry policy: layers and configs of refused images are refused too
  // (unless another image in the repository that is served uses them).
  if (!head && ctx.policy && ctx.security && ctx.security->policy_active()) {
    auto snap = ctx.security->snapshot();
    if (snap && !(*snap)->registry_policy->rules_for(repo).empty()) {
      // Cached answers need no hop to the worker pool.
      std::optional<std::string> refusal;
      if (auto known = ctx.policy->cached_blob_refusal(repo, digest->str(), **snap)) {
        refusal = std::move(*known);
      } else {
        refusal = co_await net::offload(
            ex, [&] { return ctx.policy->blob_refusal(repo, digest->str(), **snap); });
      }
      if (refusal) co_return error(Errc::denied, *refusal);
    }
  }
  // Hot path: the link is cached, and opening a local file costs microseconds
  // (the same order as a hop to the worker pool), so it stays on this thread.
  // A remote store's open() is a network round trip: that goes to the pool.
  auto open_linked = [&](uint64_t size) -> Result<Opened> {
    if (head) {
      // A client that sees 200 here may skip the upload and name the blob in
      // a manifest: never claim bytes that are gone (another process's
      // garbage collection does not reach this cache).
      auto st = ctx.blobs.stat(*digest);
      if (!st) return st.error();
      return Opened{nullptr, size};
    }
    auto file = ctx.blobs.open(*digest);
    if (!file) return file.error();
    uint64_t actual = (*file)->size();
    return Opened{std::move(*file), actual};
  };
  // Redirect mode (object store): after the same link check, the client
  // fetches the bytes from a presigned URL instead of through the registry.
  const bool redirect = !head && ctx.blobs.redirect_url(*digest).has_value();
  if (redirect) {
    auto linked = co_await net::offload(ex, [&]() -> Result<bool> {
      if (!ctx.options.shared_metadata && ctx.cache.get_blob(repo, digest->str()) >= 0) return true;
      auto l = ctx.meta.linked_blob(repo, digest->str());
      if (!l) return l.error();
      return l->has_value();
    });
    if (!linked) co_return error_response(linked.error());
    if (!*linked) co_return error(Errc::blob_unknown, "blob unknown to registry");
    net::Response r;
    r.status = 307;
    r.header("Location", *ctx.blobs.redirect_url(*digest));
    r.header("Docker-Content-Digest", digest->str());
    co_return r;
  }
  Result<Opened> opened = make_error(Errc::blob_unknown, "blob unknown to registry");
  // With replicas sharing the metadata, a blob deleted elsewhere must not be
  // served from this process's memory: the link is checked every time.
  int64_t cached = ctx.options.shared_metadata ? -1 : ctx.cache.get_blob(repo, digest->str());
  if (cached >= 0) {
    if (ctx.blobs.open_is_local()) {
      opened = open_linked(static_cast<uint64_t>(cached));
    } else {
      opened = co_await net::offload(ex, [&] { return open_linked(static_cast<uint64_t>(cached)); });
    }
  } else {
    uint64_t generation = ctx.cache.generation(repo);
    opened = co_await net::offload(ex, [&]() -> Result<Opened> {
      auto linked = ctx.meta.linked_blob(repo, digest->str());
      if (!linked) return linked.error();
      if (!*linked) return make_error(Errc::blob_unknown, "blob unknown to registry");
      if (!head) {  // open() knows the size: one round trip to a remote store, not two
        auto opened = open_linked(0);
        if (opened) ctx.cache.put_blob(repo, digest->str(), static_cast<int64_t>(opened->size), generation);
        return opened;
      }
      auto size = ctx.blobs.stat(*digest);
      if (!size) return size.error();
      ctx.cache.put_blob(repo, digest->str(), static_cast<int64_t>(*size), generation);
      return open_linked(*size);
    });
  }
  if (!opened) co_return error_response(opened.error());
  if (head) {
    // The client may now skip uploading this blob and push a manifest that
    // names it: protect it from the garbage collector for the grace period.
    int64_t now = ctx.clock.unix_seconds();
    if (!ctx.touches || !ctx.touches->fresh(digest->str(), now)) {
      auto touched = co_await net::offload(ex, [&]() -> Result<bool> {
        return ctx.meta.touch_blobs({digest->str()}, now);
      });
      if (!touched) co_return error_response(touched.error());
      if (!*touched) co_return error(Errc::blob_unknown, "blob unknown to registry");  // being deleted
      if (ctx.touches) ctx.touches->record(digest->str(), now);
    }
  }

  net::Response r;
  r.header("Content-Type", "application/octet-stream");
  r.header("Docker-Content-Digest", digest->str());
  r.header("Accept-Ranges", "bytes");
  r.header("ETag", fmt::format("\"{}\"", digest->str()));
  r.header("Cache-Control", "max-age=31536000");
  uint64_t size = opened->size;
  auto range_field = ex.header()[http::field::range];
  auto range = parse_range(std::string_view(range_field.data(), range_field.size()), size);
  if (!range) {
    auto e = error_response(range.error());
    e.header("Content-Range", fmt::format("bytes */{}", size));
    co_return e;
  }
  uint64_t first = 0, length = size;
  if (*range) {
    first = (*range)->first;
    length = (*range)->last - first + 1;
    r.status = 206;
    r.header("Content-Range", fmt::format("bytes {}-{}/{}", first, (*range)->last, size));
  }
  if (head) {
    r.omit_body = true;
    r.body.clear();
    // Content-Length must announce the size without sending it.
    r.file = std::make_unique<net::FileRegion>(-1, first, length);
    co_return r;
  }
  if (opened->file->fd() >= 0) {
    r.file = std::make_unique<net::FileRegion>(opened->file->release(), first, length);
  } else {
    r.stream = std::make_unique<BlobRangeStream>(std::move(opened->file), first, length);
  }
  co_return r;
}

}  // namespace portcullis::api
