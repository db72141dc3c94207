#include "oci/manifest.h"

#include <algorithm>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "oci/media_types.h"

namespace portcullis::oci {
namespace {

using crypto::HashAlgorithm;

std::string D(std::string_view content) { return Digest::of(HashAlgorithm::sha256, content).str(); }

const std::string kConfig = D("config");
const std::string kLayer1 = D("layer1");
const std::string kLayer2 = D("layer2");
const std::string kChild1 = D("child1");
const std::string kChild2 = D("child2");
const std::string kSubject = D("subject");

std::string Desc(std::string_view media_type, const std::string& digest, int64_t size,
                 std::string_view extra = "") {
  std::string out = R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + digest +
                    R"(","size":)" + std::to_string(size);
  if (!extra.empty()) out += "," + std::string(extra);
  return out + "}";
}

std::string OciManifest(std::string_view extra = "") {
  std::string out = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                    R"(","config":)" + Desc(media::kOciConfig, kConfig, 10) + R"(,"layers":[)" +
                    Desc("application/vnd.oci.image.layer.v1.tar+gzip", kLayer1, 100) + "," +
                    Desc("application/vnd.oci.image.layer.v1.tar+gzip", kLayer2, 200) + "]";
  if (!extra.empty()) out += "," + std::string(extra);
  return out + "}";
}

std::string OciIndex(std::string_view media_type = media::kOciIndex, std::string_view extra = "") {
  std::string out = R"({"schemaVersion":2,"mediaType":")" + std::string(media_type) +
                    R"(","manifests":[)" +
                    Desc(media::kOciManifest, kChild1, 500,
                         R"("platform":{"os":"linux","architecture":"amd64"})") +
                    "," +
                    Desc(media::kOciManifest, kChild2, 600,
                         R"("platform":{"os":"linux","architecture":"arm64","variant":"v8"})") +
                    "]";
  if (!extra.empty()) out += "," + std::string(extra);
  return out + "}";
}

Error ParseError(std::string_view bytes, std::string_view content_type = "") {
  auto m = parse_manifest(bytes, content_type);
  EXPECT_FALSE(m) << "accepted: " << bytes;
  return m ? Error{Errc::internal, "accepted"} : m.error();
}

void ExpectInvalid(std::string_view bytes, std::string_view content_type = "") {
  EXPECT_EQ(ParseError(bytes, content_type).code, Errc::manifest_invalid) << bytes;
}

// --- accepted documents -------------------------------------------------------

TEST(ParseManifest, ReadsAnOciImageManifest) {
  auto m = parse_manifest(OciManifest(R"("annotations":{"org.opencontainers.image.title":"t"})"),
                          media::kOciManifest);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media::kOciManifest);
  EXPECT_FALSE(m->is_index());
  ASSERT_TRUE(m->config);
  EXPECT_EQ(m->config->media_type, media::kOciConfig);
  EXPECT_EQ(m->config->digest.str(), kConfig);
  EXPECT_EQ(m->config->size, 10);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].digest.str(), kLayer1);
  EXPECT_EQ(m->layers[1].size, 200);
  EXPECT_TRUE(m->manifests.empty());
  EXPECT_FALSE(m->subject);
  EXPECT_EQ(m->annotations.at("org.opencontainers.image.title"), "t");
}

TEST(ParseManifest, ReadsAnOciIndexWithPlatforms) {
  auto m = parse_manifest(OciIndex(), "");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media::kOciIndex);
  EXPECT_TRUE(m->is_index());
  EXPECT_FALSE(m->config);
  EXPECT_TRUE(m->layers.empty());
  ASSERT_EQ(m->manifests.size(), 2u);
  EXPECT_EQ(m->manifests[0].digest.str(), kChild1);
  ASSERT_TRUE(m->manifests[1].platform);
  EXPECT_EQ(m->manifests[1].platform->os, "linux");
  EXPECT_EQ(m->manifests[1].platform->architecture, "arm64");
  EXPECT_EQ(m->manifests[1].platform->variant, "v8");
  EXPECT_TRUE(m->required_blobs().empty());
}

