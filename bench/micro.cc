// Micro benchmarks of the per-request hot path: routing, name and digest
// grammar, the manifest cache, manifest parsing and blob hashing.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "api/manifest_cache.h"
#include "api/routes.h"
#include "crypto/hash.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/names.h"

namespace {

using namespace portcullis;
using crypto::HashAlgorithm;

const std::string kDigest = oci::Digest::of(HashAlgorithm::sha256, "layer").str();

std::string descriptor(std::string_view media_type, std::string_view content, int64_t size) {
  return std::string(R"({"mediaType":")") + std::string(media_type) + R"(","digest":")" +
         oci::Digest::of(HashAlgorithm::sha256, content).str() + R"(","size":)" +
         std::to_string(size) + "}";
}

// A typical image manifest: config, five gzip layers, a couple of annotations (~1.2 KB).
std::string typical_manifest() {
  std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                  descriptor("application/vnd.oci.image.config.v1+json", "config", 1469) + R"(,"layers":[)";
  for (int i = 0; i < 5; ++i) {
    if (i) m += ",";
    m += descriptor("application/vnd.oci.image.layer.v1.tar+gzip", "layer" + std::to_string(i),
                    1000000 + i * 31337);
  }
  m += R"(],"annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z",)"
       R"("org.opencontainers.image.source":"https://example.com/team/app"}})";
  return m;
}

void BM_MatchRoute_ManifestByTag(benchmark::State& state) {
  const std::string path = "/v2/team/project/app/manifests/v1.2.3";
  for (auto _ : state) {
    auto r = api::match_route(path);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MatchRoute_ManifestByTag);

void BM_MatchRoute_ManifestByDigest(benchmark::State& state) {
  const std::string path = "/v2/library/ubuntu/manifests/" + kDigest;
  for (auto _ : state) {
    auto r = api::match_route(path);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MatchRoute_ManifestByDigest);

void BM_MatchRoute_Blob(benchmark::State& state) {
  const std::string path = "/v2/library/ubuntu/blobs/" + kDigest;
  for (auto _ : state) {
    auto r = api::match_route(path);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MatchRoute_Blob);

void BM_DigestParse_Sha256(benchmark::State& state) {
  for (auto _ : state) {
    auto d = oci::Digest::parse(kDigest);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DigestParse_Sha256);

void BM_DigestParse_Invalid(benchmark::State& state) {
  const std::string bad = "sha256:" + std::string(64, 'G');
  for (auto _ : state) {
    auto d = oci::Digest::parse(bad);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DigestParse_Invalid);

void BM_ValidRepositoryName_Short(benchmark::State& state) {
  const std::string name = "library/ubuntu";
  for (auto _ : state) benchmark::DoNotOptimize(oci::valid_repository_name(name));
}
BENCHMARK(BM_ValidRepositoryName_Short);

void BM_ValidRepositoryName_Long(benchmark::State& state) {
  const std::string name = "my-team/platform_services/build.tools/ci--runner/images/base";
  for (auto _ : state) benchmark::DoNotOptimize(oci::valid_repository_name(name));
}
BENCHMARK(BM_ValidRepositoryName_Long);

// Hit in a cache holding 1000 repositories x 8 tags; Threads(2) shows the
// shared-lock cost when both cores read at once.
void BM_ManifestCacheGet_Hit(benchmark::State& state) {
  static api::ManifestCache* cache = [] {
    auto* c = new api::ManifestCache();
    const std::string bytes = typical_manifest();
    for (int r = 0; r < 1000; ++r) {
      std::string repo = "team/repo" + std::to_string(r);
      for (int t = 0; t < 8; ++t) {
        auto m = std::make_shared<api::CachedManifest>();
        m->digest = oci::Digest::of(HashAlgorithm::sha256, repo + std::to_string(t)).str();
        m->media_type = "application/vnd.oci.image.manifest.v1+json";
        m->bytes = std::make_shared<const std::string>(bytes);
        m->headers = std::make_shared<const std::string>(
            "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: " +
            m->digest + "\r\n");
        c->put(repo, "v" + std::to_string(t), std::move(m), c->generation(repo));
      }
    }
    return c;
  }();
  const std::string repo = "team/repo" + std::to_string(state.thread_index() * 7 + 500);
  for (auto _ : state) {
    auto m = cache->get(repo, "v3");
    if (!m) state.SkipWithError("cache miss");
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_ManifestCacheGet_Hit)->Threads(1)->Threads(2)->UseRealTime();

void BM_ParseManifest_Image(benchmark::State& state) {
  const std::string bytes = typical_manifest();
  for (auto _ : state) {
    auto m = oci::parse_manifest(bytes, "application/vnd.oci.image.manifest.v1+json");
    if (!m) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(m);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_ParseManifest_Image);

void BM_Sha256_1MiB(benchmark::State& state) {
  std::vector<char> data(1 << 20);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 2654435761u >> 24);
  for (auto _ : state) {
    crypto::Hasher h(HashAlgorithm::sha256);
    h.update(data.data(), data.size());
    auto hex = h.finish_hex();
    benchmark::DoNotOptimize(hex);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_Sha256_1MiB);

}  // namespace

BENCHMARK_MAIN();
