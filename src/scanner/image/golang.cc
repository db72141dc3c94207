// Go binaries: the build information the Go linker embeds (Go >= 1.18: a
// 32-byte header starting "\xff Go buildinf:" at a 16-byte aligned offset,
// then the Go version and the module information as length-prefixed
// strings). The file is streamed and searched; it is never held whole.
#include <cstring>

#include <fmt/format.h>

#include "scanner/image/cataloger.h"
#include "scanner/image/text_util.h"

namespace portcullis::scanner::image {

namespace {

using detail::next_line;

constexpr std::string_view kMagic("\xff Go buildinf:", 14);
constexpr std::size_t kAlign = 16;
constexpr std::size_t kHeaderBytes = 32;
constexpr std::size_t kMaxInfoBytes = 1 << 20;  // header + version + module info
constexpr std::size_t kChunk = 256 * 1024;
constexpr uint8_t kFlagInline = 0x2;  // strings follow the header (Go >= 1.18)

enum class Parse { ok, need_more, invalid, pointer_format };

// Reads an unsigned LEB128 varint; false when `data` ends first.
bool uvarint(std::string_view data, std::size_t& pos, uint64_t& value, bool& overflow) {
  value = 0;
  overflow = false;
  for (unsigned shift = 0; pos < data.size(); shift += 7) {
    auto byte = static_cast<uint8_t>(data[pos++]);
    if (shift >= 64) {
      overflow = true;
      return true;
    }
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

Parse read_string(std::string_view data, std::size_t& pos, std::string_view& out) {
  uint64_t len = 0;
  bool overflow = false;
  if (!uvarint(data, pos, len, overflow)) return Parse::need_more;
  if (overflow || len > kMaxInfoBytes) return Parse::invalid;
  if (data.size() - pos < len) return Parse::need_more;
  out = data.substr(pos, len);
  pos += len;
  return Parse::ok;
}

// `data` starts at a candidate magic.
Parse parse_header(std::string_view data, GoBuildInfo& info) {
  if (data.size() < kHeaderBytes) return Parse::need_more;
  const auto ptr_size = static_cast<uint8_t>(data[14]);
  const auto flags = static_cast<uint8_t>(data[15]);
  if (ptr_size != 4 && ptr_size != 8) return Parse::invalid;
  if ((flags & kFlagInline) == 0) return Parse::pointer_format;
  std::size_t pos = kHeaderBytes;
  std::string_view version, mod;
  if (Parse p = read_string(data, pos, version); p != Parse::ok) return p;
  if (Parse p = read_string(data, pos, mod); p != Parse::ok) return p;
  if (!version.starts_with("go") && !version.starts_with("devel")) return Parse::invalid;
  info.go_version = std::string(version);
  // Module information is framed by two 16-byte sentinels.
  if (mod.size() >= 33 && mod[mod.size() - 17] == '\n') {
    parse_go_modinfo(mod.substr(16, mod.size() - 32), info);
  }
  return Parse::ok;
}

bool is_elf_executable(std::string_view head) {
  if (head.size() < 20 || head.substr(0, 4) !=
                              "\x7f"
                              "ELF")
    return false;
  const auto cls = static_cast<uint8_t>(head[4]);
  const auto endian = static_cast<uint8_t>(head[5]);
  if ((cls != 1 && cls != 2) || (endian != 1 && endian != 2)) return false;
  const auto lo = static_cast<uint8_t>(head[endian == 1 ? 16 : 17]);
  const auto hi = static_cast<uint8_t>(head[endian == 1 ? 17 : 16]);
  const unsigned type = lo | (hi << 8);
  return type == 2 || type == 3;  // ET_EXEC, ET_DYN (PIE)
}

// A Go version usable as a module version: "go1.21.5 X:boringcrypto" -> "v1.21.5".
std::string stdlib_version(std::string_view go_version) {
  std::string_view v = go_version.substr(0, go_version.find(' '));
  if (!v.starts_with("go1")) return {};
  return "v" + std::string(v.substr(2));
}

class GoCataloger final : public Cataloger {
 public:
  explicit GoCataloger(const Limits& limits) : limits_(limits) {}
  std::string_view name() const override { return "go-binary"; }
  std::vector<PathPattern> patterns() const override { return {PathPattern::any()}; }
  bool accepts(const FileInfo& file, std::string_view head) const override {
    return (file.mode & 0111) != 0 && file.size >= 64 && file.size <= limits_.max_file_bytes &&
           is_elf_executable(head);
  }
  Result<Found> catalog(const FileInfo& file, FileReader& in) override {
    Found found;
    GoBuildInfo info;
    bool pointer_format = false;
    std::string window;  // bytes from file offset `base`
    uint64_t base = 0;
    std::size_t scan = 0;  // next index of `window` to search from
    bool eof = false, done = false;
    std::vector<char> chunk(kChunk);
    while (!done) {
      if (!eof) {
        auto n = in.read(std::span<char>(chunk));
        if (!n) return n.error();
        if (*n == 0) {
          eof = true;
        } else {
          window.append(chunk.data(), *n);
        }
      }
      bool need_more = false;
      while (!done && !need_more) {
        std::size_t at = std::string_view(window).find(kMagic, scan);
        if (at == std::string_view::npos) break;
        if ((base + at) % kAlign != 0) {
          scan = at + 1;
          continue;
        }
        GoBuildInfo candidate;
        switch (parse_header(std::string_view(window).substr(at), candidate)) {
          case Parse::ok:
            info = std::move(candidate);
            done = true;
            break;
          case Parse::pointer_format:
            pointer_format = true;
            scan = at + 1;
            break;
          case Parse::invalid:
            scan = at + 1;
            break;
          case Parse::need_more:
            if (eof || window.size() - at >= kMaxInfoBytes) {
              scan = at + 1;
            } else {
              scan = at;
              need_more = true;
            }
            break;
        }
      }
      if (done) break;
      if (eof && !need_more) break;
      // Keep only what a match could still start in: a pending candidate, or
      // the last bytes, which may hold the start of a magic cut by the chunk.
      std::size_t keep_from = scan;
      if (!need_more) {
        const std::size_t tail = kMagic.size() - 1;
        keep_from = std::max(scan, window.size() > tail ? window.size() - tail : 0);
      }
      keep_from = std::min(keep_from, window.size());
      window.erase(0, keep_from);
      base += keep_from;
      scan = scan > keep_from ? scan - keep_from : 0;
    }
    if (!done) {
      if (pointer_format) {
        found.warnings.push_back(
            fmt::format("{}: Go binary built before Go 1.18; its build "
                        "information is not read",
                        file.path));
      }
      return found;
    }
    const std::size_t max = limits_.max_field_bytes;
    auto add = [&](std::string_view name, std::string_view version) {
      if (name.empty() || version.empty() || name.size() > max || version.size() > max) return;
      Package p;
      p.type = kTypeGolang;
      p.name = std::string(name);
      p.version = std::string(version);
      found.packages.push_back(std::move(p));
    };
    add("stdlib", stdlib_version(info.go_version));
    add(info.main_module, info.main_version);
    for (const GoBuildInfo::Module& m : info.deps) add(m.path, m.version);
    return found;
  }

 private:
  Limits limits_;
};

}  // namespace

void parse_go_modinfo(std::string_view modinfo, GoBuildInfo& info) {
  enum class Last { none, main, dep } last = Last::none;
  while (!modinfo.empty()) {
    std::string_view line = next_line(modinfo);
    std::vector<std::string_view> f;
    std::size_t start = 0;
    while (start <= line.size() && f.size() < 4) {
      std::size_t tab = line.find('\t', start);
      if (tab == std::string_view::npos) tab = line.size();
      f.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    if (f.empty()) continue;
    if (f[0] == "path" && f.size() >= 2) {
      info.path = std::string(f[1]);
    } else if (f[0] == "mod" && f.size() >= 3) {
      info.main_module = std::string(f[1]);
      info.main_version = std::string(f[2]);
      last = Last::main;
    } else if (f[0] == "dep" && f.size() >= 3) {
      info.deps.push_back({std::string(f[1]), std::string(f[2])});
      last = Last::dep;
    } else if (f[0] == "=>" && f.size() >= 2) {
      // A replace directive applies to the line before it; a local directory has no version.
      std::string path(f[1]);
      std::string version = f.size() >= 3 ? std::string(f[2]) : std::string();
      if (last == Last::dep) {
        info.deps.back() = {std::move(path), std::move(version)};
      } else if (last == Last::main) {
        info.main_module = std::move(path);
        info.main_version = std::move(version);
      }
      last = Last::none;
    }
  }
}

std::unique_ptr<Cataloger> make_go_cataloger(const Limits& limits) {
  return std::make_unique<GoCataloger>(limits);
}

}  // namespace portcullis::scanner::image
