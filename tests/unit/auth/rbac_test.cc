#include "auth/rbac.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;

const Clock::time_point kNow = Clock::time_point(seconds(1'700'000'000));
const ActionSet kNone{};
const ActionSet kPull{Action::pull};
const ActionSet kPullPush{Action::pull, Action::push};
const ActionSet kAll{Action::pull, Action::push, Action::delete_};

AccessPolicy Policy() {
  auto p = AccessPolicy::create(
      {{"team-a", false}, {"team-a/infra", false}, {"team-b", false}, {"public", true}},
      {{"team-a", "rita", Role::reader},
       {"team-a", "dave", Role::developer},
       {"team-a", "mona", Role::maintainer},
       {"team-a", "adam", Role::admin},
       {"team-a/infra", "ivan", Role::developer},
       {"team-b", "dave", Role::reader}});
  EXPECT_TRUE(p.has_value()) << p.error().message;
  return std::move(p).value();
}

ActionSet Actions(const Identity& id, std::string_view repo, Clock::time_point now = kNow) {
  return repository_actions(id, Policy(), repo, now);
}

// Whether a token request for exactly `action` on `repo` is granted.
bool Granted(const Identity& id, std::string_view repo, Action action) {
  std::vector<Scope> requested = {Scope::repository(std::string(repo), ActionSet{action})};
  auto granted = authorize(id, Policy(), requested, kNow);
  return permits(granted, kRepositoryType, repo, action);
}

// --- the matrix: role x action x inside/outside its namespace ------------------------

TEST(RbacMatrix, EachRoleGetsExactlyItsActionsInsideItsNamespaceAndNothingOutside) {
  struct Row {
    const char* user;
    ActionSet inside;
  };
  const Row rows[] = {
      {"rita", kPull},      // reader
      {"dave", kPullPush},  // developer
      {"mona", kAll},       // maintainer
      {"adam", kAll},       // admin
  };
  const char* inside = "team-a/app";
  const char* outside[] = {"team-b/app", "nowhere/app", "team-a/infra/tool", "team-ab/app"};
  for (const Row& row : rows) {
    Identity id = Identity::user(row.user);
    for (Action action : {Action::pull, Action::push, Action::delete_}) {
      EXPECT_EQ(Granted(id, inside, action), row.inside.contains(action))
          << row.user << " " << action_name(action) << " " << inside;
      for (const char* repo : outside) {
        // dave also reads team-b; covered separately below.
        bool expected = std::string_view(row.user) == "dave" &&
                        std::string_view(repo) == "team-b/app" && action == Action::pull;
        EXPECT_EQ(Granted(id, repo, action), expected)
            << row.user << " " << action_name(action) << " " << repo;
      }
    }
  }
}

TEST(RbacMatrix, RoleActionsTable) {
  EXPECT_EQ(role_actions(Role::reader), kPull);
  EXPECT_EQ(role_actions(Role::developer), kPullPush);
  EXPECT_EQ(role_actions(Role::maintainer), kAll);
  EXPECT_EQ(role_actions(Role::admin), kAll);
}

TEST(RbacMatrix, BindingsAreNotShared) {
  EXPECT_EQ(Actions(Identity::user("dave"), "team-b/app"), kPull);
  EXPECT_EQ(Actions(Identity::user("dave"), "team-a/app"), kPullPush);
  EXPECT_EQ(Actions(Identity::user("nobody"), "team-a/app"), kNone);
}

TEST(RbacMatrix, SystemAdminsMayDoEverythingEverywhere) {
  Identity root = Identity::user("root", /*system_admin=*/true);
  for (const char* repo : {"team-a/app", "team-b/app", "nowhere/app", "team-a/infra/tool"}) {
    EXPECT_EQ(Actions(root, repo), kAll) << repo;
  }
  EXPECT_TRUE(can_list_catalog(root, Policy(), kNow));
}

// --- namespaces ------------------------------------------------------------------------

TEST(Namespaces, LongestMatchingNamespaceWins) {
  AccessPolicy p = Policy();
  ASSERT_NE(p.namespace_of("team-a/infra/tool"), nullptr);
  EXPECT_EQ(p.namespace_of("team-a/infra/tool")->name, "team-a/infra");
  EXPECT_EQ(p.namespace_of("team-a/infra")->name, "team-a/infra");
  EXPECT_EQ(p.namespace_of("team-a/infrastructure")->name, "team-a");
  EXPECT_EQ(p.namespace_of("team-a/x/y/z")->name, "team-a");
  EXPECT_EQ(p.namespace_of("team-a")->name, "team-a");
  EXPECT_EQ(p.namespace_of("team-ab/x"), nullptr);  // whole components only
  EXPECT_EQ(p.namespace_of("nowhere"), nullptr);
  EXPECT_EQ(p.namespace_of(""), nullptr);
}

TEST(Namespaces, OnlyTheOwningNamespacesBindingsApply) {
  // adam administers team-a but nothing in the more specific team-a/infra.
  EXPECT_EQ(Actions(Identity::user("adam"), "team-a/infra/tool"), kNone);
  EXPECT_EQ(Actions(Identity::user("ivan"), "team-a/infra/tool"), kPullPush);
  EXPECT_EQ(Actions(Identity::user("ivan"), "team-a/app"), kNone);
}

TEST(Namespaces, CreateRefusesBadDefinitions) {
  auto bad_name = AccessPolicy::create({{"Team-A", false}}, {});
  ASSERT_FALSE(bad_name.has_value());
  EXPECT_EQ(bad_name.error().code, Errc::name_invalid);
  auto dup = AccessPolicy::create({{"a", false}, {"a", true}}, {});
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, Errc::name_invalid);
  auto unknown = AccessPolicy::create({{"a", false}}, {{"b", "u", Role::reader}});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::name_unknown);
  EXPECT_FALSE(AccessPolicy::create({{"a", false}}, {{"a", "", Role::reader}}).has_value());
}

