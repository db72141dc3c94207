#include "scanner/image/walker.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "scanner/image/text_util.h"

namespace portcullis::scanner::image::detail {

namespace {

constexpr std::size_t kHeadBytes = 512;
constexpr std::size_t kBlockBytes = 1 << 20;
constexpr std::size_t kMaxWarnings = 200;

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

uint64_t saturating_mul(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) {
    return std::numeric_limits<uint64_t>::max();
  }
  return a * b;
}

void add_warning(std::vector<std::string>& warnings, std::string message) {
  if (warnings.size() < kMaxWarnings) {
    warnings.push_back(std::move(message));
  } else if (warnings.size() == kMaxWarnings) {
    warnings.emplace_back("further warnings omitted");
  }
}

const char* or_empty(const char* s) { return s ? s : ""; }

std::string entry_name(archive_entry* e) {
  const char* p = archive_entry_pathname_utf8(e);
  return or_empty(p ? p : archive_entry_pathname(e));
}

const char* entry_hardlink(archive_entry* e) {
  const char* p = archive_entry_hardlink_utf8(e);
  return p ? p : archive_entry_hardlink(e);
}

const char* entry_symlink(archive_entry* e) {
  const char* p = archive_entry_symlink_utf8(e);
  return p ? p : archive_entry_symlink(e);
}

std::string join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out.append(dir).push_back('/');
  out.append(name);
  return out;
}

// Removes everything strictly below `dir` ("" = the root: everything).
void erase_below(Tree& tree, std::string_view dir) {
  if (dir.empty()) {
    tree.clear();
    return;
  }
  std::string lo = std::string(dir) + '/';
  std::string hi = std::string(dir) + static_cast<char>('/' + 1);
  tree.erase(tree.lower_bound(lo), tree.lower_bound(hi));
}

void erase_at(Tree& tree, std::string_view path) {
  auto it = tree.find(path);
  if (it != tree.end()) tree.erase(it);
}

Error layer_error(Errc code, const Layer& layer, std::string_view what) {
  return make_error(code, fmt::format("layer {}: {}", layer.digest, what));
}

Error archive_failure(archive* a, const Layer& layer, bool at_start) {
  std::string msg = or_empty(archive_error_string(a));
  // libarchive's file-format errno is not public; its message for "no reader
  // recognised this" has been stable for years.
  if (at_start && archive_format(a) == 0 &&
      msg.find("Unrecognized archive format") != std::string::npos) {
    return layer_error(Errc::unsupported, layer,
                       fmt::format("not a tar archive (plain, gzip or zstd): {}", msg));
  }
  return layer_error(Errc::manifest_invalid, layer,
                     fmt::format("corrupt or truncated archive: {}", msg));
}

// The current entry's data, with its first bytes peekable.
class EntryReader final : public FileReader {
 public:
  EntryReader(archive* a, const Layer& layer, std::string_view path)
      : a_(a), layer_(layer), path_(path) {}

  Result<std::string_view> head() {
    if (!head_loaded_) {
      head_loaded_ = true;
      head_.resize(kHeadBytes);
      std::size_t got = 0;
      while (got < kHeadBytes) {
        auto n = raw_read(head_.data() + got, kHeadBytes - got);
        if (!n) return n.error();
        if (*n == 0) break;
        got += *n;
      }
      head_.resize(got);
    }
    return std::string_view(head_);
  }

  Result<std::size_t> read(std::span<char> buf) override {
    if (head_pos_ < head_.size()) {
      std::size_t n = std::min(buf.size(), head_.size() - head_pos_);
      std::copy_n(head_.data() + head_pos_, n, buf.data());
      head_pos_ += n;
      return n;
    }
    return raw_read(buf.data(), buf.size());
  }

 private:
  Result<std::size_t> raw_read(char* p, std::size_t n) {
    la_ssize_t r = archive_read_data(a_, p, n);
    if (r < 0) {
      return layer_error(Errc::manifest_invalid, layer_,
                         fmt::format("corrupt or truncated archive reading {}: {}", path_,
                                     or_empty(archive_error_string(a_))));
    }
    return static_cast<std::size_t>(r);
  }

