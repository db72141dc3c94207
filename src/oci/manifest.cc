#include "oci/manifest.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "oci/media_types.h"

namespace portcullis::oci {

namespace json = boost::json;

namespace {

Error invalid(std::string message) { return make_error(Errc::manifest_invalid, std::move(message)); }

Result<std::string> opt_string(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::string();
  if (!it->value().is_string()) return invalid(fmt::format("'{}' must be a string", key));
  return std::string(it->value().get_string());
}

Result<std::map<std::string, std::string>> opt_annotations(const json::object& o) {
  std::map<std::string, std::string> out;
  auto it = o.find("annotations");
  if (it == o.end() || it->value().is_null()) return out;
  if (!it->value().is_object()) return invalid("'annotations' must be an object");
  for (const auto& kv : it->value().get_object()) {
    if (!kv.value().is_string()) return invalid("annotation values must be strings");
    out.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  return out;
}

Result<Descriptor> parse_descriptor(const json::value& v, std::string_view where) {
  if (!v.is_object()) return invalid(fmt::format("{} must be a descriptor object", where));
  const auto& o = v.get_object();
  auto media_type = opt_string(o, "mediaType");
  if (!media_type) return media_type.error();
  if (media_type->empty()) return invalid(fmt::format("{} has no mediaType", where));
  auto dit = o.find("digest");
  if (dit == o.end() || !dit->value().is_string()) {
    return invalid(fmt::format("{} has no digest", where));
  }
  auto digest = Digest::parse(dit->value().get_string());
  if (!digest) return invalid(fmt::format("{} has an invalid digest", where));
  auto sit = o.find("size");
  if (sit == o.end() || !(sit->value().is_int64() || sit->value().is_uint64())) {
    return invalid(fmt::format("{} has no integer size", where));
  }
  int64_t size = sit->value().is_int64() ? sit->value().get_int64() : -1;
  if (size < 0) return invalid(fmt::format("{} has a negative or huge size", where));
  Descriptor d{*media_type, *digest, size, {}, {}, {}, std::nullopt};
  auto at = opt_string(o, "artifactType");
  if (!at) return at.error();
  d.artifact_type = *at;
  auto ann = opt_annotations(o);
  if (!ann) return ann.error();
  d.annotations = std::move(*ann);
  if (auto uit = o.find("urls"); uit != o.end()) {
    if (!uit->value().is_array()) return invalid(fmt::format("{} urls must be an array", where));
    for (const auto& u : uit->value().get_array()) {
      if (!u.is_string()) return invalid(fmt::format("{} urls must be strings", where));
      d.urls.emplace_back(u.get_string());
    }
  }
  if (auto pit = o.find("platform"); pit != o.end()) {
    if (!pit->value().is_object()) return invalid(fmt::format("{} platform must be an object", where));
    const auto& p = pit->value().get_object();
    Platform platform;
    auto os = opt_string(p, "os");
    auto arch = opt_string(p, "architecture");
    auto variant = opt_string(p, "variant");
    if (!os || !arch || !variant) return invalid(fmt::format("{} has an invalid platform", where));
    platform.os = *os;
    platform.architecture = *arch;
    platform.variant = *variant;
    d.platform = platform;
  }
  return d;
}

Result<std::vector<Descriptor>> parse_descriptor_array(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return invalid(fmt::format("'{}' is required", key));
  if (!it->value().is_array()) return invalid(fmt::format("'{}' must be an array", key));
  std::vector<Descriptor> out;
  std::size_t i = 0;
  for (const auto& v : it->value().get_array()) {
    auto d = parse_descriptor(v, fmt::format("{}[{}]", key, i++));
    if (!d) return d.error();
    out.push_back(std::move(*d));
  }
  return out;
}

// The media type the request's Content-Type names, without parameters.
std::string_view bare_type(std::string_view ct) {
  auto semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  return ct;
}

}  // namespace

bool Manifest::is_index() const { return media::is_index(media_type); }

std::string Manifest::referrer_artifact_type() const {
  if (!artifact_type.empty()) return artifact_type;
  if (config) return config->media_type;
  return {};
}

std::vector<const Descriptor*> Manifest::required_blob_descriptors() const {
  std::vector<const Descriptor*> out;
  if (config) out.push_back(&*config);
  for (const auto& l : layers) {
    if (!l.urls.empty() || l.media_type == media::kDockerForeignLayer) continue;
    out.push_back(&l);
  }
  return out;
}

std::vector<Digest> Manifest::required_blobs() const {
  std::vector<Digest> out;
  for (const Descriptor* d : required_blob_descriptors()) out.push_back(d->digest);
  return out;
}

const Descriptor* Manifest::find_platform(const Platform& want) const {
  for (const auto& d : manifests) {
    if (d.platform && d.platform->os == want.os && d.platform->architecture == want.architecture &&
        (want.variant.empty() || d.platform->variant == want.variant)) {
      return &d;
    }
  }
  return nullptr;
}

Platform parse_platform(std::string_view text) {
  Platform p{"linux", "amd64", ""};
  auto a = text.find('/');
  if (a == std::string_view::npos) {
    if (!text.empty()) p.os = std::string(text);
    return p;
  }
  p.os = std::string(text.substr(0, a));
  auto b = text.find('/', a + 1);
  p.architecture = std::string(text.substr(a + 1, b == std::string_view::npos ? b : b - a - 1));
  if (b != std::string_view::npos) p.variant = std::string(text.substr(b + 1));
  return p;
}

Result<Manifest> parse_manifest(std::string_view bytes, std::string_view content_type) {
  if (bytes.size() > kMaxManifestBytes) {
    return make_error(Errc::payload_too_large, "manifest exceeds 4 MiB");
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 64;
  json::value root = json::parse(json::string_view(bytes.data(), bytes.size()), ec, {}, opts);
  if (ec) return invalid(fmt::format("manifest is not valid JSON: {}", ec.message()));
  if (!root.is_object()) return invalid("manifest must be a JSON object");
  const auto& o = root.get_object();

  auto sv = o.find("schemaVersion");
  if (sv == o.end() || !sv->value().is_int64()) return invalid("schemaVersion is required");
  if (sv->value().get_int64() != 2) {
    return invalid(fmt::format("unsupported schemaVersion {}", sv->value().get_int64()));
  }

  Manifest m;
  auto body_type = opt_string(o, "mediaType");
  if (!body_type) return body_type.error();
  std::string_view ct = bare_type(content_type);
  if (!body_type->empty()) {
    if (!media::is_manifest_type(*body_type)) {
      return invalid(fmt::format("unsupported manifest mediaType {}", *body_type));
    }
    if (media::is_manifest_type(ct) && ct != *body_type) {
      return invalid(fmt::format("Content-Type {} does not match mediaType {}", ct, *body_type));
    }
    m.media_type = *body_type;
  } else if (media::is_manifest_type(ct)) {
    m.media_type = std::string(ct);
  } else if (ct == media::kDockerSchema1 || ct == media::kDockerSchema1Signed) {
    return invalid("Docker schema1 manifests are not supported");
  } else {
    m.media_type = std::string(o.contains("manifests") ? media::kOciIndex : media::kOciManifest);
  }
  bool docker = m.media_type == media::kDockerManifest || m.media_type == media::kDockerManifestList;
  if (docker && body_type->empty()) return invalid("Docker manifests must carry mediaType");

  auto at = opt_string(o, "artifactType");
  if (!at) return at.error();
  m.artifact_type = *at;
  auto ann = opt_annotations(o);
  if (!ann) return ann.error();
  m.annotations = std::move(*ann);

  if (m.is_index()) {
    if (o.contains("layers") || o.contains("config")) {
      return invalid("an index must not have config or layers");
    }
    auto manifests = parse_descriptor_array(o, "manifests");
    if (!manifests) return manifests.error();
    m.manifests = std::move(*manifests);
  } else {
    if (o.contains("manifests")) return invalid("an image manifest must not have manifests");
    auto cit = o.find("config");
    if (cit == o.end()) return invalid("'config' is required");
    auto config = parse_descriptor(cit->value(), "config");
    if (!config) return config.error();
    m.config = std::move(*config);
    auto layers = parse_descriptor_array(o, "layers");
    if (!layers) return layers.error();
    m.layers = std::move(*layers);
  }
  if (auto sit = o.find("subject"); sit != o.end()) {
    auto subject = parse_descriptor(sit->value(), "subject");
    if (!subject) return subject.error();
    m.subject = std::move(*subject);
  }
  return m;
}

std::string descriptor_json(const Descriptor& d) {
  json::object o;
  o["mediaType"] = d.media_type;
  o["digest"] = d.digest.str();
  o["size"] = d.size;
  if (!d.artifact_type.empty()) o["artifactType"] = d.artifact_type;
  if (!d.annotations.empty()) {
    json::object a;
    for (const auto& [k, v] : d.annotations) a[k] = v;
    o["annotations"] = std::move(a);
  }
  return json::serialize(o);
}

}  // namespace portcullis::oci
