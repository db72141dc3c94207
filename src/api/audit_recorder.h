// Appends audit events that are not part of a metadata write (pulls, logins,
// blob deletions) without blocking requests: events are queued and written
// by one background thread in batches, one transaction per batch.
//
// Pulls are coalesced: identical pull events (same actor, address,
// repository, reference and digest) queued within one flush interval become
// one event whose detail says "count=N". Under load this keeps the log (and
// the database) from growing by one row per manifest GET.
//
// Bounded: beyond max_queue pending events new ones are dropped and counted
// (logged once per flush). Thread-safe. stop() (or the destructor) writes
// what is queued.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "audit/audit_chain.h"
#include "base/clock.h"
#include "metadata/metadata.h"

namespace portcullis::api {

struct AuditRecorderOptions {
  std::chrono::milliseconds flush_interval{1000};
  std::size_t max_queue = 100000;
  bool record_pulls = true;
};

class AuditRecorder {
 public:
  AuditRecorder(metadata::AuditLog& log, const Clock& clock, AuditRecorderOptions options = {});
  ~AuditRecorder();
  AuditRecorder(const AuditRecorder&) = delete;
  AuditRecorder& operator=(const AuditRecorder&) = delete;

  void record(audit::AuditEvent event);
  // Hot path: allocates only for the first identical pull of an interval.
  void record_pull(std::string_view actor, std::string_view address, std::string_view repository,
                   std::string_view reference, std::string_view digest);
  // Writes everything queued now (tests, shutdown).
  void flush();
  void stop();

 private:
  struct Pending {
    std::vector<audit::AuditEvent> events;
    // Pull key -> (index into events, count); the count becomes "count=N".
    std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> pulls;
  };
  void run();
  void write(Pending batch);

  metadata::AuditLog& log_;
  const Clock& clock_;
  AuditRecorderOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string key_;         // guarded by mu_; scratch buffer for pull keys
  Pending pending_;         // guarded by mu_
  std::size_t dropped_ = 0;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::mutex write_mu_;     // one writer at a time (thread and flush())
  std::thread thread_;
};

}  // namespace portcullis::api
