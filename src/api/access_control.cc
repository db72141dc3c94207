#include "api/access_control.h"

#include <fmt/format.h>

#include "api/audit_recorder.h"
#include "api/errors.h"
#include "auth/encoding.h"
#include "crypto/hash.h"

namespace portcullis::api {

namespace http = boost::beast::http;

namespace {
constexpr std::size_t kMaxAuthorization = 8192;
constexpr std::size_t kBasicCacheEntries = 4096;
constexpr auto kBasicCacheTtl = std::chrono::seconds(60);

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = text[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

std::string quote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}
}  // namespace

Credentials parse_authorization(std::string_view h) {
  Credentials c;
  if (h.empty()) return c;
  c.kind = Credentials::Kind::malformed;
  if (h.size() > kMaxAuthorization) return c;
  auto rest = [&](std::size_t n) {
    auto v = h.substr(n);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return v;
  };
  if (iequals_prefix(h, "Bearer ")) {
    auto token = rest(7);
    if (token.empty() || token.find(' ') != std::string_view::npos) return c;
    c.kind = Credentials::Kind::bearer;
    c.secret = std::string(token);
    return c;
  }
  if (iequals_prefix(h, "Basic ")) {
    auto decoded = auth::base64_decode(rest(6));
    if (!decoded) return c;
    auto colon = decoded->find(':');
    if (colon == std::string::npos || colon == 0) return c;
    for (char ch : *decoded) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return c;
    }
    c.kind = Credentials::Kind::basic;
    c.user = decoded->substr(0, colon);
    c.secret = decoded->substr(colon + 1);
    return c;
  }
  return c;
}

auth::Identity identity_from_subject(std::string_view subject) {
  if (subject.empty()) return auth::Identity::anonymous();
  auth::Identity id;
  id.kind = subject.starts_with(auth::kRobotPrefix) ? auth::Identity::Kind::robot
                                                     : auth::Identity::Kind::user;
  id.name = std::string(subject);
  return id;
}

std::string retry_after(const Error& e) {
  auto at = e.message.find("retry in ");
  if (at == std::string::npos) return "60";
  std::string digits;
  for (std::size_t i = at + 9; i < e.message.size() && std::isdigit(static_cast<unsigned char>(e.message[i])); ++i) {
    digits += e.message[i];
  }
  return digits.empty() ? "60" : digits;
}

AccessControl::AccessControl(AccessControlOptions options, auth::AccessService& access,
                             auth::TokenService& tokens, AuditRecorder* audit)
    : options_(std::move(options)),
      access_(access),
      tokens_(tokens),
      audit_(audit),
      token_cache_(tokens.verifier()) {}

std::optional<auth::Identity> AccessControl::cached_basic(const std::string& key,
                                                          int64_t generation) {
  std::lock_guard lock(basic_mu_);
  auto it = basic_index_.find(key);
  if (it == basic_index_.end()) return std::nullopt;
  if (it->second->until <= std::chrono::steady_clock::now() ||
      it->second->generation != generation) {
    basic_lru_.erase(it->second);
    basic_index_.erase(it);
    return std::nullopt;
  }
  basic_lru_.splice(basic_lru_.begin(), basic_lru_, it->second);
  return it->second->identity;
}

void AccessControl::cache_basic(const std::string& key, int64_t generation,
                                const auth::Identity& identity) {
  std::lock_guard lock(basic_mu_);
  if (auto it = basic_index_.find(key); it != basic_index_.end()) {
    basic_lru_.erase(it->second);
    basic_index_.erase(it);
  }
  basic_lru_.push_front(
      {key, std::chrono::steady_clock::now() + kBasicCacheTtl, generation, identity});
  basic_index_[key] = basic_lru_.begin();
  while (basic_lru_.size() > kBasicCacheEntries) {
    basic_index_.erase(basic_lru_.back().key);
    basic_lru_.pop_back();
  }
}

