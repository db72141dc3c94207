#include "api/metrics.h"

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portcullis::api {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, GarbageCollectionRunsAccumulateAndTheLastRunIsReported) {
  Metrics m;
  std::string before = m.render();
  EXPECT_THAT(before, HasSubstr("portcullis_gc_runs_total{result=\"success\"} 0\n"));
  EXPECT_THAT(before, HasSubstr("portcullis_gc_last_run_timestamp_seconds 0\n"));
  m.gc_run(true, 3, 3000, 1, std::chrono::milliseconds(1500), 1'700'000'000);
  m.gc_run(true, 2, 500, 0, std::chrono::milliseconds(250), 1'700'003'600);
  m.gc_run(false, 0, 0, 0, std::chrono::milliseconds(0), 1'700'007'200);
  std::string out = m.render();
  EXPECT_THAT(out, HasSubstr("# TYPE portcullis_gc_blobs_reclaimed_total counter\n"));
  EXPECT_THAT(out, HasSubstr("portcullis_gc_runs_total{result=\"success\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("portcullis_gc_runs_total{result=\"failure\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("portcullis_gc_blobs_reclaimed_total 5\n"));
  EXPECT_THAT(out, HasSubstr("portcullis_gc_bytes_reclaimed_total 3500\n"));
  EXPECT_THAT(out, HasSubstr("portcullis_gc_manifests_deleted_total 1\n"));
  EXPECT_THAT(out, HasSubstr("portcullis_gc_last_run_timestamp_seconds 1700007200\n"));
  EXPECT_THAT(out, HasSubstr("portcullis_gc_last_run_duration_seconds 0\n"));
}

}  // namespace
}  // namespace portcullis::api
