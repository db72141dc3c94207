// apk: lib/apk/db/installed ("K:value" lines, a blank line between packages).
#include <fmt/format.h>

#include "scanner/image/cataloger.h"
#include "scanner/image/text_util.h"

namespace portcullis::scanner::image {

namespace {

using detail::excerpt;
using detail::next_line;

constexpr std::string_view kInstalled = "lib/apk/db/installed";

struct Record {
  std::string_view name, version, arch, origin, license;
  std::size_t first_line = 0;
};

void finish_record(const Record& r, const Limits& limits, std::vector<Package>& out,
                   std::vector<std::string>& warnings) {
  if (r.first_line == 0) return;
  if (r.name.empty() || r.version.empty()) {
    detail::push_capped(
        warnings, fmt::format("apk record at line {} has no P: or V:; ignored", r.first_line));
    return;
  }
  const std::size_t max = limits.max_field_bytes;
  if (r.name.size() > max || r.version.size() > max || r.arch.size() > max ||
      r.origin.size() > max || r.license.size() > max) {
    detail::push_capped(warnings,
                        fmt::format("apk package {} at line {} has a field over {} bytes; ignored",
                                    excerpt(r.name), r.first_line, max));
    return;
  }
  Package p;
  p.type = kTypeApk;
  p.name = std::string(r.name);
  p.version = std::string(r.version);
  p.arch = std::string(r.arch);
  if (!r.origin.empty() && r.origin != r.name) p.source_name = std::string(r.origin);
  if (!r.license.empty()) p.licenses.emplace_back(r.license);
  out.push_back(std::move(p));
}

class ApkCataloger final : public Cataloger {
 public:
  explicit ApkCataloger(const Limits& limits) : limits_(limits) {}
  std::string_view name() const override { return "apk"; }
  std::vector<PathPattern> patterns() const override {
    return {PathPattern::exact(std::string(kInstalled))};
  }
  Result<Found> catalog(const FileInfo& file, FileReader& in) override {
    auto text = in.read_all(file.path, limits_.max_file_bytes);
    if (!text) return text.error();
    Found found;
    std::vector<std::string> warnings;
    parse_apk_installed(*text, limits_, found.packages, warnings);
    for (std::string& w : warnings) found.warnings.push_back(file.path + ": " + w);
    return found;
  }

 private:
  Limits limits_;
};

}  // namespace

void parse_apk_installed(std::string_view text, const Limits& limits, std::vector<Package>& out,
                         std::vector<std::string>& warnings) {
  Record r;
  std::size_t line_no = 0;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    ++line_no;
    if (line.empty()) {
      finish_record(r, limits, out, warnings);
      r = Record{};
      continue;
    }
    if (r.first_line == 0) r.first_line = line_no;
    if (line.size() < 2 || line[1] != ':') continue;
    std::string_view value = line.substr(2);
    switch (line[0]) {
      case 'P':
        r.name = value;
        break;
      case 'V':
        r.version = value;
        break;
      case 'A':
        r.arch = value;
        break;
      case 'o':
        r.origin = value;
        break;
      case 'L':
        r.license = value;
        break;
      default:
        break;
    }
  }
  finish_record(r, limits, out, warnings);
}

std::unique_ptr<Cataloger> make_apk_cataloger(const Limits& limits) {
  return std::make_unique<ApkCataloger>(limits);
}

}  // namespace portcullis::scanner::image
