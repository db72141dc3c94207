// One handler per resource. Each answers every method of its route; errors
// are returned as domain errors and mapped in one place (api/errors.cc).
#pragma once

#include "api/context.h"
#include "api/routes.h"

namespace portcullis::api {

net::Task<net::Response> handle_base(Context& ctx, net::Exchange& ex);
net::Task<net::Response> handle_manifest(Context& ctx, net::Exchange& ex, const Route& route);
net::Task<net::Response> handle_blob(Context& ctx, net::Exchange& ex, const Route& route);
net::Task<net::Response> handle_upload_start(Context& ctx, net::Exchange& ex, const Route& route,
                                             const Query& query);
net::Task<net::Response> handle_upload(Context& ctx, net::Exchange& ex, const Route& route,
                                       const Query& query);
net::Task<net::Response> handle_tags(Context& ctx, net::Exchange& ex, const Route& route,
                                     const Query& query);
net::Task<net::Response> handle_catalog(Context& ctx, net::Exchange& ex, const Query& query);
net::Task<net::Response> handle_referrers(Context& ctx, net::Exchange& ex, const Route& route,
                                          const Query& query);
net::Task<net::Response> handle_scan_report(Context& ctx, net::Exchange& ex, const Route& route,
                                            const Query& query);
net::Task<net::Response> handle_health(Context& ctx, net::Exchange& ex, RouteKind kind);

}  // namespace portcullis::api
