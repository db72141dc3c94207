// Base-image lineage: which approved base image an image was built on.
//
// An image derives from a base when the base's layers (by diff_id, the
// uncompressed layer digests in the image config's rootfs) are a prefix of
// the image's layers. Every digest a base tag ever pointed at while approved
// counts (an image built on last month's base still derives from it). The
// OCI annotations org.opencontainers.image.base.name / base.digest are only
// a hint: an image whose annotations name an approved base but whose layers
// do not start with that base's layers is "unknown base". Pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace portcullis::policy {

inline constexpr const char* kBaseNameAnnotation = "org.opencontainers.image.base.name";
inline constexpr const char* kBaseDigestAnnotation = "org.opencontainers.image.base.digest";

struct BaseDigest {
  std::string digest;                 // manifest digest the tag pointed at
  std::vector<std::string> diff_ids;  // its layers, in order
  int64_t approved_at = 0;            // when it was first seen under the tag
};

struct ApprovedBase {
  std::string name;        // admin-chosen name, used in baseImages.allowed
  std::string repository;  // in this registry
  std::string tag;
  std::string current_digest;       // what the tag points at now ("" if unknown)
  std::vector<BaseDigest> history;  // every digest approved under the tag, oldest first
};

// The longest approved prefix of `diff_ids`; annotations decide between
// equally long candidates and are reported, but never establish lineage alone.
Lineage derive_lineage(const std::vector<std::string>& diff_ids,
                       const std::map<std::string, std::string>& annotations,
                       const std::vector<ApprovedBase>& bases);

}  // namespace portcullis::policy
