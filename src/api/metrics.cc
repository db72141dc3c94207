#include "api/metrics.h"

#include <fmt/format.h>

namespace portcullis::api {

std::size_t Metrics::status_index(unsigned status) {
  for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 1;  // "other"
}

void Metrics::observe(RouteKind route, unsigned status, std::chrono::nanoseconds elapsed,
                      uint64_t bytes_in, uint64_t bytes_out) {
  auto r = static_cast<std::size_t>(route);
  requests_[r][status_index(status)].fetch_add(1, std::memory_order_relaxed);
  double seconds = std::chrono::duration<double>(elapsed).count();
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  latency_buckets_[r][b].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_[r].fetch_add(static_cast<uint64_t>(elapsed.count()), std::memory_order_relaxed);
  bytes_in_.fetch_add(bytes_in, std::memory_order_relaxed);
  bytes_out_.fetch_add(bytes_out, std::memory_order_relaxed);
}

std::string Metrics::render() const {
  std::string out;
#define put(...) fmt::format_to(std::back_inserter(out), __VA_ARGS__)
  put("# HELP portcullis_http_requests_total HTTP requests by route and status.\n");
  put("# TYPE portcullis_http_requests_total counter\n");
  for (int r = 0; r < kRouteKinds; ++r) {
    auto name = route_name(static_cast<RouteKind>(r));
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      auto v = requests_[static_cast<std::size_t>(r)][s].load(std::memory_order_relaxed);
      if (v == 0) continue;
      std::string status = kStatuses[s] ? std::to_string(kStatuses[s]) : "other";
      put("portcullis_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", name, status, v);
    }
  }
  put("# HELP portcullis_http_request_duration_seconds Time from request header to response "
      "written.\n");
  put("# TYPE portcullis_http_request_duration_seconds histogram\n");
  for (int r = 0; r < kRouteKinds; ++r) {
    auto ri = static_cast<std::size_t>(r);
    uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += latency_buckets_[ri][b].load(std::memory_order_relaxed);
    }
    if (cumulative == 0) continue;
    auto name = route_name(static_cast<RouteKind>(r));
    uint64_t running = 0;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      running += latency_buckets_[ri][b].load(std::memory_order_relaxed);
      put("portcullis_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", name,
          kBuckets[b], running);
    }
    put("portcullis_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", name,
        cumulative);
    put("portcullis_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", name,
        static_cast<double>(latency_sum_ns_[ri].load(std::memory_order_relaxed)) / 1e9);
    put("portcullis_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", name, cumulative);
  }
  // One metric without labels: HELP, TYPE and its value.
  auto scalar = [&out](std::string_view name, std::string_view type, std::string_view help,
                       auto value) {
    fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help,
                   type, value);
  };
  auto relaxed = [](const auto& counter) { return counter.load(std::memory_order_relaxed); };
  scalar("portcullis_http_received_bytes_total", "counter", "Request body bytes received.",
         relaxed(bytes_in_));
  scalar("portcullis_http_sent_bytes_total", "counter", "Response body bytes sent.",
         relaxed(bytes_out_));
  scalar("portcullis_uploads_in_flight", "gauge", "Blob upload requests currently receiving data.",
         relaxed(uploads_in_flight_));
  put("# HELP portcullis_gc_runs_total Garbage-collection runs by outcome.\n");
  put("# TYPE portcullis_gc_runs_total counter\n");
  put("portcullis_gc_runs_total{{result=\"success\"}} {}\n", relaxed(gc_runs_ok_));
  put("portcullis_gc_runs_total{{result=\"failure\"}} {}\n", relaxed(gc_runs_failed_));
  scalar("portcullis_gc_blobs_reclaimed_total", "counter", "Blobs deleted by garbage collection.",
         relaxed(gc_blobs_));
  scalar("portcullis_gc_bytes_reclaimed_total", "counter",
         "Blob bytes deleted by garbage collection.", relaxed(gc_bytes_));
  scalar("portcullis_gc_manifests_deleted_total", "counter",
         "Manifests deleted by garbage collection.", relaxed(gc_manifests_));
  scalar("portcullis_gc_last_run_timestamp_seconds", "gauge",
         "When the last garbage-collection run ended (0: none yet).", relaxed(gc_last_run_));
  scalar("portcullis_gc_last_run_duration_seconds", "gauge",
         "How long the last garbage-collection run took.",
         static_cast<double>(relaxed(gc_last_duration_ms_)) / 1e3);
#undef put
  return out;
}

void Metrics::gc_run(bool ok, uint64_t blobs, uint64_t bytes, uint64_t manifests,
                     std::chrono::milliseconds duration, int64_t finished_unix_seconds) {
  (ok ? gc_runs_ok_ : gc_runs_failed_).fetch_add(1, std::memory_order_relaxed);
  gc_blobs_.fetch_add(blobs, std::memory_order_relaxed);
  gc_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  gc_manifests_.fetch_add(manifests, std::memory_order_relaxed);
  gc_last_duration_ms_.store(duration.count(), std::memory_order_relaxed);
  gc_last_run_.store(finished_unix_seconds, std::memory_order_relaxed);
}

}  // namespace portcullis::api
