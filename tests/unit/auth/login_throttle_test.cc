#include "auth/login_throttle.h"

#include <chrono>

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

using std::chrono::seconds;

class LoginThrottleTest : public ::testing::Test {
 protected:
  ManualClock clock_{std::chrono::system_clock::time_point(seconds(1'700'000'000))};
  ThrottleOptions options_{/*max_failures=*/3, /*window=*/seconds(600), /*base_lockout=*/seconds(30),
                           /*max_lockout=*/seconds(300), /*max_keys=*/1000};
  LoginThrottle throttle_{clock_, options_};
};

TEST_F(LoginThrottleTest, FailuresBelowTheLimitDoNotBlock) {
  throttle_.record_failure("alice", "10.0.0.1");
  throttle_.record_failure("alice", "10.0.0.1");
  EXPECT_FALSE(throttle_.blocked("alice", "10.0.0.1"));
}

TEST_F(LoginThrottleTest, TheLimitLocksTheAccountFromEveryAddress) {
  for (int i = 0; i < 3; ++i) throttle_.record_failure("alice", "10.0.0." + std::to_string(i));
  auto wait = throttle_.blocked("alice", "192.168.1.1");
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, seconds(30));
  EXPECT_FALSE(throttle_.blocked("bob", "192.168.1.1"));
}

TEST_F(LoginThrottleTest, TheLimitLocksTheAddressForEveryAccount) {
  for (int i = 0; i < 3; ++i) throttle_.record_failure("user" + std::to_string(i), "10.0.0.9");
  EXPECT_TRUE(throttle_.blocked("someone-else", "10.0.0.9"));
  EXPECT_FALSE(throttle_.blocked("someone-else", "10.0.0.8"));
}

TEST_F(LoginThrottleTest, LockoutsDoubleAndAreCapped) {
  for (int i = 0; i < 3; ++i) throttle_.record_failure("alice", "a");
  EXPECT_EQ(*throttle_.blocked("alice", "b"), seconds(30));
  throttle_.record_failure("alice", "a");
  EXPECT_EQ(*throttle_.blocked("alice", "b"), seconds(60));
  for (int i = 0; i < 10; ++i) throttle_.record_failure("alice", "a");
  EXPECT_EQ(*throttle_.blocked("alice", "b"), seconds(300));
}

TEST_F(LoginThrottleTest, ALockExpires) {
  for (int i = 0; i < 3; ++i) throttle_.record_failure("alice", "a");
  clock_.advance(seconds(29));
  EXPECT_TRUE(throttle_.blocked("alice", "b"));
  clock_.advance(seconds(1));
  EXPECT_FALSE(throttle_.blocked("alice", "b"));
}

TEST_F(LoginThrottleTest, FailuresOutsideTheWindowStartAFreshCount) {
  throttle_.record_failure("alice", "a");
  throttle_.record_failure("alice", "a");
  clock_.advance(seconds(601));
  throttle_.record_failure("alice", "a");
  EXPECT_FALSE(throttle_.blocked("alice", "b"));
}

TEST_F(LoginThrottleTest, SuccessClearsTheAccountButNotTheAddress) {
  throttle_.record_failure("alice", "a");
  throttle_.record_failure("alice", "a");
  throttle_.record_success("alice");
  throttle_.record_failure("alice", "a");
  EXPECT_FALSE(throttle_.blocked("alice", "other"));
  EXPECT_TRUE(throttle_.blocked("bob", "a"));  // the address has 3 failures
}

TEST_F(LoginThrottleTest, StateIsBounded) {
  LoginThrottle small(clock_, ThrottleOptions{3, seconds(600), seconds(30), seconds(300), 10});
  for (int i = 0; i < 1000; ++i) small.record_failure("u" + std::to_string(i), "x" + std::to_string(i));
  // No crash, no unbounded growth; recent keys still count.
  small.record_failure("last", "y");
  small.record_failure("last", "y");
  small.record_failure("last", "y");
  EXPECT_TRUE(small.blocked("last", "z"));
}

}  // namespace
}  // namespace portcullis::auth
