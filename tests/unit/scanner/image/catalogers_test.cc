// Each cataloger end to end: realistic content in real layers.
#include <rpm/header.h>
#include <rpm/rpmtag.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "layer_writer.h"
#include "scanner/image/cataloger.h"
#include "scanner/image/image_scan.h"
#include "temp_dir.h"

namespace portcullis::scanner::image {
namespace {

namespace fs = std::filesystem;
using testing::Compression;
using testing::LayerWriter;
using testing::ZipWriter;

std::vector<std::string> names(const Inventory& inv, std::string_view type) {
  std::vector<std::string> out;
  for (const Package& p : inv.packages) {
    if (p.type == type) out.push_back(p.name + "@" + p.version);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const Package* find(const Inventory& inv, std::string_view type, std::string_view name) {
  for (const Package& p : inv.packages) {
    if (p.type == type && p.name == name) return &p;
  }
  return nullptr;
}

bool has_warning(const Inventory& inv, std::string_view text) {
  return std::any_of(inv.warnings.begin(), inv.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

class CatalogersTest : public ::testing::Test {
 protected:
  fs::path next_path(std::string_view suffix = "") {
    return dir_.path() / ("f" + std::to_string(n_++) + std::string(suffix));
  }
  LayerWriter writer(Compression c = Compression::gzip) { return LayerWriter(next_path(), c); }

  testutil::TempDir dir_;
  int n_ = 0;
};

// ---- dpkg -------------------------------------------------------------------

TEST_F(CatalogersTest, DpkgStatusFromTheRealFixture) {
  auto w = writer();
  w.file("var/lib/dpkg/status",
         testing::read_file(PC_TEST_DATA_DIR "/dpkg-minbase-bookworm.status"));
  Layer layer = w.layer();
  auto inv = scan_layers({layer});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "deb").size(), 96u);
  const Package* libc = find(*inv, "deb", "libc6");
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(libc->layer_digest, layer.digest);
  EXPECT_EQ(libc->path, "var/lib/dpkg/status");
  EXPECT_EQ(libc->source_name, "glibc");
}

TEST_F(CatalogersTest, DpkgDistrolessStatusDirectory) {
  auto w = writer();
  w.file("var/lib/dpkg/status.d/libssl3",
         "Package: libssl3\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\n"
         "Source: openssl\nMaintainer: Debian OpenSSL Team\n");
  w.file("var/lib/dpkg/status.d/libssl3.md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/lib/x\n");
  w.file("var/lib/dpkg/status.d/tzdata",
         "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "deb"),
            (std::vector<std::string>{"libssl3@3.0.15-1~deb12u1", "tzdata@2024a-0+deb12u1"}));
  EXPECT_EQ(find(*inv, "deb", "libssl3")->path, "var/lib/dpkg/status.d/libssl3");
}

// ---- apk --------------------------------------------------------------------

TEST_F(CatalogersTest, ApkInstalledDatabaseAndAlpineRelease) {
  auto w = writer();
  w.file("etc/alpine-release", "3.20.3\n");
  w.file("lib/apk/db/installed",
         "C:Q1Bs+xz4aTRMjw0m5mu6PqpwV0tY8=\nP:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\n\n"
         "C:Q1abc=\nP:libssl3\nV:3.3.2-r1\nA:x86_64\nL:Apache-2.0\no:openssl\n\n"
         "C:Q1def=\nP:busybox\nV:1.36.1-r29\nA:x86_64\nL:GPL-2.0-only\no:busybox\n");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "apk"),
            (std::vector<std::string>{"busybox@1.36.1-r29", "libssl3@3.3.2-r1", "musl@1.2.5-r0"}));
  EXPECT_EQ(find(*inv, "apk", "libssl3")->source_name, "openssl");
  ASSERT_TRUE(inv->distro);
  EXPECT_EQ(inv->distro->id, "alpine");
  EXPECT_EQ(inv->distro->version_id, "3.20.3");
}

TEST_F(CatalogersTest, OsReleaseWinsOverFallbackFiles) {
  auto w = writer();
  w.file("etc/debian_version", "12.7\n");
  w.symlink("etc/os-release", "../usr/lib/os-release");
  w.file("usr/lib/os-release",
         "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"
         "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  ASSERT_TRUE(inv->distro);
  EXPECT_EQ(inv->distro->version_codename, "bookworm");
  EXPECT_EQ(inv->distro->pretty_name, "Debian GNU/Linux 12 (bookworm)");
}

// ---- rpm --------------------------------------------------------------------

struct RpmRow {
  const char* name;
  const char* epoch;  // "" for none
  const char* version;
  const char* release;
  const char* srpm;
  const char* license;
};

// An rpmdb.sqlite with rpm's schema and real header blobs made by librpm.
std::string make_rpmdb_sqlite(const fs::path& file, const std::vector<RpmRow>& rows) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  std::string schema =
      "CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);";
  for (const char* index :
       {"Name", "Basenames", "Group", "Requirename", "Providename", "Conflictname", "Obsoletename",
        "Triggername", "Dirnames", "Installtid", "Sigmd5", "Sha1header", "Filetriggername",
        "Transfiletriggername", "Recommendname", "Suggestname", "Supplementname", "Enhancename"}) {
    schema += std::string("CREATE TABLE '") + index +
              "' (key 'TEXT' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, "
              "FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum));";
  }
  EXPECT_EQ(sqlite3_exec(db, schema.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  for (const RpmRow& r : rows) {
    Header h = headerNew();
    headerPutString(h, RPMTAG_NAME, r.name);
    if (*r.epoch) {
      uint32_t e = static_cast<uint32_t>(std::stoul(r.epoch));
      headerPutUint32(h, RPMTAG_EPOCH, &e, 1);
    }
    headerPutString(h, RPMTAG_VERSION, r.version);
    headerPutString(h, RPMTAG_RELEASE, r.release);
    headerPutString(h, RPMTAG_ARCH, "x86_64");
    if (*r.srpm) headerPutString(h, RPMTAG_SOURCERPM, r.srpm);
    headerPutString(h, RPMTAG_LICENSE, r.license);
    unsigned size = 0;
    void* blob = headerExport(h, &size);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO Packages(blob) VALUES(?)", -1, &st, nullptr);
    sqlite3_bind_blob(st, 1, blob, static_cast<int>(size), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    free(blob);
    headerFree(h);
  }
  sqlite3_close(db);
  return testing::read_file(file);
}

TEST_F(CatalogersTest, RpmSqliteDatabaseThroughLibrpm) {
  std::string db = make_rpmdb_sqlite(
      next_path(".sqlite"),
      {{"bash", "", "5.1.8", "9.el9", "bash-5.1.8-9.el9.src.rpm", "GPLv3+"},
       {"openssl-libs", "1", "3.0.7", "27.el9", "openssl-3.0.7-27.el9.src.rpm", "ASL 2.0"},
       {"gpg-pubkey", "", "fd431d51", "4ae0493b", "", "pubkey"}});
  auto w = writer();
  w.file("etc/os-release", "ID=\"rhel\"\nVERSION_ID=\"9.3\"\n");
  // Fedora/RHEL 9 layout: the database under /usr, /var/lib/rpm a link to it.
  w.file("usr/lib/sysimage/rpm/rpmdb.sqlite", db);
  w.symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm");
  Layer layer = w.layer();
  auto inv = scan_layers({layer});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "rpm"),
            (std::vector<std::string>{"bash@5.1.8-9.el9", "openssl-libs@1:3.0.7-27.el9"}));
  const Package* ssl = find(*inv, "rpm", "openssl-libs");
  ASSERT_NE(ssl, nullptr);
  EXPECT_EQ(ssl->source_name, "openssl");
  EXPECT_EQ(ssl->source_version, "1:3.0.7-27.el9");
  EXPECT_EQ(ssl->arch, "x86_64");
  EXPECT_EQ(ssl->licenses, std::vector<std::string>{"ASL 2.0"});
  EXPECT_EQ(ssl->path, "usr/lib/sysimage/rpm/rpmdb.sqlite");
  EXPECT_EQ(ssl->layer_digest, layer.digest);
  EXPECT_EQ(inv->distro->id, "rhel");
}

TEST_F(CatalogersTest, RpmBerkeleyDbThroughLibrpm) {
  auto w = writer();
  w.file("var/lib/rpm/Packages", testing::read_file(PC_TEST_DATA_DIR "/rpm-bdb-Packages"));
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "rpm"),
            (std::vector<std::string>{"bash@4.2.46-35.el7_9", "openssl-libs@1:1.0.2k-26.el7_9"}));
  EXPECT_EQ(find(*inv, "rpm", "bash")->source_version, "4.2.46-35.el7_9");
}

TEST_F(CatalogersTest, RpmNdbAndCorruptDatabasesAreWarnings) {
  auto w = writer();
  w.file("usr/lib/sysimage/rpm/Packages.db", std::string(8192, '\x01'));
  w.file("var/lib/rpm/rpmdb.sqlite", "SQLite format 3" + std::string(4096, '\xee'));
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(names(*inv, "rpm").empty());
  EXPECT_TRUE(has_warning(*inv, "ndb"));
  EXPECT_TRUE(has_warning(*inv, "var/lib/rpm/rpmdb.sqlite: not read"));
}

void put_u32(std::string& bytes, std::size_t at, uint32_t v) {
  std::memcpy(bytes.data() + at, &v, 4);  // the fixture is little-endian
}

TEST_F(CatalogersTest, HostileBerkeleyDbNeverReachesLibrpm) {
  const std::string good = testing::read_file(PC_TEST_DATA_DIR "/rpm-bdb-Packages");
  ASSERT_GE(good.size(), 4096u);
  const uint32_t page_size = 4096;  // the fixture's

  std::string huge_pages = good;
  put_u32(huge_pages, 20, 1u << 30);  // librpm would allocate this per cursor
  std::string short_file = good.substr(0, good.size() - page_size);
  // An off-page item claiming 4 GiB: librpm would allocate that much.
  std::string huge_item = good;
  bool patched = false;
  for (std::size_t page = 1; !patched && (page + 1) * page_size <= good.size(); ++page) {
    const std::size_t base = page * page_size;
    const auto type = static_cast<unsigned char>(good[base + 25]);
    if (type != 2 && type != 13) continue;
    uint16_t entries;
    std::memcpy(&entries, good.data() + base + 20, 2);
    for (unsigned i = 0; !patched && i < entries; ++i) {
      uint16_t off;
      std::memcpy(&off, good.data() + base + 26 + 2 * i, 2);
      if (off + 12u > page_size) continue;
      huge_item[base + off] = 3;
      put_u32(huge_item, base + off + 8, 0xfffffff0u);
      patched = true;
    }
  }
  ASSERT_TRUE(patched);

  for (const auto& [bytes, problem] : std::vector<std::pair<std::string, std::string>>{
           {huge_pages, "invalid page size"},
           {short_file, "last page beyond the end of the file"},
           {huge_item, "off-page item longer than the file"},
           {"not a database at all, but long enough: " + std::string(600, 'x'),
            "not a Berkeley DB hash file"}}) {
    auto w = writer();
    w.file("var/lib/rpm/Packages", bytes);
    auto inv = scan_layers({w.layer()});
    ASSERT_TRUE(inv) << inv.error().message;
    EXPECT_TRUE(names(*inv, "rpm").empty());
    EXPECT_TRUE(has_warning(*inv, problem)) << problem;
  }
}

// Damaged databases that pass the shape checks: librpm must fail cleanly.
TEST_F(CatalogersTest, DamagedRpmDatabasesNeverCrashTheScanner) {
  const std::string bdb = testing::read_file(PC_TEST_DATA_DIR "/rpm-bdb-Packages");
  const std::string sqlite = make_rpmdb_sqlite(
      next_path(".sqlite"),
      {{"bash", "", "5.1.8", "9.el9", "bash-5.1.8-9.el9.src.rpm", "GPLv3+"},
       {"openssl-libs", "1", "3.0.7", "27.el9", "openssl-3.0.7-27.el9.src.rpm", "ASL 2.0"}});
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  int scanned = 0;
  for (int round = 0; round < 60; ++round) {
    for (const auto& [path, original] : {std::pair{"var/lib/rpm/Packages", &bdb},
                                         std::pair{"var/lib/rpm/rpmdb.sqlite", &sqlite}}) {
      std::string bytes = *original;
      for (int flips = 0; flips < 8; ++flips) {
        // Leave the first page (the shape the checks look at) mostly intact.
        std::size_t at = 512 + next() % (bytes.size() - 512);
        bytes[at] = static_cast<char>(next());
      }
      auto w = writer(Compression::none);
      w.file(path, bytes);
      auto inv = scan_layers({w.layer()});
      ASSERT_TRUE(inv) << inv.error().message;
      for (const Package& p : inv->packages) EXPECT_LE(p.name.size(), 4096u);
      ++scanned;
    }
  }
  EXPECT_EQ(scanned, 120);
}

// ---- npm --------------------------------------------------------------------

TEST_F(CatalogersTest, NpmInstalledPackagesAndLockFileWithoutDuplicates) {
  auto w = writer();
  w.file("app/package.json",
         R"({"name":"app","version":"1.0.0","dependencies":{"lodash":"4.17.15"}})");
  w.file("app/package-lock.json", R"({"name":"app","version":"1.0.0","lockfileVersion":3,
    "packages":{"":{"name":"app","version":"1.0.0"},
      "node_modules/lodash":{"version":"4.17.15","license":"MIT"},
      "node_modules/@scope/pkg":{"version":"2.0.0"},
      "node_modules/not-installed":{"version":"0.1.0"}}})");
  w.file("app/node_modules/.package-lock.json", R"({"lockfileVersion":3,"packages":{}})");
  w.file("app/node_modules/lodash/package.json",
         R"({"name":"lodash","version":"4.17.15","license":"MIT"})");
  w.file("app/node_modules/lodash/fp/package.json", R"({"main":"../fp.js"})");
  w.file("app/node_modules/@scope/pkg/package.json", R"({"name":"@scope/pkg","version":"2.0.0"})");
  w.file("app/node_modules/broken/package.json", R"({"name":"broken",)");
  w.file("app/node_modules/lodash/package-lock.json",
         R"({"lockfileVersion":1,"dependencies":{"dev-only":{"version":"1.0.0"}}})");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  // Installed packages are the truth; the lock's not-installed entry (an
  // optional package for another platform, say) is not in the image.
  EXPECT_EQ(names(*inv, "npm"), (std::vector<std::string>{"@scope/pkg@2.0.0", "lodash@4.17.15"}));
  EXPECT_EQ(find(*inv, "npm", "lodash")->path, "app/node_modules/lodash/package.json");
  EXPECT_TRUE(has_warning(*inv, "app/node_modules/broken/package.json: not valid JSON"));
}

