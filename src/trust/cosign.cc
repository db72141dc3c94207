#include "trust/cosign.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "oci/manifest.h"
#include "oci/media_types.h"
#include "trust/encoding.h"

namespace portcullis::trust {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxSignatureBytes = 512;
constexpr std::size_t kMaxReferenceBytes = 1024;
// The zero time.Time as Go's encoding/json writes it (cosign leaves it unset).
constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

Error denied(std::string message) { return make_error(Errc::denied, std::move(message)); }

std::string_view view(const json::string& s) { return {s.data(), s.size()}; }

// The object's keys must be exactly `keys`.
bool has_exactly(const json::object& o, std::initializer_list<std::string_view> keys) {
  if (o.size() != keys.size()) return false;
  return std::all_of(keys.begin(), keys.end(), [&](std::string_view k) { return o.contains(k); });
}

std::string descriptor(std::string_view media_type, int64_t size, std::string_view digest) {
  return fmt::format(R"({{"mediaType":{},"size":{},"digest":{}}})", detail::json_quote(media_type),
                     size, detail::json_quote(digest));
}

}  // namespace

std::string signature_tag(const oci::Digest& image) {
  return fmt::format("{}-{}.sig", image.algorithm_name(), image.hex());
}

std::string make_payload(std::string_view docker_reference, std::string_view manifest_digest,
                         const std::map<std::string, std::string>& optional) {
  std::string out = fmt::format(
      R"({{"critical":{{"identity":{{"docker-reference":{}}},"image":{{"docker-manifest-digest":{}}},"type":{}}},"optional":)",
      detail::json_quote(docker_reference), detail::json_quote(manifest_digest),
      detail::json_quote(kCosignSignatureType));
  if (optional.empty()) {
    out += "null";
  } else {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : optional) {  // sorted, as Go marshals a map
      if (!first) out += ',';
      first = false;
      out += detail::json_quote(k);
      out += ':';
      out += detail::json_quote(v);
    }
    out += '}';
  }
  out += '}';
  return out;
}

