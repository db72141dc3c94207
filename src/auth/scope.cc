#include "auth/scope.h"

#include <fmt/format.h>

#include "oci/names.h"

namespace portcullis::auth {

namespace {

constexpr Action kAllActions[] = {Action::pull, Action::push, Action::delete_, Action::any};

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_lower_alnum(char c) { return is_lower(c) || (c >= '0' && c <= '9'); }

Error refuse(std::string_view why, std::string_view text) {
  // Echo at most a bounded prefix of what the client sent.
  return make_error(Errc::denied, fmt::format("invalid scope {:?}: {}", text.substr(0, 80), why));
}

}  // namespace

std::string_view action_name(Action a) {
  switch (a) {
    case Action::pull: return "pull";
    case Action::push: return "push";
    case Action::delete_: return "delete";
    case Action::any: return "*";
  }
  return "";
}

std::optional<Action> parse_action(std::string_view name) {
  for (Action a : kAllActions) {
    if (action_name(a) == name) return a;
  }
  return std::nullopt;
}

std::vector<std::string_view> ActionSet::names() const {
  std::vector<std::string_view> out;
  for (Action a : kAllActions) {
    if (contains(a)) out.push_back(action_name(a));
  }
  return out;
}

std::string ActionSet::str() const { return fmt::format("{}", fmt::join(names(), ",")); }

Result<Scope> parse_scope(std::string_view text) {
  if (text.empty()) return refuse("empty", text);
  if (text.size() > kMaxScopeLength) return refuse("too long", text);
  // The name may itself hold a ':' (a host:port prefix), so the type ends at
  // the first ':' and the actions start after the last one.
  auto first = text.find(':');
  auto last = text.rfind(':');
  if (first == std::string_view::npos || first == last) {
    return refuse("expected type:name:actions", text);
  }
  std::string_view type_part = text.substr(0, first);
  std::string_view name = text.substr(first + 1, last - first - 1);
  std::string_view actions_part = text.substr(last + 1);

  Scope scope;
  std::string_view type = type_part;
  if (auto open = type_part.find('('); open != std::string_view::npos) {
    if (!type_part.ends_with(')')) return refuse("malformed resource class", text);
    type = type_part.substr(0, open);
    std::string_view klass = type_part.substr(open + 1, type_part.size() - open - 2);
    if (klass.empty() || !all_of(klass, is_lower_alnum)) {
      return refuse("malformed resource class", text);
    }
    scope.klass = std::string(klass);
  }
  if (type.empty() || !all_of(type, is_lower)) return refuse("malformed resource type", text);
  if (type == kRepositoryType) {
    if (!oci::valid_repository_name(name)) {
      return make_error(Errc::name_invalid,
                        fmt::format("invalid repository name in scope {:?}", text.substr(0, 80)));
    }
  } else if (type == kRegistryType) {
    if (name != kCatalogName) return refuse("the only registry resource is \"catalog\"", text);
  } else {
    return refuse("unknown resource type", text);
  }
  scope.type = std::string(type);
  scope.name = std::string(name);

  if (!actions_part.empty()) {
    std::size_t start = 0;
    while (true) {
      auto comma = actions_part.find(',', start);
      auto action = actions_part.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (action != "*" && (action.empty() || !all_of(action, is_lower))) {
        return refuse("malformed action", text);
      }
      if (auto a = parse_action(action)) scope.actions.add(*a);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return scope;
}

Result<std::vector<Scope>> parse_scope_list(std::string_view text) {
  std::vector<Scope> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto space = text.find(' ', start);
    auto item = text.substr(
        start, space == std::string_view::npos ? std::string_view::npos : space - start);
    if (!item.empty()) {
      if (out.size() == kMaxScopesPerRequest) {
        return make_error(Errc::denied, "too many scopes in one request");
      }
      auto scope = parse_scope(item);
      if (!scope) return scope.error();
      out.push_back(std::move(*scope));
    }
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return out;
}

std::string format_scope(const Scope& scope) {
  if (scope.klass.empty())
    return fmt::format("{}:{}:{}", scope.type, scope.name, scope.actions.str());
  return fmt::format("{}({}):{}:{}", scope.type, scope.klass, scope.name, scope.actions.str());
}

std::string format_scope_list(std::span<const Scope> scopes) {
  std::string out;
  for (const Scope& s : scopes) {
    if (!out.empty()) out.push_back(' ');
    out += format_scope(s);
  }
  return out;
}

std::vector<Scope> normalize_scopes(std::span<const Scope> scopes) {
  std::vector<Scope> out;
  for (const Scope& s : scopes) {
    if (s.actions.empty()) continue;
    bool merged = false;
    for (Scope& o : out) {
      if (o.same_resource(s) && o.klass == s.klass) {
        o.actions = o.actions | s.actions;
        merged = true;
        break;
      }
    }
    if (!merged) out.push_back(s);
  }
  return out;
}

std::vector<Scope> intersect_scopes(std::span<const Scope> requested,
                                    std::span<const Scope> granted) {
  std::vector<Scope> out;
  for (const Scope& r : requested) {
    ActionSet allowed;
    for (const Scope& g : granted) {
      if (g.same_resource(r)) allowed = allowed | g.actions;
    }
    Scope s = r;
    s.actions = r.actions & allowed;
    if (!s.actions.empty()) out.push_back(std::move(s));
  }
  return normalize_scopes(out);
}

bool permits(std::span<const Scope> access, std::string_view type, std::string_view name,
             Action action) {
  for (const Scope& s : access) {
    if (s.type == type && s.name == name && s.actions.contains(action)) return true;
  }
  return false;
}

}  // namespace portcullis::auth
