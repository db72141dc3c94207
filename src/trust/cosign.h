// Cosign "simple signing" signatures as cosign (and skopeo's sigstore
// attachments) store them in a registry (cosign specs/SIGNATURE_SPEC.md):
//
// - the payload, JSON:
//     {"critical":{"identity":{"docker-reference":"<registry>/<repo>[:tag]"},
//                  "image":{"docker-manifest-digest":"sha256:…"},
//                  "type":"cosign container image signature"},
//      "optional":{…}}
// - stored as a layer (mediaType application/vnd.dev.cosign.simplesigning.v1+json)
//   of an OCI image manifest tagged "sha256-<hex>.sig" in the image's
//   repository, the base64 signature in the layer annotation
//   "dev.cosignproject.cosign/signature"; one layer per signature, new
//   signatures appended.
//
// Everything here is pure (no I/O): callers fetch manifests and payload blobs.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/digest.h"
#include "trust/keys.h"

namespace portcullis::trust {

inline constexpr std::string_view kSimpleSigningMediaType =
    "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr std::string_view kSignatureAnnotation = "dev.cosignproject.cosign/signature";
inline constexpr std::string_view kCosignSignatureType = "cosign container image signature";
inline constexpr std::size_t kMaxPayloadBytes = 64 * 1024;
// verify_signatures examines at most this many layers of one signature manifest.
inline constexpr std::size_t kMaxSignatureLayers = 128;

// "sha256-<hex>.sig" for the image digest.
std::string signature_tag(const oci::Digest& image);

struct Payload {
  std::string docker_reference;                 // critical.identity.docker-reference
  std::string manifest_digest;                  // critical.image.docker-manifest-digest
  std::map<std::string, std::string> optional;  // string values of "optional" (others dropped)
};

// The payload bytes cosign writes (compact JSON, keys in this order;
// "optional":null when there are no optional entries, as cosign writes it).
std::string make_payload(std::string_view docker_reference, std::string_view manifest_digest,
                         const std::map<std::string, std::string>& optional = {});
// Strict: JSON object of at most kMaxPayloadBytes with only "critical" and
// "optional" (object or null); critical with exactly identity, image and
// type, as containers/image requires; critical.type must be
// kCosignSignatureType, docker-reference a non-empty string and
// docker-manifest-digest a valid digest. Errc::denied otherwise, with the reason.
Result<Payload> parse_payload(std::string_view json);

// The repository a docker-reference names, without registry host, tag or
// digest: "reg.example:5000/team-a/app:v1" -> "team-a/app". Docker Hub
// short names are not expanded (Portcullis repositories are never on Hub).
std::string reference_repository(std::string_view docker_reference);

// One signature layer of a signature manifest.
struct SignatureLayer {
  oci::Digest payload_digest;
  int64_t payload_size = 0;
  std::string signature;  // decoded from base64
  std::map<std::string, std::string> annotations;
};

// The signature layers of a cosign signature manifest (OCI or Docker image
// manifest). Layers of another media type or without a valid base64
// signature annotation (non-empty, at most 512 bytes decoded) are skipped
// (and counted in `skipped`). A manifest that oci::parse_manifest rejects, or
// an index, is an error (Errc::manifest_invalid).
struct ParsedSignatures {
  std::vector<SignatureLayer> layers;
  std::size_t skipped = 0;
};
Result<ParsedSignatures> parse_signature_manifest(std::string_view manifest_bytes);

// The signature manifest for `layers` (the existing ones followed by the new
// one, as cosign appends), byte for byte as cosign 2.x writes it: an OCI image
// manifest whose config is the image config cosign writes for signatures
// ({"architecture":"","created":"0001-01-01T00:00:00Z","history":[…one per
// layer…],"os":"","rootfs":{"type":"layers","diff_ids":[…payload digests…]},
// "config":{}}), and one kSimpleSigningMediaType layer per signature whose
// annotations are the layer's `annotations` with kSignatureAnnotation set to
// base64(signature). With a subject_digest, a `subject` descriptor (OCI 1.1
// referrer; media type defaults to the OCI image manifest type) is added;
// cosign itself writes none for tag-based signatures.
// The caller uploads the payload and config blobs and tags the manifest
// signature_tag(image).
struct SignatureManifest {
  std::string bytes;
  std::string config;  // config blob bytes referenced by the manifest
};
SignatureManifest build_signature_manifest(std::span<const SignatureLayer> layers,
                                           std::string_view subject_digest = {},
                                           int64_t subject_size = 0,
                                           std::string_view subject_media_type = {});

struct TrustedKey {
  std::string id;
  PublicKey key;
};

struct VerifiedSignature {
  std::string key_id;
  Payload payload;
};

struct VerificationResult {
  std::vector<VerifiedSignature> valid;  // at most one per key
  std::vector<std::string> problems;     // why other layers did not count, one line each
  std::size_t distinct_keys() const { return valid.size(); }
};

// Checks every layer (the first kMaxSignatureLayers): its payload (fetched by
// digest, must hash to it and be at most kMaxPayloadBytes) must carry a
// signature that verifies with one of `keys`, parse, name `image_digest` and a
// docker reference whose repository is `repository`. A key counts once,
// however many layers it signed. Every layer that does not count leaves one
// line in `problems` ("layer 2: payload names sha256:… not sha256:…").
// fetch_payload is called at most once per layer, only for payloads of
// acceptable declared size.
VerificationResult verify_signatures(
    std::span<const SignatureLayer> layers,
    const std::function<Result<std::string>(const oci::Digest&)>& fetch_payload,
    std::span<const TrustedKey> keys, std::string_view image_digest, std::string_view repository);

}  // namespace portcullis::trust
