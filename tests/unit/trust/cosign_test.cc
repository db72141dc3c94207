#include "trust/cosign.h"

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "oci/manifest.h"
#include "test_support.h"
#include "trust/encoding.h"

namespace portcullis::trust {
namespace {

namespace json = boost::json;
using testing::fixture;
using testing::kFixtureImage;

constexpr std::string_view kOtherImage =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

oci::Digest digest(std::string_view text) { return oci::Digest::parse(text).value(); }
oci::Digest sha256_of(std::string_view bytes) {
  return oci::Digest::of(crypto::HashAlgorithm::sha256, bytes);
}

std::string message_of(const Result<Payload>& r) { return r ? "accepted" : r.error().message; }

TrustedKey trusted(std::string id, std::string_view pem) {
  return TrustedKey{std::move(id), PublicKey::from_pem(pem).value()};
}

// An in-memory blob store for payloads.
struct Blobs {
  std::map<std::string, std::string> by_digest;
  int fetches = 0;

  oci::Digest put(std::string bytes) {
    auto d = sha256_of(bytes);
    by_digest[d.str()] = std::move(bytes);
    return d;
  }
  std::function<Result<std::string>(const oci::Digest&)> fetcher() {
    return [this](const oci::Digest& d) -> Result<std::string> {
      ++fetches;
      auto it = by_digest.find(d.str());
      if (it == by_digest.end()) return make_error(Errc::blob_unknown, "blob unknown to registry");
      return it->second;
    };
  }
};

// A layer signing `payload` (stored in blobs) with `key`.
SignatureLayer signed_layer(Blobs& blobs, const PrivateKey& key, const std::string& payload) {
  auto d = blobs.put(payload);
  return SignatureLayer{d, static_cast<int64_t>(payload.size()), key.sign(payload).value(), {}};
}

// ---------------------------------------------------------------- payloads

TEST(SignatureTag, IsTheDigestWithADashAndSig) {
  EXPECT_EQ(signature_tag(digest(kFixtureImage)),
            "sha256-4b91194b8a90dec8822b2560b84cab78281973f03e862f58980db5b042093567.sig");
}

TEST(Payload, MakePayloadWritesCosignsBytes) {
  EXPECT_EQ(make_payload("127.0.0.1:5731/team-a/app", kFixtureImage),
            fixture("cosign.payload.json"));
}

TEST(Payload, OptionalEntriesAreSortedAndRoundTrip) {
  std::string p = make_payload("reg.example/team-a/app:v1", kFixtureImage,
                               {{"zeta", "last"}, {"creator", "portcullis <test>"}});
  EXPECT_NE(p.find(R"("optional":{"creator":"portcullis \u003ctest\u003e","zeta":"last"}})"),
            std::string::npos)
      << p;
  auto parsed = parse_payload(p);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->docker_reference, "reg.example/team-a/app:v1");
  EXPECT_EQ(parsed->manifest_digest, kFixtureImage);
  EXPECT_EQ(parsed->optional.at("creator"), "portcullis <test>");
  EXPECT_EQ(parsed->optional.at("zeta"), "last");
}

TEST(Payload, ParsesCosignAndSkopeoPayloads) {
  auto cosign = parse_payload(fixture("cosign.payload.json"));
  ASSERT_TRUE(cosign) << cosign.error().message;
  EXPECT_EQ(cosign->docker_reference, "127.0.0.1:5731/team-a/app");
  EXPECT_EQ(cosign->manifest_digest, kFixtureImage);
  EXPECT_TRUE(cosign->optional.empty());

  auto skopeo = parse_payload(fixture("skopeo.payload.json"));
  ASSERT_TRUE(skopeo) << skopeo.error().message;
  EXPECT_EQ(skopeo->docker_reference, "127.0.0.1:5731/team-a/skopeo-app:v1");
  EXPECT_EQ(skopeo->optional.at("creator"), "containers/image 5.34.2");
  EXPECT_FALSE(skopeo->optional.contains("timestamp"));  // a number: dropped
}

TEST(Payload, ParseIsStrict) {
  const std::string ok = make_payload("reg/app", kFixtureImage);
  ASSERT_TRUE(parse_payload(ok));
  auto edited = [&](auto edit) {
    json::object o = json::parse(ok).as_object();
    edit(o);
    return message_of(parse_payload(json::serialize(o)));
  };
  auto critical = [](json::object& o) -> json::object& { return o["critical"].as_object(); };

  EXPECT_EQ(message_of(parse_payload("")), "payload: not valid JSON (incomplete JSON)");
  EXPECT_EQ(message_of(parse_payload("{\"critical\" 1}")),
            "payload: not valid JSON (syntax error)");
  EXPECT_EQ(message_of(parse_payload("[]")), "payload: not a JSON object");
  EXPECT_EQ(message_of(parse_payload(ok.substr(0, ok.size() - 1))).substr(0, 23),
            "payload: not valid JSON");
  EXPECT_EQ(message_of(parse_payload(std::string(kMaxPayloadBytes + 1, ' '))),
            "payload: 65537 bytes, over the 65536 byte limit");
  EXPECT_EQ(edited([](json::object& o) { o.erase("critical"); }),
            "payload: critical must be an object");
  EXPECT_EQ(edited([](json::object& o) { o["extra"] = 1; }), "payload: unexpected field \"extra\"");
  EXPECT_EQ(edited([&](json::object& o) { critical(o)["type"] = "atomic container signature"; }),
            "payload: critical.type is not \"cosign container image signature\"");
  EXPECT_EQ(edited([&](json::object& o) { critical(o)["extra"] = "x"; }),
            "payload: critical must have exactly identity, image and type");
  EXPECT_EQ(edited([&](json::object& o) { critical(o).erase("identity"); }),
            "payload: critical must have exactly identity, image and type");
  EXPECT_EQ(edited([&](json::object& o) { critical(o)["identity"] = "reg/app"; }),
            "payload: critical.identity must be {\"docker-reference\": string}");
  EXPECT_EQ(
      edited([&](json::object& o) { critical(o)["identity"].as_object()["docker-reference"] = 7; }),
      "payload: critical.identity must be {\"docker-reference\": string}");
  EXPECT_EQ(edited([&](json::object& o) {
              json::object image;
              image["Docker-manifest-digest"] = kFixtureImage;
              critical(o)["image"] = image;
            }),
            "payload: critical.image must be {\"docker-manifest-digest\": string}");
  EXPECT_EQ(edited([&](json::object& o) {
              critical(o)["image"].as_object()["docker-manifest-digest"] = "sha256:abc";
            }),
            "payload: docker-manifest-digest \"sha256:abc\" is not a valid digest");
  EXPECT_EQ(edited([&](json::object& o) {
              critical(o)["identity"].as_object()["docker-reference"] = "";
            }),
            "payload: docker-reference is empty or too long");
  EXPECT_EQ(edited([&](json::object& o) {
              critical(o)["identity"].as_object()["docker-reference"] = "reg/app\nx";
            }),
            "payload: docker-reference contains whitespace or control characters");
  EXPECT_EQ(edited([](json::object& o) { o["optional"] = "x"; }),
            "payload: optional must be an object or null");
  EXPECT_EQ(edited([](json::object& o) { o.erase("optional"); }), "accepted");
}

TEST(ReferenceRepository, StripsRegistryTagAndDigest) {
  EXPECT_EQ(reference_repository("reg.example:5000/team-a/app:v1"), "team-a/app");
  EXPECT_EQ(reference_repository("127.0.0.1:5731/team-a/app"), "team-a/app");
  EXPECT_EQ(reference_repository("reg.example/team-a/app@sha256:" + std::string(64, 'a')),
            "team-a/app");
  EXPECT_EQ(reference_repository("reg.example/team-a/app:v1@sha256:" + std::string(64, 'a')),
            "team-a/app");
  EXPECT_EQ(reference_repository("localhost/app:latest"), "app");
  EXPECT_EQ(reference_repository("localhost:5000/a/b/c"), "a/b/c");
  EXPECT_EQ(reference_repository("[::1]:5000/team-a/app:v2"), "team-a/app");
  // No host part: the first component is a namespace, not a registry.
  EXPECT_EQ(reference_repository("team-a/app:v1"), "team-a/app");
  EXPECT_EQ(reference_repository("app"), "app");
  EXPECT_EQ(reference_repository("app:v1"), "app");
  // Docker Hub short names are not expanded.
  EXPECT_EQ(reference_repository("docker.io/library/busybox"), "library/busybox");
  EXPECT_EQ(reference_repository("busybox"), "busybox");
}

// ---------------------------------------------------------------- manifests

TEST(SignatureManifest, ParsesCosignsManifest) {
  auto parsed = parse_signature_manifest(fixture("cosign-2sigs.manifest.json"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->layers.size(), 2u);
  EXPECT_EQ(parsed->skipped, 0u);
  EXPECT_EQ(parsed->layers[0].payload_digest, sha256_of(fixture("cosign.payload.json")));
  EXPECT_EQ(parsed->layers[0].payload_size, 241);
  EXPECT_EQ(static_cast<unsigned char>(parsed->layers[0].signature[0]), 0x30);
  EXPECT_TRUE(parsed->layers[0].annotations.contains(std::string(kSignatureAnnotation)));
}

TEST(SignatureManifest, SkipsGarbageLayers) {
  json::object m = json::parse(fixture("cosign-1sig.manifest.json")).as_object();
  json::array& layers = m["layers"].as_array();
  json::object good = layers[0].as_object();
  auto variant = [&](auto edit) {
    json::object l = good;
    edit(l);
    layers.push_back(l);
  };
  variant([](json::object& l) { l["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"; });
  variant([](json::object& l) { l.erase("annotations"); });
  variant(
      [](json::object& l) { l["annotations"].as_object()[kSignatureAnnotation] = "not base64!"; });
  variant([](json::object& l) { l["annotations"].as_object()[kSignatureAnnotation] = ""; });
  variant([](json::object& l) {
    l["annotations"].as_object()[kSignatureAnnotation] =
        detail::base64_encode(std::string(600, 'x'));
  });
  variant([](json::object& l) {
    json::object a;
    a["dev.sigstore.cosign/bundle"] = "{}";
    l["annotations"] = a;
  });
  auto parsed = parse_signature_manifest(json::serialize(m));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->layers.size(), 1u);
  EXPECT_EQ(parsed->skipped, 6u);
}

TEST(SignatureManifest, AcceptsADockerManifestAndRejectsIndexesAndGarbage) {
  json::object m = json::parse(fixture("cosign-1sig.manifest.json")).as_object();
  m["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json";
  m["config"].as_object()["mediaType"] = "application/vnd.docker.container.image.v1+json";
  auto docker = parse_signature_manifest(json::serialize(m));
  ASSERT_TRUE(docker) << docker.error().message;
  EXPECT_EQ(docker->layers.size(), 1u);

  auto index = parse_signature_manifest(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})");
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, Errc::manifest_invalid);
  auto garbage = parse_signature_manifest("{not json");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, Errc::manifest_invalid);
}

