// GET /v2/<name>/tags/list and GET /v2/_catalog, sorted, with n/last pagination.
#include <functional>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/handlers/handlers.h"
#include "api/handlers/util.h"

namespace portcullis::api {

namespace {

net::Response json_page(boost::json::object body, std::optional<std::string> link) {
  net::Response r;
  r.header("Content-Type", "application/json");
  if (link) r.header("Link", std::move(*link));
  r.body = boost::json::serialize(body);
  return r;
}

boost::json::array to_array(const std::vector<std::string>& items) {
  boost::json::array a;
  a.reserve(items.size());
  for (const auto& s : items) a.emplace_back(s);
  return a;
}

}  // namespace

net::Task<net::Response> handle_tags(Context& ctx, net::Exchange& ex, const Route& route,
                                     const Query& query) {
  if (auto bad = check_name(route.name)) co_return std::move(*bad);
  auto method = ex.header().method();
  if (method != http::verb::get && method != http::verb::head) {
    co_return error(Errc::unsupported, "method not allowed");
  }
  auto n = page_size(query, ctx.options.max_page_size);
  if (!n) co_return error_response(n.error());
  std::size_t limit = n->value_or(ctx.options.max_page_size);
  std::string last(query_value(query, "last"));
  std::string_view repo = route.name;
  // One extra row tells whether a next page exists.
  auto tags = co_await net::offload(ex, [&] { return ctx.meta.list_tags(repo, last, limit + 1); });
  if (!tags) co_return error_response(tags.error());
  if (!*tags) co_return error(Errc::name_unknown, "repository name not known to registry");
  auto& list = **tags;
  std::optional<std::string> link;
  if (list.size() > limit) {
    list.resize(limit);
    if (limit > 0) link = next_link(fmt::format("/v2/{}/tags/list", repo), limit, list.back());
  }
  boost::json::object body;
  body["name"] = repo;
  body["tags"] = to_array(list);
  auto r = json_page(std::move(body), std::move(link));
  r.omit_body = method == http::verb::head;
  co_return r;
}

net::Task<net::Response> handle_catalog(Context& ctx, net::Exchange& ex, const Query& query,
                                        const Principal& who) {
  if (ex.header().method() != http::verb::get) co_return error(Errc::unsupported, "method not allowed");
  auto n = page_size(query, ctx.options.max_page_size);
  if (!n) co_return error_response(n.error());
  std::size_t limit = n->value_or(ctx.options.default_catalog_page);
  std::string last(query_value(query, "last"));
  // Only what the caller may pull is listed: read pages until `limit + 1`
  // visible names are found (one extra tells whether a next page exists).
  std::string stopped_at;  // set when the scan bound ended the page early
  auto repos = co_await net::offload(ex, [&]() -> Result<std::vector<std::string>> {
    std::function<bool(std::string_view)> visible;
    if (ctx.access) visible = ctx.access->catalog_filter(who);
    std::vector<std::string> out;
    std::string cursor = last;
    std::size_t batch = std::max<std::size_t>(limit + 1, 100);
    // Bounded work per request: after this many rows the page ends early
    // (with a Link from where the scan stopped), however few were visible.
    const std::size_t max_scanned = std::max<std::size_t>(10 * (limit + 1), 10000);
    std::size_t scanned = 0;
    for (;;) {
      auto page = ctx.meta.list_repositories(cursor, batch);
      if (!page) return page.error();
      for (auto& name : *page) {
        if (out.size() > limit) break;
        ++scanned;
        cursor = name;
        if (!visible || visible(name)) out.push_back(std::move(name));
      }
      if (out.size() > limit || page->size() < batch) break;
      if (scanned >= max_scanned) {
        stopped_at = cursor;
        break;
      }
    }
    return out;
  });
  if (!repos) co_return error_response(repos.error());
  std::optional<std::string> link;
  if (repos->size() > limit) {
    repos->resize(limit);
    if (limit > 0) link = next_link("/v2/_catalog", limit, repos->back());
  } else if (!stopped_at.empty() && limit > 0) {
    link = next_link("/v2/_catalog", limit, stopped_at);
  }
  boost::json::object body;
  body["repositories"] = to_array(*repos);
  co_return json_page(std::move(body), std::move(link));
}

}  // namespace portcullis::api
