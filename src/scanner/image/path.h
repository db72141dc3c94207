// Paths inside an image and the patterns catalogers use to ask for files.
// Pure: no I/O. An image path is relative to the image root, '/'-separated,
// without "." or ".." components, empty for the root itself ("usr/lib/x").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::scanner::image {

// Normalises a path as written in a layer ("./usr/x", "/usr/x", "usr//x",
// "usr/lib/../x", "usr/x/"). ".." is resolved against the components before
// it; a path whose ".." would climb above the root gives nullopt (the entry
// is rejected, never clamped to something else).
std::optional<std::string> normalize_path(std::string_view raw);

// The parent of a normalised path ("" for top-level names and the root).
std::string_view parent_path(std::string_view path);
// The last component of a normalised path.
std::string_view base_name(std::string_view path);

// One pattern a cataloger declares. Globs are anchored at the image root:
// '*' matches within one component, '?' one character, and a component that
// is exactly "**" matches zero or more whole components
// ("**/node_modules/*/package.json", "**/*.dist-info/METADATA").
class PathPattern {
 public:
  enum class Kind { exact, suffix, glob, any };

  static PathPattern exact(std::string path);     // one normalised path
  static PathPattern suffix(std::string suffix);  // path ends with this (e.g. ".jar")
  static PathPattern glob(std::string pattern);
  static PathPattern any();  // every regular file (narrowed by Cataloger::accepts)

  Kind kind() const { return kind_; }
  const std::string& text() const { return text_; }
  bool matches(std::string_view path) const;

 private:
  PathPattern(Kind kind, std::string text);
  Kind kind_;
  std::string text_;
  std::vector<std::string> segments_;  // glob only
  std::string literal_tail_;           // glob only: a fixed suffix every match ends with
};

// Matches one path component against a pattern with '*' and '?'.
bool match_component(std::string_view pattern, std::string_view text);

}  // namespace portcullis::scanner::image
