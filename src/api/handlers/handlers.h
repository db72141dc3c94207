// One handler per resource. Each answers every method of its route; errors
// are returned as domain errors and mapped in one place (api/errors.cc).
#pragma once

#include "api/access_control.h"
#include "api/context.h"
#include "api/routes.h"

namespace portcullis::api {

net::Task<net::Response> handle_base(Context& ctx, net::Exchange& ex);
net::Task<net::Response> handle_manifest(Context& ctx, net::Exchange& ex, const Route& route,
                                         const Principal& who);
net::Task<net::Response> handle_blob(Context& ctx, net::Exchange& ex, const Route& route,
                                     const Principal& who);
net::Task<net::Response> handle_upload_start(Context& ctx, net::Exchange& ex, const Route& route,
                                             const Query& query, const Principal& who);
net::Task<net::Response> handle_upload(Context& ctx, net::Exchange& ex, const Route& route,
                                       const Query& query);
net::Task<net::Response> handle_tags(Context& ctx, net::Exchange& ex, const Route& route,
                                     const Query& query);
net::Task<net::Response> handle_catalog(Context& ctx, net::Exchange& ex, const Query& query,
                                        const Principal& who);
net::Task<net::Response> handle_referrers(Context& ctx, net::Exchange& ex, const Route& route,
                                          const Query& query);
net::Task<net::Response> handle_scan_report(Context& ctx, net::Exchange& ex, const Route& route,
                                            const Query& query);
// GET/POST /token: the Docker token service (needs ctx.access).
net::Task<net::Response> handle_token(Context& ctx, net::Exchange& ex, const Query& query);
// /api/v1/<path>: users, robots, namespaces, members, tag rules, audit (auth/admin.h).
// `path` is what follows "/api/v1/".
net::Task<net::Response> handle_admin(Context& ctx, net::Exchange& ex, std::string_view path,
                                      const Query& query, const Principal& who);
// /api/v1/policy…: policy versions, evaluation, dry runs, approved bases
// (api/handlers/policy.cc). `path` is what follows "/api/v1/".
net::Task<net::Response> handle_policy(Context& ctx, net::Exchange& ex, std::string_view path,
                                       const Query& query, const Principal& who);
net::Task<net::Response> handle_health(Context& ctx, net::Exchange& ex, RouteKind kind);

}  // namespace portcullis::api