net::Task<Result<Principal>> AccessControl::authenticate(net::Exchange& ex) {
  Principal p;
  p.address = ex.remote_address();
  auto h = ex.header()[http::field::authorization];
  auto creds = parse_authorization(std::string_view(h.data(), h.size()));
  switch (creds.kind) {
    case Credentials::Kind::none: co_return p;
    case Credentials::Kind::malformed:
      co_return make_error(Errc::unauthorized, "malformed Authorization header");
    case Credentials::Kind::bearer: {
      auto claims = token_cache_.verify(creds.secret);
      if (!claims) co_return claims.error();
      p.identity = identity_from_subject((*claims)->subject);
      p.token = std::move(*claims);
      co_return p;
    }
    case Credentials::Kind::basic: {
      if (!options_.allow_basic) {
        co_return make_error(Errc::unauthorized, "Basic authentication is disabled; use a token");
      }
      // Keyed by a hash of user and password: a hit proves the same
      // secret was verified within the last minute.
      crypto::Hasher hasher(crypto::HashAlgorithm::sha256);
      hasher.update(creds.user);
      hasher.update(std::string_view("\0", 1));
      hasher.update(creds.secret);
      std::string key = hasher.finish_hex();
      if (auto wait = access_.throttled(creds.user, p.address)) {
        co_return make_error(Errc::too_many_requests, fmt::format(
                                 "too many failed logins; retry in {} s", wait->count()));
      }
      auto snap = access_.snapshot();
      int64_t generation = snap ? (*snap)->generation : -1;
      if (auto hit = cached_basic(key, generation)) {
        p.identity = std::move(*hit);
        p.basic = true;
        co_return p;
      }
      auto who = co_await net::offload(ex, [&] { return access_.login(creds.user, creds.secret, p.address); });
      if (audit_) {
        audit::AuditEvent e;
        e.time_ms = access_.clock().unix_millis();
        e.actor = creds.user;
        e.source_address = p.address;
        e.action = "login";
        e.result = who ? "success" : (who.error().code == Errc::too_many_requests ? "denied" : "failure");
        e.detail = who ? "basic" : who.error().message;
        audit_->record(std::move(e));
      }
      if (!who) co_return who.error();
      cache_basic(key, generation, *who);
      p.identity = std::move(*who);
      p.basic = true;
      co_return p;
    }
  }
  co_return p;
}

bool AccessControl::permits(const Principal& who, std::string_view repository, auth::Action action) {
  if (who.unrestricted) return true;
  if (who.token) {
    return auth::permits(who.token->access, auth::kRepositoryType, repository, action);
  }
  auto snap = access_.snapshot();
  if (!snap) return false;
  return auth::repository_actions(who.identity, (*snap)->policy, repository,
                                  access_.clock().now())
      .contains(action);
}

bool AccessControl::may_list_catalog(const Principal& who) {
  if (who.unrestricted) return true;
  if (who.token) {
    return auth::permits(who.token->access, auth::kRegistryType, auth::kCatalogName,
                         auth::Action::any);
  }
  auto snap = access_.snapshot();
  if (!snap) return false;
  return auth::can_list_catalog(who.identity, (*snap)->policy, access_.clock().now());
}

std::function<bool(std::string_view)> AccessControl::catalog_filter(const Principal& who) {
  auto none = [](std::string_view) { return false; };
  if (who.unrestricted) return [](std::string_view) { return true; };
  auth::Identity identity = who.identity;
  if (who.token) {
    auto found = access_.identity_of(who.token->subject);
    if (!found || !*found) return none;
    identity = std::move(**found);
  }
  auto snap = access_.snapshot();
  if (!snap) return none;
  auto now = access_.clock().now();
  return [identity = std::move(identity), snap = *snap, now](std::string_view repo) {
    return auth::repository_actions(identity, snap->policy, repo, now).contains(auth::Action::pull);
  };
}

std::string AccessControl::realm(const net::Exchange& ex) const {
  if (!options_.realm.empty()) return options_.realm;
  auto host = ex.header()[http::field::host];
  std::string_view hv(host.data(), host.size());
  bool sane = !hv.empty() && hv.size() < 256;
  for (char c : hv) {
    sane = sane && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == ':' || c == '[' || c == ']');
  }
  if (!sane) hv = "localhost";
  return fmt::format("{}://{}/token", options_.tls ? "https" : "http", hv);
}

net::Response AccessControl::challenge(const net::Exchange& ex, std::string_view scope,
                                       std::string_view error, const Error& body) const {
  auto r = error_response(body);
  r.status = 401;
  std::string v = fmt::format("Bearer realm={},service={}", quote(realm(ex)),
                              quote(tokens_.options().service));
  if (!scope.empty()) v += ",scope=" + quote(scope);
  if (!error.empty()) v += ",error=" + quote(error);
  // (A named string, not a literal: GCC 12 misreports -Warray-bounds on the temporary.)
  static const std::string kHeader = "WWW-Authenticate";
  r.headers.emplace_back(kHeader, std::move(v));
  return r;
}

net::Response AccessControl::refuse(const net::Exchange& ex, const Principal& who,
                                    std::string_view scope) const {
  if (who.basic) {
    return error_response(make_error(Errc::denied, "requested access to the resource is denied"));
  }
  if (who.token) {
    return challenge(ex, scope, "insufficient_scope",
                     make_error(Errc::unauthorized, "the token does not grant this access"));
  }
  return challenge(ex, scope, "",
                   make_error(Errc::unauthorized, "authentication required"));
}

}  // namespace portcullis::api