TEST(SignatureManifest, BuildReproducesCosignsManifestAndConfigByteForByte) {
  for (std::string name : {"cosign-1sig", "cosign-2sigs"}) {
    auto parsed = parse_signature_manifest(fixture(name + ".manifest.json"));
    ASSERT_TRUE(parsed);
    SignatureManifest built = build_signature_manifest(parsed->layers);
    EXPECT_EQ(built.bytes, fixture(name + ".manifest.json")) << name;
    EXPECT_EQ(built.config, fixture(name + ".config.json")) << name;
  }
}

TEST(SignatureManifest, BuiltManifestIsValidWithASubjectAndParsesBack) {
  PrivateKey key = PrivateKey::generate();
  Blobs blobs;
  SignatureLayer layer =
      signed_layer(blobs, key, make_payload("reg.example/team-a/app", kFixtureImage));
  layer.annotations["dev.sigstore.cosign/bundle"] = "{\"x\":1}";
  SignatureLayer layers[] = {layer};
  SignatureManifest built = build_signature_manifest(layers, kFixtureImage, 349);

  auto m = oci::parse_manifest(built.bytes, "application/vnd.oci.image.manifest.v1+json");
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(m->config);
  EXPECT_EQ(m->config->media_type, "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(m->config->digest, sha256_of(built.config));
  EXPECT_EQ(m->config->size, static_cast<int64_t>(built.config.size()));
  ASSERT_TRUE(m->subject);
  EXPECT_EQ(m->subject->digest.str(), kFixtureImage);
  EXPECT_EQ(m->subject->size, 349);
  EXPECT_EQ(m->subject->media_type, "application/vnd.oci.image.manifest.v1+json");
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].media_type, kSimpleSigningMediaType);
  EXPECT_EQ(m->layers[0].annotations.at("dev.sigstore.cosign/bundle"), "{\"x\":1}");
  EXPECT_EQ(m->required_blobs().size(), 2u);
  EXPECT_TRUE(json::parse(built.config).is_object());

  auto back = parse_signature_manifest(built.bytes);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->layers.size(), 1u);
  EXPECT_EQ(back->layers[0].signature, layer.signature);
  EXPECT_EQ(back->layers[0].payload_digest, layer.payload_digest);

  SignatureManifest index_subject = build_signature_manifest(
      layers, kFixtureImage, 500, "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(oci::parse_manifest(index_subject.bytes, {})->subject->media_type,
            "application/vnd.oci.image.index.v1+json");
}