TEST(ParseManifest, ReadsADockerSchema2Manifest) {
  std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kDockerManifest) +
                     R"(","config":)" +
                     Desc("application/vnd.docker.container.image.v1+json", kConfig, 7) +
                     R"(,"layers":[)" +
                     Desc("application/vnd.docker.image.rootfs.diff.tar.gzip", kLayer1, 9) + "]}";
  auto m = parse_manifest(body, media::kDockerManifest);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media::kDockerManifest);
  EXPECT_FALSE(m->is_index());
  ASSERT_TRUE(m->config);
  EXPECT_EQ(m->config->media_type, "application/vnd.docker.container.image.v1+json");
  ASSERT_EQ(m->layers.size(), 1u);
}

TEST(ParseManifest, ReadsADockerManifestList) {
  auto m = parse_manifest(OciIndex(media::kDockerManifestList), media::kDockerManifestList);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media::kDockerManifestList);
  EXPECT_TRUE(m->is_index());
  EXPECT_EQ(m->manifests.size(), 2u);
}

TEST(ParseManifest, ReadsAnArtifactWithArtifactTypeEmptyConfigAndSubject) {
  const std::string empty_config = D("{}");
  std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                     R"(","artifactType":"application/vnd.example.sbom+json","config":)" +
                     Desc(media::kOciEmpty, empty_config, 2, R"("data":"e30=")") +
                     R"(,"layers":[)" + Desc("application/spdx+json", kLayer1, 42) +
                     R"(],"subject":)" + Desc(media::kOciManifest, kSubject, 1234) + "}";
  auto m = parse_manifest(body, media::kOciManifest);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->artifact_type, "application/vnd.example.sbom+json");
  EXPECT_EQ(m->referrer_artifact_type(), "application/vnd.example.sbom+json");
  ASSERT_TRUE(m->config);
  EXPECT_EQ(m->config->media_type, media::kOciEmpty);
  EXPECT_EQ(m->config->digest.str(), empty_config);
  ASSERT_TRUE(m->subject);
  EXPECT_EQ(m->subject->digest.str(), kSubject);
  EXPECT_EQ(m->subject->media_type, media::kOciManifest);
  EXPECT_EQ(m->subject->size, 1234);
}

TEST(ParseManifest, AcceptsAnIndexWithASubject) {
  auto m = parse_manifest(OciIndex(media::kOciIndex,
                                   R"("subject":)" + Desc(media::kOciManifest, kSubject, 5)),
                          "");
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(m->subject);
  EXPECT_EQ(m->subject->digest.str(), kSubject);
}

TEST(ParseManifest, ContentTypeParametersAreIgnoredWhenMatching) {
  auto m = parse_manifest(OciManifest(), std::string(media::kOciManifest) + "; charset=utf-8");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media::kOciManifest);
}

TEST(ParseManifest, TakesTheMediaTypeFromContentTypeWhenTheBodyHasNone) {
  std::string body = R"({"schemaVersion":2,"manifests":[)" + Desc(media::kOciManifest, kChild1, 1) + "]}";
  auto m = parse_manifest(body, media::kOciIndex);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media::kOciIndex);
  EXPECT_TRUE(m->is_index());
}

TEST(ParseManifest, InfersTheOciTypeWhenNeitherBodyNorContentTypeNamesOne) {
  std::string image = R"({"schemaVersion":2,"config":)" + Desc(media::kOciConfig, kConfig, 1) +
                      R"(,"layers":[]})";
  auto m = parse_manifest(image, "");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, media::kOciManifest);

  std::string index = R"({"schemaVersion":2,"manifests":[]})";
  auto i = parse_manifest(index, "application/octet-stream");
  ASSERT_TRUE(i) << i.error().message;
  EXPECT_EQ(i->media_type, media::kOciIndex);
}

