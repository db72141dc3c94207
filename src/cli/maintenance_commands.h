// `portcullis fsck [--repair] [--no-verify] [--orphan-grace-seconds N]`: the
// integrity check (maintenance/fsck.h) of the configured blob store and
// metadata database, safe against a running server. Prints every problem,
// then a summary. Exit codes: 0 intact, 1 missing or corrupt content found,
// 2 configuration or start-up error.
#pragma once

#include <string>

namespace portcullis::cli {

struct FsckFlags {
  std::string config_file;
  std::string data_dir;
  bool repair = false;
  bool no_verify = false;
  int orphan_grace_seconds = 3600;
};

int fsck(const FsckFlags& flags);

// `portcullis gc [--dry-run]`: one online garbage collection
// (maintenance/gc.h) of the configured blob store and metadata database,
// safe while servers run. Prints every deleted (or, dry run, collectable)
// manifest and blob, then counts and bytes. Exit codes: 0 done, 2
// configuration, start-up or database error.
struct GcFlags {
  std::string config_file;
  std::string data_dir;
  bool dry_run = false;
  int grace_seconds = -1;       // -1: gc.grace_minutes
  int mark_delay_seconds = -1;  // -1: gc.mark_delay_seconds
  bool quiet = false;           // summary only
};

int gc(const GcFlags& flags);

}  // namespace portcullis::cli
