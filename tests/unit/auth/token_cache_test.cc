#include "auth/token_cache.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kT0 = 1'700'000'000;

const SigningKey& Key() {
  static const SigningKey key = SigningKey::generate();
  return key;
}

class TokenCacheTest : public ::testing::Test {
 protected:
  std::string Issue(std::string_view subject) {
    auto t = issuer_.issue(subject, std::vector<Scope>{Scope::repository("a/b", {Action::pull})});
    EXPECT_TRUE(t.has_value());
    return t->token;
  }

  ManualClock clock_{std::chrono::system_clock::time_point(seconds(kT0))};
  TokenIssuer issuer_{TokenIssuerOptions{"iss", "aud", seconds(300)}, Key(), clock_};
  TokenVerifier verifier_{
      TokenVerifierOptions{"iss", "aud", seconds(30)}, {Key().public_key()}, clock_};
};

TEST_F(TokenCacheTest, AHitReturnsTheSameVerifiedClaims) {
  VerifiedTokenCache cache(verifier_);
  std::string token = Issue("alice");
  auto first = cache.verify(token);
  auto second = cache.verify(token);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(first->get(), second->get());  // shared, not re-verified into a new object
  EXPECT_EQ((*first)->subject, "alice");
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(TokenCacheTest, RefusalsAreTheVerifiersAndAreNotCached) {
  VerifiedTokenCache cache(verifier_);
  std::string token = Issue("alice");
  std::string forged = token.substr(0, token.size() - 2) + (token.back() == 'A' ? "BB" : "AA");
  auto r = cache.verify(forged);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::unauthorized);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.verify(std::string(9000, 'a')).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(TokenCacheTest, ACachedTokenExpiresWhenTheVerifierWouldRefuseIt) {
  VerifiedTokenCache cache(verifier_);
  std::string token = Issue("alice");  // exp = kT0 + 300, leeway 30
  ASSERT_TRUE(cache.verify(token).has_value());
  clock_.advance(seconds(329));
  EXPECT_TRUE(cache.verify(token).has_value());
  clock_.advance(seconds(1));
  auto r = cache.verify(token);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, refusal_message(TokenRefusal::expired));
  EXPECT_EQ(cache.size(), 0u);                    // dropped on that hit
  EXPECT_FALSE(cache.verify(token).has_value());  // and refused again by the verifier
}

TEST_F(TokenCacheTest, IsBoundedAndEvictsTheLeastRecentlyUsed) {
  VerifiedTokenCache cache(verifier_, TokenCacheOptions{2});
  std::string a = Issue("a"), b = Issue("b"), c = Issue("c");
  auto a1 = cache.verify(a).value();
  auto b1 = cache.verify(b).value();
  EXPECT_EQ(cache.verify(a).value().get(), a1.get());  // a is now the most recent
  auto c1 = cache.verify(c).value();                   // evicts b
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.verify(a).value().get(), a1.get());
  EXPECT_EQ(cache.verify(c).value().get(), c1.get());
  EXPECT_NE(cache.verify(b).value().get(), b1.get());  // b was verified afresh
  EXPECT_EQ(cache.size(), 2u);
}

TEST_F(TokenCacheTest, ClearForgetsEverything) {
  VerifiedTokenCache cache(verifier_);
  std::string token = Issue("alice");
  auto first = cache.verify(token).value();
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_NE(cache.verify(token).value().get(), first.get());
}

TEST_F(TokenCacheTest, ConcurrentVerificationsAgree) {
  VerifiedTokenCache cache(verifier_, TokenCacheOptions{8});
  std::vector<std::string> tokens;
  for (int i = 0; i < 16; ++i) tokens.push_back(Issue("user" + std::to_string(i)));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::size_t k = static_cast<std::size_t>((i * 7 + t) % 16);
        auto r = cache.verify(tokens[k]);
        if (!r || (*r)->subject != "user" + std::to_string(k)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(cache.size(), 8u);
}

}  // namespace
}  // namespace portcullis::auth
