#include "base/glob.h"

#include <string>

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

TEST(Glob, LiteralPatternsMatchExactly) {
  EXPECT_TRUE(glob_match("team-a/app", "team-a/app"));
  EXPECT_FALSE(glob_match("team-a/app", "team-a/app2"));
  EXPECT_FALSE(glob_match("team-a/app", "team-a/ap"));
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "a"));
}

TEST(Glob, StarMatchesAnyRunIncludingSlashes) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "a/b/c"));
  EXPECT_TRUE(glob_match("v*", "v"));
  EXPECT_TRUE(glob_match("v*", "v1.2.3"));
  EXPECT_FALSE(glob_match("v*", "xv1"));
  EXPECT_TRUE(glob_match("team-a/*", "team-a/x/y"));
  EXPECT_FALSE(glob_match("team-a/*", "team-a"));
  EXPECT_TRUE(glob_match("*-rc*", "v1-rc2"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
  EXPECT_TRUE(glob_match("**", "abc"));
  EXPECT_TRUE(glob_match("*c", "abcbc"));
}

TEST(Glob, OtherCharactersAreLiteral) {
  EXPECT_FALSE(glob_match("a?c", "abc"));
  EXPECT_TRUE(glob_match("a?c", "a?c"));
  EXPECT_FALSE(glob_match("a.c", "abc"));
}

TEST(Glob, PathologicalPatternsStayFast) {
  std::string text(5000, 'a');
  std::string pattern;
  for (int i = 0; i < 50; ++i) pattern += "*a";
  pattern += "b";
  EXPECT_FALSE(glob_match(pattern, text));  // exponential backtracking would never finish
}

}  // namespace
}  // namespace portcullis::auth
