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

}  // namespace portcullis::cli
