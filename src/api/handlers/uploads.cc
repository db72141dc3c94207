// Blob uploads: POST /v2/<name>/blobs/uploads/ (session, monolithic ?digest=,
// mount ?mount=&from=), and PATCH/PUT/GET/DELETE /v2/<name>/blobs/uploads/<id>.
#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "api/handlers/handlers.h"
#include "api/handlers/util.h"
#include "api/policy_gate.h"
#include "auth/access_service.h"
#include "maintenance/gc.h"
#include "oci/digest.h"
#include "oci/names.h"

namespace portcullis::api {

namespace {

std::string upload_location(std::string_view repo, std::string_view id) {
  return fmt::format("/v2/{}/blobs/uploads/{}", repo, id);
}

std::string range_header(uint64_t size) {
  return fmt::format("0-{}", size == 0 ? 0 : size - 1);
}

net::Response upload_status(unsigned status, std::string_view repo, std::string_view id,
                            uint64_t size) {
  net::Response r;
  r.status = status;
  r.header("Location", upload_location(repo, id));
  r.header("Range", range_header(size));
  r.header("Docker-Upload-UUID", std::string(id));
  return r;
}

net::Response blob_created(std::string_view repo, const oci::Digest& digest) {
  net::Response r;
  r.status = 201;
  r.header("Location", fmt::format("/v2/{}/blobs/{}", repo, digest.str()));
  r.header("Docker-Content-Digest", digest.str());
  return r;
}

// "start-end" (spec), also "bytes start-end" / "bytes=start-end" as some clients send.
std::optional<std::pair<uint64_t, uint64_t>> parse_content_range(std::string_view h) {
  if (h.starts_with("bytes")) {
    h.remove_prefix(5);
    while (!h.empty() && (h.front() == ' ' || h.front() == '=')) h.remove_prefix(1);
  }
  if (auto slash = h.find('/'); slash != std::string_view::npos) h = h.substr(0, slash);
  auto dash = h.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  uint64_t a = 0, b = 0;
  auto sa = h.substr(0, dash), sb = h.substr(dash + 1);
  auto ra = std::from_chars(sa.data(), sa.data() + sa.size(), a);
  auto rb = std::from_chars(sb.data(), sb.data() + sb.size(), b);
  if (sa.empty() || sb.empty() || ra.ec != std::errc() || rb.ec != std::errc() ||
      ra.ptr != sa.data() + sa.size() || rb.ptr != sb.data() + sb.size() || b < a) {
    return std::nullopt;
  }
  return std::make_pair(a, b);
}

// Streams the request body into the session. When a Content-Range was given
// the chunk must start at the session's size and be exactly that long.
net::Task<Result<uint64_t>> receive(Context& ctx, net::Exchange& ex, std::string_view id) {
  auto cr_field = ex.header()[http::field::content_range];
  std::string_view cr(cr_field.data(), cr_field.size());
  std::optional<std::pair<uint64_t, uint64_t>> range;
  if (!cr.empty()) {
    range = parse_content_range(cr);
    if (!range) co_return make_error(Errc::range_invalid, "malformed Content-Range");
  }
  // With a Content-Range, append() checks the offset itself: no separate
  // size lookup (a round trip to a remote store).
  uint64_t offset = 0;
  if (range && ex.has_body()) {
    offset = range->first;
  } else {
    auto current = co_await net::offload(ex, [&] { return ctx.blobs.upload_size(id); });
    if (!current) co_return current.error();
    if (!ex.has_body()) co_return *current;
    offset = *current;
  }
  if (range) {
    uint64_t declared = range->second - range->first + 1;
    auto cl = ex.header()[http::field::content_length];
    uint64_t len = 0;
    auto [p, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), len);
    if (!cl.empty() && (ec != std::errc() || len != declared)) {
      co_return make_error(Errc::size_invalid, "Content-Length does not match Content-Range");
    }
  }
  auto writer = co_await net::offload(ex, [&] { return ctx.blobs.append(id, offset); });
  if (!writer) co_return writer.error();
  ctx.metrics.upload_started();
  struct Done {
    Metrics& m;
    ~Done() { m.upload_finished(); }
  } done{ctx.metrics};
  // Double buffering: the worker pool writes and hashes one buffer while the
  // connection receives into the other.
  std::vector<char> bufs[2] = {std::vector<char>(ctx.options.upload_buffer_bytes),
                               std::vector<char>(ctx.options.upload_buffer_bytes)};
  int cur = 0;
  std::shared_ptr<net::Background<Result<void>>> pending;
  Result<void> status;
  // With a Content-Range, never store more than the range announced.
  uint64_t allowed = range ? range->second - range->first + 1 : UINT64_MAX;
  while (true) {
    auto n = co_await ex.read_some(bufs[cur].data(), bufs[cur].size());
    if (pending) {
      auto w = co_await pending->wait();
      pending.reset();
      if (!w) {
        status = w.error();
        break;
      }
    }
    if (!n) {
      status = n.error();
      break;
    }
    if (*n == 0) break;
    if (*n > allowed) {
      status = make_error(Errc::size_invalid, "chunk longer than its Content-Range");
      break;
    }
    allowed -= *n;
    const char* data = bufs[cur].data();
    std::size_t size = *n;
    storage::UploadWriter* w = writer->get();
    pending = co_await net::Background<Result<void>>::start(
        ex, [w, data, size] { return w->write(data, size); });
    cur ^= 1;
  }
  if (pending) (void)co_await pending->wait();
  auto closed = co_await net::offload(ex, [&] { return (*writer)->close(); });
  if (!status) co_return status.error();
  if (!closed) co_return closed.error();
  uint64_t size = (*writer)->size();
  if (range && size != range->second + 1) {
    co_return make_error(Errc::size_invalid, "chunk shorter than its Content-Range");
  }
  co_return size;
}

// Verifies and publishes the session's content as digest, links it into repo.
net::Task<Result<void>> finish(Context& ctx, net::Exchange& ex, std::string_view repo,
                               std::string_view id, const oci::Digest& digest) {
  co_return co_await net::offload(ex, [&]() -> Result<void> {
    // Before the bytes are published: the garbage collector then cannot
    // delete them within its grace period (maintenance/gc.h).
    if (auto t = maintenance::touch_before_write(ctx.meta, ctx.clock, {digest.str()}); !t) {
      return t.error();
    }
    auto size = ctx.blobs.commit_upload(id, digest);
    if (!size) {
      if (size.error().code == Errc::digest_invalid) (void)ctx.meta.delete_upload(id);
      return size.error();
    }
    auto linked = ctx.meta.link_blob(repo, digest.str(), static_cast<int64_t>(*size));
    if (!linked) return linked.error();
    return ctx.meta.delete_upload(id);
  });
}

net::Task<Result<std::string>> start_session(Context& ctx, net::Exchange& ex, std::string_view repo) {
  co_return co_await net::offload(ex, [&]() -> Result<std::string> {
    auto id = ctx.blobs.create_upload();
    if (!id) return id.error();
    auto row = ctx.meta.create_upload(*id, repo, ctx.clock.unix_seconds());
    if (!row) {
      (void)ctx.blobs.cancel_upload(*id);
      return row.error();
    }
    return *id;
  });
}

// Cross-repository mount: link a blob the caller can already read elsewhere.
net::Task<Result<bool>> mount(Context& ctx, net::Exchange& ex, std::string_view repo,
                              std::string_view from, const oci::Digest& digest) {
  co_return co_await net::offload(ex, [&]() -> Result<bool> {
    if (auto t = maintenance::touch_before_write(ctx.meta, ctx.clock, {digest.str()}); !t) {
      return t.error();
    }
    auto linked = ctx.meta.linked_blob(from, digest.str());
    if (!linked) return linked.error();
    if (!*linked) return false;
    // What the registry policy refuses to serve from the source (a layer of a
    // denied or quarantined image) must not be copied out by a mount either.
    if (ctx.policy && ctx.security && ctx.security->policy_active()) {
      auto snap = ctx.security->snapshot();
      if (snap && !(*snap)->registry_policy->rules_for(from).empty()) {
        auto manifest = ctx.meta.get_manifest(from, digest.str());
        if (!manifest) return manifest.error();
        if (*manifest) return false;  // manifests are read through /manifests only
        if (ctx.policy->blob_refusal(from, digest.str(), **snap)) return false;
      }
    }
    auto size = ctx.blobs.stat(digest);
    if (!size) return size.error().code == Errc::blob_unknown ? Result<bool>(false) : size.error();
    auto r = ctx.meta.link_blob(repo, digest.str(), static_cast<int64_t>(*size));
    if (!r) return r.error();
    return true;
  });
}

}  // namespace

