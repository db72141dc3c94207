#include "auth/scope.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

Scope Parse(std::string_view text) {
  auto s = parse_scope(text);
  EXPECT_TRUE(s.has_value()) << text << ": " << (s ? "" : s.error().message);
  return s.has_value() ? *s : Scope{};
}

// --- actions ------------------------------------------------------------------

TEST(ActionSet, CanonicalOrderAndSetOperations) {
  ActionSet s{Action::delete_, Action::pull};
  EXPECT_EQ(s.str(), "pull,delete");
  EXPECT_TRUE(s.contains(Action::pull));
  EXPECT_FALSE(s.contains(Action::push));
  EXPECT_EQ((s & ActionSet{Action::pull, Action::push}), ActionSet{Action::pull});
  EXPECT_EQ((s | ActionSet{Action::push}).str(), "pull,push,delete");
  EXPECT_TRUE(ActionSet{}.empty());
  EXPECT_EQ(ActionSet{Action::any}.str(), "*");
  EXPECT_TRUE(s.contains_all(ActionSet{Action::pull}));
  EXPECT_FALSE(s.contains_all(ActionSet{Action::pull, Action::push}));
}

// --- parsing ------------------------------------------------------------------

TEST(ParseScope, RepositoryWithActions) {
  Scope s = Parse("repository:samalba/my-app:pull,push");
  EXPECT_EQ(s.type, "repository");
  EXPECT_EQ(s.klass, "");
  EXPECT_EQ(s.name, "samalba/my-app");
  EXPECT_EQ(s.actions, (ActionSet{Action::pull, Action::push}));
}

TEST(ParseScope, SingleAndDeepRepositoryNames) {
  EXPECT_EQ(Parse("repository:busybox:pull").name, "busybox");
  EXPECT_EQ(Parse("repository:a/b/c/d:pull").name, "a/b/c/d");
  EXPECT_EQ(Parse("repository:my.org/some_app__x-y--z.v2:delete").actions,
            ActionSet{Action::delete_});
}

TEST(ParseScope, ResourceClass) {
  Scope s = Parse("repository(plugin):team-a/plug:pull");
  EXPECT_EQ(s.type, "repository");
  EXPECT_EQ(s.klass, "plugin");
  EXPECT_EQ(s.name, "team-a/plug");
  EXPECT_EQ(format_scope(s), "repository(plugin):team-a/plug:pull");
}

TEST(ParseScope, RegistryCatalog) {
  Scope s = Parse("registry:catalog:*");
  EXPECT_EQ(s, Scope::catalog());
}

TEST(ParseScope, DuplicatesAndOrderOfActionsDoNotMatter) {
  EXPECT_EQ(Parse("repository:a:push,pull,push").actions, (ActionSet{Action::pull, Action::push}));
  EXPECT_EQ(format_scope(Parse("repository:a:delete,push,pull")), "repository:a:pull,push,delete");
}

TEST(ParseScope, UnknownActionsAreDroppedNotRefused) {
  EXPECT_EQ(Parse("repository:a:pull,frobnicate").actions, ActionSet{Action::pull});
  EXPECT_TRUE(Parse("repository:a:frobnicate").actions.empty());
  EXPECT_TRUE(Parse("repository:a:").actions.empty());
}

TEST(ParseScope, RefusesMalformedScopes) {
  for (std::string_view bad : {
           "",
           "repository",
           "repository:a",
           ":a:pull",
           "Repository:a:pull",
           "repo sitory:a:pull",
           "repository(:a:pull",
           "repository():a:pull",
           "repository(Plugin):a:pull",
           "repository(plu gin):a:pull",
           "repository(plugin:a:pull",
           "repository:a:pull,,push",
           "repository:a:pull,",
           "repository:a:Pull",
           "repository:a:pull;rm",
           "repository:a:**",
           "namespace:team-a:pull",
           "registry:repositories:*",
           "registry::*",
       }) {
    auto s = parse_scope(bad);
    EXPECT_FALSE(s.has_value()) << bad;
    if (!s) {
      EXPECT_EQ(s.error().code, Errc::denied) << bad;
    }
  }
}

TEST(ParseScope, RefusesRepositoryNamesOutsideTheGrammar) {
  for (std::string_view bad : {
           "repository:Upper/case:pull",
           "repository:../etc:pull",
           "repository:a//b:pull",
           "repository:/a:pull",
           "repository::pull",
           "repository:a/:pull",
           "repository:localhost:5000/a:pull",  // host:port is not part of our names
           "repository:a b:pull",
           "repository:a\n:pull",
       }) {
    auto s = parse_scope(bad);
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_EQ(s.error().code, Errc::name_invalid) << bad;
  }
}

