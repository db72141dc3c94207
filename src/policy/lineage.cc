#include "policy/lineage.h"

#include <fmt/format.h>

namespace portcullis::policy {

namespace {

bool is_prefix(const std::vector<std::string>& prefix, const std::vector<std::string>& of) {
  if (prefix.empty() || prefix.size() > of.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != of[i]) return false;
  }
  return true;
}

// Does the annotation name this base? "host/repo:tag", "repo:tag", "repo" or
// the base's own name all count.
bool names_base(std::string_view name, const ApprovedBase& b) {
  if (name.empty()) return false;
  if (name == b.name) return true;
  std::string ref = b.repository + ":" + b.tag;
  if (name == ref || name == b.repository) return true;
  auto ends_with_path = [&](std::string_view full) {
    return name.size() > full.size() && name.ends_with(full) &&
           name[name.size() - full.size() - 1] == '/';
  };
  return ends_with_path(ref) || ends_with_path(b.repository);
}

std::string annotation(const std::map<std::string, std::string>& a, const char* key) {
  auto it = a.find(key);
  return it == a.end() ? std::string() : it->second;
}

}  // namespace

Lineage derive_lineage(const std::vector<std::string>& diff_ids,
                       const std::map<std::string, std::string>& annotations,
                       const std::vector<ApprovedBase>& bases) {
  std::string hint_name = annotation(annotations, kBaseNameAnnotation);
  std::string hint_digest = annotation(annotations, kBaseDigestAnnotation);

  const ApprovedBase* best = nullptr;
  const BaseDigest* best_digest = nullptr;
  bool best_hinted = false;
  const ApprovedBase* hinted_base = nullptr;
  for (const auto& b : bases) {
    bool hinted = names_base(hint_name, b);
    if (hinted) hinted_base = &b;
    for (const auto& h : b.history) {
      if (!is_prefix(h.diff_ids, diff_ids)) continue;
      bool digest_hinted = hinted && (hint_digest.empty() || hint_digest == h.digest);
      std::size_t len = h.diff_ids.size();
      std::size_t best_len = best_digest ? best_digest->diff_ids.size() : 0;
      // Longest prefix wins; among equals the annotated one, then the newest.
      if (!best_digest || len > best_len ||
          (len == best_len &&
           (digest_hinted > best_hinted ||
            (digest_hinted == best_hinted && h.approved_at >= best_digest->approved_at)))) {
        best = &b;
        best_digest = &h;
        best_hinted = digest_hinted;
      }
    }
  }
  Lineage l;
  if (!best) {
    if (hinted_base) {
      l.message = fmt::format(
          "unknown base: the annotations name approved base '{}' ({}:{}) but its layers are not a "
          "prefix of this image's layers (annotations alone are not trusted)",
          hinted_base->name, hinted_base->repository, hinted_base->tag);
    } else if (diff_ids.empty()) {
      l.message = "unknown base: the image config lists no layers";
    } else {
      l.message =
          "unknown base: no approved base image's layers are a prefix of this image's layers";
    }
    return l;
  }
  l.known = true;
  l.base = best->name;
  l.reference = best->repository + ":" + best->tag;
  l.base_digest = best_digest->digest;
  l.current = best_digest->digest == best->current_digest;
  l.via_annotation = best_hinted;
  l.message = fmt::format("built on approved base '{}' ({}@{}{}){}", l.base, l.reference,
                          l.base_digest, l.current ? "" : ", a previously approved digest",
                          l.via_annotation ? ", as its annotations state" : "");
  return l;
}

}  // namespace portcullis::policy
