// AccessService and TokenService over a real (SQLite) metadata store.
#include "auth/access_service.h"

#include <chrono>

#include <gtest/gtest.h>

#include "auth/admin.h"
#include "auth/token_service.h"
#include "metadata/sqlite/sqlite_store.h"
#include "../temp_dir.h"

namespace portcullis::auth {
namespace {

using std::chrono::seconds;

// Cheap argon2id parameters: the tests check behaviour, not cost.
AccessOptions FastOptions() {
  AccessOptions o;
  o.password_cost = PasswordCost{1, 8 * 1024};
  o.refresh_interval = std::chrono::milliseconds(0);
  return o;
}

class AccessServiceTest : public ::testing::Test {
 protected:
  testutil::TempDir dir_;
  metadata::SqliteStore store_{dir_.path() / "m.db"};
  ManualClock clock_{std::chrono::system_clock::time_point(seconds(1'700'000'000))};
  AccessService access_{store_, clock_, FastOptions()};
  Admin admin_{access_};
  Actor root_ = Actor::local_operator();
};

TEST_F(AccessServiceTest, BootstrapCreatesOneAdminOnlyOnce) {
  auto first = access_.bootstrap_admin("");
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->has_value());
  std::string generated = **first;
  EXPECT_GE(generated.size(), 20u);
  auto who = access_.login("admin", generated, "127.0.0.1");
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_TRUE(who->system_admin);
  auto second = access_.bootstrap_admin("other-password");
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->has_value());
  EXPECT_FALSE(access_.login("admin", "other-password", "127.0.0.1"));
}

TEST_F(AccessServiceTest, BootstrapUsesTheConfiguredPassword) {
  auto r = access_.bootstrap_admin("configured-pw");
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ(**r, "");
  EXPECT_TRUE(access_.login("admin", "configured-pw", "a"));
}

TEST_F(AccessServiceTest, WrongPasswordsAndUnknownUsersGetTheSameAnswer) {
  ASSERT_TRUE(admin_.create_user(root_, "alice", "alice-pw", false));
  auto wrong = access_.login("alice", "nope", "a");
  auto unknown = access_.login("mallory", "nope", "a");
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(wrong.error().code, Errc::unauthorized);
  EXPECT_EQ(unknown.error().code, Errc::unauthorized);
  EXPECT_EQ(wrong.error().message, unknown.error().message);
}

TEST_F(AccessServiceTest, RepeatedFailuresThrottleEvenTheRightPassword) {
  ASSERT_TRUE(admin_.create_user(root_, "alice", "alice-pw", false));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(access_.login("alice", "wrong", "10.0.0.1"));
  auto r = access_.login("alice", "alice-pw", "10.0.0.2");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::too_many_requests);
  clock_.advance(seconds(3600));
  EXPECT_TRUE(access_.login("alice", "alice-pw", "10.0.0.2"));
}

TEST_F(AccessServiceTest, RobotsLogInWithTheirSecretUntilExpiryOrRevocation) {
  NewRobot spec{"ci", {{"team-a/*", ActionSet{Action::pull, Action::push}}},
                clock_.unix_seconds() + 100};
  auto made = admin_.create_robot(root_, spec);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ(made->login, "robot$ci");
  auto who = access_.login("robot$ci", made->secret, "a");
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_EQ(who->kind, Identity::Kind::robot);
  ASSERT_EQ(who->permissions.size(), 1u);
  EXPECT_EQ(who->permissions[0].repository_pattern, "team-a/*");
  EXPECT_FALSE(access_.login("robot$ci", made->secret + "x", "b"));
  EXPECT_FALSE(access_.login("ci", made->secret, "c"));  // robots only with the prefix
  clock_.advance(seconds(100));
  EXPECT_FALSE(access_.login("robot$ci", made->secret, "d"));
  auto gone = access_.identity_of("robot$ci");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
}

TEST_F(AccessServiceTest, SnapshotFollowsChangesMadeElsewhere) {
  AccessService other(store_, clock_, FastOptions());  // another replica, same database
  auto before = access_.snapshot();
  ASSERT_TRUE(before);
  EXPECT_EQ((*before)->policy.find_namespace("team-a"), nullptr);
  Admin other_admin(other);
  ASSERT_TRUE(other_admin.put_namespace(root_, "team-a", true));
  ASSERT_TRUE(other_admin.create_tag_rule(root_, "team-a", "releases", "v*"));
  auto after = access_.snapshot();
  ASSERT_TRUE(after);
  ASSERT_NE((*after)->policy.find_namespace("team-a"), nullptr);
  EXPECT_TRUE((*after)->policy.find_namespace("team-a")->anonymous_pull);
  EXPECT_EQ((*after)->tag_rules.rules().size(), 1u);
}

TEST_F(AccessServiceTest, AdminRefusalsAreAuditedAndChangesAreToo) {
  ASSERT_TRUE(admin_.create_user(root_, "alice", "alice-pw", false));
  Actor alice{Identity::user("alice"), "10.1.1.1"};
  auto r = admin_.create_user(alice, "bob", "bob-pw", true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::denied);
  auto events = store_.list_audit({});
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].event.action, "user.create");
  EXPECT_EQ((*events)[0].event.result, "success");
  EXPECT_EQ((*events)[1].event.actor, "alice");
  EXPECT_EQ((*events)[1].event.result, "denied");
  auto report = admin_.verify_audit(root_);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->message;
}

