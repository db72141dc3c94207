// Reading an image's layers into an inventory: tar/gzip/zstd via libarchive,
// whiteouts applied, paths normalised, links never followed outside the
// image, everything bounded. Only files a cataloger wants are read.
//
// Contract:
// - Layers are streamed once; a second pass happens only when a path a
//   cataloger wants is a link to a file it did not see on the way (say
//   var/lib/dpkg/status -> ../../opt/db/status). Nothing is extracted to
//   disk except an rpm database, copied to a private temporary directory
//   (under $TMPDIR) for librpm and removed afterwards.
// - Memory is bounded by the limits below: at most one file of
//   max_file_bytes is held at a time (a lock file's JSON tree is a few times
//   its size), plus the packages found and the image's links. Executables and
//   Java archives are streamed, never held.
// - Every bound is checked before the data it concerns is inflated: an
//   entry's declared size counts against the image and layer bounds before it
//   is read or skipped.
// - Each package records the layer its file came from and that file's path;
//   an archive inside a Java archive is named "outer.war!/WEB-INF/lib/x.jar".
// - Links resolve inside the image only: a symlink to "/etc/passwd" means the
//   image's own etc/passwd, ".." stops at the image root, a hard link names
//   a path of the image. Paths that climb above the root are rejected.
// - Problems with one file's content (a malformed package.json, a symlink
//   loop, a jar libarchive cannot read) do not fail the scan: they are listed
//   in Inventory::warnings.
// - Thread-safe: scans may run concurrently (the rpm reader serialises its
//   use of librpm, whose configuration is process-wide).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "scanner/model.h"

namespace portcullis::scanner::image {

struct Limits {
  uint64_t max_uncompressed_bytes = 16ull << 30;  // per image
  uint64_t max_entries = 2'000'000;               // tar entries per image
  uint64_t max_ratio = 200;                       // uncompressed / compressed per layer
  // One file read for a cataloger. A package database over it fails the scan
  // (size_invalid); executables and Java archives over it are not read.
  uint64_t max_file_bytes = 256ull << 20;
  // max_ratio applies once a layer (or a jar) has produced this many
  // uncompressed bytes: tiny layers of padding legitimately compress 1000:1.
  uint64_t ratio_floor_bytes = 64ull << 20;
  // Manifests a cataloger reads whole (package.json, METADATA, pom.properties,
  // os-release): larger ones are skipped with a warning.
  uint64_t max_manifest_bytes = 4ull << 20;
  uint64_t max_packages = 500'000;  // per image; more is a size_invalid error
  // Paths and targets of the symlinks and hard links kept to resolve links
  // inside the image (a distribution has about 1 MiB of them).
  uint64_t max_link_bytes = 64ull << 20;
  // Longest name / version / licence kept from one package record; a record
  // with a longer field is skipped with a warning.
  std::size_t max_field_bytes = 4096;
  unsigned max_link_hops = 40;       // symlinks followed for one lookup (then: a loop)
  unsigned max_nested_archives = 2;  // jar in war in ear
};

struct Layer {
  std::string digest;          // layer (blob) digest, recorded on each package
  std::filesystem::path path;  // the compressed or plain tar
};

// Called after each layer has been read (layers_done of layer_count), on the
// scanning thread; for progress displays.
using Progress = std::function<void(std::size_t layers_done, std::size_t layer_count)>;

// Layers in order, bottom first. Errors: Errc::unsupported for a format it
// cannot read, Errc::size_invalid for a bound exceeded (message says which),
// Errc::manifest_invalid for a corrupt archive.
Result<Inventory> scan_layers(const std::vector<Layer>& layers, const Limits& limits = {},
                              const Progress& progress = {});

}  // namespace portcullis::scanner::image
