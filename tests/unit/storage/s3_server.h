// A real S3 object store for tests, started by tests/harness/start-s3.sh
// (Ceph RGW by default; S3_BACKEND=swift for OpenStack Swift's s3api).
//
// With PORTCULLIS_TEST_S3_DIR set (CTest does, through a fixture that starts
// the store once and stops it after the suite) the store in that directory is
// used, started if needed. Without it, the process starts a store in a
// temporary directory and stops it (by the PIDs the harness recorded) at exit.
// Throws std::runtime_error, failing the test loudly, when no store can run.
#pragma once

#include <string>

namespace portcullis::testutil {

struct S3Endpoint {
  std::string endpoint, access_key, secret_key, region, bucket, backend;
};

class S3Server {
 public:
  static S3Server& instance();
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;
  const S3Endpoint& endpoint() const { return endpoint_; }

 private:
  S3Server();
  std::string dir_;
  bool owned_ = false;  // started (and so to be stopped) by this process
  S3Endpoint endpoint_;
};

}  // namespace portcullis::testutil