// ---------------------------------------------------------------- verification

class VerifyFixtures : public ::testing::Test {
 protected:
  void SetUp() override {
    blobs.put(fixture("cosign.payload.json"));
    blobs.put(fixture("skopeo.payload.json"));
  }
  std::vector<SignatureLayer> layers(std::string_view manifest) {
    return parse_signature_manifest(fixture(manifest)).value().layers;
  }
  Blobs blobs;
  TrustedKey cosign = trusted("cosign", fixture("cosign.pub"));
  TrustedKey skopeo = trusted("skopeo", fixture("skopeo.pub"));
};

TEST_F(VerifyFixtures, CosignSignaturesByTwoKeysCountTwice) {
  TrustedKey keys[] = {cosign, skopeo};
  auto r = verify_signatures(layers("cosign-2sigs.manifest.json"), blobs.fetcher(), keys,
                             kFixtureImage, "team-a/app");
  EXPECT_TRUE(r.problems.empty()) << r.problems[0];
  ASSERT_EQ(r.distinct_keys(), 2u);
  EXPECT_EQ(r.valid[0].key_id, "cosign");
  EXPECT_EQ(r.valid[1].key_id, "skopeo");
  EXPECT_EQ(r.valid[0].payload.docker_reference, "127.0.0.1:5731/team-a/app");
}

