// Composition root: the only place that names concrete types. Builds the
// stores, caches and the HTTP server from a Config and owns their lifetimes.
#pragma once

#include "config/config.h"

namespace portcullis::server {

// Serves until SIGINT/SIGTERM. Returns the process exit code; start-up errors
// are logged and give a non-zero code.
int serve(const config::Config& cfg);

// True for addresses that only this machine can reach.
bool is_loopback(const std::string& host);

}  // namespace portcullis::server
