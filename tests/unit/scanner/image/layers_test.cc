// The layer walker through scan_layers: formats, whiteouts, path
// normalisation, links, hostile layers and bounds. Layers are real tars
// written by libarchive in a temporary directory.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "layer_writer.h"
#include "scanner/image/image_scan.h"
#include "temp_dir.h"

namespace portcullis::scanner::image {
namespace {

namespace fs = std::filesystem;
using testing::Compression;
using testing::LayerWriter;

const std::string kOsRelease =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
    "VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";

std::string status_of(std::string_view name, std::string_view version) {
  return "Package: " + std::string(name) +
         "\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\nVersion: " +
         std::string(version) + "\nDescription: test package\n";
}

std::string package_json(std::string_view name, std::string_view version) {
  return R"({"name":")" + std::string(name) + R"(","version":")" + std::string(version) +
         R"(","license":"MIT"})";
}

std::vector<std::string> names(const Inventory& inv, std::string_view type) {
  std::vector<std::string> out;
  for (const Package& p : inv.packages) {
    if (p.type == type) out.push_back(p.name + "@" + p.version);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool has_warning(const Inventory& inv, std::string_view text) {
  return std::any_of(inv.warnings.begin(), inv.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

long peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

class LayersTest : public ::testing::Test {
 protected:
  fs::path next_path() { return dir_.path() / ("layer" + std::to_string(n_++)); }
  LayerWriter writer(Compression c = Compression::gzip) { return LayerWriter(next_path(), c); }

  testutil::TempDir dir_;
  int n_ = 0;
};

TEST_F(LayersTest, ReadsPlainGzipAndZstdLayers) {
  for (Compression c : {Compression::none, Compression::gzip, Compression::zstd}) {
    LayerWriter w(next_path(), c);
    w.file("var/lib/dpkg/status", status_of("bash", "5.2.15-2+b2"));
    w.file("usr/lib/os-release", kOsRelease);
    Layer layer = w.layer();
    auto inv = scan_layers({layer});
    ASSERT_TRUE(inv) << inv.error().message;
    ASSERT_EQ(inv->packages.size(), 1u);
    EXPECT_EQ(inv->packages[0].name, "bash");
    EXPECT_EQ(inv->packages[0].layer_digest, layer.digest);
    EXPECT_EQ(inv->packages[0].path, "var/lib/dpkg/status");
    ASSERT_TRUE(inv->distro);
    EXPECT_EQ(inv->distro->id, "debian");
  }
}

TEST_F(LayersTest, NewestLayersCopyWins) {
  auto w1 = writer();
  w1.file("var/lib/dpkg/status", status_of("old", "1"));
  auto w2 = writer(Compression::zstd);
  w2.file("var/lib/dpkg/status", status_of("new", "2"));
  Layer l1 = w1.layer(), l2 = w2.layer();
  auto inv = scan_layers({l1, l2});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "deb"), std::vector<std::string>{"new@2"});
  EXPECT_EQ(inv->packages[0].layer_digest, l2.digest);
}

TEST_F(LayersTest, WhiteoutDeletesAFileFromLowerLayers) {
  auto w1 = writer();
  w1.file("var/lib/dpkg/status", status_of("bash", "5"));
  w1.file("app/node_modules/lodash/package.json", package_json("lodash", "4.17.15"));
  w1.file("app/node_modules/ms/package.json", package_json("ms", "2.1.2"));
  auto w2 = writer();
  w2.file("var/lib/dpkg/.wh.status", "");
  w2.file("app/node_modules/.wh.lodash", "");  // a whole directory
  auto inv = scan_layers({w1.layer(), w2.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(names(*inv, "deb").empty());
  EXPECT_EQ(names(*inv, "npm"), std::vector<std::string>{"ms@2.1.2"});
}

TEST_F(LayersTest, WhiteoutAppliesOnlyToLowerLayersNotItsOwn) {
  auto w1 = writer();
  w1.file("app/node_modules/lodash/package.json", package_json("lodash", "4.17.15"));
  auto w2 = writer();
  w2.file("app/node_modules/lodash/package.json", package_json("lodash", "4.17.21"));
  w2.file("app/node_modules/.wh.lodash", "");  // written after the new copy, still only lower
  auto inv = scan_layers({w1.layer(), w2.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "npm"), std::vector<std::string>{"lodash@4.17.21"});
}

TEST_F(LayersTest, OpaqueDirectoryHidesEverythingBelowIt) {
  auto w1 = writer();
  w1.file("app/node_modules/a/package.json", package_json("a", "1.0.0"));
  w1.file("app/node_modules/b/package.json", package_json("b", "1.0.0"));
  w1.file("other/node_modules/keep/package.json", package_json("keep", "1.0.0"));
  auto w2 = writer();
  w2.dir("app/node_modules");
  w2.file("app/node_modules/.wh..wh..opq", "");
  w2.file("app/node_modules/c/package.json", package_json("c", "1.0.0"));
  auto inv = scan_layers({w1.layer(), w2.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "npm"), (std::vector<std::string>{"c@1.0.0", "keep@1.0.0"}));
}

TEST_F(LayersTest, ThreeLayersWhiteoutThenReAdd) {
  auto w1 = writer();
  w1.file("var/lib/dpkg/status", status_of("one", "1"));
  auto w2 = writer();
  w2.file("var/lib/.wh.dpkg", "");
  auto w3 = writer();
  w3.file("var/lib/dpkg/status", status_of("three", "3"));
  Layer l1 = w1.layer(), l2 = w2.layer(), l3 = w3.layer();
  auto two = scan_layers({l1, l2});
  ASSERT_TRUE(two);
  EXPECT_TRUE(two->packages.empty());
  auto three = scan_layers({l1, l2, l3});
  ASSERT_TRUE(three);
  EXPECT_EQ(names(*three, "deb"), std::vector<std::string>{"three@3"});
}

TEST_F(LayersTest, WhiteoutWithoutANameDeletesNothing) {
  auto w1 = writer();
  w1.file("var/lib/dpkg/status", status_of("bash", "5"));
  auto w2 = writer();
  w2.file(".wh.", "");
  w2.file("var/.wh.", "");
  w2.file("var/lib/.wh..wh.plnk", "");  // aufs bookkeeping, not a whiteout
  auto inv = scan_layers({w1.layer(), w2.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "deb"), std::vector<std::string>{"bash@5"});
}

TEST_F(LayersTest, AFileOrLinkReplacingADirectoryHidesItsLowerContents) {
  auto w1 = writer();
  w1.file("app/node_modules/a/package.json", package_json("a", "1.0.0"));
  auto w2 = writer();
  w2.symlink("app/node_modules", "/nowhere");
  auto inv = scan_layers({w1.layer(), w2.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(inv->packages.empty());
}

TEST_F(LayersTest, PathsAreNormalised) {
  auto w = writer();
  w.file("./var/lib/dpkg/status", status_of("a", "1"));
  w.file("/usr/lib/os-release", kOsRelease);
  w.file("app//node_modules/./x/package.json", package_json("x", "1.0.0"));
  w.file("app/lib/../node_modules/y/package.json", package_json("y", "2.0.0"));
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  ASSERT_EQ(names(*inv, "deb"), std::vector<std::string>{"a@1"});
  EXPECT_TRUE(inv->distro);
  EXPECT_EQ(names(*inv, "npm"), (std::vector<std::string>{"x@1.0.0", "y@2.0.0"}));
  for (const Package& p : inv->packages) {
    EXPECT_FALSE(p.path.starts_with("/")) << p.path;
    EXPECT_FALSE(p.path.starts_with("./")) << p.path;
    EXPECT_EQ(p.path.find("//"), std::string::npos) << p.path;
  }
}

TEST_F(LayersTest, TraversalEntriesAreRejected) {
  auto w = writer();
  w.file("../../var/lib/dpkg/status", status_of("evil", "1"));
  w.file("usr/../../usr/lib/os-release", kOsRelease);
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(inv->packages.empty());
  EXPECT_FALSE(inv->distro);
  EXPECT_TRUE(has_warning(*inv, "climbs above the image root"));
}

TEST_F(LayersTest, AbsoluteSymlinkResolvesInsideTheImage) {
  auto w = writer();
  w.symlink("etc/os-release", "/usr/lib/os-release");
  w.file("usr/lib/os-release", kOsRelease);
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  ASSERT_TRUE(inv->distro);
  EXPECT_EQ(inv->distro->version_codename, "bookworm");
}

TEST_F(LayersTest, AbsoluteSymlinkToAHostFileNeverReadsTheHost) {
  // A real dpkg status on the host, at an absolute path the link names.
  fs::path host_file = dir_.path() / "host-status";
  testing::write_file(host_file, status_of("host-package", "1"));
  auto w = writer();
  w.symlink("var/lib/dpkg/status", host_file.string());
  w.symlink("etc/os-release", "/etc/os-release-host");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(inv->packages.empty());
  EXPECT_FALSE(inv->distro);

  // The same link with the file present in the image reads the image's copy.
  auto w2 = writer();
  w2.symlink("var/lib/dpkg/status", host_file.string());
  w2.file(host_file.relative_path().string(), status_of("image-package", "2"));
  auto inv2 = scan_layers({w2.layer()});
  ASSERT_TRUE(inv2) << inv2.error().message;
  EXPECT_EQ(names(*inv2, "deb"), std::vector<std::string>{"image-package@2"});
}

TEST_F(LayersTest, DotDotInASymlinkStopsAtTheImageRoot) {
  auto w = writer();
  w.symlink("etc/os-release", "../../../../../../../usr/lib/os-release");
  w.file("usr/lib/os-release", kOsRelease);
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(inv->distro);
}

TEST_F(LayersTest, SymlinkLoopIsAWarning) {
  auto w = writer();
  w.symlink("var/lib/dpkg/status", "loop-a");
  w.symlink("var/lib/dpkg/loop-a", "loop-b");
  w.symlink("var/lib/dpkg/loop-b", "/var/lib/dpkg/status");
  w.symlink("etc/os-release", "os-release");  // itself
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(inv->packages.empty());
  EXPECT_TRUE(has_warning(*inv, "too many levels of symbolic links"));
}

TEST_F(LayersTest, SymlinkToAFileNoCatalogerWantedIsReadInASecondPass) {
  auto w1 = writer();
  w1.file("opt/vendor/os-info", kOsRelease);
  w1.file("opt/dpkg-db/status", status_of("relocated", "1.0"));
  auto w2 = writer();
  w2.symlink("etc/os-release", "../opt/vendor/os-info");
  w2.symlink("var/lib/dpkg", "../../opt/dpkg-db");  // a directory link in the middle
  Layer l1 = w1.layer(), l2 = w2.layer();
  auto inv = scan_layers({l1, l2});
  ASSERT_TRUE(inv) << inv.error().message;
  ASSERT_TRUE(inv->distro);
  EXPECT_EQ(inv->distro->id, "debian");
  ASSERT_EQ(names(*inv, "deb"), std::vector<std::string>{"relocated@1.0"});
  EXPECT_EQ(inv->packages[0].path, "opt/dpkg-db/status");
  EXPECT_EQ(inv->packages[0].layer_digest, l1.digest);
}

TEST_F(LayersTest, HardLinkInsideTheImageIsRead) {
  auto w = writer();
  w.file("opt/saved-status", status_of("linked", "3"));
  w.hardlink("var/lib/dpkg/status", "opt/saved-status");
  w.file("app/node_modules/a/package.json", package_json("a", "1.0.0"));
  w.hardlink("app/node_modules/b/package.json", "app/node_modules/a/package.json");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "deb"), std::vector<std::string>{"linked@3"});
  // The same file under two names is one package.
  EXPECT_EQ(names(*inv, "npm"), std::vector<std::string>{"a@1.0.0"});
}

TEST_F(LayersTest, HardLinkToOutsideTheImageIsIgnored) {
  auto w = writer();
  w.hardlink("var/lib/dpkg/status", "../../../../etc/passwd");
  w.hardlink("app/node_modules/x/package.json", "/../../etc/passwd");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(inv->packages.empty());
  EXPECT_TRUE(has_warning(*inv, "points outside the image"));
}

TEST_F(LayersTest, DecompressionBombIsSizeInvalidBeforeItIsInflated) {
  // 512 MiB of zeros compress to about half a MiB: over 200:1 and over the floor.
  LayerWriter w(next_path(), Compression::gzip, 1);
  w.zeros("var/lib/dpkg/status", 512ull << 20);
  Layer bomb = w.layer();
  long rss_before = peak_rss_mib();
  auto start = std::chrono::steady_clock::now();
  auto inv = scan_layers({bomb});
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::size_invalid);
  EXPECT_NE(inv.error().message.find("ratio limit"), std::string::npos) << inv.error().message;
  EXPECT_NE(inv.error().message.find(bomb.digest), std::string::npos);
  // Refused from the declared size: nothing was inflated, nothing was buffered.
  EXPECT_LT(elapsed, std::chrono::seconds(1));
  EXPECT_LT(peak_rss_mib() - rss_before, 64);
}

TEST_F(LayersTest, ImageSizeBoundCountsEveryLayer) {
  Limits limits;
  limits.max_uncompressed_bytes = 3 << 20;
  std::vector<Layer> layers;
  for (int i = 0; i < 3; ++i) {
    LayerWriter w(next_path(), Compression::none);
    w.zeros("data/file" + std::to_string(i), 1 << 20);
    layers.push_back(w.layer());
  }
  auto inv = scan_layers(layers, limits);
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::size_invalid);
  EXPECT_NE(inv.error().message.find("uncompressed"), std::string::npos);
  layers.pop_back();
  EXPECT_TRUE(scan_layers(layers, limits));
}

TEST_F(LayersTest, RatioBoundAppliesAboveTheFloor) {
  Limits limits;
  limits.ratio_floor_bytes = 1 << 20;
  LayerWriter w(next_path(), Compression::zstd);
  w.zeros("big", 8 << 20);
  Layer layer = w.layer();
  auto inv = scan_layers({layer}, limits);
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::size_invalid);
  limits.max_ratio = 1'000'000;
  EXPECT_TRUE(scan_layers({layer}, limits));
}

TEST_F(LayersTest, OversizedPackageDatabaseIsSizeInvalidNotAnAllocation) {
  Limits limits;
  limits.max_file_bytes = 1 << 20;
  std::string status = status_of("a", "1") + "Description: x\n";
  std::string line(" " + std::string(1000, 'x') + "\n");
  while (status.size() < (4u << 20)) status += line;  // a 4 MiB field
  auto w = writer();
  w.file("var/lib/dpkg/status", status);
  auto inv = scan_layers({w.layer()}, limits);
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::size_invalid);
  EXPECT_NE(inv.error().message.find("var/lib/dpkg/status"), std::string::npos);
}