  archive* a_;
  const Layer& layer_;
  std::string_view path_;
  std::string head_;
  std::size_t head_pos_ = 0;
  bool head_loaded_ = false;
};

Result<void> check_packages(Budget& budget, const Limits& limits, const Found& found) {
  budget.packages += found.packages.size();
  if (budget.packages > limits.max_packages) {
    return make_error(Errc::size_invalid,
                      fmt::format("image lists more than {} packages", limits.max_packages));
  }
  return {};
}

void fill_origin(Found& found, const FileInfo& info) {
  for (Package& p : found.packages) {
    if (p.layer_digest.empty()) p.layer_digest = info.layer_digest;
    if (p.path.empty()) p.path = info.path;
  }
}

// Reads one regular file for the catalogers that accept it.
Result<void> catalog_file(EntryReader& reader, FileInfo info,
                          const std::vector<std::size_t>& matched, const Matcher& matcher,
                          const CatalogerList& catalogers, const Limits& limits, Budget& budget,
                          Node& node) {
  auto head = reader.head();
  if (!head) return head.error();
  std::vector<std::pair<std::size_t, FileInfo>> accepted;
  for (std::size_t c : matched) {
    info.wanted_as = matcher.wanted_as(info.path, c);
    if (catalogers[c]->accepts(info, *head)) accepted.emplace_back(c, info);
  }
  if (accepted.empty()) return {};
  if (accepted.size() == 1 || info.size > limits.max_file_bytes) {
    // One reader: stream. (A file too large to buffer goes to the first only.)
    auto found = catalogers[accepted[0].first]->catalog(accepted[0].second, reader);
    if (!found) return found.error();
    node.found.push_back({accepted[0].first, std::move(*found)});
  } else {
    auto bytes = reader.read_all(info.path, limits.max_file_bytes);
    if (!bytes) return bytes.error();
    for (const auto& [c, cinfo] : accepted) {
      StringReader in(*bytes);
      auto found = catalogers[c]->catalog(cinfo, in);
      if (!found) return found.error();
      node.found.push_back({c, std::move(*found)});
    }
  }
  for (FileFound& f : node.found) {
    fill_origin(f.found, info);
    auto ok = check_packages(budget, limits, f.found);
    if (!ok) return ok.error();
  }
  return {};
}

