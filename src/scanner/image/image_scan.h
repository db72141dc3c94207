// Reading an image's layers into an inventory: tar/gzip/zstd via libarchive,
// whiteouts applied, paths normalised, links never followed outside the
// image, everything bounded. Only files a cataloger wants are read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "scanner/model.h"

namespace portcullis::scanner::image {

struct Limits {
  uint64_t max_uncompressed_bytes = 16ull << 30;  // per image
  uint64_t max_entries = 2'000'000;                // tar entries per image
  uint64_t max_ratio = 200;                        // uncompressed / compressed per layer
  uint64_t max_file_bytes = 256ull << 20;          // one file read for a cataloger
};

struct Layer {
  std::string digest;              // layer (blob) digest, recorded on each package
  std::filesystem::path path;      // the compressed or plain tar
};

// Layers in order, bottom first. Errors: Errc::unsupported for a format it
// cannot read, Errc::size_invalid for a bound exceeded (message says which),
// Errc::manifest_invalid for a corrupt archive.
Result<Inventory> scan_layers(const std::vector<Layer>& layers, const Limits& limits = {});

}  // namespace portcullis::scanner::image
