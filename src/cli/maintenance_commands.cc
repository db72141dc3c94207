#include "cli/maintenance_commands.h"

#include <cstdio>

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/log.h"
#include "cli/load_config.h"
#include "maintenance/fsck.h"
#include "maintenance/gc.h"
#include "server/server.h"

namespace portcullis::cli {

namespace {

// Runs `body(cfg, blobs, meta)` on the configured stores. Exit status 2, with
// the message on stderr, for configuration, database and storage errors.
template <class Body>
int with_stores(const char* command, const std::string& config_file, const std::string& data_dir,
                Body body) {
  auto loaded = load_config(config_file, data_dir);
  if (!loaded) return 2;
  log::init({"warn", false});
  int rc = 2;
  try {
    auto meta = server::open_metadata(*loaded);
    auto blobs = server::open_blob_store(*loaded);
    rc = body(*loaded, *blobs, *meta);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portcullis %s: %s\n", command, e.what());
    rc = 2;
  }
  spdlog::shutdown();
  return rc;
}

}  // namespace

int fsck(const FsckFlags& flags) {
  return with_stores(
      "fsck", flags.config_file, flags.data_dir,
      [&](const config::Config&, storage::BlobStore& blobs, metadata::MetadataStore& meta) {
        int rc = 0;
        SystemClock clock;
        maintenance::FsckOptions options;
        options.verify_digests = !flags.no_verify;
        options.repair = flags.repair;
        options.orphan_grace = std::chrono::seconds(flags.orphan_grace_seconds);
        auto report = maintenance::fsck(blobs, meta, clock, options);
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
              "fsck: %zu blobs (%llu bytes), %zu references; %zu missing, %zu corrupt, %zu "
              "orphans%s\n",
              report->blobs, static_cast<unsigned long long>(report->bytes), report->references,
              report->missing.size(), report->corrupt.size(), report->orphans.size(),
              flags.repair ? (", " + std::to_string(report->removed) + " removed").c_str() : "");
          rc = report->ok() ? 0 : 1;
        }
        return rc;
      });
}

int gc(const GcFlags& flags) {
  return with_stores(
      "gc", flags.config_file, flags.data_dir,
      [&](const config::Config& cfg, storage::BlobStore& blobs, metadata::MetadataStore& meta) {
        int rc = 0;
        SystemClock clock;
        maintenance::GcOptions options;
        options.grace = flags.grace_seconds >= 0 ? std::chrono::seconds(flags.grace_seconds)
                                                 : std::chrono::minutes(cfg.gc_grace_minutes);
        options.mark_delay = std::chrono::seconds(
            flags.mark_delay_seconds >= 0 ? flags.mark_delay_seconds : cfg.gc_mark_delay_seconds);
        options.delete_untagged = cfg.gc_delete_untagged;
        options.untagged_age = std::chrono::hours(cfg.gc_untagged_age_hours);
        options.dry_run = flags.dry_run;
        if (!flags.dry_run && options.mark_delay.count() > 0 && !flags.quiet) {
          std::fprintf(stderr,
                       "gc: marked blobs are deleted after %lld s (gc.mark_delay_seconds)\n",
                       static_cast<long long>(options.mark_delay.count()));
        }
        auto report = maintenance::collect_garbage(blobs, meta, clock, options);
        if (!report) {
          std::fprintf(stderr, "portcullis gc: %s\n", report.error().message.c_str());
          rc = 2;
        } else {
          const char* verb = flags.dry_run ? "WOULD DELETE" : "DELETED";
          if (!flags.quiet) {
            for (const auto& m : report->manifests) {
              std::printf("%s manifest %s@%s\n", verb, m.repository.c_str(), m.digest.c_str());
            }
            for (const auto& b : report->blobs) {
              std::printf("%s blob %s (%llu bytes)\n", verb, b.digest.c_str(),
                          static_cast<unsigned long long>(b.size));
            }
          }
          std::printf(
              "gc%s: %llu blobs (%llu bytes) scanned; %zu manifests and %zu blobs (%llu bytes) %s "
              "in "
              "%lld ms\n",
              flags.dry_run ? " (dry run)" : "",
              static_cast<unsigned long long>(report->blobs_scanned),
              static_cast<unsigned long long>(report->bytes_scanned), report->manifests.size(),
              report->blobs.size(), static_cast<unsigned long long>(report->bytes_reclaimed),
              flags.dry_run ? "collectable" : "deleted",
              static_cast<long long>(report->duration.count()));
        }
        return rc;
      });
}

}  // namespace portcullis::cli
