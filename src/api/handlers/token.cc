// /token: the Docker token service (distribution docs/spec/auth/token.md and
// oauth.md). GET with optional Basic credentials and `scope`/`service`/
// `account`/`offline_token` parameters; POST with the OAuth2 form
// (grant_type=password or refresh_token). Answers a JWT whose `access` claim
// is the granted subset of the requested scopes; never an error for scopes
// the caller may not have (they are just not granted).
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <fmt/format.h>

#include "api/audit_recorder.h"
#include "api/handlers/handlers.h"
#include "api/handlers/util.h"

namespace portcullis::api {

namespace {

constexpr std::size_t kMaxForm = 16 * 1024;

using Params = std::vector<std::pair<std::string, std::string>>;

Result<Params> decode_params(std::string_view encoded) {
  // Boost.URL 1.81's parse_query() reads past the end of a view that is not
  // NUL-terminated (the last value runs on into whatever follows): parse a copy.
  const std::string text(encoded);
  auto q = boost::urls::parse_query(text);
  if (!q) return make_error(Errc::invalid_request, "malformed parameters");
  Params out;
  for (auto p : *q) {
    if (out.size() >= auth::kMaxScopesPerRequest + 16) {
      return make_error(Errc::invalid_request, "too many parameters");
    }
    // Decoded, with '+' as space (the OAuth2 form encoding; harmless in a query).
    boost::urls::encoding_opts opt;
    opt.space_as_plus = true;
    out.emplace_back(p.key.decode(opt), p.has_value ? p.value.decode(opt) : std::string());
  }
  return out;
}

std::string param(const Params& ps, std::string_view key) {
  for (const auto& [k, v] : ps) {
    if (k == key) return v;
  }
  return {};
}

net::Response json(unsigned status, const boost::json::object& body) {
  net::Response r;
  r.status = status;
  r.header("Content-Type", "application/json");
  r.header("Cache-Control", "no-store");
  r.body = boost::json::serialize(body);
  return r;
}

net::Response oauth_error(unsigned status, std::string_view code, std::string_view description) {
  return json(status, {{"error", code}, {"error_description", description}});
}

void record_login(Context& ctx, const std::string& account, const std::string& address,
                  std::string_view result, std::string detail) {
  if (!ctx.audit) return;
  audit::AuditEvent e;
  e.time_ms = ctx.clock.unix_millis();
  e.actor = account;
  e.source_address = address;
  e.action = "login";
  e.result = std::string(result);
  e.detail = std::move(detail);
  ctx.audit->record(std::move(e));
}

net::Response throttled(const Error& e) {
  auto r = error_response(e);
  r.header("Retry-After", retry_after(e));
  return r;
}

// What both forms share once the caller is known.
net::Response grant(Context& ctx, const auth::Identity& who, const std::vector<auth::Scope>& requested,
                    bool offline, bool oauth_form, const std::string& refresh_in) {
  auto& tokens = ctx.access->tokens();
  auto issued = tokens.issue(who, requested);
  if (!issued) return error_response(issued.error());
  boost::json::object body;
  if (!oauth_form) body["token"] = issued->token;
  body["access_token"] = issued->token;
  body["expires_in"] = issued->expires_in();
  body["issued_at"] = issued->issued_at_rfc3339();
  if (oauth_form) body["scope"] = auth::format_scope_list(issued->claims.access);
  if (offline && who.kind != auth::Identity::Kind::anonymous) {
    if (!refresh_in.empty()) {
      body["refresh_token"] = refresh_in;
    } else if (auto rt = tokens.issue_refresh(who)) {
      body["refresh_token"] = *rt;
    }
  }
  return json(200, body);
}

net::Task<net::Response> get_token(Context& ctx, net::Exchange& ex, const Params& ps) {
  auto& tokens = ctx.access->tokens();
  std::string service = param(ps, "service");
  if (!service.empty() && service != tokens.options().service) {
    co_return error(Errc::denied, "unknown service");
  }
  std::vector<auth::Scope> requested;
  for (const auto& [k, v] : ps) {
    if (k != "scope") continue;
    auto list = auth::parse_scope_list(v);
    if (!list) {
      Error e = list.error();
      if (e.code != Errc::name_invalid) e.code = Errc::invalid_request;
      co_return error_response(e);
    }
    requested.insert(requested.end(), list->begin(), list->end());
    if (requested.size() > auth::kMaxScopesPerRequest) {
      co_return error(Errc::invalid_request, "too many scopes");
    }
  }
  auto h = ex.header()[http::field::authorization];
  auto creds = parse_authorization(std::string_view(h.data(), h.size()));
  auth::Identity who = auth::Identity::anonymous();
  std::string address = ex.remote_address();
  switch (creds.kind) {
    case Credentials::Kind::none: break;
    case Credentials::Kind::basic: {
      std::string account = param(ps, "account");
      if (!account.empty() && account != creds.user) {
        co_return error(Errc::unauthorized, "account does not match the credentials");
      }
      auto login = co_await net::offload(ex, [&] {
        return ctx.access->access().login(creds.user, creds.secret, address);
      });
      if (!login) {
        record_login(ctx, creds.user, address,
                     login.error().code == Errc::too_many_requests ? "denied" : "failure",
                     login.error().message);
        if (login.error().code == Errc::too_many_requests) co_return throttled(login.error());
        auto r = error_response(login.error());
        r.header("WWW-Authenticate", "Basic realm=\"portcullis\"");
        co_return r;
      }
      record_login(ctx, creds.user, address, "success", "token");
      who = std::move(*login);
      break;
    }
    case Credentials::Kind::bearer:
    case Credentials::Kind::malformed:
      co_return error(Errc::unauthorized, "the token endpoint takes Basic credentials or none");
  }
  bool offline = param(ps, "offline_token") == "true";
  co_return co_await net::offload(ex, [&] { return grant(ctx, who, requested, offline, false, ""); });
}

net::Task<net::Response> post_token(Context& ctx, net::Exchange& ex) {
  auto body = co_await ex.read_all(kMaxForm);
  if (!body) co_return oauth_error(400, "invalid_request", "form too large");
  auto ps = decode_params(*body);
  if (!ps) co_return oauth_error(400, "invalid_request", ps.error().message);
  auto& tokens = ctx.access->tokens();
  std::string service = param(*ps, "service");
  if (!service.empty() && service != tokens.options().service) {
    co_return oauth_error(400, "invalid_request", "unknown service");
  }
  auto requested = auth::parse_scope_list(param(*ps, "scope"));
  if (!requested) co_return oauth_error(400, "invalid_scope", requested.error().message);
  std::string grant_type = param(*ps, "grant_type");
  std::string address = ex.remote_address();
  bool offline = param(*ps, "access_type") == "offline";
  if (grant_type == "password") {
    std::string user = param(*ps, "username"), password = param(*ps, "password");
    auto login = co_await net::offload(ex, [&] { return ctx.access->access().login(user, password, address); });
    if (!login) {
      record_login(ctx, user, address,
                   login.error().code == Errc::too_many_requests ? "denied" : "failure",
                   login.error().message);
      if (login.error().code == Errc::too_many_requests) co_return throttled(login.error());
      co_return oauth_error(400, "invalid_grant", login.error().message);
    }
    record_login(ctx, user, address, "success", "oauth2 password grant");
    co_return co_await net::offload(ex, [&] { return grant(ctx, *login, *requested, offline, true, ""); });
  }
  if (grant_type == "refresh_token") {
    std::string rt = param(*ps, "refresh_token");
    auto who = co_await net::offload(ex, [&] { return tokens.redeem_refresh(rt); });
    if (!who) co_return oauth_error(400, "invalid_grant", who.error().message);
    co_return co_await net::offload(ex, [&] { return grant(ctx, *who, *requested, true, true, rt); });
  }
  co_return oauth_error(400, "unsupported_grant_type", "grant_type must be password or refresh_token");
}

}  // namespace

net::Task<net::Response> handle_token(Context& ctx, net::Exchange& ex, const Query&) {
  if (!ctx.access) co_return error(Errc::not_found, "authentication is disabled (auth.enabled)");
  auto method = ex.header().method();
  if (method == http::verb::post) co_return co_await post_token(ctx, ex);
  if (method != http::verb::get) co_return error(Errc::unsupported, "method not allowed");
  auto target = ex.header().target();
  std::string_view t(target.data(), target.size());
  auto q = t.find('?');
  auto ps = decode_params(q == std::string_view::npos ? std::string_view() : t.substr(q + 1));
  if (!ps) co_return error_response(ps.error());
  co_return co_await get_token(ctx, ex, *ps);
}

}  // namespace portcullis::api
