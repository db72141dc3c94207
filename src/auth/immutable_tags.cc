#include "auth/immutable_tags.h"

#include <set>
#include <utility>

#include <fmt/format.h>

#include "base/glob.h"
#include "oci/names.h"

namespace portcullis::auth {

namespace {

bool lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool tag_pattern_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == '*';
}

bool in_namespace(std::string_view repository, std::string_view ns) {
  return repository.starts_with(ns) &&
         (repository.size() == ns.size() || repository[ns.size()] == '/');
}

}  // namespace

bool is_signature_tag(std::string_view tag) {
  std::size_t hex_len = 0;
  if (tag.starts_with("sha256-")) {
    hex_len = 64;
  } else if (tag.starts_with("sha512-")) {
    hex_len = 128;
  } else {
    return false;
  }
  constexpr std::size_t kPrefix = 7;
  if (tag.size() <= kPrefix + hex_len || !lower_hex(tag.substr(kPrefix, hex_len))) return false;
  std::string_view suffix = tag.substr(kPrefix + hex_len);
  return suffix == ".sig" || suffix == ".att" || suffix == ".sbom";
}

Result<ImmutableTagRules> ImmutableTagRules::create(std::vector<TagRule> rules) {
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const TagRule& r : rules) {
    if (r.name.empty()) return make_error(Errc::denied, "immutable tag rule without a name");
    if (!oci::valid_repository_name(r.namespace_name)) {
      return make_error(Errc::name_invalid,
                        fmt::format("rule '{}': invalid namespace '{}'", r.name, r.namespace_name));
    }
    bool pattern_ok = !r.tag_pattern.empty() && r.tag_pattern.size() <= oci::kMaxTagLength;
    for (char c : r.tag_pattern) pattern_ok = pattern_ok && tag_pattern_char(c);
    if (!pattern_ok) {
      return make_error(Errc::tag_invalid,
                        fmt::format("rule '{}': invalid tag pattern '{}'", r.name, r.tag_pattern));
    }
    if (!seen.emplace(r.namespace_name, r.name).second) {
      return make_error(Errc::denied, fmt::format("duplicate immutable tag rule '{}' in '{}'",
                                                  r.name, r.namespace_name));
    }
  }
  ImmutableTagRules out;
  out.rules_ = std::move(rules);
  return out;
}

TagDecision ImmutableTagRules::decide(const TagChange& change) const {
  if (!change.old_digest) return {};                      // creating the tag
  if (change.new_digest == change.old_digest) return {};  // same digest again
  if (is_signature_tag(change.tag)) return {};
  for (const TagRule& r : rules_) {
    if (!in_namespace(change.repository, r.namespace_name)) continue;
    if (!glob_match(r.tag_pattern, change.tag)) continue;
    TagDecision d;
    d.allowed = false;
    d.rule = r.name;
    d.message = fmt::format(
        "tag '{}' of '{}' is immutable (rule '{}'): it {}", change.tag, change.repository, r.name,
        change.new_digest ? "cannot point at another digest" : "cannot be deleted");
    return d;
  }
  return {};
}

}  // namespace portcullis::auth