TEST(Namespaces, ADoubleBindingKeepsTheHigherRole) {
  auto p =
      AccessPolicy::create({{"a", false}}, {{"a", "u", Role::admin}, {"a", "u", Role::reader}});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->role_of("u", "a"), Role::admin);
}

// --- anonymous access ---------------------------------------------------------------------

TEST(AnonymousPull, OnlyWhereTheNamespaceAllowsIt) {
  Identity anon = Identity::anonymous();
  EXPECT_TRUE(Granted(anon, "public/tools", Action::pull));
  EXPECT_FALSE(Granted(anon, "public/tools", Action::push));
  EXPECT_FALSE(Granted(anon, "public/tools", Action::delete_));
  EXPECT_FALSE(Granted(anon, "team-a/app", Action::pull));
  EXPECT_FALSE(Granted(anon, "nowhere/app", Action::pull));
  EXPECT_TRUE(can_list_catalog(anon, Policy(), kNow));
}

TEST(AnonymousPull, OffMeansNothingAtAll) {
  auto closed = AccessPolicy::create({{"public", false}}, {});
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(repository_actions(Identity::anonymous(), *closed, "public/tools", kNow), kNone);
  EXPECT_FALSE(can_list_catalog(Identity::anonymous(), *closed, kNow));
  EXPECT_EQ(repository_actions(Identity::anonymous(), AccessPolicy(), "x", kNow), kNone);
}

TEST(AnonymousPull, AuthenticatedUsersGetAtLeastAnonymousAccess) {
  EXPECT_EQ(Actions(Identity::user("rita"), "public/tools"), kPull);
  EXPECT_EQ(Actions(Identity::user("nobody"), "public/tools"), kPull);
}

// --- robots -----------------------------------------------------------------------------

TEST(Robots, LimitedToOneRepository) {
  Identity ci = Identity::robot("ci", {{"team-a/app", kPullPush}}, std::nullopt);
  EXPECT_TRUE(Granted(ci, "team-a/app", Action::push));
  EXPECT_TRUE(Granted(ci, "team-a/app", Action::pull));
  EXPECT_FALSE(Granted(ci, "team-a/app", Action::delete_));
  for (const char* other :
       {"team-a/app2", "team-a/other", "team-b/app", "team-a", "nowhere/app", "team-a/app/sub"}) {
    for (Action a : {Action::pull, Action::push, Action::delete_}) {
      EXPECT_FALSE(Granted(ci, other, a)) << other << " " << action_name(a);
    }
  }
}

TEST(Robots, HaveNoRolesEvenWithAUsersName) {
  // A robot named like a bound user gets nothing from that user's bindings.
  Identity robot = Identity::robot("adam", {}, std::nullopt);
  EXPECT_EQ(Actions(robot, "team-a/app"), kNone);
}

TEST(Robots, PatternsCoverNamespacesAndEverything) {
  Identity ns = Identity::robot("ns", {{"team-a/*", kPull}}, std::nullopt);
  EXPECT_EQ(Actions(ns, "team-a/app"), kPull);
  EXPECT_EQ(Actions(ns, "team-a/infra/tool"), kPull);
  EXPECT_EQ(Actions(ns, "team-a"), kNone);
  EXPECT_EQ(Actions(ns, "team-ab/app"), kNone);
  Identity all = Identity::robot("all", {{"*", kPull}, {"team-b/*", kAll}}, std::nullopt);
  EXPECT_EQ(Actions(all, "anything/at/all"), kPull);
  EXPECT_EQ(Actions(all, "team-b/app"), kAll);
}

