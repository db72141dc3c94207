#include "scanner/oci_layout.h"

#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "oci/digest.h"
#include "oci/manifest.h"

namespace portcullis::scanner {

namespace fs = std::filesystem;

namespace {

fs::path blob_path(const fs::path& dir, const oci::Digest& d) {
  return dir / "blobs" / std::string(d.algorithm_name()) / d.hex();
}

Result<std::string> read_small(const fs::path& p) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) return make_error(Errc::blob_unknown, fmt::format("{}: not found", p.string()));
  if (size > oci::kMaxManifestBytes) return make_error(Errc::size_invalid, fmt::format("{}: too large", p.string()));
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<LayoutImage> read_oci_layout(const fs::path& dir, const std::string& ref,
                                    const std::string& platform) {
  auto index_text = read_small(dir / "index.json");
  if (!index_text) return make_error(Errc::manifest_unknown, fmt::format("{} is not an OCI image layout (no index.json)", dir.string()));
  auto index = oci::parse_manifest(*index_text, "application/vnd.oci.image.index.v1+json");
  if (!index) return index.error();
  const oci::Descriptor* chosen = nullptr;
  for (const auto& d : index->manifests) {
    auto it = d.annotations.find("org.opencontainers.image.ref.name");
    if (ref.empty() ? index->manifests.size() == 1 : (it != d.annotations.end() && it->second == ref)) {
      chosen = &d;
    }
  }
  if (!chosen) {
    return make_error(Errc::manifest_unknown,
                      ref.empty() ? "index.json lists several images: name one with DIR:REF"
                                  : fmt::format("no image named '{}' in the layout", ref));
  }
  const oci::Platform want = oci::parse_platform(platform);
  oci::Digest digest = chosen->digest;
  for (int depth = 0; depth < 4; ++depth) {
    auto text = read_small(blob_path(dir, digest));
    if (!text) return text.error();
    if (oci::Digest::of(digest.algorithm(), *text) != digest) {
      return make_error(Errc::digest_invalid, fmt::format("blob {} does not match its digest", digest.str()));
    }
    auto m = oci::parse_manifest(*text, "");
    if (!m) return m.error();
    if (!m->is_index()) {
      LayoutImage out{digest.str(), {}};
      for (const auto& l : m->layers) {
        if (!l.urls.empty()) continue;
        out.layers.push_back({l.digest.str(), blob_path(dir, l.digest)});
      }
      return out;
    }
    const oci::Descriptor* next = m->find_platform(want);
    if (!next) return make_error(Errc::manifest_unknown, fmt::format("no {} image in the index", platform));
    digest = next->digest;
  }
  return make_error(Errc::manifest_invalid, "index nesting too deep");
}

}  // namespace portcullis::scanner