// --- rejected documents -------------------------------------------------------

TEST(ParseManifest, RejectsInvalidJson) {
  ExpectInvalid("");
  ExpectInvalid("{");
  ExpectInvalid("not json");
  ExpectInvalid(OciManifest() + "garbage");
}

TEST(ParseManifest, RejectsANonObjectDocument) {
  ExpectInvalid("[]");
  ExpectInvalid("2");
  ExpectInvalid("null");
}

TEST(ParseManifest, RejectsSchemaVersionOtherThanTwo) {
  std::string body = OciManifest();
  std::string v1 = body;
  v1.replace(v1.find("\"schemaVersion\":2"), 17, "\"schemaVersion\":1");
  ExpectInvalid(v1);
  std::string v3 = body;
  v3.replace(v3.find("\"schemaVersion\":2"), 17, "\"schemaVersion\":3");
  ExpectInvalid(v3);
  std::string as_string = body;
  as_string.replace(as_string.find("\"schemaVersion\":2"), 17, "\"schemaVersion\":\"2\"");
  ExpectInvalid(as_string);
}

TEST(ParseManifest, RejectsAMissingSchemaVersion) {
  std::string body = OciManifest();
  body.replace(body.find("\"schemaVersion\":2,"), 18, "");
  ASSERT_EQ(body.find("schemaVersion"), std::string::npos);
  ExpectInvalid(body);
}

TEST(ParseManifest, RejectsDockerSchema1) {
  std::string v1 = R"({"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]})";
  ExpectInvalid(v1, media::kDockerSchema1Signed);
  ExpectInvalid(v1, media::kDockerSchema1);
  // Even when the body claims schema 2, the schema1 Content-Type is refused.
  std::string v2 = R"({"schemaVersion":2,"config":)" + Desc(media::kOciConfig, kConfig, 1) +
                   R"(,"layers":[]})";
  ExpectInvalid(v2, media::kDockerSchema1Signed);
}

TEST(ParseManifest, RejectsAMediaTypeThatContradictsContentType) {
  ExpectInvalid(OciManifest(), media::kOciIndex);
  ExpectInvalid(OciManifest(), media::kDockerManifest);
  ExpectInvalid(OciIndex(), media::kOciManifest);
}

TEST(ParseManifest, RejectsAnUnknownMediaType) {
  std::string body = OciManifest();
  body.replace(body.find(media::kOciManifest), media::kOciManifest.size(),
               "application/vnd.example.unknown+json");
  ExpectInvalid(body);
  ExpectInvalid(body, "application/vnd.example.unknown+json");
}

TEST(ParseManifest, RejectsAnImageManifestWithoutConfig) {
  std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                     R"(","layers":[]})";
  ExpectInvalid(body);
}

TEST(ParseManifest, RejectsAnImageManifestWithoutLayers) {
  std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                     R"(","config":)" + Desc(media::kOciConfig, kConfig, 1) + "}";
  ExpectInvalid(body);
}

TEST(ParseManifest, RejectsLayersThatAreNotAnArray) {
  std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                     R"(","config":)" + Desc(media::kOciConfig, kConfig, 1) +
                     R"(,"layers":{}})";
  ExpectInvalid(body);
}

TEST(ParseManifest, RejectsADescriptorWithABadDigest) {
  for (const char* digest : {"sha256:abc", "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                             "md5:d41d8cd98f00b204e9800998ecf8427e", ""}) {
    std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                       R"(","config":)" + Desc(media::kOciConfig, digest, 1) + R"(,"layers":[]})";
    ExpectInvalid(body);
  }
  std::string in_layer = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                         R"(","config":)" + Desc(media::kOciConfig, kConfig, 1) + R"(,"layers":[)" +
                         Desc("application/octet-stream", "sha256:xyz", 1) + "]}";
  ExpectInvalid(in_layer);
}

