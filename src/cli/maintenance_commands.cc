#include "cli/maintenance_commands.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/log.h"
#include "cli/load_config.h"
#include "maintenance/fsck.h"
#include "server/server.h"

namespace portcullis::cli {

int fsck(const FsckFlags& flags) {
  auto loaded = load_config(flags.config_file, flags.data_dir);
  if (!loaded) return 2;
  const config::Config& cfg = *loaded;
  log::init({"warn", false});
  int rc = 0;
  try {
    auto meta = server::open_metadata(cfg);
    auto blob_store = server::open_blob_store(cfg);
    storage::BlobStore& blobs = *blob_store;
    SystemClock clock;
    maintenance::FsckOptions options;
    options.verify_digests = !flags.no_verify;
    options.repair = flags.repair;
    options.orphan_grace = std::chrono::seconds(flags.orphan_grace_seconds);
    auto report = maintenance::fsck(blobs, *meta, clock, options);
    if (!report) {
      std::fprintf(stderr, "portcullis fsck: %s\n", report.error().message.c_str());
      rc = 2;
    } else {
      for (const auto& m : report->missing) std::printf("MISSING  %s\n", m.c_str());
      for (const auto& c : report->corrupt) std::printf("CORRUPT  %s\n", c.c_str());
      for (const auto& o : report->orphans) {
        std::printf("ORPHAN   %s%s\n", o.c_str(), flags.repair ? " (removed)" : "");
      }
      std::printf(
          "fsck: %zu blobs (%llu bytes), %zu references; %zu missing, %zu corrupt, %zu orphans%s\n",
          report->blobs, static_cast<unsigned long long>(report->bytes), report->references,
          report->missing.size(), report->corrupt.size(), report->orphans.size(),
          flags.repair ? (", " + std::to_string(report->removed) + " removed").c_str() : "");
      rc = report->ok() ? 0 : 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portcullis fsck: %s\n", e.what());
    rc = 2;
  }
  spdlog::shutdown();
  return rc;
}

}  // namespace portcullis::cli
