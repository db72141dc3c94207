// The policy directory (config policy.directory): its *.yaml / *.yml files
// are the registry policy. The watcher stores them as a new policy version
// when they differ from the active one — at start and whenever they change —
// through auth::Admin (validated as a whole, audited as actor "system"). An
// invalid set is logged, file:line: field: message per problem, and the
// previous version stays active. Every interval it also runs `tick` (the
// server records new digests of approved base tags there).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/admin.h"
#include "base/error.h"
#include "policy/loader.h"

namespace portcullis::server {

// The policy files directly in `dir` (not subdirectories), by name; files
// over 1 MiB are an error. Errc::invalid_request when unreadable.
Result<std::vector<policy::PolicyFile>> read_policy_directory(const std::string& dir);

class PolicyDirectoryWatcher {
 public:
  // `dir` may be empty: then only `tick` runs.
  PolicyDirectoryWatcher(std::string dir, std::chrono::seconds interval, auth::Admin& admin,
                         auth::AccessService& access, std::function<void()> tick = {});
  ~PolicyDirectoryWatcher();  // stops the thread
  PolicyDirectoryWatcher(const PolicyDirectoryWatcher&) = delete;
  PolicyDirectoryWatcher& operator=(const PolicyDirectoryWatcher&) = delete;

  // Applies the directory now; true when it is (or already was) the active version.
  bool sync();
  void start();

 private:
  std::string dir_;
  std::chrono::seconds interval_;
  auth::Admin& admin_;
  auth::AccessService& access_;
  std::function<void()> tick_;
  std::string last_seen_;  // encoded files last tried; only the watcher thread / start-up
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace portcullis::server