TEST_F(LayersTest, LinksAreBoundedInBytes) {
  Limits limits;
  limits.max_link_bytes = 4096;
  auto w = writer();
  for (int i = 0; i < 100; ++i) {
    w.symlink("usr/bin/link" + std::to_string(i), "/usr/lib/some/long/target/" + std::to_string(i));
  }
  auto inv = scan_layers({w.layer()}, limits);
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::size_invalid);
  EXPECT_NE(inv.error().message.find("link"), std::string::npos);
}

TEST_F(LayersTest, TooManyPackagesIsSizeInvalid) {
  Limits limits;
  limits.max_packages = 10;
  auto w = writer();
  w.file("var/lib/dpkg/status",
         testing::read_file(PC_TEST_DATA_DIR "/dpkg-minbase-bookworm.status"));
  auto inv = scan_layers({w.layer()}, limits);
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::size_invalid);
}

TEST_F(LayersTest, TruncatedGzipIsACorruptLayer) {
  auto w = writer();
  w.file("var/lib/dpkg/status",
         testing::read_file(PC_TEST_DATA_DIR "/dpkg-minbase-bookworm.status"));
  for (int i = 0; i < 50; ++i)
    w.file("filler/" + std::to_string(i), std::string(4096, 'a' + i % 26));
  Layer layer = w.layer();
  fs::resize_file(layer.path, fs::file_size(layer.path) / 2);
  auto inv = scan_layers({layer});
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::manifest_invalid);
  EXPECT_NE(inv.error().message.find(layer.digest), std::string::npos);
  EXPECT_NE(inv.error().message.find("truncated"), std::string::npos) << inv.error().message;
}