TEST(ParseManifest, RejectsADescriptorWithABadSize) {
  auto with_size = [](std::string_view size) {
    return R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
           R"(","config":{"mediaType":")" + std::string(media::kOciConfig) + R"(","digest":")" +
           kConfig + R"(","size":)" + std::string(size) + R"(},"layers":[]})";
  };
  // Sanity check: the helper builds an acceptable manifest with a good size.
  ASSERT_TRUE(parse_manifest(with_size("1"), ""));
  ExpectInvalid(with_size("-1"));
  ExpectInvalid(with_size("1.5"));
  ExpectInvalid(with_size("\"1\""));
  ExpectInvalid(with_size("null"));
  ExpectInvalid(with_size("18446744073709551615"));
}

TEST(ParseManifest, RejectsADescriptorWithoutMediaTypeOrDigestOrSize) {
  std::string prefix = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                       R"(","layers":[],"config":)";
  ExpectInvalid(prefix + R"({"digest":")" + kConfig + R"(","size":1}})");
  ExpectInvalid(prefix + R"({"mediaType":"a/b","size":1}})");
  ExpectInvalid(prefix + R"({"mediaType":"a/b","digest":")" + kConfig + R"("}})");
  ExpectInvalid(prefix + R"("not an object"})");
}

TEST(ParseManifest, RejectsAnIndexContainingLayersOrConfig) {
  ExpectInvalid(OciIndex(media::kOciIndex,
                         R"("layers":[)" + Desc("application/octet-stream", kLayer1, 1) + "]"));
  ExpectInvalid(OciIndex(media::kOciIndex, R"("config":)" + Desc(media::kOciConfig, kConfig, 1)));
}

TEST(ParseManifest, RejectsAnImageManifestContainingManifests) {
  ExpectInvalid(OciManifest(R"("manifests":[])"));
}

TEST(ParseManifest, RejectsAnIndexWithoutManifests) {
  std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciIndex) + R"("})";
  ExpectInvalid(body);
}

TEST(ParseManifest, RejectsDockerManifestsWithoutABodyMediaType) {
  std::string body = R"({"schemaVersion":2,"config":)" + Desc(media::kOciConfig, kConfig, 1) +
                     R"(,"layers":[]})";
  ExpectInvalid(body, media::kDockerManifest);
}

TEST(ParseManifest, RejectsNonStringAnnotationValues) {
  ExpectInvalid(OciManifest(R"("annotations":{"a":1})"));
  ExpectInvalid(OciManifest(R"("annotations":[])"));
}

TEST(ParseManifest, RejectsAManifestOver4MiBAsPayloadTooLarge) {
  // Valid JSON padded with an annotation so that only the size is wrong.
  std::string pad(kMaxManifestBytes, 'x');
  std::string body = OciManifest(R"("annotations":{"pad":")" + pad + R"("})");
  ASSERT_GT(body.size(), kMaxManifestBytes);
  auto e = ParseError(body, media::kOciManifest);
  EXPECT_EQ(e.code, Errc::payload_too_large);
  EXPECT_EQ(kMaxManifestBytes, 4u * 1024 * 1024);
}

TEST(ParseManifest, AcceptsAManifestOfExactly4MiB) {
  std::string body = OciManifest(R"("annotations":{"pad":"@"})");
  auto at = body.find('@');
  ASSERT_LT(body.size(), kMaxManifestBytes);
  const std::size_t pad = kMaxManifestBytes - (body.size() - 1);
  body.replace(at, 1, pad, 'x');
  ASSERT_EQ(body.size(), kMaxManifestBytes);
  auto m = parse_manifest(body, media::kOciManifest);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->annotations.at("pad").size(), pad);
}

TEST(ParseManifest, RejectsDeeplyNestedJsonWithoutCrashing) {
  std::string body = OciManifest(R"("annotations":{},"x":)" + std::string(10000, '[') +
                                 std::string(10000, ']'));
  ExpectInvalid(body);
}

// --- derived views ------------------------------------------------------------