TEST_F(CatalogersTest, NpmLockFileCountsForAProjectWithoutNodeModules) {
  auto w = writer();
  w.file("srv/api/package-lock.json", R"({"lockfileVersion":2,"packages":{
      "":{"name":"api"},
      "node_modules/express":{"version":"4.17.1"},
      "node_modules/express/node_modules/qs":{"version":"6.7.0"}}})");
  w.file("srv/web/npm-shrinkwrap.json",
         R"({"lockfileVersion":1,"dependencies":{"minimist":{"version":"1.2.0"}}})");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "npm"),
            (std::vector<std::string>{"express@4.17.1", "minimist@1.2.0", "qs@6.7.0"}));
  EXPECT_EQ(find(*inv, "npm", "qs")->path, "srv/api/package-lock.json");
}

// ---- PyPI -------------------------------------------------------------------

TEST_F(CatalogersTest, PythonDistInfoAndEggInfo) {
  auto w = writer();
  w.file("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
         "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nbody\n");
  w.file("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/RECORD", "x,y,z\n");
  w.file("usr/local/lib/python3.11/site-packages/PyYAML-5.3.1-py3.11.egg-info/PKG-INFO",
         "Metadata-Version: 1.1\nName: PyYAML\nVersion: 5.3.1\nLicense: MIT\n");
  w.file("usr/lib/python3/dist-packages/six-1.16.0.egg-info",
         "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "pypi"),
            (std::vector<std::string>{"PyYAML@5.3.1", "requests@2.31.0", "six@1.16.0"}));
  EXPECT_EQ(find(*inv, "pypi", "requests")->licenses, std::vector<std::string>{"Apache 2.0"});
}

