#include "crypto/resumable_sha256.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"

namespace portcullis::crypto {
namespace {

TEST(ResumableSha256, SavedAndRestoredStateGivesTheOneShotDigest) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += std::to_string(i * 7919);
  // Split at every kind of block position: inside, at and around 64-byte boundaries.
  for (std::size_t cut : {0u, 1u, 55u, 63u, 64u, 65u, 127u, 1000u, 3001u}) {
    ResumableSha256 a;
    a.update(std::string_view(data).substr(0, cut));
    auto restored = ResumableSha256::restore(a.save());
    ASSERT_TRUE(restored) << cut;
    restored->update(std::string_view(data).substr(cut));
    EXPECT_EQ(restored->hex(), hex_digest(HashAlgorithm::sha256, data)) << cut;
  }
  EXPECT_EQ(ResumableSha256().hex(), hex_digest(HashAlgorithm::sha256, ""));
}

TEST(ResumableSha256, HexLeavesTheStateUsable) {
  ResumableSha256 h;
  h.update("abc");
  EXPECT_EQ(h.hex(), hex_digest(HashAlgorithm::sha256, "abc"));
  h.update("def");
  EXPECT_EQ(h.hex(), hex_digest(HashAlgorithm::sha256, "abcdef"));
}

TEST(ResumableSha256, RestoreRejectsAnythingItDidNotSave) {
  std::string good = ResumableSha256().save();
  EXPECT_FALSE(ResumableSha256::restore(""));
  EXPECT_FALSE(ResumableSha256::restore("s256v1:"));
  EXPECT_FALSE(ResumableSha256::restore(good.substr(0, good.size() - 2)));
  std::string bad_hex = good;
  bad_hex[10] = 'z';
  EXPECT_FALSE(ResumableSha256::restore(bad_hex));
  EXPECT_FALSE(ResumableSha256::restore("v0" + good.substr(2)));
}

TEST(Hmac, MatchesRfc4231TestCase2) {
  EXPECT_EQ(to_hex(reinterpret_cast<const unsigned char*>(
                       hmac_sha256("Jefe", "what do ya want for nothing?").data()),
                   32),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace portcullis::crypto
