#include "auth/encoding.h"

#include <string>

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

TEST(Base64Url, EncodesWithoutPaddingInTheUrlAlphabet) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64Url, DecodesStrictly) {
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64url_decode(""), "");
  for (const char* bad :
       {"Zg==", "Zm9v=", "+/8", "Zm 9v", "Zm9v\n", "Z", "Zm9vZ", "Zh", "Zm9", "é"}) {
    // "Zh" and "Zm9" carry non-zero unused bits ("Zm8" is the canonical "fo").
    EXPECT_EQ(base64url_decode(bad), std::nullopt) << bad;
  }
}

TEST(Base64Url, RefusesEveryByteOutsideTheAlphabet) {
  for (int c = 0; c < 256; ++c) {
    bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (alphabet) continue;
    // In every position of a valid encoding of "foob".
    for (std::size_t pos = 0; pos <= 6; ++pos) {
      std::string text = "Zm9vYg";
      text.insert(pos, 1, static_cast<char>(c));
      EXPECT_EQ(base64url_decode(text), std::nullopt) << c << " at " << pos;
    }
  }
}

TEST(Base64Url, RoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    EXPECT_EQ(base64url_decode(base64url_encode(all.substr(0, n))), all.substr(0, n));
  }
}

TEST(Base32, Rfc4648Vectors) {
  EXPECT_EQ(base32_encode(""), "");
  EXPECT_EQ(base32_encode("f"), "MY");
  EXPECT_EQ(base32_encode("fo"), "MZXQ");
  EXPECT_EQ(base32_encode("foo"), "MZXW6");
  EXPECT_EQ(base32_encode("foob"), "MZXW6YQ");
  EXPECT_EQ(base32_encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(base32_encode("foobar"), "MZXW6YTBOI");
}

}  // namespace
}  // namespace portcullis::auth