// ---- Go binaries ------------------------------------------------------------

std::string uvarint(std::size_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// An ELF executable whose data holds Go build information at `offset`
// (16-byte aligned), the way the Go linker lays out .go.buildinfo.
std::string go_binary(std::size_t offset, std::string_view go_version, std::string_view modinfo,
                      bool inline_strings = true) {
  std::string elf(offset, '\0');
  const char header[] =
      "\x7f"
      "ELF\x02\x01\x01";
  std::copy(header, header + 7, elf.begin());
  elf[16] = 2;     // ET_EXEC
  elf[18] = 0x3e;  // x86-64
  for (std::size_t i = 64; i < offset; ++i) elf[i] = static_cast<char>((i * 7919) % 251);
  // Decoys: the magic unaligned, and aligned but not followed by a header.
  elf.replace(1001, 14, "\xff Go buildinf:");
  elf.replace(2048, 14, "\xff Go buildinf:");
  std::string info("\xff Go buildinf:", 14);
  info.push_back(8);                               // pointer size
  info.push_back(inline_strings ? '\x02' : '\0');  // flags
  info.append(16, '\0');
  const std::string start("0w\xaf\x0c\x92t\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6", 16);
  const std::string end("\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2", 16);
  std::string framed = start + std::string(modinfo) + end;
  info += uvarint(go_version.size()) + std::string(go_version);
  info += uvarint(framed.size()) + framed;
  elf += info;
  elf.append(100'000, '\x90');
  return elf;
}

const char* kModinfo =
    "path\tgithub.com/containers/skopeo/cmd/skopeo\n"
    "mod\tgithub.com/containers/skopeo\tv1.13.3\th1:abc=\n"
    "dep\tgithub.com/containers/image/v5\tv5.26.1\th1:def=\n"
    "dep\tgolang.org/x/net\tv0.12.0\th1:ghi=\n"
    "build\t-compiler=gc\n";

TEST_F(CatalogersTest, GoBinaryBuildInfo) {
  auto w = writer();
  // Placed across the walker's 256 KiB read boundary.
  w.file("usr/bin/skopeo", go_binary(256 * 1024 - 16, "go1.21.5", kModinfo), 0755);
  w.file("usr/share/doc/not-executable", go_binary(4096, "go1.20", kModinfo), 0644);
  w.file("usr/bin/script", "#!/bin/sh\necho hi\n", 0755);
  Layer layer = w.layer();
  auto inv = scan_layers({layer});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "golang"),
            (std::vector<std::string>{"github.com/containers/image/v5@v5.26.1",
                                      "github.com/containers/skopeo@v1.13.3",
                                      "golang.org/x/net@v0.12.0", "stdlib@v1.21.5"}));
  const Package* main = find(*inv, "golang", "github.com/containers/skopeo");
  ASSERT_NE(main, nullptr);
  EXPECT_EQ(main->path, "usr/bin/skopeo");
  EXPECT_EQ(main->layer_digest, layer.digest);
}

