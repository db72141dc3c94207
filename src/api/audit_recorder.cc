#include "api/audit_recorder.h"

#include <spdlog/spdlog.h>

namespace portcullis::api {

AuditRecorder::AuditRecorder(metadata::AuditLog& log, const Clock& clock,
                             AuditRecorderOptions options)
    : log_(log), clock_(clock), options_(options), thread_([this] { run(); }) {}

AuditRecorder::~AuditRecorder() { stop(); }

void AuditRecorder::record(audit::AuditEvent event) {
  std::lock_guard lock(mu_);
  if (pending_.events.size() >= options_.max_queue) {
    ++dropped_;
    return;
  }
  pending_.events.push_back(std::move(event));
}

void AuditRecorder::record_pull(std::string_view actor, std::string_view address,
                                std::string_view repository, std::string_view reference,
                                std::string_view digest) {
  if (!options_.record_pulls) return;
  std::lock_guard lock(mu_);
  key_.clear();
  for (auto part : {actor, address, repository, reference, digest}) {
    key_.append(part);
    key_.push_back('\0');
  }
  if (auto it = pending_.pulls.find(key_); it != pending_.pulls.end()) {
    ++it->second.second;
    return;
  }
  if (pending_.events.size() >= options_.max_queue) {
    ++dropped_;
    return;
  }
  audit::AuditEvent e;
  e.time_ms = clock_.unix_millis();
  e.actor = std::string(actor);
  e.source_address = std::string(address);
  e.action = "pull";
  e.repository = std::string(repository);
  e.reference = std::string(reference);
  e.digest = std::string(digest);
  e.result = "success";
  pending_.pulls.emplace(key_, std::make_pair(pending_.events.size(), std::size_t{1}));
  pending_.events.push_back(std::move(e));
}

void AuditRecorder::write(Pending batch) {
  if (batch.events.empty()) return;
  for (const auto& [key, slot] : batch.pulls) {
    if (slot.second > 1) batch.events[slot.first].detail = "count=" + std::to_string(slot.second);
  }
  std::lock_guard lock(write_mu_);
  if (auto r = log_.append_audit(batch.events); !r) {
    spdlog::error("audit: could not write {} events: {}", batch.events.size(), r.error().message);
  }
}

void AuditRecorder::flush() {
  Pending batch;
  std::size_t dropped;
  {
    std::lock_guard lock(mu_);
    std::swap(batch, pending_);
    dropped = dropped_;
    dropped_ = 0;
  }
  if (dropped > 0) spdlog::error("audit: queue full, {} events were dropped", dropped);
  write(std::move(batch));
}

void AuditRecorder::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.flush_interval);
    lock.unlock();
    flush();
    lock.lock();
  }
}

void AuditRecorder::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  flush();
}

}  // namespace portcullis::api