Result<Payload> parse_payload(std::string_view text) {
  if (text.size() > kMaxPayloadBytes) {
    return denied(
        fmt::format("payload: {} bytes, over the {} byte limit", text.size(), kMaxPayloadBytes));
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  // A duplicated key keeps its last value, as in Go's encoding/json (cosign).
  json::value root = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return denied(fmt::format("payload: not valid JSON ({})", ec.message()));
  if (!root.is_object()) return denied("payload: not a JSON object");
  const auto& o = root.get_object();
  for (const auto& kv : o) {
    if (kv.key() != "critical" && kv.key() != "optional") {
      return denied(
          fmt::format("payload: unexpected field {}", detail::json_quote(view(kv.key()))));
    }
  }
  auto cit = o.find("critical");
  if (cit == o.end() || !cit->value().is_object())
    return denied("payload: critical must be an object");
  const auto& critical = cit->value().get_object();
  if (!has_exactly(critical, {"identity", "image", "type"})) {
    return denied("payload: critical must have exactly identity, image and type");
  }
  const auto& type = critical.at("type");
  if (!type.is_string() || view(type.get_string()) != kCosignSignatureType) {
    return denied(fmt::format("payload: critical.type is not \"{}\"", kCosignSignatureType));
  }
  const auto& identity = critical.at("identity");
  if (!identity.is_object() || !has_exactly(identity.get_object(), {"docker-reference"}) ||
      !identity.get_object().at("docker-reference").is_string()) {
    return denied("payload: critical.identity must be {\"docker-reference\": string}");
  }
  const auto& image = critical.at("image");
  if (!image.is_object() || !has_exactly(image.get_object(), {"docker-manifest-digest"}) ||
      !image.get_object().at("docker-manifest-digest").is_string()) {
    return denied("payload: critical.image must be {\"docker-manifest-digest\": string}");
  }

  Payload p;
  p.docker_reference = std::string(view(identity.get_object().at("docker-reference").get_string()));
  p.manifest_digest =
      std::string(view(image.get_object().at("docker-manifest-digest").get_string()));
  if (p.docker_reference.empty() || p.docker_reference.size() > kMaxReferenceBytes) {
    return denied("payload: docker-reference is empty or too long");
  }
  if (std::any_of(p.docker_reference.begin(), p.docker_reference.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return denied("payload: docker-reference contains whitespace or control characters");
  }
  if (!oci::Digest::parse(p.manifest_digest)) {
    return denied(fmt::format("payload: docker-manifest-digest {} is not a valid digest",
                              detail::json_quote(p.manifest_digest)));
  }

  if (auto oit = o.find("optional"); oit != o.end() && !oit->value().is_null()) {
    if (!oit->value().is_object()) return denied("payload: optional must be an object or null");
    for (const auto& kv : oit->value().get_object()) {
      if (kv.value().is_string())
        p.optional.emplace(std::string(view(kv.key())), std::string(view(kv.value().get_string())));
    }
  }
  return p;
}

std::string reference_repository(std::string_view ref) {
  if (auto at = ref.find('@'); at != std::string_view::npos) ref = ref.substr(0, at);
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref = ref.substr(0, colon);  // tag
  }
  // The first component names a registry host when it looks like one
  // (docker's rule: contains '.' or ':', or is "localhost").
  if (auto first = ref.find('/'); first != std::string_view::npos) {
    std::string_view host = ref.substr(0, first);
    if (host.find('.') != std::string_view::npos || host.find(':') != std::string_view::npos ||
        host == "localhost") {
      ref = ref.substr(first + 1);
    }
  }
  return std::string(ref);
}

Result<ParsedSignatures> parse_signature_manifest(std::string_view manifest_bytes) {
  auto m = oci::parse_manifest(manifest_bytes, {});
  if (!m) return make_error(Errc::manifest_invalid, m.error().message);
  if (m->is_index())
    return make_error(Errc::manifest_invalid,
                      "signature manifest is an index, not an image manifest");
  ParsedSignatures out;
  for (auto& layer : m->layers) {
    if (layer.media_type != kSimpleSigningMediaType) {
      ++out.skipped;
      continue;
    }
    auto it = layer.annotations.find(std::string(kSignatureAnnotation));
    if (it == layer.annotations.end()) {
      ++out.skipped;
      continue;
    }
    auto signature = detail::base64_decode(it->second);
    if (!signature || signature->empty() || signature->size() > kMaxSignatureBytes) {
      ++out.skipped;
      continue;
    }
    out.layers.push_back(SignatureLayer{layer.digest, layer.size, std::move(*signature),
                                        std::move(layer.annotations)});
  }
  return out;
}

SignatureManifest build_signature_manifest(std::span<const SignatureLayer> layers,
                                           std::string_view subject_digest, int64_t subject_size,
                                           std::string_view subject_media_type) {
  // The config: go-containerregistry's empty image with the layers appended,
  // fields in its ConfigFile order.
  std::string history;
  std::string diff_ids;
  for (const auto& l : layers) {
    if (!history.empty()) history += ',';
    history += fmt::format(R"({{"created":"{}"}})", kZeroTime);
    if (!diff_ids.empty()) diff_ids += ',';
    diff_ids += detail::json_quote(l.payload_digest.str());
  }
  SignatureManifest out;
  out.config = fmt::format(R"({{"architecture":"","created":"{}",)", kZeroTime);
  if (!layers.empty()) out.config += fmt::format(R"("history":[{}],)", history);
  out.config += fmt::format(
      R"("os":"","rootfs":{{"type":"layers","diff_ids":[{}]}},"config":{{}}}})", diff_ids);

  auto config_digest = oci::Digest::of(crypto::HashAlgorithm::sha256, out.config);
  std::string body =
      fmt::format(R"({{"schemaVersion":2,"mediaType":{},"config":{},"layers":[)",
                  detail::json_quote(oci::media::kOciManifest),
                  descriptor(oci::media::kOciConfig, static_cast<int64_t>(out.config.size()),
                             config_digest.str()));
  bool first = true;
  for (const auto& l : layers) {
    std::map<std::string, std::string> annotations = l.annotations;
    annotations[std::string(kSignatureAnnotation)] = detail::base64_encode(l.signature);
    std::string d = descriptor(kSimpleSigningMediaType, l.payload_size, l.payload_digest.str());
    d.pop_back();  // reopen the object for its annotations
    d += R"(,"annotations":{)";
    bool first_annotation = true;
    for (const auto& [k, v] : annotations) {
      if (!first_annotation) d += ',';
      first_annotation = false;
      d += detail::json_quote(k) + ':' + detail::json_quote(v);
    }
    d += "}}";
    if (!first) body += ',';
    first = false;
    body += d;
  }
  body += ']';
  if (!subject_digest.empty()) {
    std::string_view type =
        subject_media_type.empty() ? oci::media::kOciManifest : subject_media_type;
    body += R"(,"subject":)" + descriptor(type, subject_size, subject_digest);
  }
  body += '}';
  out.bytes = std::move(body);
  return out;
}

VerificationResult verify_signatures(
    std::span<const SignatureLayer> layers,
    const std::function<Result<std::string>(const oci::Digest&)>& fetch_payload,
    std::span<const TrustedKey> keys, std::string_view image_digest, std::string_view repository) {
  VerificationResult result;
  std::set<std::string> counted;
  std::size_t n = std::min(layers.size(), kMaxSignatureLayers);
  if (layers.size() > n) {
    result.problems.push_back(
        fmt::format("layers {} to {} not examined (at most {} per signature manifest)", n,
                    layers.size() - 1, kMaxSignatureLayers));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const SignatureLayer& layer = layers[i];
    auto problem = [&](std::string why) {
      result.problems.push_back(fmt::format("layer {}: {}", i, why));
    };
    if (layer.payload_size < 0 || static_cast<uint64_t>(layer.payload_size) > kMaxPayloadBytes) {
      problem(fmt::format("payload size {} is over the {} byte limit", layer.payload_size,
                          kMaxPayloadBytes));
      continue;
    }
    auto bytes = fetch_payload(layer.payload_digest);
    if (!bytes) {
      problem(fmt::format("payload {} not available: {}", layer.payload_digest.str(),
                          bytes.error().message));
      continue;
    }
    if (bytes->size() > kMaxPayloadBytes) {
      problem(fmt::format("payload is {} bytes, over the {} byte limit", bytes->size(),
                          kMaxPayloadBytes));
      continue;
    }
    if (oci::Digest::of(layer.payload_digest.algorithm(), *bytes) != layer.payload_digest) {
      problem("payload digest mismatch");
      continue;
    }
    // Authenticity before anything in the payload is believed.
    const TrustedKey* signer = nullptr;
    for (const auto& k : keys) {
      if (k.key.verify(*bytes, layer.signature)) {
        signer = &k;
        break;
      }
    }
    if (signer == nullptr) {
      problem("signature does not verify with any trusted key");
      continue;
    }
    auto payload = parse_payload(*bytes);
    if (!payload) {
      problem(fmt::format("signed by {} but {}", signer->id, payload.error().message));
      continue;
    }
    if (payload->manifest_digest != image_digest) {
      problem(fmt::format("payload names {} not {}", payload->manifest_digest, image_digest));
      continue;
    }
    std::string named = reference_repository(payload->docker_reference);
    if (named != repository) {
      problem(fmt::format("docker-reference names {}, not {}", named, repository));
      continue;
    }
    if (counted.insert(signer->id).second) {
      result.valid.push_back(VerifiedSignature{signer->id, std::move(*payload)});
    }
  }
  return result;
}

}  // namespace portcullis::trust
