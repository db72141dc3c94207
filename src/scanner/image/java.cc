// Java archives: META-INF/maven/<group>/<artifact>/pom.properties inside
// .jar/.war/.ear files, and inside archives nested in them (WEB-INF/lib,
// BOOT-INF/lib, ...). Archives are streamed through libarchive's streaming
// zip reader, nested ones straight out of their parent: nothing is buffered
// but the small pom.properties files.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "scanner/image/cataloger.h"
#include "scanner/image/text_util.h"

namespace portcullis::scanner::image {

namespace {

using detail::excerpt;
using detail::next_line;
using detail::trim;

constexpr std::size_t kBuffer = 64 * 1024;
constexpr std::size_t kMaxEntriesPerArchive = 500'000;

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return detail::iequals(s.substr(s.size() - suffix.size()), suffix);
}

bool is_java_archive(std::string_view name) {
  return ends_with_ci(name, ".jar") || ends_with_ci(name, ".war") || ends_with_ci(name, ".ear");
}

bool is_pom_properties(std::string_view name) {
  return name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties");
}

// Bytes decompressed for one top-level archive, nested ones included.
struct Budget {
  uint64_t bytes = 0;
  uint64_t cap = 0;
  std::string path;
  std::optional<Error> exceeded;

  bool charge(uint64_t n) {
    bytes += n;
    if (bytes > cap && !exceeded) {
      exceeded = make_error(Errc::size_invalid,
                            fmt::format("{} expands to more than {} bytes (ratio limit): "
                                        "decompression bomb?",
                                        path, cap));
    }
    return !exceeded;
  }
};

// Feeds libarchive from a FileReader; remembers the reader's own error.
struct Source {
  FileReader* in;
  std::vector<char> buf = std::vector<char>(kBuffer);
  std::optional<Error> error;
};

la_ssize_t source_read(archive* a, void* data, const void** out) {
  auto* s = static_cast<Source*>(data);
  auto n = s->in->read(std::span<char>(s->buf));
  if (!n) {
    s->error = n.error();
    archive_set_error(a, EIO, "read failed");
    return -1;
  }
  *out = s->buf.data();
  return static_cast<la_ssize_t>(*n);
}

// The current entry of an open zip, as a FileReader (for a nested archive).
class EntryStream final : public FileReader {
 public:
  EntryStream(archive* a, Budget& budget) : a_(a), budget_(budget) {}
  Result<std::size_t> read(std::span<char> buf) override {
    la_ssize_t r = archive_read_data(a_, buf.data(), buf.size());
    if (r < 0) {
      return make_error(
          Errc::manifest_invalid,
          fmt::format("corrupt archive: {}",
                      archive_error_string(a_) ? archive_error_string(a_) : "read error"));
    }
    if (!budget_.charge(static_cast<uint64_t>(r))) return *budget_.exceeded;
    return static_cast<std::size_t>(r);
  }

 private:
  archive* a_;
  Budget& budget_;
};

void parse_pom_properties(std::string_view text, const std::string& where, const Limits& limits,
                          Found& found) {
  std::string_view group, artifact, version;
  while (!text.empty()) {
    std::string_view line = trim(next_line(text));
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    std::size_t sep = line.find_first_of("=:");
    if (sep == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, sep));
    std::string_view value = trim(line.substr(sep + 1));
    if (key == "groupId") {
      group = value;
    } else if (key == "artifactId") {
      artifact = value;
    } else if (key == "version") {
      version = value;
    }
  }
  if (group.empty() || artifact.empty() || version.empty()) return;
  const std::size_t max = limits.max_field_bytes;
  if (group.size() + artifact.size() + 1 > max || version.size() > max) return;
  Package p;
  p.type = kTypeMaven;
  p.name = fmt::format("{}:{}", group, artifact);
  p.version = std::string(version);
  p.path = where;
  found.packages.push_back(std::move(p));
}