TEST_F(VerifyFixtures, ManifestStartedByPortcullisAndAppendedByCosignAndSkopeoCountsThreeKeys) {
  // Layer 0 from build_signature_manifest (key from `portcullis key generate`),
  // then `cosign sign` and `skopeo copy --sign-by-sigstore-private-key` appended theirs.
  constexpr std::string_view kImage =
      "sha256:2d3b301cc4195d4bf1c22daaf85990739046b357fc563da189b0192111e467db";
  for (int i = 0; i < 3; ++i) blobs.put(fixture(fmt::format("mixed-3sigs.payload-{}.json", i)));
  TrustedKey keys[] = {skopeo, cosign, trusted("portcullis", fixture("portcullis.pub"))};
  auto r = verify_signatures(layers("mixed-3sigs.manifest.json"), blobs.fetcher(), keys, kImage,
                             "team-a/ours");
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.distinct_keys(), 3u);
  EXPECT_EQ(r.valid[0].key_id, "portcullis");
  EXPECT_EQ(r.valid[1].key_id, "cosign");
  EXPECT_EQ(r.valid[2].key_id, "skopeo");
}

TEST_F(VerifyFixtures, SkopeoSignatureVerifies) {
  TrustedKey keys[] = {skopeo};
  auto r = verify_signatures(layers("skopeo.manifest.json"), blobs.fetcher(), keys, kFixtureImage,
                             "team-a/skopeo-app");
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.distinct_keys(), 1u);
  EXPECT_EQ(r.valid[0].payload.optional.at("creator"), "containers/image 5.34.2");
}

