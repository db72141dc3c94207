// Prometheus metrics for the API: requests by route and status, latency
// histograms by route, bytes in/out, uploads in flight. Lock-free counters:
// observe() is called on every request and never blocks.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "api/routes.h"

namespace portcullis::api {

class Metrics {
 public:
  static constexpr std::array<unsigned, 17> kStatuses = {200, 201, 202, 204, 206, 400, 401, 403,
                                                         404, 405, 413, 416, 429, 431, 500, 503, 0};
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

  void observe(RouteKind route, unsigned status, std::chrono::nanoseconds elapsed,
               uint64_t bytes_in, uint64_t bytes_out);
  void upload_started() { uploads_in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void upload_finished() { uploads_in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  // One garbage-collection run (maintenance/gc.h), from the collector's thread.
  void gc_run(bool ok, uint64_t blobs, uint64_t bytes, uint64_t manifests,
              std::chrono::milliseconds duration, int64_t finished_unix_seconds);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  static std::size_t status_index(unsigned status);
  using Counter = std::atomic<uint64_t>;
  std::array<std::array<Counter, kStatuses.size()>, kRouteKinds> requests_{};
  std::array<std::array<Counter, kBuckets.size() + 1>, kRouteKinds> latency_buckets_{};
  std::array<Counter, kRouteKinds> latency_sum_ns_{};
  Counter bytes_in_{0};
  Counter bytes_out_{0};
  std::atomic<int64_t> uploads_in_flight_{0};
  Counter gc_runs_ok_{0};
  Counter gc_runs_failed_{0};
  Counter gc_blobs_{0};
  Counter gc_bytes_{0};
  Counter gc_manifests_{0};
  std::atomic<int64_t> gc_last_run_{0};      // unix seconds; 0 = never
  std::atomic<int64_t> gc_last_duration_ms_{0};
};

}  // namespace portcullis::api
