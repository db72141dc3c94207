#include "auth/passwords.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

// Cheap parameters so that the suite stays fast; the defaults are tested once.
constexpr PasswordCost kFast{1, 8 << 10};
constexpr PasswordCost kFaster{1, 16 << 10};

TEST(Passwords, DefaultCostIsArgon2idWithOwaspParameters) {
  auto hash = hash_password("correct horse battery staple");
  ASSERT_TRUE(hash.has_value()) << hash.error().message;
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *hash;
  EXPECT_TRUE(verify_password(*hash, "correct horse battery staple"));
  EXPECT_FALSE(needs_rehash(*hash));
}

TEST(Passwords, RoundTripAndWrongPassword) {
  auto hash = hash_password("s3cret!", kFast);
  ASSERT_TRUE(hash.has_value());
  EXPECT_TRUE(verify_password(*hash, "s3cret!"));
  EXPECT_FALSE(verify_password(*hash, "s3cret"));
  EXPECT_FALSE(verify_password(*hash, "s3cret!!"));
  EXPECT_FALSE(verify_password(*hash, "S3cret!"));
  EXPECT_FALSE(verify_password(*hash, ""));
}

TEST(Passwords, EachHashHasItsOwnSalt) {
  auto a = hash_password("same", kFast);
  auto b = hash_password("same", kFast);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(verify_password(*a, "same"));
  EXPECT_TRUE(verify_password(*b, "same"));
}

TEST(Passwords, HandlesNonAsciiAndEmbeddedNul) {
  std::string tricky("p\xc3\xa4ss\0word", 10);
  auto hash = hash_password(tricky, kFast);
  ASSERT_TRUE(hash.has_value());
  EXPECT_TRUE(verify_password(*hash, tricky));
  EXPECT_FALSE(verify_password(*hash, std::string("p\xc3\xa4ss", 5)));  // not cut at the NUL
}

TEST(Passwords, RefusesEmptyAndOverlongPasswords) {
  auto empty = hash_password("", kFast);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, Errc::denied);
  EXPECT_FALSE(hash_password(std::string(kMaxPasswordLength + 1, 'x'), kFast).has_value());
  EXPECT_TRUE(hash_password(std::string(kMaxPasswordLength, 'x'), kFast).has_value());
}

TEST(Passwords, MalformedStoredHashesNeverVerify) {
  for (const char* stored : {"", "plaintext", "$argon2i$v=19$m=8,t=1,p=1$AAAA$AAAA",
                             "$argon2id$v=19$m=8,t=1,p=1$", "$2y$10$abcdefghijklmnopqrstuv"}) {
    EXPECT_FALSE(verify_password(stored, "plaintext")) << stored;
    EXPECT_TRUE(needs_rehash(stored)) << stored;
  }
  EXPECT_FALSE(verify_password(std::string(500, '$'), "x"));
}

TEST(Passwords, NeedsRehashWhenTheCostChanges) {
  auto hash = hash_password("pw", kFast);
  ASSERT_TRUE(hash.has_value());
  EXPECT_FALSE(needs_rehash(*hash, kFast));
  EXPECT_TRUE(needs_rehash(*hash, kFaster));
  EXPECT_TRUE(needs_rehash(*hash, PasswordCost{2, kFast.memlimit}));
  EXPECT_TRUE(needs_rehash(*hash));  // the defaults are stronger
}

TEST(RobotSecrets, AreRandomPrefixedAndStoredOnlyAsAHash) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    RobotSecret s = generate_robot_secret();
    EXPECT_TRUE(s.plaintext.starts_with("pcr_"));
    EXPECT_EQ(s.plaintext.size(), 4u + 43u);
    EXPECT_EQ(s.plaintext.find_first_of("+/="), std::string::npos);
    EXPECT_TRUE(s.stored_hash.starts_with("sha256:"));
    EXPECT_EQ(s.stored_hash.size(), 7u + 64u);
    EXPECT_EQ(s.stored_hash.find(s.plaintext.substr(4)), std::string::npos);
    EXPECT_EQ(s.stored_hash, robot_secret_hash(s.plaintext));
    EXPECT_TRUE(seen.insert(s.plaintext).second);
  }
}

TEST(RobotSecrets, VerifyOnlyTheExactSecret) {
  RobotSecret s = generate_robot_secret();
  EXPECT_TRUE(verify_robot_secret(s.stored_hash, s.plaintext));
  std::string wrong = s.plaintext;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_robot_secret(s.stored_hash, wrong));
  EXPECT_FALSE(verify_robot_secret(s.stored_hash, s.plaintext.substr(4)));  // prefix required
  EXPECT_FALSE(verify_robot_secret(s.stored_hash, ""));
  EXPECT_FALSE(verify_robot_secret("", s.plaintext));
  EXPECT_FALSE(verify_robot_secret(s.stored_hash, s.stored_hash));
}

TEST(RandomToken, HasTheRequestedEntropyAndDiffers) {
  EXPECT_EQ(random_token(16).size(), 22u);
  EXPECT_EQ(random_token(32).size(), 43u);
  EXPECT_NE(random_token(16), random_token(16));
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace portcullis::auth
