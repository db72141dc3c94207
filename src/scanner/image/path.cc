#include "scanner/image/path.h"

#include <utility>

namespace portcullis::scanner::image {

namespace {

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) slash = s.size();
    if (slash > start) out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// Glob segments against path components; "**" backtracks over whole components.
bool match_segments(const std::vector<std::string>& pat, std::size_t pi,
                    const std::vector<std::string_view>& comps, std::size_t ci) {
  while (pi < pat.size()) {
    if (pat[pi] == "**") {
      // Collapse runs of "**" and try every split point.
      while (pi < pat.size() && pat[pi] == "**") ++pi;
      if (pi == pat.size()) return true;
      for (std::size_t k = ci; k < comps.size(); ++k) {
        if (match_segments(pat, pi, comps, k)) return true;
      }
      return false;
    }
    if (ci >= comps.size() || !match_component(pat[pi], comps[ci])) return false;
    ++pi;
    ++ci;
  }
  return ci == comps.size();
}

}  // namespace

std::optional<std::string> normalize_path(std::string_view raw) {
  std::vector<std::string_view> out;
  for (std::string_view comp : split(raw)) {
    if (comp == ".") continue;
    if (comp == "..") {
      if (out.empty()) return std::nullopt;  // would leave the root
      out.pop_back();
      continue;
    }
    out.push_back(comp);
  }
  std::string joined;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i) joined.push_back('/');
    joined.append(out[i]);
  }
  return joined;
}

std::string_view parent_path(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

std::string_view base_name(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool match_component(std::string_view pattern, std::string_view text) {
  // Iterative wildcard match with single-star backtracking: linear-ish, no recursion.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

PathPattern::PathPattern(Kind kind, std::string text) : kind_(kind), text_(std::move(text)) {
  if (kind_ != Kind::glob) return;
  for (std::string_view seg : split(text_)) segments_.emplace_back(seg);
  // The literal characters after the last wildcard: a cheap filter before the full match.
  std::size_t wild = text_.find_last_of("*?");
  literal_tail_ = wild == std::string::npos ? text_ : text_.substr(wild + 1);
}

PathPattern PathPattern::exact(std::string path) {
  return PathPattern(Kind::exact, std::move(path));
}
PathPattern PathPattern::suffix(std::string suffix) {
  return PathPattern(Kind::suffix, std::move(suffix));
}
PathPattern PathPattern::glob(std::string pattern) {
  return PathPattern(Kind::glob, std::move(pattern));
}
PathPattern PathPattern::any() { return PathPattern(Kind::any, ""); }

bool PathPattern::matches(std::string_view path) const {
  switch (kind_) {
    case Kind::exact:
      return path == text_;
    case Kind::suffix:
      return path.size() >= text_.size() && path.ends_with(text_);
    case Kind::any:
      return true;
    case Kind::glob:
      if (!path.ends_with(literal_tail_)) return false;
      return match_segments(segments_, 0, split(path), 0);
  }
  return false;
}

}  // namespace portcullis::scanner::image
