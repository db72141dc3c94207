// dpkg: var/lib/dpkg/status and distroless var/lib/dpkg/status.d/<name>.
#include <fmt/format.h>

#include "scanner/image/cataloger.h"
#include "scanner/image/text_util.h"

namespace portcullis::scanner::image {

namespace {

using detail::excerpt;
using detail::iequals;
using detail::next_line;
using detail::trim;

constexpr std::string_view kStatus = "var/lib/dpkg/status";
constexpr std::string_view kStatusDir = "var/lib/dpkg/status.d/";

struct Stanza {
  std::string_view package, version, arch, source, status;
  bool has_status = false;
  std::size_t first_line = 0;
};

// "glibc (2.36-9+deb12u4)" -> name and version; "glibc" -> name only.
void split_source(std::string_view source, std::string& name, std::string& version) {
  source = trim(source);
  std::size_t open = source.find('(');
  if (open == std::string_view::npos) {
    name = std::string(source);
    return;
  }
  name = std::string(trim(source.substr(0, open)));
  std::string_view rest = source.substr(open + 1);
  std::size_t close = rest.find(')');
  version = std::string(trim(rest.substr(0, close)));
}

void finish_stanza(const Stanza& s, bool status_required, const Limits& limits,
                   std::vector<Package>& out, std::vector<std::string>& warnings) {
  if (s.package.empty() && s.version.empty() && !s.has_status) return;  // blank or comment-only
  if (s.has_status || status_required) {
    // "want flag status": only the third word matters; "installed" is the one installed state.
    std::string_view status = trim(s.status);
    std::size_t last = status.find_last_of(" \t");
    std::string_view state = last == std::string_view::npos ? status : status.substr(last + 1);
    if (state != "installed") return;
  }
  if (s.package.empty() || s.version.empty()) {
    detail::push_capped(
        warnings,
        fmt::format("dpkg stanza at line {} has no Package or Version; ignored", s.first_line));
    return;
  }
  const std::size_t max = limits.max_field_bytes;
  if (s.package.size() > max || s.version.size() > max || s.arch.size() > max ||
      s.source.size() > max) {
    detail::push_capped(warnings,
                        fmt::format("dpkg package {} at line {} has a field over {} bytes; ignored",
                                    excerpt(s.package), s.first_line, max));
    return;
  }
  Package p;
  p.type = kTypeDeb;
  p.name = std::string(s.package);
  p.version = std::string(s.version);
  p.arch = std::string(s.arch);
  if (!s.source.empty()) split_source(s.source, p.source_name, p.source_version);
  out.push_back(std::move(p));
}

class DpkgCataloger final : public Cataloger {
 public:
  explicit DpkgCataloger(const Limits& limits) : limits_(limits) {}
  std::string_view name() const override { return "dpkg"; }
  std::vector<PathPattern> patterns() const override {
    return {PathPattern::exact(std::string(kStatus)),
            PathPattern::glob(std::string(kStatusDir) + "*")};
  }
  bool accepts(const FileInfo& file, std::string_view) const override {
    return !file.role_path().ends_with(".md5sums");  // distroless keeps <pkg>.md5sums beside <pkg>
  }
  Result<Found> catalog(const FileInfo& file, FileReader& in) override {
    auto text = in.read_all(file.path, limits_.max_file_bytes);
    if (!text) return text.error();
    Found found;
    std::vector<std::string> warnings;
    parse_dpkg_status(*text, file.role_path() == kStatus, limits_, found.packages, warnings);
    for (std::string& w : warnings) found.warnings.push_back(file.path + ": " + w);
    return found;
  }

 private:
  Limits limits_;
};

}  // namespace

void parse_dpkg_status(std::string_view text, bool status_required, const Limits& limits,
                       std::vector<Package>& out, std::vector<std::string>& warnings) {
  Stanza s;
  std::size_t line_no = 0;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    ++line_no;
    if (trim(line).empty()) {
      finish_stanza(s, status_required, limits, out, warnings);
      s = Stanza{};
      continue;
    }
    if (s.first_line == 0) s.first_line = line_no;
    if (line.front() == ' ' || line.front() == '\t' || line.front() == '#') continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(key, "Package")) {
      s.package = value;
    } else if (iequals(key, "Version")) {
      s.version = value;
    } else if (iequals(key, "Architecture")) {
      s.arch = value;
    } else if (iequals(key, "Source")) {
      s.source = value;
    } else if (iequals(key, "Status")) {
      s.status = value;
      s.has_status = true;
    }
  }
  finish_stanza(s, status_required, limits, out, warnings);
}

std::unique_ptr<Cataloger> make_dpkg_cataloger(const Limits& limits) {
  return std::make_unique<DpkgCataloger>(limits);
}

}  // namespace portcullis::scanner::image
