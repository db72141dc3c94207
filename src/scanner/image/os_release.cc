// Distribution detection: etc/os-release, usr/lib/os-release, then the older
// one-line release files.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "scanner/image/cataloger.h"

namespace portcullis::scanner::image {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One os-release value: unquoted, "double" (with \ escapes) or 'single'.
std::string unquote(std::string_view v) {
  v = trim(v);
  std::string out;
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'')
    return std::string(v.substr(1, v.size() - 2));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    v = v.substr(1, v.size() - 2);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      out.push_back(v[i]);
    }
    return out;
  }
  return std::string(v);
}

// Release files in priority order (lower rank wins).
struct ReleaseFile {
  const char* path;
  int rank;
};
constexpr ReleaseFile kReleaseFiles[] = {
    {"etc/os-release", 0},     {"usr/lib/os-release", 1},    {"etc/alpine-release", 2},
    {"etc/redhat-release", 3}, {"etc/centos-release", 3},    {"etc/fedora-release", 3},
    {"etc/rocky-release", 3},  {"etc/almalinux-release", 3}, {"etc/debian_version", 4},
};

// "Red Hat Enterprise Linux release 9.3 (Plow)" -> the words before "release" and the number.
std::optional<Distro> parse_redhat_like(std::string_view text) {
  text = trim(text.substr(0, text.find('\n')));
  std::size_t at = text.find(" release ");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view product = text.substr(0, at);
  std::string_view rest = text.substr(at + 9);
  std::string_view version = rest.substr(0, rest.find(' '));
  Distro d;
  std::string p = lower(product);
  if (p.starts_with("red hat enterprise linux")) {
    d.id = "rhel";
  } else if (p.starts_with("centos")) {
    d.id = "centos";
  } else if (p.starts_with("fedora")) {
    d.id = "fedora";
  } else if (p.starts_with("rocky")) {
    d.id = "rocky";
  } else if (p.starts_with("almalinux")) {
    d.id = "almalinux";
  } else if (p.starts_with("oracle linux")) {
    d.id = "ol";
  } else {
    d.id = lower(product.substr(0, product.find(' ')));
  }
  d.version_id = std::string(version);
  d.pretty_name = std::string(text);
  return d;
}

class OsCataloger final : public Cataloger {
 public:
  explicit OsCataloger(const Limits& limits) : limits_(limits) {}
  std::string_view name() const override { return "os-release"; }
  std::vector<PathPattern> patterns() const override {
    std::vector<PathPattern> out;
    for (const ReleaseFile& f : kReleaseFiles) out.push_back(PathPattern::exact(f.path));
    return out;
  }
  Result<Found> catalog(const FileInfo& file, FileReader& in) override {
    Found found;
    if (file.size > limits_.max_manifest_bytes) {
      found.warnings.push_back(
          fmt::format("{}: {} bytes, too large for a release file; ignored", file.path, file.size));
      return found;
    }
    auto text = in.read_all(file.path, limits_.max_manifest_bytes);
    if (!text) return text.error();
    for (const ReleaseFile& f : kReleaseFiles) {
      if (file.role_path() == f.path) found.distro_rank = f.rank;
    }
    if (file.role_path().ends_with("os-release")) {
      found.distro = parse_os_release(*text);
    } else {
      found.distro = parse_release_file(file.role_path(), *text);
    }
    return found;
  }

 private:
  Limits limits_;
};

}  // namespace

std::optional<Distro> parse_os_release(std::string_view text) {
  Distro d;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, eq));
    std::string value = unquote(line.substr(eq + 1));
    if (value.size() > 256) continue;  // not a real os-release value
    if (key == "ID") {
      d.id = lower(value);
    } else if (key == "VERSION_ID") {
      d.version_id = value;
    } else if (key == "VERSION_CODENAME") {
      d.version_codename = value;
    } else if (key == "PRETTY_NAME") {
      d.pretty_name = value;
    }
  }
  if (d.id.empty()) return std::nullopt;
  return d;
}

std::optional<Distro> parse_release_file(std::string_view path, std::string_view text) {
  std::string_view first = trim(text.substr(0, text.find('\n')));
  if (first.empty() || first.size() > 256) return std::nullopt;
  if (path == "etc/alpine-release") {
    Distro d;
    d.id = "alpine";
    d.version_id = std::string(first);
    d.pretty_name = fmt::format("Alpine Linux v{}", first);
    return d;
  }
  if (path == "etc/debian_version") {
    // "12.5" for a release; "trixie/sid" for testing and unstable.
    Distro d;
    d.id = "debian";
    if (std::isdigit(static_cast<unsigned char>(first.front()))) {
      d.version_id = std::string(first.substr(0, first.find('.')));
    } else {
      d.version_codename = std::string(first.substr(0, first.find('/')));
    }
    d.pretty_name = fmt::format("Debian GNU/Linux {}", first);
    return d;
  }
  return parse_redhat_like(first);
}

std::unique_ptr<Cataloger> make_os_cataloger(const Limits& limits) {
  return std::make_unique<OsCataloger>(limits);
}

}  // namespace portcullis::scanner::image