TEST_F(CatalogersTest, GoBinaryBeforeGo118IsAWarning) {
  auto w = writer();
  w.file("usr/local/bin/old", go_binary(8192, "", "", false), 0755);
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(names(*inv, "golang").empty());
  EXPECT_TRUE(has_warning(*inv, "before Go 1.18"));
}

TEST_F(CatalogersTest, GoBinaryOverTheFileBoundIsNotRead) {
  Limits limits;
  limits.max_file_bytes = 64 * 1024;
  auto w = writer();
  w.file("usr/bin/big", go_binary(128 * 1024, "go1.21.5", kModinfo), 0755);
  auto inv = scan_layers({w.layer()}, limits);
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_TRUE(names(*inv, "golang").empty());
}

// ---- Java -------------------------------------------------------------------

std::string jar(const fs::path& file, std::string_view group, std::string_view artifact,
                std::string_view version,
                const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  {
    ZipWriter z(file);
    z.file("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: Maven\n");
    z.file("META-INF/maven/" + std::string(group) + "/" + std::string(artifact) + "/pom.xml",
           "<project/>");
    z.file("META-INF/maven/" + std::string(group) + "/" + std::string(artifact) + "/pom.properties",
           "#Generated by Maven\n#Tue Mar 09 2021\nversion=" + std::string(version) +
               "\ngroupId=" + std::string(group) + "\nartifactId=" + std::string(artifact) + "\n");
    z.file("org/example/Main.class", std::string(3000, '\xca'));
    for (const auto& [name, data] : extra) z.file(name, data);
    z.close();
  }
  return testing::read_file(file);
}

