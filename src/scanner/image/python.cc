// PyPI: installed distributions' core metadata (*.dist-info/METADATA,
// *.egg-info/PKG-INFO, and *.egg-info files that hold PKG-INFO directly).
#include <fmt/format.h>

#include "scanner/image/cataloger.h"
#include "scanner/image/text_util.h"

namespace portcullis::scanner::image {

namespace {

using detail::iequals;
using detail::next_line;
using detail::trim;

class PythonCataloger final : public Cataloger {
 public:
  explicit PythonCataloger(const Limits& limits) : limits_(limits) {}
  std::string_view name() const override { return "python"; }
  std::vector<PathPattern> patterns() const override {
    return {PathPattern::glob("**/*.dist-info/METADATA"),
            PathPattern::glob("**/*.egg-info/PKG-INFO"), PathPattern::glob("**/*.egg-info")};
  }
  Result<Found> catalog(const FileInfo& file, FileReader& in) override {
    Found found;
    if (file.size > limits_.max_manifest_bytes) {
      found.warnings.push_back(fmt::format("{}: {} bytes, too large for package metadata; ignored",
                                           file.path, file.size));
      return found;
    }
    auto text = in.read_all(file.path, limits_.max_manifest_bytes);
    if (!text) return text.error();
    if (auto p = parse_python_metadata(*text, limits_)) found.packages.push_back(std::move(*p));
    return found;
  }

 private:
  Limits limits_;
};

}  // namespace

std::optional<Package> parse_python_metadata(std::string_view text, const Limits& limits) {
  std::string_view name, version, license, expression;
  std::vector<std::string_view> classifiers;
  // Header fields end at the first blank line; the description body follows.
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (trim(line).empty()) break;
    if (line.front() == ' ' || line.front() == '\t') continue;  // continuation of a long field
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(key, "Name")) {
      name = value;
    } else if (iequals(key, "Version")) {
      version = value;
    } else if (iequals(key, "License")) {
      license = value;
    } else if (iequals(key, "License-Expression")) {
      expression = value;
    } else if (iequals(key, "Classifier") && value.starts_with("License ::")) {
      classifiers.push_back(value);
    }
  }
  const std::size_t max = limits.max_field_bytes;
  if (name.empty() || version.empty() || name.size() > max || version.size() > max) {
    return std::nullopt;
  }
  Package p;
  p.type = kTypePypi;
  p.name = std::string(name);
  p.version = std::string(version);
  if (!expression.empty() && expression.size() <= max) {
    p.licenses.emplace_back(expression);
  } else if (!license.empty() && license != "UNKNOWN" && license.size() <= 256) {
    p.licenses.emplace_back(license);  // longer values are usually the whole licence text
  } else {
    for (std::string_view c : classifiers) {
      std::string_view last = trim(c.substr(c.rfind("::") + 2));
      if (!last.empty() && last.size() <= max) p.licenses.emplace_back(last);
    }
  }
  return p;
}

std::unique_ptr<Cataloger> make_python_cataloger(const Limits& limits) {
  return std::make_unique<PythonCataloger>(limits);
}

}  // namespace portcullis::scanner::image
