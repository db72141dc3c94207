#include "oci/digest.h"

#include <cctype>
#include <string>

#include <gtest/gtest.h>

namespace portcullis::oci {
namespace {

using crypto::HashAlgorithm;

// Well-known digests of the empty string.
constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kEmptySha512 =
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

void ExpectDigestInvalid(const std::string& text) {
  auto d = Digest::parse(text);
  ASSERT_FALSE(d) << "accepted '" << text << "'";
  EXPECT_EQ(d.error().code, Errc::digest_invalid) << text;
}

TEST(DigestParse, AcceptsSha256WithLowerCaseHex) {
  auto d = Digest::parse(std::string("sha256:") + kEmptySha256);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->algorithm(), HashAlgorithm::sha256);
  EXPECT_EQ(d->algorithm_name(), "sha256");
  EXPECT_EQ(d->hex(), kEmptySha256);
  EXPECT_EQ(d->str(), std::string("sha256:") + kEmptySha256);
}

TEST(DigestParse, AcceptsSha512WithLowerCaseHex) {
  auto d = Digest::parse(std::string("sha512:") + kEmptySha512);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->algorithm(), HashAlgorithm::sha512);
  EXPECT_EQ(d->algorithm_name(), "sha512");
  EXPECT_EQ(d->hex(), kEmptySha512);
  EXPECT_EQ(d->str(), std::string("sha512:") + kEmptySha512);
}

TEST(DigestParse, RejectsUpperCaseHex) {
  std::string upper = kEmptySha256;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ExpectDigestInvalid("sha256:" + upper);
  // A single upper-case letter is enough.
  std::string one = kEmptySha256;
  one[1] = '3';
  one[2] = 'B';
  ExpectDigestInvalid("sha256:" + one);
}

TEST(DigestParse, RejectsUpperCaseAlgorithm) {
  ExpectDigestInvalid(std::string("SHA256:") + kEmptySha256);
}

TEST(DigestParse, RejectsWrongLengthForAlgorithm) {
  std::string hex = kEmptySha256;
  ExpectDigestInvalid("sha256:" + hex.substr(0, 63));
  ExpectDigestInvalid("sha256:" + hex + "0");
  // A sha256-length encoding under sha512 and vice versa.
  ExpectDigestInvalid("sha512:" + hex);
  ExpectDigestInvalid(std::string("sha256:") + kEmptySha512);
}

TEST(DigestParse, RejectsNonHexCharacters) {
  std::string hex = kEmptySha256;
  hex[10] = 'g';
  ExpectDigestInvalid("sha256:" + hex);
}

TEST(DigestParse, RejectsUnknownButWellFormedAlgorithm) {
  ExpectDigestInvalid(std::string("md5:") + "d41d8cd98f00b204e9800998ecf8427e");
  ExpectDigestInvalid(std::string("sha384:") + kEmptySha256);
  ExpectDigestInvalid(std::string("multihash+base58:") + "QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8");
}

TEST(DigestParse, RejectsMissingColon) {
  ExpectDigestInvalid(std::string("sha256") + kEmptySha256);
  ExpectDigestInvalid(kEmptySha256);
}

TEST(DigestParse, RejectsEmptyPartsAndEmptyString) {
  ExpectDigestInvalid("");
  ExpectDigestInvalid(":");
  ExpectDigestInvalid("sha256:");
  ExpectDigestInvalid(std::string(":") + kEmptySha256);
}

TEST(DigestParse, RejectsSurroundingWhitespace) {
  ExpectDigestInvalid(std::string(" sha256:") + kEmptySha256);
  ExpectDigestInvalid(std::string("sha256:") + kEmptySha256 + "\n");
}

TEST(DigestOf, HashesContentWithTheRequestedAlgorithm) {
  EXPECT_EQ(Digest::of(HashAlgorithm::sha256, "").str(), std::string("sha256:") + kEmptySha256);
  EXPECT_EQ(Digest::of(HashAlgorithm::sha512, "").str(), std::string("sha512:") + kEmptySha512);
  EXPECT_EQ(Digest::of(HashAlgorithm::sha256, "hello").hex(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
}

TEST(DigestOf, RoundTripsThroughParse) {
  auto d = Digest::of(HashAlgorithm::sha512, "some content");
  auto parsed = Digest::parse(d.str());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, d);
  EXPECT_EQ(parsed->algorithm(), HashAlgorithm::sha512);
}

TEST(DigestCompare, EqualityIsByAlgorithmAndHex) {
  auto a = Digest::of(HashAlgorithm::sha256, "a");
  auto b = Digest::of(HashAlgorithm::sha256, "b");
  EXPECT_EQ(a, Digest::of(HashAlgorithm::sha256, "a"));
  EXPECT_FALSE(a == b);
  EXPECT_NE(Digest::of(HashAlgorithm::sha256, "a").str(), Digest::of(HashAlgorithm::sha512, "a").str());
  EXPECT_TRUE(a < b || b < a);
}

}  // namespace
}  // namespace portcullis::oci
