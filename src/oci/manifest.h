// Parsing and structural validation of image manifests and indexes (OCI
// image spec 1.1, Docker schema2 and manifest list). Pure: no I/O. The caller
// keeps the exact bytes; this only reads them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/digest.h"

namespace portcullis::oci {

inline constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::string artifact_type;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> urls;
  std::optional<Platform> platform;
};

struct Manifest {
  std::string media_type;  // effective media type (body field, else Content-Type, else inferred)
  std::optional<Descriptor> config;
  std::vector<Descriptor> layers;     // image manifests
  std::vector<Descriptor> manifests;  // indexes
  std::optional<Descriptor> subject;
  std::string artifact_type;  // "artifactType" field as written (may be empty)
  std::map<std::string, std::string> annotations;

  bool is_index() const;
  // The type the referrers API reports: artifactType, else config.mediaType.
  std::string referrer_artifact_type() const;
  // Blobs that must exist in the repository for this manifest to be accepted
  // (config and layers, except foreign / non-distributable layers with URLs).
  std::vector<Digest> required_blobs() const;
  // The same blobs as their descriptors (digest and declared size).
  std::vector<const Descriptor*> required_blob_descriptors() const;
  // The child of an index for a platform (variant ignored when empty); null if none.
  const Descriptor* find_platform(const Platform& platform) const;
};

// "os/arch[/variant]"; missing parts default to linux / amd64.
Platform parse_platform(std::string_view text);

// content_type is the request's Content-Type (may be empty).
Result<Manifest> parse_manifest(std::string_view bytes, std::string_view content_type);

// Serialises a descriptor as a JSON object (for the referrers index).
std::string descriptor_json(const Descriptor& d);

}  // namespace portcullis::oci