TEST(RequiredBlobs, ListsConfigAndLayers) {
  auto m = parse_manifest(OciManifest(), "");
  ASSERT_TRUE(m);
  auto blobs = m->required_blobs();
  std::vector<std::string> got;
  for (const auto& d : blobs) got.push_back(d.str());
  EXPECT_EQ(got, (std::vector<std::string>{kConfig, kLayer1, kLayer2}));
}

TEST(RequiredBlobs, SkipsForeignLayersWithUrls) {
  std::string body =
      R"({"schemaVersion":2,"mediaType":")" + std::string(media::kDockerManifest) +
      R"(","config":)" + Desc("application/vnd.docker.container.image.v1+json", kConfig, 7) +
      R"(,"layers":[)" +
      Desc(media::kDockerForeignLayer, kLayer1, 9, R"("urls":["https://example.com/layer"])") +
      "," + Desc("application/vnd.docker.image.rootfs.diff.tar.gzip", kLayer2, 9) + "]}";
  auto m = parse_manifest(body, media::kDockerManifest);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].urls, std::vector<std::string>{"https://example.com/layer"});
  auto blobs = m->required_blobs();
  std::vector<std::string> got;
  for (const auto& d : blobs) got.push_back(d.str());
  EXPECT_EQ(got, (std::vector<std::string>{kConfig, kLayer2}));
}

TEST(RequiredBlobs, SkipsNonDistributableOciLayersWithUrls) {
  std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                     R"(","config":)" + Desc(media::kOciConfig, kConfig, 1) + R"(,"layers":[)" +
                     Desc("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", kLayer1,
                          9, R"("urls":["https://example.com/l"])") +
                     "]}";
  auto m = parse_manifest(body, "");
  ASSERT_TRUE(m) << m.error().message;
  auto blobs = m->required_blobs();
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_EQ(blobs[0].str(), kConfig);
}

TEST(ReferrerArtifactType, FallsBackToConfigMediaType) {
  std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                     R"(","config":)" + Desc("application/vnd.example.signature.config", kConfig, 1) +
                     R"(,"layers":[],"subject":)" + Desc(media::kOciManifest, kSubject, 5) + "}";
  auto m = parse_manifest(body, "");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->artifact_type.empty());
  EXPECT_EQ(m->referrer_artifact_type(), "application/vnd.example.signature.config");
}

TEST(ReferrerArtifactType, IsEmptyForAnIndexWithoutArtifactType) {
  auto m = parse_manifest(OciIndex(), "");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->referrer_artifact_type(), "");
  auto typed = parse_manifest(OciIndex(media::kOciIndex, R"("artifactType":"application/x")"), "");
  ASSERT_TRUE(typed) << typed.error().message;
  EXPECT_EQ(typed->referrer_artifact_type(), "application/x");
}

TEST(DescriptorJson, SerialisesTheDescriptorFields) {
  Descriptor d{"application/vnd.oci.image.manifest.v1+json",
               Digest::of(HashAlgorithm::sha256, "x"),
               321,
               "application/vnd.example",
               {{"k", "v"}},
               {},
               std::nullopt};
  auto v = boost::json::parse(descriptor_json(d));
  ASSERT_TRUE(v.is_object());
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("mediaType").as_string(), "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(o.at("digest").as_string(), d.digest.str());
  EXPECT_EQ(o.at("size").to_number<int64_t>(), 321);
  EXPECT_EQ(o.at("artifactType").as_string(), "application/vnd.example");
  EXPECT_EQ(o.at("annotations").at("k").as_string(), "v");
}

TEST(DescriptorJson, OmitsEmptyOptionalFields) {
  Descriptor d{"a/b", Digest::of(HashAlgorithm::sha256, "x"), 1, {}, {}, {}, std::nullopt};
  auto v = boost::json::parse(descriptor_json(d));
  EXPECT_FALSE(v.as_object().contains("artifactType"));
  EXPECT_FALSE(v.as_object().contains("annotations"));
}

}  // namespace
}  // namespace portcullis::oci