TEST_F(LayersTest, CorruptGzipIsACorruptLayer) {
  auto w = writer();
  w.file("var/lib/dpkg/status",
         testing::read_file(PC_TEST_DATA_DIR "/dpkg-minbase-bookworm.status"));
  Layer layer = w.layer();
  std::string bytes = testing::read_file(layer.path);
  for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bytes[i] ^= 0x5a;
  testing::write_file(layer.path, bytes);
  auto inv = scan_layers({layer});
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::manifest_invalid) << inv.error().message;
}

TEST_F(LayersTest, SomethingElseIsUnsupported) {
  fs::path p = next_path();
  testing::write_file(p, "{\"this\": \"is a JSON config, not a layer\"}\n");
  auto inv = scan_layers({Layer{"sha256:x", p}});
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::unsupported) << inv.error().message;
}

TEST_F(LayersTest, MissingLayerFileIsBlobUnknown) {
  auto inv = scan_layers({Layer{"sha256:gone", dir_.path() / "missing"}});
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::blob_unknown);
}

TEST_F(LayersTest, EmptyLayerIsFine) {
  auto w = writer();
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(inv->packages.empty());
}

TEST_F(LayersTest, MillionsOfTinyEntriesStopAtMaxEntries) {
  Limits limits;
  limits.max_entries = 1'000'000;
  LayerWriter w(next_path(), Compression::zstd);
  for (int i = 0; i < 1'000'100; ++i) w.file("f/" + std::to_string(i), "");
  Layer layer = w.layer();
  auto inv = scan_layers({layer}, limits);
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::size_invalid);
  EXPECT_NE(inv.error().message.find("1000000 archive entries"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::scanner::image