net::Task<net::Response> handle_upload_start(Context& ctx, net::Exchange& ex, const Route& route,
                                             const Query& query, const Principal& who) {
  if (auto bad = check_name(route.name)) co_return std::move(*bad);
  if (ex.header().method() != http::verb::post) co_return error(Errc::unsupported, "method not allowed");
  std::string_view repo = route.name;

  if (auto m = query_value(query, "mount"); !m.empty()) {
    auto digest = oci::Digest::parse(m);
    if (!digest) co_return error_response(digest.error());
    auto from = query_value(query, "from");
    // Mounting reads the source repository: the caller must be allowed to pull
    // from it, or the mount silently becomes a regular upload (as Distribution does).
    bool may_read = !from.empty() && oci::valid_repository_name(from) &&
                    (!ctx.access || ctx.access->permits(who, from, auth::Action::pull));
    if (may_read) {
      auto mounted = co_await mount(ctx, ex, repo, from, *digest);
      if (!mounted) co_return error_response(mounted.error());
      if (*mounted) co_return blob_created(repo, *digest);
    }
    // Not mountable: fall back to a regular upload session (202).
  }

  std::optional<oci::Digest> monolithic;
  if (query.contains("digest")) {
    auto digest = oci::Digest::parse(query_value(query, "digest"));
    if (!digest) co_return error_response(digest.error());
    monolithic = *digest;
  }
  auto id = co_await start_session(ctx, ex, repo);
  if (!id) co_return error_response(id.error());

  if (monolithic) {
    // Monolithic upload in a single POST.
    const oci::Digest* digest = &*monolithic;
    auto received = co_await receive(ctx, ex, *id);
    Result<void> done = received.has_error() ? Result<void>(received.error()) : Result<void>();
    if (done) done = co_await finish(ctx, ex, repo, *id, *digest);
    if (!done) {
      co_await net::offload(ex, [&] { (void)ctx.blobs.cancel_upload(*id); return ctx.meta.delete_upload(*id); });
      co_return error_response(done.error());
    }
    co_return blob_created(repo, *digest);
  }
  co_return upload_status(202, repo, *id, 0);
}

