#include "scanner/image/path.h"

#include <gtest/gtest.h>

namespace portcullis::scanner::image {
namespace {

TEST(NormalizePath, StripsDotSlashLeadingSlashAndDuplicateSlashes) {
  EXPECT_EQ(normalize_path("./usr/x"), "usr/x");
  EXPECT_EQ(normalize_path("/usr/x"), "usr/x");
  EXPECT_EQ(normalize_path("usr//x"), "usr/x");
  EXPECT_EQ(normalize_path("usr/./x/"), "usr/x");
  EXPECT_EQ(normalize_path("././/usr///lib//"), "usr/lib");
}

TEST(NormalizePath, ResolvesDotDotInsideTheRoot) {
  EXPECT_EQ(normalize_path("usr/lib/../share/x"), "usr/share/x");
  EXPECT_EQ(normalize_path("usr/.."), "");
  EXPECT_EQ(normalize_path("a/b/../../c"), "c");
}

TEST(NormalizePath, RejectsPathsThatClimbAboveTheRoot) {
  EXPECT_EQ(normalize_path("../../etc/x"), std::nullopt);
  EXPECT_EQ(normalize_path("/../etc/passwd"), std::nullopt);
  EXPECT_EQ(normalize_path("usr/../../etc"), std::nullopt);
  EXPECT_EQ(normalize_path("./.."), std::nullopt);
}

TEST(NormalizePath, RootIsEmpty) {
  EXPECT_EQ(normalize_path("./"), "");
  EXPECT_EQ(normalize_path("/"), "");
  EXPECT_EQ(normalize_path(""), "");
}

TEST(PathParts, ParentAndBaseName) {
  EXPECT_EQ(parent_path("usr/lib/x"), "usr/lib");
  EXPECT_EQ(parent_path("x"), "");
  EXPECT_EQ(base_name("usr/lib/x"), "x");
  EXPECT_EQ(base_name("x"), "x");
}

TEST(MatchComponent, StarAndQuestionMark) {
  EXPECT_TRUE(match_component("*.dist-info", "requests-2.31.0.dist-info"));
  EXPECT_FALSE(match_component("*.dist-info", "requests-2.31.0.egg-info"));
  EXPECT_TRUE(match_component("@*", "@babel"));
  EXPECT_TRUE(match_component("a?c", "abc"));
  EXPECT_FALSE(match_component("a?c", "ac"));
  EXPECT_TRUE(match_component("*", ""));
  EXPECT_TRUE(match_component("*a*b*", "xxaxxbxx"));
}

TEST(PathPattern, DoubleStarMatchesAnyNumberOfComponents) {
  auto p = PathPattern::glob("**/node_modules/*/package.json");
  EXPECT_TRUE(p.matches("node_modules/lodash/package.json"));
  EXPECT_TRUE(p.matches("app/node_modules/lodash/package.json"));
  EXPECT_TRUE(p.matches("app/node_modules/a/node_modules/b/package.json"));
  EXPECT_FALSE(p.matches("app/node_modules/lodash/lib/package.json"));
  EXPECT_FALSE(p.matches("app/package.json"));
  EXPECT_FALSE(p.matches("app/node_modules/package.json"));
}

TEST(PathPattern, DistInfoMetadataGlob) {
  auto p = PathPattern::glob("**/*.dist-info/METADATA");
  EXPECT_TRUE(p.matches("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"));
  EXPECT_FALSE(p.matches("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/RECORD"));
  EXPECT_FALSE(p.matches("METADATA"));
}

TEST(PathPattern, ExactSuffixAndAny) {
  EXPECT_TRUE(PathPattern::exact("var/lib/dpkg/status").matches("var/lib/dpkg/status"));
  EXPECT_FALSE(PathPattern::exact("var/lib/dpkg/status").matches("var/lib/dpkg/status-old"));
  EXPECT_TRUE(PathPattern::suffix(".jar").matches("opt/app/lib/x.jar"));
  EXPECT_FALSE(PathPattern::suffix(".jar").matches("opt/app/lib/x.jar.sha1"));
  EXPECT_TRUE(PathPattern::any().matches("anything/at/all"));
  EXPECT_TRUE(PathPattern::glob("var/lib/dpkg/status.d/*").matches("var/lib/dpkg/status.d/base"));
  EXPECT_FALSE(PathPattern::glob("var/lib/dpkg/status.d/*").matches("var/lib/dpkg/status.d/a/b"));
}

}  // namespace
}  // namespace portcullis::scanner::image