TEST_F(VerifyFixtures, UntrustedKeyDoesNotCount) {
  TrustedKey keys[] = {cosign};
  auto r = verify_signatures(layers("cosign-2sigs.manifest.json"), blobs.fetcher(), keys,
                             kFixtureImage, "team-a/app");
  EXPECT_EQ(r.distinct_keys(), 1u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "layer 1: signature does not verify with any trusted key");

  auto none = verify_signatures(layers("cosign-2sigs.manifest.json"), blobs.fetcher(), {},
                                kFixtureImage, "team-a/app");
  EXPECT_EQ(none.distinct_keys(), 0u);
  EXPECT_EQ(none.problems.size(), 2u);
}

TEST_F(VerifyFixtures, SignatureForAnotherImageIsRejected) {
  TrustedKey keys[] = {cosign, skopeo};
  auto r = verify_signatures(layers("cosign-1sig.manifest.json"), blobs.fetcher(), keys,
                             kOtherImage, "team-a/app");
  EXPECT_EQ(r.distinct_keys(), 0u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0],
            fmt::format("layer 0: payload names {} not {}", kFixtureImage, kOtherImage));
}

TEST_F(VerifyFixtures, SignatureForAnotherRepositoryIsRejected) {
  TrustedKey keys[] = {cosign};
  auto r = verify_signatures(layers("cosign-1sig.manifest.json"), blobs.fetcher(), keys,
                             kFixtureImage, "other/app");
  EXPECT_EQ(r.distinct_keys(), 0u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "layer 0: docker-reference names team-a/app, not other/app");
}

TEST_F(VerifyFixtures, TruncatedSignatureIsRejected) {
  auto ls = layers("cosign-1sig.manifest.json");
  ls[0].signature.resize(ls[0].signature.size() - 1);
  TrustedKey keys[] = {cosign};
  auto r = verify_signatures(ls, blobs.fetcher(), keys, kFixtureImage, "team-a/app");
  EXPECT_EQ(r.distinct_keys(), 0u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "layer 0: signature does not verify with any trusted key");
}

TEST_F(VerifyFixtures, TamperedPayloadBytesAreADigestMismatch) {
  auto ls = layers("cosign-1sig.manifest.json");
  std::string& stored = blobs.by_digest[ls[0].payload_digest.str()];
  stored[stored.find("team-a")] = 'T';
  TrustedKey keys[] = {cosign};
  auto r = verify_signatures(ls, blobs.fetcher(), keys, kFixtureImage, "team-a/app");
  EXPECT_EQ(r.distinct_keys(), 0u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "layer 0: payload digest mismatch");
}

TEST_F(VerifyFixtures, MissingPayloadIsAProblemNotAFailure) {
  Blobs empty;
  TrustedKey keys[] = {cosign};
  auto ls = layers("cosign-1sig.manifest.json");
  auto r = verify_signatures(ls, empty.fetcher(), keys, kFixtureImage, "team-a/app");
  EXPECT_EQ(r.distinct_keys(), 0u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0],
            fmt::format("layer 0: payload {} not available: blob unknown to registry",
                        ls[0].payload_digest.str()));
}

