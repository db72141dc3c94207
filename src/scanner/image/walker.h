// The layer walker (internal to image/): streams each layer once, applies
// OCI whiteouts in layer order, hands wanted files to catalogers and keeps a
// small tree of what matters for the final image: symlinks, hard links and
// the files catalogers read, each with what they found in it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.h"
#include "scanner/image/cataloger.h"
#include "scanner/image/image_scan.h"
#include "scanner/image/path.h"

namespace portcullis::scanner::image::detail {

struct FileFound {
  std::size_t cataloger = 0;
  Found found;
};

struct Node {
  enum class Kind : uint8_t { file, symlink, hardlink };
  Kind kind = Kind::file;
  uint32_t layer = 0;
  std::string target;                  // symlink: as written; hardlink: image path ("" if invalid)
  std::vector<std::size_t> wanted_by;  // hardlink: catalogers whose patterns name its path
  // file: what each cataloger that read it found; empty for a file noted only
  // because its name is that of an exact path (Matcher::is_exact_base_name).
  std::vector<FileFound> found;
};

// Image path -> node, for the final image (whiteouts and replacements applied).
using Tree = std::map<std::string, Node, std::less<>>;

// Which catalogers want a path.
class Matcher {
 public:
  // `wanted_as` (exact patterns only): the path the cataloger asked for, when
  // `pattern` is where links led from it.
  void add(std::size_t cataloger, const PathPattern& pattern, std::string wanted_as = {});
  // Appends the catalogers that want `path` (each once, in order).
  void match(std::string_view path, std::vector<std::size_t>& out) const;
  // Exact paths with their cataloger, in the order added.
  const std::vector<std::pair<std::string, std::size_t>>& exact_paths() const {
    return exact_list_;
  }
  // Whether some exact path ends in this name: the walker notes every regular
  // file so named, so that a link to a missing one needs no second pass.
  bool is_exact_base_name(std::string_view name) const {
    return exact_base_names_.find(name) != exact_base_names_.end();
  }
  // The wanted_as given for (path, cataloger), or "".
  std::string wanted_as(const std::string& path, std::size_t cataloger) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<std::size_t>, Hash, std::equal_to<>> exact_;
  std::vector<std::pair<PathPattern, std::size_t>> patterns_;
  std::vector<std::pair<std::string, std::size_t>> exact_list_;
  std::map<std::pair<std::string, std::size_t>, std::string> wanted_as_;
  std::set<std::string, std::less<>> exact_base_names_;
};

// Counters shared by the passes of one scan (the bounds are per image).
struct Budget {
  uint64_t entries = 0;
  uint64_t uncompressed_bytes = 0;
  uint64_t packages = 0;
  uint64_t link_bytes = 0;
};

// Streams `layers` bottom first. Errors as scan_layers documents.
Result<Tree> walk_layers(const std::vector<Layer>& layers, const Limits& limits,
                         const Matcher& matcher, const CatalogerList& catalogers, Budget& budget,
                         std::vector<std::string>& warnings,
                         const Progress& progress = {});

// Resolves `path` in the final tree, following symlinks (absolute targets
// start again at the image root; ".." stops at the root) and, for the last
// component, hard links. Returns the path of the file itself; an error
// message (Errc::not_found) for a loop.
Result<std::string> resolve(const Tree& tree, std::string_view path, unsigned max_hops);

}  // namespace portcullis::scanner::image::detail
