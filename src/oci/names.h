// Grammar of repository names, tags and image references (OCI distribution
// spec, and the Docker reference grammar used by clients).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/digest.h"

namespace portcullis::oci {

inline constexpr std::size_t kMaxRepositoryNameLength = 255;
inline constexpr std::size_t kMaxTagLength = 128;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*, at most 255 bytes.
bool valid_repository_name(std::string_view name);
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool valid_tag(std::string_view tag);

// A manifest reference in a URL: either a tag or a digest.
struct ManifestRef {
  std::optional<Digest> digest;  // set when the reference is a digest
  std::string tag;               // set otherwise
  bool is_digest() const { return digest.has_value(); }
  const std::string& str() const { return digest ? digest->str() : tag; }
};
Result<ManifestRef> parse_manifest_ref(std::string_view text);

// A full image reference as users type it: [registry/]path[:tag][@digest].
// Normalised like Docker: no registry -> "docker.io"; a single-component path
// on docker.io gains "library/"; neither tag nor digest -> tag "latest".
struct ImageReference {
  std::string registry;    // host[:port]
  std::string repository;  // path inside the registry
  std::string tag;         // may be empty when a digest is given
  std::optional<Digest> digest;
  std::string str() const;  // canonical form
};
Result<ImageReference> parse_image_reference(std::string_view text);

}  // namespace portcullis::oci