TEST(ParseScope, RefusesOverlongScopes) {
  std::string name(300, 'a');
  auto s = parse_scope("repository:" + name + ":pull");
  EXPECT_FALSE(s.has_value());
  std::string huge = "repository:a:" + std::string(kMaxScopeLength, 'p');
  s = parse_scope(huge);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::denied);
  // The message echoes only a bounded prefix of what was sent.
  EXPECT_LT(s.error().message.size(), 200u);
}

TEST(ParseScopeList, SpaceSeparatedScopes) {
  auto list = parse_scope_list("repository:a:pull repository:b:pull,push registry:catalog:*");
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ((*list)[1].actions, (ActionSet{Action::pull, Action::push}));
  EXPECT_EQ((*list)[2], Scope::catalog());
  EXPECT_EQ(format_scope_list(*list),
            "repository:a:pull repository:b:pull,push registry:catalog:*");
}

TEST(ParseScopeList, EmptyAndExtraSpaces) {
  auto empty = parse_scope_list("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  auto spaced = parse_scope_list("  repository:a:pull   repository:b:push ");
  ASSERT_TRUE(spaced.has_value());
  EXPECT_EQ(spaced->size(), 2u);
}

TEST(ParseScopeList, OneBadEntryFailsTheList) {
  EXPECT_FALSE(parse_scope_list("repository:a:pull repository:B:pull").has_value());
  EXPECT_FALSE(parse_scope_list("repository:a:pull garbage").has_value());
}

TEST(ParseScopeList, BoundsTheNumberOfScopes) {
  std::string list;
  for (std::size_t i = 0; i < kMaxScopesPerRequest; ++i) list += "repository:a:pull ";
  EXPECT_TRUE(parse_scope_list(list).has_value());
  list += "repository:a:pull";
  auto r = parse_scope_list(list);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::denied);
}

TEST(FormatScope, RoundTripsThroughParse) {
  for (std::string_view text : {"repository:a/b:pull", "repository(plugin):a:pull,push",
                                "registry:catalog:*", "repository:x:pull,push,delete"}) {
    EXPECT_EQ(format_scope(Parse(text)), text);
  }
}

// --- combining -------------------------------------------------------------------

TEST(NormalizeScopes, MergesPerResourceAndDropsEmpty) {
  std::vector<Scope> in = {Scope::repository("a", {Action::pull}), Scope::repository("b", {}),
                           Scope::repository("a", {Action::push}),
                           Scope{"repository", "plugin", "a", {Action::pull}}};
  auto out = normalize_scopes(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], Scope::repository("a", {Action::pull, Action::push}));
  EXPECT_EQ(out[1].klass, "plugin");
}

TEST(IntersectScopes, KeepsOnlyWhatIsBothRequestedAndGranted) {
  std::vector<Scope> requested = {
      Scope::repository("a", {Action::pull, Action::push}), Scope::repository("b", {Action::pull}),
      Scope{"repository", "plugin", "c", {Action::pull}}, Scope::catalog()};
  std::vector<Scope> granted = {Scope::repository("a", {Action::pull, Action::delete_}),
                                Scope::repository("c", {Action::pull})};
  auto out = intersect_scopes(requested, granted);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], Scope::repository("a", {Action::pull}));
  EXPECT_EQ(out[1], (Scope{"repository", "plugin", "c", {Action::pull}}));
  EXPECT_TRUE(intersect_scopes(requested, {}).empty());
}

TEST(Permits, ChecksTypeNameAndAction) {
  std::vector<Scope> access = {Scope::repository("a", {Action::pull}), Scope::catalog()};
  EXPECT_TRUE(permits(access, kRepositoryType, "a", Action::pull));
  EXPECT_FALSE(permits(access, kRepositoryType, "a", Action::push));
  EXPECT_FALSE(permits(access, kRepositoryType, "ab", Action::pull));
  EXPECT_FALSE(permits(access, kRegistryType, "a", Action::pull));
  EXPECT_TRUE(permits(access, kRegistryType, kCatalogName, Action::any));
  EXPECT_FALSE(permits(access, kRepositoryType, "a", Action::any));
  EXPECT_FALSE(permits({}, kRepositoryType, "a", Action::pull));
}

}  // namespace
}  // namespace portcullis::auth