net::Task<net::Response> handle_upload(Context& ctx, net::Exchange& ex, const Route& route,
                                       const Query& query) {
  if (auto bad = check_name(route.name)) co_return std::move(*bad);
  std::string_view repo = route.name;
  std::string_view id = route.reference;
  auto owner = co_await net::offload(ex, [&] { return ctx.meta.upload_repository(id); });
  if (!owner) co_return error_response(owner.error());
  if (!*owner || **owner != repo) co_return error(Errc::blob_upload_unknown, "blob upload unknown");

  switch (ex.header().method()) {
    case http::verb::get: {
      auto size = co_await net::offload(ex, [&] { return ctx.blobs.upload_size(id); });
      if (!size) co_return error_response(size.error());
      co_return upload_status(204, repo, id, *size);
    }
    case http::verb::patch: {
      auto size = co_await receive(ctx, ex, id);
      if (!size) {
        auto e = error_response(size.error());
        if (size.error().code == Errc::range_invalid) {
          auto now = co_await net::offload(ex, [&] { return ctx.blobs.upload_size(id); });
          if (now) {
            e.header("Location", upload_location(repo, id));
            e.header("Range", range_header(*now));
          }
        }
        co_return e;
      }
      co_return upload_status(202, repo, id, *size);
    }
    case http::verb::put: {
      auto digest = oci::Digest::parse(query_value(query, "digest"));
      if (!digest) co_return error_response(digest.error());
      auto received = co_await receive(ctx, ex, id);
      if (!received) co_return error_response(received.error());
      auto done = co_await finish(ctx, ex, repo, id, *digest);
      if (!done) co_return error_response(done.error());
      co_return blob_created(repo, *digest);
    }
    case http::verb::delete_: {
      auto cancelled = co_await net::offload(ex, [&]() -> Result<void> {
        auto r = ctx.blobs.cancel_upload(id);
        if (!r && r.error().code != Errc::blob_upload_unknown) return r;
        return ctx.meta.delete_upload(id);
      });
      if (!cancelled) co_return error_response(cancelled.error());
      co_return status_only(204);
    }
    default: co_return error(Errc::unsupported, "method not allowed");
  }
}

}  // namespace portcullis::api