class JavaCataloger final : public Cataloger {
 public:
  explicit JavaCataloger(const Limits& limits) : limits_(limits) {}
  std::string_view name() const override { return "java-archive"; }
  std::vector<PathPattern> patterns() const override {
    return {PathPattern::suffix(".jar"), PathPattern::suffix(".war"), PathPattern::suffix(".ear")};
  }
  bool accepts(const FileInfo&, std::string_view head) const override {
    return head.starts_with("PK\x03\x04");
  }
  Result<Found> catalog(const FileInfo& file, FileReader& in) override {
    Found found;
    if (file.size > limits_.max_file_bytes) {
      found.warnings.push_back(
          fmt::format("{}: {} bytes, over the per-file limit; not read", file.path, file.size));
      return found;
    }
    // The layer's own bounds, applied to what the archive inflates to.
    const uint64_t ratio = std::max<uint64_t>(1, limits_.max_ratio);
    const uint64_t by_ratio = file.size > std::numeric_limits<uint64_t>::max() / ratio
                                  ? std::numeric_limits<uint64_t>::max()
                                  : file.size * ratio;
    Budget budget;
    budget.path = file.path;
    budget.cap =
        std::min(limits_.max_uncompressed_bytes, std::max(limits_.ratio_floor_bytes, by_ratio));
    Source top{&in, std::vector<char>(kBuffer), std::nullopt};
    scan(top, file.path, 0, budget, found);
    if (top.error) return *top.error;  // the layer itself failed
    if (budget.exceeded) return *budget.exceeded;
    return found;
  }

 private:
  // Reads one zip from `src`; problems with the zip become warnings.
  void scan(Source& src, const std::string& where, unsigned depth, Budget& budget, Found& found) {
    std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
    if (!a) return;
    archive_read_support_format_zip_streamable(a.get());
    if (archive_read_open(a.get(), &src, nullptr, source_read, nullptr) != ARCHIVE_OK) {
      if (!src.error) {
        detail::push_capped(found.warnings,
                            fmt::format("{}: not a readable zip", excerpt(where, 200)));
      }
      return;
    }
    std::vector<char> buf(kBuffer);
    std::size_t entries = 0;
    while (true) {
      archive_entry* e = nullptr;
      int r = archive_read_next_header(a.get(), &e);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) {
        if (!src.error && !budget.exceeded) {
          const char* msg = archive_error_string(a.get());
          detail::push_capped(found.warnings,
                              fmt::format("{}: stopped reading the archive: {}",
                                          excerpt(where, 200), msg ? msg : "unknown error"));
        }
        break;
      }
      if (++entries > kMaxEntriesPerArchive) {
        detail::push_capped(found.warnings,
                            fmt::format("{}: more than {} entries; the rest not read",
                                        excerpt(where, 200), kMaxEntriesPerArchive));
        break;
      }
      if (archive_entry_filetype(e) != AE_IFREG) continue;
      const char* raw = archive_entry_pathname(e);
      std::string name = raw ? raw : "";
      if (is_pom_properties(name)) {
        std::string text;
        bool ok = true;
        while (true) {
          la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
          if (n < 0) {
            ok = false;
            break;
          }
          if (n == 0) break;
          if (!budget.charge(static_cast<uint64_t>(n))) return;
          if (text.size() + static_cast<std::size_t>(n) > limits_.max_manifest_bytes) {
            ok = false;
            break;
          }
          text.append(buf.data(), static_cast<std::size_t>(n));
        }
        if (ok) parse_pom_properties(text, where, limits_, found);
        if (src.error) return;
        continue;
      }
      if (is_java_archive(name) && depth < limits_.max_nested_archives &&
          where.size() + name.size() <= limits_.max_field_bytes) {
        EntryStream stream(a.get(), budget);
        Source nested{&stream, std::vector<char>(kBuffer), std::nullopt};
        scan(nested, fmt::format("{}!/{}", where, name), depth + 1, budget, found);
        if (src.error || budget.exceeded) return;
        continue;  // whatever the nested reader left is skipped with the next header
      }
      // Drained here rather than skipped: libarchive's skip inflates entries
      // whose length follows the data (a size in the header may be a lie), and
      // that work must count against the budget.
      while (true) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n <= 0) break;
        if (!budget.charge(static_cast<uint64_t>(n))) return;
      }
      if (src.error) return;
    }
  }

  Limits limits_;
};

}  // namespace

std::unique_ptr<Cataloger> make_java_cataloger(const Limits& limits) {
  return std::make_unique<JavaCataloger>(limits);
}

}  // namespace portcullis::scanner::image