TEST(Robots, ExpiredRobotsGetNothing) {
  const auto expiry = kNow + seconds(60);
  Identity ci = Identity::robot("ci", {{"team-a/app", kPullPush}}, expiry);
  EXPECT_EQ(Actions(ci, "team-a/app", expiry - seconds(1)), kPullPush);
  EXPECT_EQ(Actions(ci, "team-a/app", expiry), kNone);
  EXPECT_EQ(Actions(ci, "public/tools", expiry), kNone);
  EXPECT_FALSE(can_list_catalog(ci, Policy(), expiry));
  auto granted =
      authorize(ci, Policy(),
                std::vector<Scope>{Scope::repository("team-a/app", kPullPush), Scope::catalog()},
                expiry + seconds(3600));
  EXPECT_TRUE(granted.empty());
}

TEST(Robots, PermissionValidation) {
  EXPECT_TRUE(validate_robot_permission({"team-a/app", kPull}).has_value());
  EXPECT_TRUE(validate_robot_permission({"team-a/*", kAll}).has_value());
  EXPECT_TRUE(validate_robot_permission({"*", kPull}).has_value());
  EXPECT_EQ(validate_robot_permission({"", kPull}).error().code, Errc::name_invalid);
  EXPECT_EQ(validate_robot_permission({"Team-A/*", kPull}).error().code, Errc::name_invalid);
  EXPECT_EQ(validate_robot_permission({"a?b", kPull}).error().code, Errc::name_invalid);
  EXPECT_EQ(validate_robot_permission({"a", kNone}).error().code, Errc::denied);
  EXPECT_EQ(validate_robot_permission({"a", ActionSet{Action::any}}).error().code, Errc::denied);
}

// --- the token service's intersection ---------------------------------------------------------

TEST(Authorize, ReturnsTheGrantedSubsetOfTheRequest) {
  std::vector<Scope> requested = {
      Scope::repository("team-a/app", kAll),
      Scope::repository("team-b/app", kPullPush),
      Scope{"repository", "plugin", "team-a/plug", kPullPush},
      Scope::repository("nowhere/app", kPull),
      Scope::catalog(),
  };
  auto granted = authorize(Identity::user("dave"), Policy(), requested, kNow);
  ASSERT_EQ(granted.size(), 4u);
  EXPECT_EQ(granted[0], Scope::repository("team-a/app", kPullPush));
  EXPECT_EQ(granted[1], Scope::repository("team-b/app", kPull));
  EXPECT_EQ(granted[2], (Scope{"repository", "plugin", "team-a/plug", kPullPush}));
  EXPECT_EQ(granted[3], Scope::catalog());
}

TEST(Authorize, NothingAllowedIsAnEmptyGrantNotAnError) {
  auto granted =
      authorize(Identity::anonymous(), AccessPolicy(),
                std::vector<Scope>{Scope::repository("a", kAll), Scope::catalog()}, kNow);
  EXPECT_TRUE(granted.empty());
  EXPECT_TRUE(authorize(Identity::user("rita"), Policy(), {}, kNow).empty());
}

TEST(Authorize, NeverGrantsTheWildcardActionOnRepositories) {
  auto granted =
      authorize(Identity::user("root", true), Policy(),
                std::vector<Scope>{Scope::repository("team-a/app", {Action::any})}, kNow);
  EXPECT_TRUE(granted.empty());
}

// --- namespace administration ----------------------------------------------------------------

TEST(MayAdminister, ByRole) {
  AccessPolicy p = Policy();
  auto may = [&](const Identity& id, std::string_view ns, NamespaceDuty duty) {
    return may_administer(id, p, ns, duty);
  };
  const auto rules = NamespaceDuty::manage_tag_rules;
  const auto members = NamespaceDuty::manage_members;
  EXPECT_FALSE(may(Identity::user("rita"), "team-a", rules));
  EXPECT_FALSE(may(Identity::user("dave"), "team-a", rules));
  EXPECT_TRUE(may(Identity::user("mona"), "team-a", rules));
  EXPECT_FALSE(may(Identity::user("mona"), "team-a", members));
  EXPECT_TRUE(may(Identity::user("adam"), "team-a", rules));
  EXPECT_TRUE(may(Identity::user("adam"), "team-a", members));
  EXPECT_FALSE(may(Identity::user("adam"), "team-b", members));
  EXPECT_FALSE(may(Identity::user("adam"), "team-a/infra", rules));
  EXPECT_TRUE(may(Identity::user("root", true), "team-b", members));
  EXPECT_TRUE(may(Identity::user("root", true), "not-yet-created", members));
  EXPECT_FALSE(may(Identity::anonymous(), "public", rules));
  EXPECT_FALSE(may(Identity::robot("adam", {{"*", kAll}}, std::nullopt), "team-a", rules));
}

TEST(Roles, NamesRoundTrip) {
  for (Role r : {Role::reader, Role::developer, Role::maintainer, Role::admin}) {
    EXPECT_EQ(parse_role(role_name(r)), r);
  }
  EXPECT_EQ(parse_role("owner"), std::nullopt);
  EXPECT_EQ(parse_role("Admin"), std::nullopt);
}

}  // namespace
}  // namespace portcullis::auth
