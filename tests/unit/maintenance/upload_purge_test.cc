#include "maintenance/upload_purge.h"

#include <chrono>

#include <gtest/gtest.h>

#include "metadata/sqlite/sqlite_store.h"
#include "storage/filesystem_store.h"
#include "temp_dir.h"

namespace portcullis::maintenance {
namespace {

using std::chrono::hours;

class UploadPurgeTest : public ::testing::Test {
 protected:
  std::string Start(int64_t started_at) {
    auto id = blobs_.create_upload();
    EXPECT_TRUE(id);
    EXPECT_TRUE(meta_.create_upload(*id, "repo", started_at));
    auto w = blobs_.append(*id, 0);
    EXPECT_TRUE(w);
    EXPECT_TRUE((*w)->write("partial", 7));
    EXPECT_TRUE((*w)->close());
    return *id;
  }

  testutil::TempDir dir_;
  storage::FilesystemBlobStore blobs_{dir_.path() / "data"};
  metadata::SqliteStore meta_{dir_.path() / "m.db"};
  ManualClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000))};
};

TEST_F(UploadPurgeTest, SessionsOlderThanTheMaxAgeAreCancelledAndForgotten) {
  const int64_t now = clock_.unix_seconds();
  auto old1 = Start(now - 200 * 3600);
  auto old2 = Start(now - 169 * 3600);
  auto young = Start(now - 3600);
  auto purged = purge_uploads(blobs_, meta_, clock_, hours(168));
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 2u);
  for (const auto& id : {old1, old2}) {
    EXPECT_FALSE(*meta_.upload_repository(id));
    EXPECT_EQ(blobs_.upload_size(id).error().code, Errc::blob_upload_unknown);
  }
  EXPECT_EQ(**meta_.upload_repository(young), "repo");
  EXPECT_EQ(*blobs_.upload_size(young), 7u);
}

TEST_F(UploadPurgeTest, ASessionWhoseBytesAreAlreadyGoneIsStillForgotten) {
  auto id = Start(clock_.unix_seconds() - 500 * 3600);
  ASSERT_TRUE(blobs_.cancel_upload(id));
  auto purged = purge_uploads(blobs_, meta_, clock_, hours(168));
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  EXPECT_FALSE(*meta_.upload_repository(id));
}

}  // namespace
}  // namespace portcullis::maintenance
