#include "oci/names.h"

#include <fmt/format.h>

namespace portcullis::oci {

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) {
  if (c.empty() || !lower_alnum(c.front()) || !lower_alnum(c.back())) return false;
  std::size_t i = 0;
  while (i < c.size()) {
    if (lower_alnum(c[i])) {
      ++i;
      continue;
    }
    // a separator run: ".", "_", "__" or "-+"
    std::size_t j = i;
    if (c[i] == '.') {
      j = i + 1;
    } else if (c[i] == '_') {
      j = i + 1;
      if (j < c.size() && c[j] == '_') ++j;
    } else if (c[i] == '-') {
      while (j < c.size() && c[j] == '-') ++j;
    } else {
      return false;
    }
    if (j >= c.size() || !lower_alnum(c[j])) return false;
    i = j;
  }
  return true;
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool valid_repository_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxRepositoryNameLength) return false;
  std::size_t start = 0;
  while (true) {
    auto slash = name.find('/', start);
    auto part = name.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                                   : slash - start);
    if (!valid_component(part)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag.front())) return false;
  for (char c : tag.substr(1)) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

Result<ManifestRef> parse_manifest_ref(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    auto d = Digest::parse(text);
    if (!d) return d.error();
    return ManifestRef{*d, {}};
  }
  if (!valid_tag(text)) return make_error(Errc::tag_invalid, "invalid tag");
  return ManifestRef{std::nullopt, std::string(text)};
}

std::string ImageReference::str() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->str();
  return out;
}

Result<ImageReference> parse_image_reference(std::string_view text) {
  if (text.empty() || text.size() > 512) {
    return make_error(Errc::name_invalid, "image reference is empty or too long");
  }
  ImageReference ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    auto d = Digest::parse(rest.substr(at + 1));
    if (!d) return d.error();
    ref.digest = *d;
    rest = rest.substr(0, at);
  }
  // A tag is after the last ':' that comes after the last '/'.
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (!valid_tag(ref.tag)) return make_error(Errc::tag_invalid, "invalid tag in image reference");
    rest = rest.substr(0, colon);
  }
  // The first component is a registry host when it has '.', ':' or is "localhost".
  auto first_slash = rest.find('/');
  if (first_slash != std::string_view::npos) {
    auto first = rest.substr(0, first_slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost" || (first.front() == '[')) {
      if (!valid_host(first)) return make_error(Errc::name_invalid, "invalid registry host");
      ref.registry = std::string(first);
      rest = rest.substr(first_slash + 1);
    }
  }
  if (ref.registry.empty()) ref.registry = "docker.io";
  if (ref.registry == "index.docker.io") ref.registry = "docker.io";
  ref.repository = std::string(rest);
  if (ref.registry == "docker.io" && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  if (!valid_repository_name(ref.repository)) {
    return make_error(Errc::name_invalid,
                      fmt::format("invalid repository name '{}'", ref.repository));
  }
  if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
  return ref;
}

}  // namespace portcullis::oci
