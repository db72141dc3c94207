#include "trust/policy.h"

#include <gtest/gtest.h>

namespace portcullis::trust {
namespace {

PublicKey Key() {
  static const PrivateKey k = PrivateKey::generate();
  return k.public_key();
}

KeyEntry Entry(std::string id, std::vector<std::string> repos, int64_t expires_at = 0) {
  return KeyEntry{std::move(id), "owner", Key(), std::move(repos), expires_at};
}

TEST(TrustConfigTest, FirstMatchingRuleAppliesAndOffMeansNone) {
  auto c = TrustConfig::create({Entry("k1", {"*"})},
                               {Rule{"prod", {"team-a/prod/*"}, {}, 1, Mode::enforce},
                                Rule{"quiet", {"team-a/*"}, {}, 1, Mode::off},
                                Rule{"all", {"*"}, {}, 1, Mode::warn}});
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_NE(c->rule_for("team-a/prod/api"), nullptr);
  EXPECT_EQ(c->rule_for("team-a/prod/api")->name, "prod");
  EXPECT_EQ(c->rule_for("team-a/dev/api"), nullptr);  // "quiet" matches first and is off
  EXPECT_EQ(c->rule_for("other/x")->name, "all");
  EXPECT_TRUE(TrustConfig().empty());
  EXPECT_EQ(TrustConfig().rule_for("x"), nullptr);
}

TEST(TrustConfigTest, KeysCountOnlyForTheirRepositoriesTheRuleAndUntilExpiry) {
  auto c = TrustConfig::create(
      {Entry("team", {"team-a/*"}), Entry("global", {"*"}), Entry("old", {"*"}, 1000)},
      {Rule{"r", {"*"}, {}, 1, Mode::enforce}, Rule{"named", {"x/*"}, {"global"}, 1, Mode::enforce}});
  ASSERT_TRUE(c);
  auto ids = [&](const Rule& r, std::string_view repo, int64_t now) {
    std::vector<std::string> out;
    for (const auto& k : c->keys_for(r, repo, now)) out.push_back(k.id);
    return out;
  };
  const Rule& any = c->rules()[0];
  EXPECT_EQ(ids(any, "team-a/app", 999), (std::vector<std::string>{"team", "global", "old"}));
  EXPECT_EQ(ids(any, "team-a/app", 1000), (std::vector<std::string>{"team", "global"}));  // expired
  EXPECT_EQ(ids(any, "team-b/app", 2000), (std::vector<std::string>{"global"}));
  EXPECT_EQ(ids(c->rules()[1], "x/y", 2000), (std::vector<std::string>{"global"}));
}

TEST(TrustConfigTest, InvalidConfigurationsAreRefused) {
  EXPECT_FALSE(TrustConfig::create({Entry("k", {"*"}), Entry("k", {"*"})}, {}));
  EXPECT_FALSE(TrustConfig::create({}, {Rule{"r", {"*"}, {}, 0, Mode::enforce}}));
  EXPECT_FALSE(TrustConfig::create({}, {Rule{"r", {"*"}, {}, 1, Mode::enforce},
                                        Rule{"r", {"x"}, {}, 1, Mode::warn}}));
}

TEST(TrustConfigTest, RulesThatCanNeverBeSatisfiedStillLoadAndCountNothing) {
  // What a concurrent key deletion can leave behind: the policy still applies.
  auto c = TrustConfig::create({Entry("k", {"*"})}, {Rule{"r", {"*"}, {"gone"}, 2, Mode::enforce}});
  ASSERT_TRUE(c);
  ASSERT_NE(c->rule_for("a/b"), nullptr);
  EXPECT_TRUE(c->keys_for(*c->rule_for("a/b"), "a/b", 0).empty());
}

TEST(DecideTest, ThresholdModeAndMessages) {
  Rule two{"prod", {"*"}, {}, 2, Mode::enforce};
  VerificationResult none;
  auto d = decide(two, none, false);
  EXPECT_FALSE(d.satisfied);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.message.find("not signed"), std::string::npos) << d.message;

  VerificationResult one;
  one.valid.push_back({"k1", {}});
  one.problems.push_back("layer 1: signature does not verify with any trusted key");
  d = decide(two, one, true);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.found, 1);
  EXPECT_NE(d.message.find("found 1"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("does not verify"), std::string::npos) << d.message;

  Rule warn = two;
  warn.mode = Mode::warn;
  d = decide(warn, one, true);
  EXPECT_FALSE(d.satisfied);
  EXPECT_TRUE(d.allowed);

  one.valid.push_back({"k2", {}});
  d = decide(two, one, true);
  EXPECT_TRUE(d.satisfied);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.signers, (std::vector<std::string>{"k1", "k2"}));
}

TEST(ModeTest, Names) {
  for (auto m : {Mode::enforce, Mode::warn, Mode::off}) EXPECT_EQ(parse_mode(mode_name(m)), m);
  EXPECT_FALSE(parse_mode("ENFORCE"));
}

}  // namespace
}  // namespace portcullis::trust
