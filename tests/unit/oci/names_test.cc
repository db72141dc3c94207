#include "oci/names.h"

#include <string>

#include <gtest/gtest.h>

namespace portcullis::oci {
namespace {

const std::string kSha256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// --- repository names -------------------------------------------------------

TEST(RepositoryName, AcceptsSimpleAndMultiComponentNames) {
  EXPECT_TRUE(valid_repository_name("busybox"));
  EXPECT_TRUE(valid_repository_name("library/busybox"));
  EXPECT_TRUE(valid_repository_name("a/b/c/d"));
  EXPECT_TRUE(valid_repository_name("0"));
  EXPECT_TRUE(valid_repository_name("team42/app7"));
}

TEST(RepositoryName, AcceptsEverySeparatorBetweenAlphanumerics) {
  EXPECT_TRUE(valid_repository_name("a.b"));
  EXPECT_TRUE(valid_repository_name("a_b"));
  EXPECT_TRUE(valid_repository_name("a__b"));
  EXPECT_TRUE(valid_repository_name("a-b"));
  EXPECT_TRUE(valid_repository_name("a--b"));
  EXPECT_TRUE(valid_repository_name("a----b"));
  EXPECT_TRUE(valid_repository_name("my.org/some_app__x-y--z.v2"));
}

TEST(RepositoryName, RejectsSeparatorsOutsideTheGrammar) {
  EXPECT_FALSE(valid_repository_name("a___b"));  // only "_" or "__"
  EXPECT_FALSE(valid_repository_name("a..b"));
  EXPECT_FALSE(valid_repository_name("a._b"));
  EXPECT_FALSE(valid_repository_name("a-.b"));
  EXPECT_FALSE(valid_repository_name("a_-b"));
  EXPECT_FALSE(valid_repository_name("a+b"));
  EXPECT_FALSE(valid_repository_name("a:b"));
  EXPECT_FALSE(valid_repository_name("a b"));
  EXPECT_FALSE(valid_repository_name("a@b"));
  EXPECT_FALSE(valid_repository_name("a\\b"));
}

TEST(RepositoryName, RejectsLeadingAndTrailingSeparators) {
  for (const char* name : {".a", "a.", "_a", "a_", "__a", "a__", "-a", "a-", "a/-b", "a/b-",
                           "a./b", "a/.b"}) {
    EXPECT_FALSE(valid_repository_name(name)) << name;
  }
}

TEST(RepositoryName, RejectsEmptyNameAndEmptyComponents) {
  EXPECT_FALSE(valid_repository_name(""));
  EXPECT_FALSE(valid_repository_name("/a"));
  EXPECT_FALSE(valid_repository_name("a/"));
  EXPECT_FALSE(valid_repository_name("a//b"));
  EXPECT_FALSE(valid_repository_name("/"));
}

TEST(RepositoryName, RejectsPathTraversal) {
  EXPECT_FALSE(valid_repository_name("../x"));
  EXPECT_FALSE(valid_repository_name("x/../y"));
  EXPECT_FALSE(valid_repository_name("x/.."));
  EXPECT_FALSE(valid_repository_name("./x"));
  EXPECT_FALSE(valid_repository_name(".."));
}

TEST(RepositoryName, RejectsUpperCase) {
  EXPECT_FALSE(valid_repository_name("Busybox"));
  EXPECT_FALSE(valid_repository_name("library/BusyBox"));
  EXPECT_FALSE(valid_repository_name("A"));
}

TEST(RepositoryName, AcceptsAtMost255Bytes) {
  std::string name_255 = std::string(127, 'a') + "/" + std::string(127, 'b');
  ASSERT_EQ(name_255.size(), 255u);
  EXPECT_TRUE(valid_repository_name(name_255));
  EXPECT_FALSE(valid_repository_name(name_255 + "c"));
  EXPECT_FALSE(valid_repository_name(std::string(256, 'a')));
  EXPECT_TRUE(valid_repository_name(std::string(kMaxRepositoryNameLength, 'a')));
}

TEST(RepositoryName, RejectsNonAsciiAndControlBytes) {
  EXPECT_FALSE(valid_repository_name("caf\xc3\xa9"));
  EXPECT_FALSE(valid_repository_name(std::string("a\0b", 3)));
  EXPECT_FALSE(valid_repository_name("a\nb"));
}

// --- tags ------------------------------------------------------------------

TEST(Tag, AcceptsTheTagGrammar) {
  for (const char* tag : {"latest", "v1.2.3", "V1", "_private", "1.0-rc.1", "a_b-c.d", "X",
                          "0"}) {
    EXPECT_TRUE(valid_tag(tag)) << tag;
  }
}

TEST(Tag, RejectsALeadingDotOrDash) {
  EXPECT_FALSE(valid_tag(".hidden"));
  EXPECT_FALSE(valid_tag("-v1"));
}

TEST(Tag, RejectsCharactersOutsideTheGrammar) {
  for (const char* tag : {"", "a/b", "a:b", "a@b", "a b", "a+b", "a~b", "caf\xc3\xa9"}) {
    EXPECT_FALSE(valid_tag(tag)) << tag;
  }
}

TEST(Tag, AcceptsAtMost128Characters) {
  EXPECT_TRUE(valid_tag(std::string(128, 'a')));
  EXPECT_FALSE(valid_tag(std::string(129, 'a')));
  EXPECT_EQ(kMaxTagLength, 128u);
}

// --- manifest references ------------------------------------------------------

TEST(ManifestRef, ParsesATag) {
  auto r = parse_manifest_ref("v1.0");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->is_digest());
  EXPECT_EQ(r->tag, "v1.0");
  EXPECT_EQ(r->str(), "v1.0");
}

TEST(ManifestRef, ParsesADigest) {
  auto r = parse_manifest_ref(kSha256);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->is_digest());
  EXPECT_EQ(r->digest->str(), kSha256);
  EXPECT_EQ(r->str(), kSha256);
}