Result<void> walk_one(const Layer& layer, uint32_t index, const Limits& limits,
                      const Matcher& matcher, const CatalogerList& catalogers, Budget& budget,
                      Tree& tree, std::vector<std::string>& warnings) {
  std::error_code ec;
  uint64_t compressed = std::filesystem::file_size(layer.path, ec);
  if (ec) return layer_error(Errc::blob_unknown, layer, "cannot read the layer file");
  const uint64_t layer_cap =
      std::max(limits.ratio_floor_bytes, saturating_mul(compressed, limits.max_ratio));
  const uint64_t image_before = budget.uncompressed_bytes;

  ArchivePtr a(archive_read_new());
  if (!a) return make_error(Errc::internal, "libarchive: out of memory");
  // Only in-process decompressors: no external programs, no other formats.
  if (archive_read_support_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_zstd(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_tar(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_empty(a.get()) != ARCHIVE_OK) {
    return make_error(Errc::unsupported, "libarchive lacks built-in gzip/zstd/tar support");
  }
  if (archive_read_open_filename(a.get(), layer.path.c_str(), kBlockBytes) != ARCHIVE_OK) {
    return archive_failure(a.get(), layer, true);
  }

  auto check_size = [&](uint64_t projected) -> Result<void> {
    if (image_before + projected > limits.max_uncompressed_bytes) {
      return make_error(Errc::size_invalid,
                        fmt::format("image expands to more than {} bytes uncompressed (limit)",
                                    limits.max_uncompressed_bytes));
    }
    if (projected > layer_cap) {
      return layer_error(
          Errc::size_invalid, layer,
          fmt::format("expands to more than {} bytes from {} compressed (ratio limit {}:1): "
                      "decompression bomb?",
                      layer_cap, compressed, limits.max_ratio));
    }
    return {};
  };

  Tree current;  // this layer's entries; whiteouts apply only to `tree` (lower layers)
  std::vector<std::size_t> matched;
  bool first = true;
  while (true) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archive_failure(a.get(), layer, first);
    first = false;
    if (++budget.entries > limits.max_entries) {
      return make_error(
          Errc::size_invalid,
          fmt::format("image has more than {} archive entries (limit)", limits.max_entries));
    }
    const int64_t declared_raw = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    const uint64_t declared = declared_raw > 0 ? static_cast<uint64_t>(declared_raw) : 0;
    const uint64_t position =
        static_cast<uint64_t>(std::max<la_int64_t>(0, archive_filter_bytes(a.get(), 0)));
    // Checked before the data is read or skipped: skipping decompresses too.
    if (auto ok = check_size(position + declared); !ok) return ok.error();

    std::string raw = entry_name(e);
    if (r == ARCHIVE_WARN) {
      add_warning(warnings,
                  fmt::format("layer {}: entry {}: {}", layer.digest, detail::excerpt(raw, 200),
                              or_empty(archive_error_string(a.get()))));
    }
    auto normalized = normalize_path(raw);
    if (!normalized) {
      add_warning(warnings, fmt::format("layer {}: entry \"{}\" climbs above the image root; "
                                        "ignored",
                                        layer.digest, detail::excerpt(raw, 200)));
      continue;
    }
    std::string path = std::move(*normalized);
    if (path.empty()) continue;  // the root directory itself

    std::string_view base = base_name(path);
    if (base.starts_with(".wh.")) {
      std::string_view dir = parent_path(path);
      if (base == ".wh..wh..opq") {
        erase_below(tree, dir);  // opaque: lower layers' contents of dir are hidden
      } else if (base.size() > 4 && !base.starts_with(".wh..wh.")) {  // ".wh..wh.*": aufs
        std::string victim = join(dir, base.substr(4));
        erase_at(tree, victim);
        erase_below(tree, victim);
      }
      continue;
    }

    const char* hardlink = entry_hardlink(e);
    const auto type = archive_entry_filetype(e);
    erase_at(current, path);  // a later entry of the same layer wins
    if (hardlink == nullptr && type == AE_IFDIR) {
      erase_at(tree, path);  // a directory replaces a lower file or link
      continue;
    }
    // Anything else replaces what lower layers had at and below this path.
    erase_at(tree, path);
    erase_below(tree, path);
    erase_below(current, path);

    if (hardlink != nullptr || type == AE_IFLNK) {
      const char* target = hardlink != nullptr ? hardlink : entry_symlink(e);
      budget.link_bytes += path.size() + std::strlen(or_empty(target));
      if (budget.link_bytes > limits.max_link_bytes) {
        return make_error(Errc::size_invalid,
                          fmt::format("image has more than {} bytes of link names (limit)",
                                      limits.max_link_bytes));
      }
    }
    if (hardlink != nullptr) {
      Node node{Node::Kind::hardlink, index, {}, {}, {}};
      if (auto target = normalize_path(hardlink)) {
        node.target = std::move(*target);
      } else {
        add_warning(warnings, fmt::format("layer {}: hard link {} -> \"{}\" points outside the "
                                          "image; ignored",
                                          layer.digest, detail::excerpt(path, 200),
                                          detail::excerpt(hardlink, 200)));
      }
      matcher.match(path, node.wanted_by);
      current.insert_or_assign(std::move(path), std::move(node));
      continue;
    }
    if (type == AE_IFLNK) {
      current.insert_or_assign(
          std::move(path), Node{Node::Kind::symlink, index, or_empty(entry_symlink(e)), {}, {}});
      continue;
    }
    if (type != AE_IFREG) continue;  // devices, fifos, sockets: nothing to read

    matched.clear();
    matcher.match(path, matched);
    Node node{Node::Kind::file, index, {}, {}, {}};
    if (!matched.empty()) {
      FileInfo info{path, layer.digest, declared, static_cast<uint32_t>(archive_entry_perm(e)), {}};
      EntryReader reader(a.get(), layer, info.path);
      auto ok = catalog_file(reader, info, matched, matcher, catalogers, limits, budget, node);
      if (!ok) return ok.error();
    }
    // Data not read is skipped by libarchive on the next header.
    if (!node.found.empty() || matcher.is_exact_base_name(base_name(path))) {
      current.insert_or_assign(std::move(path), std::move(node));
    }
  }
  const uint64_t produced =
      static_cast<uint64_t>(std::max<la_int64_t>(0, archive_filter_bytes(a.get(), 0)));
  if (auto ok = check_size(produced); !ok) return ok.error();
  budget.uncompressed_bytes = image_before + produced;

  for (auto& [path, node] : current) tree.insert_or_assign(path, std::move(node));
  return {};
}

}  // namespace

