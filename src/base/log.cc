#include "base/log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace portcullis::log {

namespace {
std::shared_ptr<spdlog::logger> g_access;  // set once by init(), read-only afterwards
}

void init(const Options& options) {
  spdlog::init_thread_pool(16384, 1);
  auto logger = spdlog::create_async_nb<spdlog::sinks::stderr_sink_mt>("portcullis");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(options.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  if (options.access_log) {
    g_access = spdlog::create_async_nb<spdlog::sinks::stderr_sink_mt>("access");
    g_access->set_pattern("%v");
  }
}

std::shared_ptr<spdlog::logger> access() { return g_access; }

}  // namespace portcullis::log
