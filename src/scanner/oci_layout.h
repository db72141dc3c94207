// Reading an image from an OCI image layout directory (image-spec
// image-layout.md) for the command-line scanner.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "scanner/image/image_scan.h"

namespace portcullis::scanner {

struct LayoutImage {
  std::string manifest_digest;  // the image manifest chosen
  std::vector<image::Layer> layers;
};

// `ref` selects a manifest of index.json by its org.opencontainers.image.ref.name
// annotation (empty: the only manifest). An index is resolved to the child for
// `platform` ("os/arch[/variant]", default linux/amd64).
Result<LayoutImage> read_oci_layout(const std::filesystem::path& dir, const std::string& ref,
                                    const std::string& platform = "linux/amd64");

}  // namespace portcullis::scanner