TEST(ManifestRef, RejectsAnInvalidTagAsTagInvalid) {
  auto r = parse_manifest_ref("-bad");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::tag_invalid);
  auto too_long = parse_manifest_ref(std::string(129, 'a'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, Errc::tag_invalid);
  EXPECT_FALSE(parse_manifest_ref(""));
}

TEST(ManifestRef, RejectsAnInvalidDigestAsDigestInvalid) {
  auto r = parse_manifest_ref("sha256:abc");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::digest_invalid);
  auto unknown = parse_manifest_ref("md5:d41d8cd98f00b204e9800998ecf8427e");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::digest_invalid);
}

// --- image references ---------------------------------------------------------

TEST(ImageReference, BareNameNormalisesToDockerHubLibraryLatest) {
  auto r = parse_image_reference("busybox");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "docker.io");
  EXPECT_EQ(r->repository, "library/busybox");
  EXPECT_EQ(r->tag, "latest");
  EXPECT_FALSE(r->digest);
  EXPECT_EQ(r->str(), "docker.io/library/busybox:latest");
}

TEST(ImageReference, DockerHubUserRepositoryKeepsItsPath) {
  auto r = parse_image_reference("someuser/app:1.0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "docker.io");
  EXPECT_EQ(r->repository, "someuser/app");
  EXPECT_EQ(r->tag, "1.0");
  EXPECT_EQ(r->str(), "docker.io/someuser/app:1.0");
}

TEST(ImageReference, IndexDockerIoIsNormalisedToDockerIo) {
  auto r = parse_image_reference("index.docker.io/busybox");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->str(), "docker.io/library/busybox:latest");
}

TEST(ImageReference, HostWithPortAndDigest) {
  auto r = parse_image_reference("localhost:5000/a/b@" + kSha256);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "localhost:5000");
  EXPECT_EQ(r->repository, "a/b");
  EXPECT_EQ(r->tag, "");
  ASSERT_TRUE(r->digest);
  EXPECT_EQ(r->digest->str(), kSha256);
  EXPECT_EQ(r->str(), "localhost:5000/a/b@" + kSha256);
}

TEST(ImageReference, LocalhostWithoutPortIsARegistry) {
  auto r = parse_image_reference("localhost/app");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "localhost");
  EXPECT_EQ(r->repository, "app");
  EXPECT_EQ(r->tag, "latest");
}

TEST(ImageReference, DottedHostWithTag) {
  auto r = parse_image_reference("ghcr.io/x/y:v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "ghcr.io");
  EXPECT_EQ(r->repository, "x/y");
  EXPECT_EQ(r->tag, "v1");
  EXPECT_FALSE(r->digest);
  EXPECT_EQ(r->str(), "ghcr.io/x/y:v1");
}

TEST(ImageReference, SingleComponentOnAnotherRegistryGetsNoLibraryPrefix) {
  auto r = parse_image_reference("ghcr.io/app");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repository, "app");
}

TEST(ImageReference, TagAndDigestAreBothKept) {
  auto r = parse_image_reference("ghcr.io/x/y:v1@" + kSha256);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "ghcr.io");
  EXPECT_EQ(r->repository, "x/y");
  EXPECT_EQ(r->tag, "v1");
  ASSERT_TRUE(r->digest);
  EXPECT_EQ(r->digest->str(), kSha256);
  EXPECT_EQ(r->str(), "ghcr.io/x/y:v1@" + kSha256);
}

TEST(ImageReference, PortWithTagIsNotMistakenForATag) {
  auto r = parse_image_reference("registry.example.com:5000/team/app:2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "registry.example.com:5000");
  EXPECT_EQ(r->repository, "team/app");
  EXPECT_EQ(r->tag, "2");
}

TEST(ImageReference, RejectsEmptyAndOverlongReferences) {
  auto empty = parse_image_reference("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::name_invalid);
  EXPECT_FALSE(parse_image_reference(std::string(600, 'a')));
}

TEST(ImageReference, RejectsAnInvalidRepositoryPath) {
  for (const char* text : {"Busybox", "ghcr.io/X/y", "ghcr.io/x//y", "ghcr.io/", "a/../b",
                           "ghcr.io/x/y/"}) {
    auto r = parse_image_reference(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, Errc::name_invalid) << text;
  }
}

TEST(ImageReference, RejectsAnInvalidTag) {
  auto r = parse_image_reference("ghcr.io/x/y:-bad");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::tag_invalid);
  EXPECT_FALSE(parse_image_reference("busybox:"));
}

TEST(ImageReference, RejectsAnInvalidDigest) {
  auto r = parse_image_reference("busybox@sha256:1234");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::digest_invalid);
  EXPECT_FALSE(parse_image_reference("busybox@"));
}

TEST(ImageReference, RejectsAnInvalidRegistryHost) {
  auto r = parse_image_reference("bad_host.io/x/y");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::name_invalid);
}

}  // namespace
}  // namespace portcullis::oci