TEST_F(CatalogersTest, JavaJarWarAndNestedArchives) {
  std::string log4j = jar(next_path(".jar"), "org.apache.logging.log4j", "log4j-core", "2.14.1");
  std::string jackson =
      jar(next_path(".jar"), "com.fasterxml.jackson.core", "jackson-databind", "2.9.10");
  std::string war = jar(next_path(".war"), "com.example", "webapp", "1.0.0",
                        {{"WEB-INF/lib/jackson-databind-2.9.10.jar", jackson}});
  std::string ear = jar(next_path(".ear"), "com.example", "bundle", "3.0", {{"webapp.war", war}});
  auto w = writer();
  w.file("opt/app/lib/log4j-core-2.14.1.jar", log4j);
  w.file("opt/server/webapps/webapp.war", war);
  w.file("opt/server/apps/bundle.ear", ear);
  w.file("opt/app/lib/not-a-zip.jar", "plain text");
  auto inv = scan_layers({w.layer()});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "maven"),
            (std::vector<std::string>{"com.example:bundle@3.0", "com.example:webapp@1.0.0",
                                      "com.example:webapp@1.0.0",
                                      "com.fasterxml.jackson.core:jackson-databind@2.9.10",
                                      "com.fasterxml.jackson.core:jackson-databind@2.9.10",
                                      "org.apache.logging.log4j:log4j-core@2.14.1"}));
  std::vector<std::string> paths;
  for (const Package& p : inv->packages) {
    if (p.name == "com.fasterxml.jackson.core:jackson-databind") paths.push_back(p.path);
  }
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "opt/server/apps/bundle.ear!/webapp.war!/WEB-INF/lib/"
                       "jackson-databind-2.9.10.jar",
                       "opt/server/webapps/webapp.war!/WEB-INF/lib/jackson-databind-2.9.10.jar"}));
}

