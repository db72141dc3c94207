// Immutable tag rules: once a tag matching a rule exists, it may not be moved
// to another digest nor deleted. Re-pushing the digest it already points at
// is fine, and so is creating it. Signature and attestation tags
// ("sha256-<64 hex>.sig|.att|.sbom", and the sha512 form) are never blocked,
// so cosign can re-sign and re-attest immutable releases.
//
// A rule names a namespace (a repository-name prefix of whole components) and
// a tag glob (glob.h: "v*", "release-*", "*"). It covers every repository
// equal to or under that prefix — nested namespaces included, unlike RBAC's
// longest-match, because protection should not disappear when someone adds a
// more specific namespace.
//
// Deleting a manifest by digest deletes the tags pointing at it: the caller
// asks decide() for each such tag (new_digest = nullopt).
//
// Contract: pure; ImmutableTagRules is immutable after create() and
// thread-safe to share.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace portcullis::auth {

struct TagRule {
  std::string name;            // shown in the DENIED message
  std::string namespace_name;  // e.g. "team-a"
  std::string tag_pattern;     // e.g. "v*"
};

struct TagChange {
  std::string_view repository;
  std::string_view tag;
  std::optional<std::string_view> old_digest;  // what the tag points at now; nullopt: no such tag
  std::optional<std::string_view> new_digest;  // what it would point at; nullopt: delete
};

struct TagDecision {
  bool allowed = true;
  std::string rule;     // the denying rule's name; empty when allowed
  std::string message;  // client-safe explanation; empty when allowed
  // Errc::denied with `message` (only meaningful when !allowed).
  Error to_error() const { return make_error(Errc::denied, message); }
};

// "sha256-<64 lower-case hex>" or "sha512-<128 lower-case hex>", followed by
// ".sig", ".att" or ".sbom".
bool is_signature_tag(std::string_view tag);

class ImmutableTagRules {
 public:
  ImmutableTagRules() = default;  // no rules: everything allowed

  // Errc::denied for an empty rule name or a name used twice in one
  // namespace, Errc::name_invalid for a namespace outside the repository
  // grammar, Errc::tag_invalid for an empty pattern or one with characters
  // outside the tag grammar plus '*'.
  static Result<ImmutableTagRules> create(std::vector<TagRule> rules);

  // The first matching rule (in the order given to create()) decides.
  TagDecision decide(const TagChange& change) const;

  std::span<const TagRule> rules() const { return rules_; }

 private:
  std::vector<TagRule> rules_;
};

}  // namespace portcullis::auth
