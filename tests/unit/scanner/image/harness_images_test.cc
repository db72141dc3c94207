// The real test images built by tests/harness/build-test-images.sh, when this
// machine has them (an OCI image layout); skipped otherwise.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "scanner/image/image_scan.h"
#include "scanner/oci_layout.h"

namespace portcullis::scanner::image {
namespace {

namespace fs = std::filesystem;

const fs::path kLayout = "/var/tmp/registry-harness-cache/oci";

class HarnessImagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kLayout / "index.json")) {
      GTEST_SKIP() << kLayout << " absent (tests/harness/build-test-images.sh builds it)";
    }
  }
  Inventory scan(std::string_view ref, std::vector<Layer>* layers_out = nullptr,
                 std::string_view platform = "linux/amd64") {
    auto image = read_oci_layout(kLayout, std::string(ref), std::string(platform));
    EXPECT_TRUE(image) << image.error().message;
    if (!image) return {};
    if (layers_out) *layers_out = image->layers;
    auto start = std::chrono::steady_clock::now();
    auto inv = scan_layers(image->layers);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    EXPECT_TRUE(inv) << inv.error().message;
    if (!inv) return {};
    std::map<std::string, int> by_type;
    for (const Package& p : inv->packages) ++by_type[p.type];
    std::string summary;
    for (const auto& [type, n] : by_type) summary += " " + type + "=" + std::to_string(n);
    std::printf("[ scan     ] %s: %zu packages (%s ) in %lld ms, distro %s %s\n",
                std::string(ref).c_str(), inv->packages.size(), summary.c_str(),
                static_cast<long long>(ms.count()), inv->distro ? inv->distro->id.c_str() : "-",
                inv->distro ? inv->distro->version_id.c_str() : "-");
    for (const std::string& w : inv->warnings) std::printf("[ warning  ] %s\n", w.c_str());
    return *inv;
  }
};

std::size_t count(const Inventory& inv, std::string_view type) {
  return static_cast<std::size_t>(std::count_if(inv.packages.begin(), inv.packages.end(),
                                                [&](const Package& p) { return p.type == type; }));
}

const Package* find(const Inventory& inv, std::string_view type, std::string_view name) {
  for (const Package& p : inv.packages) {
    if (p.type == type && p.name == name) return &p;
  }
  return nullptr;
}

TEST_F(HarnessImagesTest, DebianBaseYieldsItsDpkgPackagesAndDistro) {
  std::vector<Layer> layers;
  Inventory inv = scan("debian-base", &layers);
  ASSERT_EQ(layers.size(), 1u);
  ASSERT_TRUE(inv.distro);
  EXPECT_EQ(inv.distro->id, "debian");
  EXPECT_EQ(inv.distro->version_id, "12");
  EXPECT_EQ(inv.distro->version_codename, "bookworm");
  // mmdebstrap minbase: 88 installed packages (the count the harness documents).
  EXPECT_GE(count(inv, "deb"), 85u);
  EXPECT_LE(count(inv, "deb"), 100u);
  EXPECT_EQ(count(inv, "deb"), inv.packages.size());
  std::size_t with_source = 0;
  for (const Package& p : inv.packages) {
    EXPECT_EQ(p.layer_digest, layers[0].digest);
    EXPECT_EQ(p.path, "var/lib/dpkg/status");
    if (!p.source_name.empty()) ++with_source;
  }
  EXPECT_GT(with_source, 30u);
  const Package* libc = find(inv, "deb", "libc6");
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(libc->source_name, "glibc");
  EXPECT_TRUE(libc->version.starts_with("2.36-")) << libc->version;
}

TEST_F(HarnessImagesTest, DebianNpmYieldsItsOldNpmPackagesFromTheNpmLayer) {
  std::vector<Layer> layers;
  Inventory inv = scan("debian-npm", &layers);
  ASSERT_EQ(layers.size(), 2u);
  std::map<std::string, std::string> npm;
  for (const Package& p : inv.packages) {
    if (p.type != "npm") continue;
    EXPECT_EQ(p.layer_digest, layers[1].digest) << p.name;
    EXPECT_TRUE(npm.emplace(p.name, p.version).second) << "duplicate " << p.name;
  }
  EXPECT_EQ(npm, (std::map<std::string, std::string>{{"ansi-regex", "5.0.0"},
                                                     {"lodash", "4.17.15"},
                                                     {"minimist", "1.2.0"},
                                                     {"node-fetch", "2.6.0"}}));
  EXPECT_EQ(find(inv, "npm", "lodash")->path, "app/node_modules/lodash/package.json");
  EXPECT_GE(count(inv, "deb"), 85u);
  ASSERT_TRUE(inv.distro);
  EXPECT_EQ(inv.distro->id, "debian");
}

TEST_F(HarnessImagesTest, DebianExtraAddsCurlAndOpensslInItsSecondLayer) {
  std::vector<Layer> layers;
  Inventory inv = scan("debian-extra", &layers);
  ASSERT_EQ(layers.size(), 2u);
  // The second layer rewrites var/lib/dpkg/status: its copy, complete, wins.
  for (const std::string name : {"curl", "openssl", "libexpat1", "libc6"}) {
    const Package* p = find(inv, "deb", name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(p->layer_digest, layers[1].digest) << name;
  }
  EXPECT_GT(count(inv, "deb"), 100u);
}

TEST_F(HarnessImagesTest, BusyboxImagesOfBothArchitectures) {
  for (std::string_view platform : {"linux/amd64", "linux/arm64"}) {
    Inventory inv = scan("multi", nullptr, platform);
    const Package* bb = find(inv, "deb", "busybox-static");
    ASSERT_NE(bb, nullptr) << platform;
    EXPECT_EQ(bb->arch, platform.substr(6));
  }
}

// Scan time against decompression time is measured by bench/scan_bench.cc.

}  // namespace
}  // namespace portcullis::scanner::image
