// Logging facade: spdlog underneath, configured once by the composition root.
// Two asynchronous loggers write to stderr: the default one (human-readable
// diagnostics) and "access" (one JSON object per line, written by the API).
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace portcullis::log {

struct Options {
  std::string level = "info";  // trace|debug|info|warn|error|off
  bool access_log = true;      // emit the JSON access log
};

// Installs the default logger and the access logger. Call once, at start-up.
void init(const Options& options);

// The access logger; nullptr when disabled. Thread-safe, never blocks
// (messages are dropped when its queue is full).
std::shared_ptr<spdlog::logger> access();

}  // namespace portcullis::log
