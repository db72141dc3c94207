#include "trust/encoding.h"

#include <string>

#include <gtest/gtest.h>

namespace portcullis::trust::detail {
namespace {

TEST(Base64, EncodesWithPaddingAsRfc4648) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xfb\xff", 2)), "+/8=");
}

TEST(Base64, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    auto decoded = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(decoded) << i;
    EXPECT_EQ(*decoded, bytes);
    bytes += static_cast<char>(i * 37 + 11);
  }
}

TEST(Base64, DecodeIsStrict) {
  EXPECT_FALSE(base64_decode("Zg"));          // missing padding
  EXPECT_FALSE(base64_decode("Zm9vYg="));     // short padding
  EXPECT_FALSE(base64_decode("Zm9v\nYmFy"));  // whitespace
  EXPECT_FALSE(base64_decode("Zm9v-_Fy"));    // URL alphabet
  EXPECT_FALSE(base64_decode("Zh=="));        // non-zero unused bits
  EXPECT_FALSE(base64_decode("Zm9=Zm9v"));    // padding in the middle
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("Z==="));
  EXPECT_EQ(base64_decode(""), std::string());
}

TEST(Pem, RoundTripsWith64CharacterLines) {
  std::string der(100, 'x');
  std::string pem = pem_encode("PUBLIC KEY", der);
  EXPECT_TRUE(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
  EXPECT_TRUE(pem.ends_with("\n-----END PUBLIC KEY-----\n"));
  auto second_line = pem.substr(pem.find('\n') + 1);
  EXPECT_EQ(second_line.find('\n'), 64u);
  auto block = pem_decode("\n  " + pem + "\n\n");
  ASSERT_TRUE(block);
  EXPECT_EQ(block->label, "PUBLIC KEY");
  EXPECT_EQ(block->der, der);
}

TEST(Pem, AcceptsCrlfLineEnds) {
  auto block = pem_decode("-----BEGIN X-----\r\nZm9v\r\nYmFy\r\n-----END X-----\r\n");
  ASSERT_TRUE(block);
  EXPECT_EQ(block->der, "foobar");
}

TEST(Pem, RejectsMalformedBlocksWithAReason) {
  auto message = [](std::string_view text) {
    auto r = pem_decode(text);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_EQ(message("hello"), "malformed PEM: no BEGIN line");
  EXPECT_EQ(message("-----BEGIN X-----\nZm9v\n-----END Y-----\n"),
            "malformed PEM: no END line for X");
  EXPECT_EQ(message("-----BEGIN X-----\nZm9v\n-----END X-----\ntrailer"),
            "malformed PEM: data after the END line");
  EXPECT_EQ(message("-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nZm9v\n-----END X-----"),
            "malformed PEM: PEM headers are not supported");
  EXPECT_EQ(message("-----BEGIN X-----\nZm9vYm\n-----END X-----"),
            "malformed PEM: body is not valid base64");
  EXPECT_EQ(message("-----BEGIN X-----\n\n-----END X-----"), "malformed PEM: empty body");
  EXPECT_EQ(pem_decode("-----BEGIN X-----\nZm9v\n-----END X-----")->der, "foo");
}

TEST(JsonQuote, EscapesAsGoEncodingJson) {
  EXPECT_EQ(json_quote("plain/text:v1"), R"("plain/text:v1")");
  EXPECT_EQ(json_quote("a\"b\\c\nd\te\x01"), R"("a\"b\\c\nd\te\u0001")");
  EXPECT_EQ(json_quote("<&>"), R"("\u003c\u0026\u003e")");
  EXPECT_EQ(json_quote("caf\xc3\xa9 \xe2\x80\xa8"), "\"caf\xc3\xa9 \\u2028\"");
  EXPECT_EQ(json_quote("bad\xff"), R"("bad\ufffd")");
}

}  // namespace
}  // namespace portcullis::trust::detail
