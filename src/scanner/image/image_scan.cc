#include "scanner/image/image_scan.h"

#include <algorithm>
#include <climits>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "scanner/image/cataloger.h"
#include "scanner/image/walker.h"

namespace portcullis::scanner::image {

namespace {

constexpr std::size_t kMaxReportedWarnings = 200;

using Key = std::pair<std::size_t, std::string>;  // (cataloger, real path)

}  // namespace

Result<Inventory> scan_layers(const std::vector<Layer>& layers, const Limits& limits,
                              const Progress& progress) {
  return scan_layers_with(layers, limits, default_catalogers(limits), progress);
}

Result<Inventory> scan_layers_with(const std::vector<Layer>& layers, const Limits& limits,
                                   CatalogerList catalogers, const Progress& progress) {
  detail::Matcher matcher;
  for (std::size_t i = 0; i < catalogers.size(); ++i) {
    for (const PathPattern& p : catalogers[i]->patterns()) matcher.add(i, p);
  }
  Inventory inventory;
  detail::Budget budget;
  auto tree = walk_layers(layers, limits, matcher, catalogers, budget, inventory.warnings, progress);
  if (!tree) return tree.error();

  // What each cataloger found, per real file of the final image.
  std::map<Key, const Found*> taken;
  std::set<Key> requested;
  std::vector<std::pair<Key, std::string>> second_pass;  // and the path it was wanted as
  auto want = [&](std::size_t c, const std::string& real, const std::string& wanted_as) {
    Key key{c, real};
    if (taken.count(key) || requested.count(key)) return;
    auto it = tree->find(real);
    if (it != tree->end() && it->second.kind == detail::Node::Kind::file) {
      for (const detail::FileFound& f : it->second.found) {
        if (f.cataloger == c) {
          taken.emplace(std::move(key), &f.found);
          return;
        }
      }
    }
    std::vector<std::size_t> matched;
    matcher.match(real, matched);
    if (std::find(matched.begin(), matched.end(), c) != matched.end()) {
      return;  // the cataloger saw this path itself and found nothing (or it does not exist)
    }
    if (it == tree->end() && matcher.is_exact_base_name(base_name(real))) {
      return;  // every file of that name was noted: this one does not exist
    }
    requested.insert(key);
    second_pass.emplace_back(std::move(key), wanted_as);
  };

  for (const auto& [path, node] : *tree) {
    if (node.kind == detail::Node::Kind::file) {
      for (const detail::FileFound& f : node.found) taken.emplace(Key{f.cataloger, path}, &f.found);
    }
  }
  for (const auto& [path, node] : *tree) {
    if (node.kind != detail::Node::Kind::hardlink || node.wanted_by.empty()) continue;
    auto real = detail::resolve(*tree, path, limits.max_link_hops);
    if (!real) {
      inventory.warnings.push_back(real.error().message);
      continue;
    }
    for (std::size_t c : node.wanted_by) want(c, *real, path);
  }
  // Exact paths see the image as a container would: through its own links.
  for (const auto& [path, c] : matcher.exact_paths()) {
    auto real = detail::resolve(*tree, path, limits.max_link_hops);
    if (!real) {
      inventory.warnings.push_back(real.error().message);
      continue;
    }
    if (*real != path) want(c, *real, path);
  }

  // Links to files no cataloger read on the way: one more pass for just those.
  detail::Tree second_tree;
  if (!second_pass.empty()) {
    detail::Matcher exact;
    for (const auto& [key, wanted_as] : second_pass) {
      exact.add(key.first, PathPattern::exact(key.second), wanted_as);
    }
    detail::Budget again;  // the same layers: entry and byte bounds were checked already
    again.packages = budget.packages;
    std::vector<std::string> repeated_warnings;
    auto t2 = walk_layers(layers, limits, exact, catalogers, again, repeated_warnings);
    if (!t2) return t2.error();
    second_tree = std::move(*t2);
    for (const auto& [key, wanted_as] : second_pass) {
      const auto& [c, path] = key;
      auto it = second_tree.find(path);
      if (it == second_tree.end() || it->second.kind != detail::Node::Kind::file) continue;
      for (const detail::FileFound& f : it->second.found) {
        if (f.cataloger == c) taken.emplace(Key{c, path}, &f.found);
      }
    }
  }

  std::vector<std::vector<Package>> per_cataloger(catalogers.size());
  int best_rank = INT_MAX;
  for (const auto& [key, found] : taken) {
    auto& out = per_cataloger[key.first];
    out.insert(out.end(), found->packages.begin(), found->packages.end());
    inventory.warnings.insert(inventory.warnings.end(), found->warnings.begin(),
                              found->warnings.end());
    if (found->distro && found->distro_rank < best_rank) {
      best_rank = found->distro_rank;
      inventory.distro = found->distro;
    }
  }
  for (std::size_t c = 0; c < catalogers.size(); ++c) {
    catalogers[c]->finish(per_cataloger[c], inventory.warnings);
    for (Package& p : per_cataloger[c]) inventory.packages.push_back(std::move(p));
  }
  if (inventory.warnings.size() > kMaxReportedWarnings) {
    std::size_t more = inventory.warnings.size() - kMaxReportedWarnings;
    inventory.warnings.resize(kMaxReportedWarnings);
    inventory.warnings.push_back(fmt::format("{} more warnings omitted", more));
  }
  return inventory;
}

}  // namespace portcullis::scanner::image
