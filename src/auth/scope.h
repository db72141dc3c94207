// Docker token scopes (distribution docs/spec/auth/scope.md):
//
//   scope         := resourcescope [ ' ' resourcescope ]*
//   resourcescope := resourcetype [ '(' class ')' ] ':' resourcename ':' action [ ',' action ]*
//
// e.g. "repository:team-a/app:pull,push", "repository(plugin):team-a/p:pull",
// "registry:catalog:*". The same Scope value is a requested scope, a granted
// scope and one entry of a token's `access` claim ({type, class, name, actions}).
//
// Contract: value types and pure functions; thread-safe. Parsing is strict and
// bounded (kMaxScopeLength per scope, kMaxScopesPerRequest per list); every
// refusal is Errc::denied with a message safe to show to the client, except an
// invalid repository name, which is Errc::name_invalid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace portcullis::auth {

// The actions the registry understands. Unknown action names in a request are
// dropped (they can never be granted), as the token spec lets the server grant
// a subset without error. `any` is the literal "*" (registry:catalog:*); it
// never implies the other actions.
enum class Action : std::uint8_t {
  pull = 1 << 0,
  push = 1 << 1,
  delete_ = 1 << 2,  // "delete"
  any = 1 << 3,      // "*"
};

std::string_view action_name(Action a);
std::optional<Action> parse_action(std::string_view name);

class ActionSet {
 public:
  constexpr ActionSet() = default;
  constexpr ActionSet(std::initializer_list<Action> actions) {
    for (Action a : actions) bits_ |= static_cast<std::uint8_t>(a);
  }
  constexpr bool contains(Action a) const { return (bits_ & static_cast<std::uint8_t>(a)) != 0; }
  constexpr bool contains_all(ActionSet other) const {
    return (bits_ & other.bits_) == other.bits_;
  }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr void add(Action a) { bits_ |= static_cast<std::uint8_t>(a); }
  friend constexpr ActionSet operator&(ActionSet a, ActionSet b) {
    return from_bits(a.bits_ & b.bits_);
  }
  friend constexpr ActionSet operator|(ActionSet a, ActionSet b) {
    return from_bits(a.bits_ | b.bits_);
  }
  friend constexpr bool operator==(ActionSet a, ActionSet b) = default;

  // Names in canonical order (pull, push, delete, *).
  std::vector<std::string_view> names() const;
  // "pull,push" — the canonical comma-separated form.
  std::string str() const;

 private:
  static constexpr ActionSet from_bits(std::uint8_t bits) {
    ActionSet s;
    s.bits_ = bits;
    return s;
  }
  std::uint8_t bits_ = 0;
};

inline constexpr std::string_view kRepositoryType = "repository";
inline constexpr std::string_view kRegistryType = "registry";
inline constexpr std::string_view kCatalogName = "catalog";

inline constexpr std::size_t kMaxScopeLength = 512;
inline constexpr std::size_t kMaxScopesPerRequest = 64;

struct Scope {
  std::string type;   // "repository" or "registry"
  std::string klass;  // optional resource class ("plugin", "image"); "" when absent
  std::string name;   // a repository name, or "catalog" for type "registry"
  ActionSet actions;

  static Scope repository(std::string name, ActionSet actions) {
    return Scope{std::string(kRepositoryType), "", std::move(name), actions};
  }
  static Scope catalog() {
    return Scope{std::string(kRegistryType), "", std::string(kCatalogName), ActionSet{Action::any}};
  }
  // Same resource (type and name). The class does not name a different
  // resource: "repository(plugin):a" and "repository:a" are one repository.
  bool same_resource(const Scope& other) const { return type == other.type && name == other.name; }
  friend bool operator==(const Scope&, const Scope&) = default;
};

// Parses one resource scope. Errors: malformed, unknown resource type, bad
// class, a repository name outside the OCI grammar (a "host:port/" prefix is
// outside it), a registry scope other than "catalog", over kMaxScopeLength.
Result<Scope> parse_scope(std::string_view text);

// Parses a space-separated list (the OAuth2 POST form, or one `scope` query
// parameter). Empty text is an empty list. Strict: the first bad entry fails
// the whole list. At most kMaxScopesPerRequest entries.
Result<std::vector<Scope>> parse_scope_list(std::string_view text);

// "repository(plugin):name:pull,push"; the class is omitted when empty.
std::string format_scope(const Scope& scope);
// Space-separated, for WWW-Authenticate `scope="…"` and the OAuth2 response.
std::string format_scope_list(std::span<const Scope> scopes);

// Merges entries naming the same resource (and class) by the union of their
// actions and drops entries with no actions; keeps first-seen order.
std::vector<Scope> normalize_scopes(std::span<const Scope> scopes);

// For each requested scope, the actions also present in a granted entry for
// the same resource; scopes left with no action are dropped. The requested
// class is kept.
std::vector<Scope> intersect_scopes(std::span<const Scope> requested,
                                    std::span<const Scope> granted);

// The request-time check on a verified token's `access` claim: does any entry
// for (type, name) include `action`?
bool permits(std::span<const Scope> access, std::string_view type, std::string_view name,
             Action action);

}  // namespace portcullis::auth