void Matcher::add(std::size_t cataloger, const PathPattern& pattern, std::string wanted_as) {
  if (pattern.kind() == PathPattern::Kind::exact) {
    if (!wanted_as.empty())
      wanted_as_.emplace(std::pair(pattern.text(), cataloger), std::move(wanted_as));
    auto& list = exact_[pattern.text()];
    if (std::find(list.begin(), list.end(), cataloger) == list.end()) list.push_back(cataloger);
    exact_list_.emplace_back(pattern.text(), cataloger);
    exact_base_names_.emplace(base_name(pattern.text()));
  } else {
    patterns_.emplace_back(pattern, cataloger);
  }
}

void Matcher::match(std::string_view path, std::vector<std::size_t>& out) const {
  const std::size_t start = out.size();
  auto add = [&](std::size_t c) {
    if (std::find(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(), c) == out.end()) {
      out.push_back(c);
    }
  };
  if (!exact_.empty()) {
    auto it = exact_.find(path);
    if (it != exact_.end()) {
      for (std::size_t c : it->second) add(c);
    }
  }
  for (const auto& [pattern, c] : patterns_) {
    if (pattern.matches(path)) add(c);
  }
}

std::string Matcher::wanted_as(const std::string& path, std::size_t cataloger) const {
  auto it = wanted_as_.find(std::pair(path, cataloger));
  return it == wanted_as_.end() ? std::string() : it->second;
}

Result<Tree> walk_layers(const std::vector<Layer>& layers, const Limits& limits,
                         const Matcher& matcher, const CatalogerList& catalogers, Budget& budget,
                         std::vector<std::string>& warnings, const Progress& progress) {
  Tree tree;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    auto ok = walk_one(layers[i], static_cast<uint32_t>(i), limits, matcher, catalogers, budget,
                       tree, warnings);
    if (!ok) return ok.error();
    if (progress) progress(i + 1, layers.size());
  }
  return tree;
}

Result<std::string> resolve(const Tree& tree, std::string_view path, unsigned max_hops) {
  // Components still to walk, last one first (so push_back prepends).
  std::vector<std::string> todo;
  auto push_all = [&todo](std::string_view p) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= p.size()) {
      std::size_t slash = p.find('/', start);
      if (slash == std::string_view::npos) slash = p.size();
      if (slash > start) parts.push_back(p.substr(start, slash - start));
      start = slash + 1;
    }
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.emplace_back(*it);
  };
  push_all(path);
  std::string current;  // resolved so far, a real path of the image
  unsigned hops = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.back());
    todo.pop_back();
    if (comp == ".") continue;
    if (comp == "..") {  // never above the root, as in a chroot
      current = std::string(parent_path(current));
      continue;
    }
    std::string next = current.empty() ? comp : current + '/' + comp;
    auto it = tree.find(next);
    if (it != tree.end() && it->second.kind == Node::Kind::symlink) {
      if (++hops > max_hops) {
        return make_error(Errc::not_found, fmt::format("too many levels of symbolic links "
                                                       "resolving {}",
                                                       path));
      }
      const std::string& target = it->second.target;
      if (target.starts_with('/')) current.clear();
      push_all(target);
      continue;
    }
    if (it != tree.end() && it->second.kind == Node::Kind::hardlink && todo.empty()) {
      if (++hops > max_hops) {
        return make_error(Errc::not_found,
                          fmt::format("too many levels of links resolving {}", path));
      }
      if (it->second.target.empty()) {
        return make_error(Errc::not_found,
                          fmt::format("{} is a hard link outside the image", next));
      }
      current.clear();
      push_all(it->second.target);
      continue;
    }
    current = std::move(next);
  }
  return current;
}

}  // namespace portcullis::scanner::image::detail