TEST(Verify, DistinctKeysAreCountedOnceEach) {
  std::vector<PrivateKey> signers = {PrivateKey::generate(), PrivateKey::generate(),
                                     PrivateKey::generate()};
  std::vector<TrustedKey> keys;
  for (std::size_t i = 0; i < signers.size(); ++i) {
    keys.push_back(TrustedKey{"key-" + std::to_string(i), signers[i].public_key()});
  }
  Blobs blobs;
  std::vector<SignatureLayer> layers;
  std::string payload = make_payload("reg.example/team-a/app", kFixtureImage);
  std::string tagged =
      make_payload("reg.example/team-a/app:v1", kFixtureImage, {{"stage", "prod"}});
  for (int round = 0; round < 2; ++round) {
    for (const auto& s : signers)
      layers.push_back(signed_layer(blobs, s, round == 0 ? payload : tagged));
  }
  auto r = verify_signatures(layers, blobs.fetcher(), keys, kFixtureImage, "team-a/app");
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.distinct_keys(), 3u);
  EXPECT_EQ(r.valid[0].key_id, "key-0");
  EXPECT_EQ(r.valid[1].key_id, "key-1");
  EXPECT_EQ(r.valid[2].key_id, "key-2");

  // The same key material trusted under two ids still counts once per layer.
  keys.push_back(TrustedKey{"key-0-again", signers[0].public_key()});
  EXPECT_EQ(
      verify_signatures(layers, blobs.fetcher(), keys, kFixtureImage, "team-a/app").distinct_keys(),
      3u);
}

TEST(Verify, SignedButMalformedPayloadIsNamed) {
  PrivateKey key = PrivateKey::generate();
  Blobs blobs;
  SignatureLayer layers[] = {signed_layer(blobs, key, R"({"critical":{}})")};
  TrustedKey keys[] = {{"k", key.public_key()}};
  auto r = verify_signatures(layers, blobs.fetcher(), keys, kFixtureImage, "team-a/app");
  EXPECT_EQ(r.distinct_keys(), 0u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(
      r.problems[0],
      "layer 0: signed by k but payload: critical must have exactly identity, image and type");
}

TEST(Verify, OversizedPayloadsAreNotFetched) {
  PrivateKey key = PrivateKey::generate();
  Blobs blobs;
  SignatureLayer layer = signed_layer(blobs, key, make_payload("reg/team-a/app", kFixtureImage));
  layer.payload_size = kMaxPayloadBytes + 1;
  SignatureLayer negative = layer;
  negative.payload_size = -1;
  SignatureLayer layers[] = {layer, negative};
  TrustedKey keys[] = {{"k", key.public_key()}};
  auto r = verify_signatures(layers, blobs.fetcher(), keys, kFixtureImage, "team-a/app");
  EXPECT_EQ(blobs.fetches, 0);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0], "layer 0: payload size 65537 is over the 65536 byte limit");
  EXPECT_EQ(r.problems[1], "layer 1: payload size -1 is over the 65536 byte limit");

  // A fetcher returning more than it should is bounded too.
  SignatureLayer small = signed_layer(blobs, key, make_payload("reg/team-a/app", kFixtureImage));
  SignatureLayer one[] = {small};
  auto huge = [](const oci::Digest&) -> Result<std::string> {
    return std::string(kMaxPayloadBytes + 1, '{');
  };
  auto r2 = verify_signatures(one, huge, keys, kFixtureImage, "team-a/app");
  ASSERT_EQ(r2.problems.size(), 1u);
  EXPECT_EQ(r2.problems[0], "layer 0: payload is 65537 bytes, over the 65536 byte limit");
}

TEST(Verify, ExaminesAtMostTheLayerLimit) {
  PrivateKey key = PrivateKey::generate();
  Blobs blobs;
  std::vector<SignatureLayer> layers(
      kMaxSignatureLayers + 5,
      signed_layer(blobs, key, make_payload("reg/team-a/app", kOtherImage)));
  TrustedKey keys[] = {{"k", key.public_key()}};
  auto r = verify_signatures(layers, blobs.fetcher(), keys, kFixtureImage, "team-a/app");
  EXPECT_EQ(blobs.fetches, static_cast<int>(kMaxSignatureLayers));
  EXPECT_EQ(r.distinct_keys(), 0u);
  EXPECT_EQ(r.problems.size(), kMaxSignatureLayers + 1);
  EXPECT_EQ(r.problems[0], "layers 128 to 132 not examined (at most 128 per signature manifest)");
}

}  // namespace
}  // namespace portcullis::trust