TEST_F(CatalogersTest, JavaNestingDepthIsBounded) {
  Limits limits;
  limits.max_nested_archives = 1;
  std::string inner = jar(next_path(".jar"), "g", "inner", "1");
  std::string middle = jar(next_path(".jar"), "g", "middle", "1", {{"lib/inner.jar", inner}});
  std::string outer = jar(next_path(".jar"), "g", "outer", "1", {{"lib/middle.jar", middle}});
  auto w = writer();
  w.file("app.jar", outer);
  auto inv = scan_layers({w.layer()}, limits);
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(names(*inv, "maven"), (std::vector<std::string>{"g:middle@1", "g:outer@1"}));
}

TEST_F(CatalogersTest, ZipBombInsideAJarIsSizeInvalid) {
  Limits limits;
  limits.ratio_floor_bytes = 1 << 20;
  fs::path bomb = next_path(".jar");
  {
    ZipWriter z(bomb);
    z.file("META-INF/maven/g/a/pom.properties", "groupId=g\nartifactId=a\nversion=1\n");
    z.zeros("zeros.bin", 64ull << 20);
    z.close();
  }
  auto w = writer();
  w.file("app/bomb.jar", testing::read_file(bomb));
  auto inv = scan_layers({w.layer()}, limits);
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, Errc::size_invalid);
  EXPECT_NE(inv.error().message.find("app/bomb.jar"), std::string::npos) << inv.error().message;
}

