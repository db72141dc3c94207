#include "api/registry_handler.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/url/parse.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/handlers/handlers.h"
#include "api/handlers/util.h"
#include "base/log.h"
#include "oci/names.h"

namespace portcullis::api {

namespace {

Result<std::pair<std::string, Query>> split_target(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return make_error(Errc::not_found, "malformed request target");
  // Repository names never need escaping; an escaped path is not a route.
  std::string path(url->encoded_path());
  if (path.find('%') != std::string::npos) return make_error(Errc::name_invalid, "invalid repository name");
  Query q;
  for (auto p : url->params()) q[std::string(p.key)] = std::string(p.value);
  return std::make_pair(std::move(path), std::move(q));
}

}  // namespace

net::Task<net::Response> RegistryHandler::handle(net::Exchange& ex) {
  net::Response r;
  try {
    r = co_await dispatch(ex);
  } catch (const std::exception& e) {
    spdlog::error("api: unhandled exception: {}", e.what());
    r = error(Errc::internal, "internal error");
  }
  if (!r.prebuilt_headers) r.header("Docker-Distribution-API-Version", "registry/2.0");
  // A HEAD answer never has a body, errors included (Content-Length still tells its size).
  if (ex.header().method() == http::verb::head) r.omit_body = true;
  co_return r;
}

namespace {

// The action a repository route needs, by method.
auth::Action required_action(RouteKind kind, http::verb method) {
  bool read = method == http::verb::get || method == http::verb::head;
  switch (kind) {
    case RouteKind::manifest:
    case RouteKind::blob:
      if (read) return auth::Action::pull;
      return method == http::verb::delete_ ? auth::Action::delete_ : auth::Action::push;
    case RouteKind::upload_start:
    case RouteKind::upload: return auth::Action::push;
    default: return auth::Action::pull;
  }
}

std::string scope_for(std::string_view repo, auth::Action action) {
  // Clients ask for pull and push together when pushing; offer the same.
  std::string_view actions = action == auth::Action::push      ? "pull,push"
                             : action == auth::Action::delete_ ? "delete"
                                                               : "pull";
  return fmt::format("repository:{}:{}", repo, actions);
}

}  // namespace

net::Task<net::Response> RegistryHandler::dispatch(net::Exchange& ex) {
  auto target = ex.header().target();
  auto split = split_target(std::string_view(target.data(), target.size()));
  if (!split) co_return error_response(split.error());
  const auto& [path, query] = *split;
  Route route = match_route(path);
  switch (route.kind) {
    case RouteKind::healthz:
    case RouteKind::readyz:
    case RouteKind::metrics: co_return co_await handle_health(ctx_, ex, route.kind);
    case RouteKind::token: co_return co_await handle_token(ctx_, ex, query);
    case RouteKind::unknown: co_return error(Errc::not_found, "no such endpoint");
    default: break;
  }

  Principal who;
  who.address = ex.remote_address();
  if (!ctx_.access) {
    who.unrestricted = true;
  } else {
    auto authenticated = co_await ctx_.access->authenticate(ex);
    if (!authenticated) {
      const Error& e = authenticated.error();
      if (e.code == Errc::too_many_requests) {
        auto r = error_response(e);
        r.header("Retry-After", retry_after(e));
        co_return r;
      }
      if (e.code != Errc::unauthorized) co_return error_response(e);
      std::string scope;
      if (!route.name.empty() && oci::valid_repository_name(route.name)) {
        scope = scope_for(route.name, required_action(route.kind, ex.header().method()));
      }
      co_return ctx_.access->challenge(ex, scope, "invalid_token", e);
    }
    who = std::move(*authenticated);
  }

  switch (route.kind) {
    case RouteKind::base:
      // Any valid token will do (an anonymous one too, as Distribution does).
      if (!who.authenticated() && !who.token) co_return ctx_.access->refuse(ex, who, "");
      co_return co_await handle_base(ctx_, ex);
    case RouteKind::catalog:
      if (ctx_.access && !ctx_.access->may_list_catalog(who)) {
        co_return ctx_.access->refuse(ex, who, "registry:catalog:*");
      }
      co_return co_await handle_catalog(ctx_, ex, query, who);
    case RouteKind::admin:
      if (route.reference == "policy" || route.reference.starts_with("policy/")) {
        co_return co_await handle_policy(ctx_, ex, route.reference, query, who);
      }
      co_return co_await handle_admin(ctx_, ex, route.reference, query, who);
    default: break;
  }

  // Repository routes: the name is checked before it is used in a scope.
  if (auto bad = check_name(route.name)) co_return std::move(*bad);
  auto action = required_action(route.kind, ex.header().method());
  if (ctx_.access && !ctx_.access->permits(who, route.name, action)) {
    co_return ctx_.access->refuse(ex, who, scope_for(route.name, action));
  }
  switch (route.kind) {
    case RouteKind::tags: co_return co_await handle_tags(ctx_, ex, route, query);
    case RouteKind::manifest: co_return co_await handle_manifest(ctx_, ex, route, who);
    case RouteKind::blob: co_return co_await handle_blob(ctx_, ex, route, who);
    case RouteKind::upload_start:
      co_return co_await handle_upload_start(ctx_, ex, route, query, who);
    case RouteKind::upload: co_return co_await handle_upload(ctx_, ex, route, query);
    case RouteKind::referrers: co_return co_await handle_referrers(ctx_, ex, route, query);
    case RouteKind::vulnerabilities:
    case RouteKind::sbom: co_return co_await handle_scan_report(ctx_, ex, route, query);
    default: break;
  }
  co_return error(Errc::not_found, "no such endpoint");
}

void RegistryHandler::completed(const net::Exchange& ex, const net::Response& response,
                                std::chrono::nanoseconds elapsed, bool write_ok) {
  auto target = ex.header().target();
  std::string_view t(target.data(), target.size());
  auto q = t.find('?');
  Route route = match_route(t.substr(0, q));
  uint64_t out = response.omit_body ? 0 : response.content_length();
  ctx_.metrics.observe(route.kind, response.status, elapsed, ex.body_bytes_read(), out);
  if (auto log = log::access()) {
    auto method = ex.header().method_string();
    log->info(R"({{"time":"{}","remote":"{}","method":"{}","target":{},"route":"{}","status":{},"bytes_in":{},"bytes_out":{},"duration_ms":{:.3f},"complete":{}}})",
              fmt::format("{:%FT%T}Z", fmt::gmtime(std::time(nullptr))), ex.remote_address(),
              std::string_view(method.data(), method.size()),
              boost::json::serialize(boost::json::string(t)), route_name(route.kind),
              response.status, ex.body_bytes_read(), out,
              std::chrono::duration<double, std::milli>(elapsed).count(), write_ok);
  }
}

}  // namespace portcullis::api