TEST_F(AccessServiceTest, AdminValidatesInput) {
  EXPECT_EQ(admin_.create_user(root_, "bad name", "pw-123456", false).error().code, Errc::name_invalid);
  EXPECT_EQ(admin_.create_user(root_, "robot$x", "pw-123456", false).error().code, Errc::name_invalid);
  ASSERT_TRUE(admin_.create_user(root_, "alice", "pw-123456", false));
  EXPECT_EQ(admin_.create_user(root_, "alice", "pw-123456", false).error().code, Errc::conflict);
  EXPECT_EQ(admin_.put_namespace(root_, "Team", false).error().code, Errc::name_invalid);
  EXPECT_EQ(admin_.set_member(root_, "nowhere", "alice", "reader").error().code, Errc::name_unknown);
  ASSERT_TRUE(admin_.put_namespace(root_, "team-a", false));
  EXPECT_EQ(admin_.set_member(root_, "team-a", "alice", "owner").error().code, Errc::denied);
  EXPECT_EQ(admin_.set_member(root_, "team-a", "ghost", "reader").error().code, Errc::name_unknown);
  EXPECT_FALSE(admin_.create_tag_rule(root_, "team-a", "r", "v 1"));
  EXPECT_EQ(admin_.create_robot(root_, {"ci", {}, 0}).error().code, Errc::denied);
}

TEST_F(AccessServiceTest, NamespaceAdminsManageMembersMaintainersManageTagRules) {
  for (auto u : {"owner", "keeper", "dev"}) ASSERT_TRUE(admin_.create_user(root_, u, "password-1", false));
  ASSERT_TRUE(admin_.put_namespace(root_, "team-a", false));
  ASSERT_TRUE(admin_.set_member(root_, "team-a", "owner", "admin"));
  ASSERT_TRUE(admin_.set_member(root_, "team-a", "keeper", "maintainer"));
  Actor owner{Identity::user("owner"), "x"}, keeper{Identity::user("keeper"), "x"};
  EXPECT_TRUE(admin_.set_member(owner, "team-a", "dev", "developer"));
  EXPECT_EQ(admin_.set_member(keeper, "team-a", "dev", "admin").error().code, Errc::denied);
  EXPECT_TRUE(admin_.create_tag_rule(keeper, "team-a", "releases", "v*"));
  Actor dev{Identity::user("dev"), "x"};
  EXPECT_EQ(admin_.create_tag_rule(dev, "team-a", "all", "*").error().code, Errc::denied);
}

class TokenServiceTest : public AccessServiceTest {
 protected:
  TokenService tokens_{access_, SigningKey::generate(), TokenServiceOptions{}, clock_};
};

TEST_F(TokenServiceTest, TokensCarryOnlyTheGrantedSubset) {
  ASSERT_TRUE(admin_.create_user(root_, "dev", "password-1", false));
  ASSERT_TRUE(admin_.put_namespace(root_, "team-a", false));
  ASSERT_TRUE(admin_.set_member(root_, "team-a", "dev", "reader"));
  std::vector<Scope> asked = {Scope::repository("team-a/app", {Action::pull, Action::push}),
                              Scope::repository("team-b/app", {Action::pull})};
  auto t = tokens_.issue(Identity::user("dev"), asked);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->claims.access.size(), 1u);
  EXPECT_EQ(t->claims.access[0].name, "team-a/app");
  EXPECT_EQ(t->claims.access[0].actions, ActionSet{Action::pull});
  auto verified = tokens_.verifier().verify(t->token);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->subject, "dev");
}

TEST_F(TokenServiceTest, RefreshTokensRedeemOnlyForLivingAccountsAndAreNotAccessTokens) {
  ASSERT_TRUE(admin_.create_user(root_, "dev", "password-1", false));
  auto rt = tokens_.issue_refresh(Identity::user("dev"));
  ASSERT_TRUE(rt);
  EXPECT_FALSE(tokens_.verifier().verify(*rt));  // other audience
  auto who = tokens_.redeem_refresh(*rt);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->name, "dev");
  auto access = tokens_.issue(Identity::user("dev"), {});
  ASSERT_TRUE(access);
  EXPECT_FALSE(tokens_.redeem_refresh(access->token));
  ASSERT_TRUE(admin_.delete_user(root_, "dev"));
  EXPECT_FALSE(tokens_.redeem_refresh(*rt));
  EXPECT_FALSE(tokens_.issue_refresh(Identity::anonymous()));
}

TEST_F(TokenServiceTest, RefreshTokensExpire) {
  ASSERT_TRUE(admin_.create_user(root_, "dev", "password-1", false));
  auto rt = tokens_.issue_refresh(Identity::user("dev"));
  ASSERT_TRUE(rt);
  clock_.advance(seconds(7 * 24 * 3600 + 60));
  EXPECT_FALSE(tokens_.redeem_refresh(*rt));
}

}  // namespace
}  // namespace portcullis::auth