// Real Go binaries of this machine, when it has any (skipped otherwise).
TEST_F(CatalogersTest, RealGoBinariesFromThisHost) {
  int scanned = 0;
  for (const char* candidate : {"/usr/bin/buildah", "/usr/bin/podman", "/usr/bin/kubectl",
                                "/usr/bin/docker-registry", "/usr/bin/skopeo"}) {
    std::error_code ec;
    if (!fs::is_regular_file(candidate, ec) || fs::file_size(candidate, ec) > (256u << 20)) {
      continue;
    }
    auto w = writer(Compression::zstd);
    w.file(fs::path(candidate).relative_path().string(), testing::read_file(candidate), 0755);
    auto inv = scan_layers({w.layer()});
    ASSERT_TRUE(inv) << inv.error().message;
    const Package* stdlib = find(*inv, "golang", "stdlib");
    ASSERT_NE(stdlib, nullptr) << candidate;
    EXPECT_TRUE(stdlib->version.starts_with("v1.")) << stdlib->version;
    std::printf("[ go       ] %s: %zu modules, stdlib %s\n", candidate, inv->packages.size(),
                stdlib->version.c_str());
    ++scanned;
  }
  if (scanned == 0) GTEST_SKIP() << "no Go binaries on this machine";
}

// Scans share nothing but librpm, which the rpm reader serialises.
TEST_F(CatalogersTest, ConcurrentScansGiveTheSameInventory) {
  std::string db = make_rpmdb_sqlite(
      next_path(".sqlite"), {{"bash", "", "5.1.8", "9.el9", "bash-5.1.8-9.el9.src.rpm", "GPLv3+"}});
  auto w = writer();
  w.file("var/lib/rpm/rpmdb.sqlite", db);
  w.file("var/lib/rpm-bdb/Packages", testing::read_file(PC_TEST_DATA_DIR "/rpm-bdb-Packages"));
  w.symlink("usr/lib/sysimage/rpm", "../../../var/lib/rpm-bdb");
  w.file("var/lib/dpkg/status",
         testing::read_file(PC_TEST_DATA_DIR "/dpkg-minbase-bookworm.status"));
  Layer layer = w.layer();
  auto reference = scan_layers({layer});
  ASSERT_TRUE(reference) << reference.error().message;
  ASSERT_EQ(reference->packages.size(), 96u + 1u + 2u);

  std::vector<std::thread> threads;
  std::atomic<int> same{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto inv = scan_layers({layer});
        if (inv && names(*inv, "rpm") == names(*reference, "rpm") &&
            inv->packages.size() == reference->packages.size()) {
          ++same;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(same.load(), 12);
}

}  // namespace
}  // namespace portcullis::scanner::image
