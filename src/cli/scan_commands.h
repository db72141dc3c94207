// `portcullis db …` and `portcullis scan …`.
#pragma once

#include <string>
#include <vector>

namespace portcullis::cli {

int db_import(const std::string& db_path, const std::vector<std::string>& files, const std::string& name);
int db_status(const std::string& db_path);
struct ScanFlags {
  std::string format = "table";   // table, json, sarif, cyclonedx
  std::string platform = "linux/amd64";
  std::string fail_on;            // severity; empty = never fail on findings
  bool plain_http = false;        // remote registry over http (default for loopback hosts)
  bool insecure_tls = false;      // do not verify the registry's certificate
  std::string creds;              // user:password for the remote registry
};

// target: an OCI image layout directory (DIR or DIR:REF) or a remote image
// reference (registry/repository[:tag][@digest]).
int scan(const std::string& db_path, const std::string& target, const ScanFlags& flags);

}  // namespace portcullis::cli
