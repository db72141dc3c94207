#include "auth/immutable_tags.h"

#include <string>

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

const std::string kOld = "sha256:" + std::string(64, 'a');
const std::string kNew = "sha256:" + std::string(64, 'b');
const std::string kHex(64, 'c');

ImmutableTagRules Rules() {
  auto r = ImmutableTagRules::create({
      {"releases", "team-a", "v*"},
      {"release-branches", "team-a", "release-*"},
      {"everything", "locked", "*"},
  });
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return std::move(r).value();
}

TagDecision Move(std::string_view repo, std::string_view tag) {
  return Rules().decide({repo, tag, kOld, kNew});
}
TagDecision Delete(std::string_view repo, std::string_view tag) {
  return Rules().decide({repo, tag, kOld, std::nullopt});
}

TEST(ImmutableTags, MovingAProtectedTagIsDeniedNamingTheRule) {
  TagDecision d = Move("team-a/app", "v1.2.3");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "releases");
  EXPECT_NE(d.message.find("releases"), std::string::npos);
  EXPECT_NE(d.message.find("v1.2.3"), std::string::npos);
  Error e = d.to_error();
  EXPECT_EQ(e.code, Errc::denied);
  EXPECT_EQ(e.message, d.message);

  TagDecision r = Move("team-a/app", "release-2024.1");
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.rule, "release-branches");
}

TEST(ImmutableTags, DeletingAProtectedTagIsDenied) {
  TagDecision d = Delete("team-a/app", "v1");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "releases");
  EXPECT_NE(d.message.find("deleted"), std::string::npos);
  EXPECT_FALSE(Delete("locked/x", "latest").allowed);
}

TEST(ImmutableTags, CreatingAndRepushingTheSameDigestAreAllowed) {
  EXPECT_TRUE(Rules().decide({"team-a/app", "v1", std::nullopt, kNew}).allowed);
  EXPECT_TRUE(Rules().decide({"team-a/app", "v1", kOld, kOld}).allowed);
  EXPECT_TRUE(Rules().decide({"team-a/app", "v1", std::nullopt, std::nullopt}).allowed);
}

TEST(ImmutableTags, UnprotectedTagsMoveFreely) {
  EXPECT_TRUE(Move("team-a/app", "latest").allowed);
  EXPECT_TRUE(Move("team-a/app", "dev-v1").allowed);     // "v*" anchors at the start
  EXPECT_TRUE(Move("team-a/app", "V1").allowed);         // tags are case-sensitive
  EXPECT_TRUE(Delete("team-a/app", "release").allowed);  // "release-*" needs the dash
}

TEST(ImmutableTags, RulesApplyUnderTheirNamespaceOnly) {
  EXPECT_FALSE(Move("team-a", "v1").allowed);
  EXPECT_FALSE(Move("team-a/deep/nested/app", "v1").allowed);
  EXPECT_TRUE(Move("team-b/app", "v1").allowed);
  EXPECT_TRUE(Move("team-ab/app", "v1").allowed);  // whole path components only
  EXPECT_FALSE(Move("locked/anything", "latest").allowed);
  EXPECT_TRUE(ImmutableTagRules().decide({"team-a/app", "v1", kOld, kNew}).allowed);
}

TEST(ImmutableTags, SignatureAndAttestationTagsAreNeverBlocked) {
  for (const char* suffix : {".sig", ".att", ".sbom"}) {
    std::string tag = "sha256-" + kHex + suffix;
    EXPECT_TRUE(Move("locked/app", tag).allowed) << tag;
    EXPECT_TRUE(Delete("locked/app", tag).allowed) << tag;
  }
  EXPECT_TRUE(Move("locked/app", "sha512-" + std::string(128, 'd') + ".sig").allowed);
}

TEST(ImmutableTags, LookalikeSignatureTagsAreStillProtected) {
  for (const std::string& tag : {
           "sha256-" + kHex,                           // no suffix
           "sha256-" + kHex + ".sig2",                 // other suffix
           "sha256-" + kHex.substr(1) + ".sig",        // 63 hex
           "sha256-" + kHex + "c.sig",                 // 65 hex
           "sha256-" + std::string(64, 'C') + ".sig",  // upper-case hex
           "sha256-" + std::string(64, 'g') + ".sig",  // not hex
           "sha512-" + kHex + ".sig",                  // sha512 needs 128 hex
           "sha384-" + kHex + ".sig",
       }) {
    EXPECT_FALSE(is_signature_tag(tag)) << tag;
    EXPECT_FALSE(Move("locked/app", tag).allowed) << tag;
  }
}

TEST(ImmutableTags, CreateValidatesRules) {
  EXPECT_EQ(ImmutableTagRules::create({{"", "a", "v*"}}).error().code, Errc::denied);
  EXPECT_EQ(ImmutableTagRules::create({{"r", "A", "v*"}}).error().code, Errc::name_invalid);
  EXPECT_EQ(ImmutableTagRules::create({{"r", "a", ""}}).error().code, Errc::tag_invalid);
  EXPECT_EQ(ImmutableTagRules::create({{"r", "a", "v/1"}}).error().code, Errc::tag_invalid);
  EXPECT_EQ(ImmutableTagRules::create({{"r", "a", std::string(129, 'v')}}).error().code,
            Errc::tag_invalid);
  EXPECT_EQ(ImmutableTagRules::create({{"r", "a", "v*"}, {"r", "a", "x*"}}).error().code,
            Errc::denied);
  EXPECT_TRUE(ImmutableTagRules::create({{"r", "a", "v*"}, {"r", "b", "v*"}}).has_value());
}

TEST(ImmutableTags, FirstMatchingRuleDecides) {
  auto rules = ImmutableTagRules::create({{"first", "a", "v1*"}, {"second", "a", "v*"}});
  ASSERT_TRUE(rules.has_value());
  EXPECT_EQ(rules->decide({"a/x", "v1.0", kOld, kNew}).rule, "first");
  EXPECT_EQ(rules->decide({"a/x", "v2.0", kOld, kNew}).rule, "second");
  EXPECT_EQ(rules->rules().size(), 2u);
}

}  // namespace
}  // namespace portcullis::auth
