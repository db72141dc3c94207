// The catalogers' parsers on realistic content (pure functions, no layers).
#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "layer_writer.h"
#include "scanner/image/cataloger.h"

namespace portcullis::scanner::image {
namespace {

const Package* find(const std::vector<Package>& pkgs, std::string_view name) {
  for (const Package& p : pkgs) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

TEST(OsRelease, DebianBookworm) {
  auto d = parse_os_release(R"os(PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
)os");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, "debian");
  EXPECT_EQ(d->version_id, "12");
  EXPECT_EQ(d->version_codename, "bookworm");
  EXPECT_EQ(d->pretty_name, "Debian GNU/Linux 12 (bookworm)");
}

TEST(OsRelease, QuotingCommentsAndEscapes) {
  auto d = parse_os_release(
      "# comment\nID='alpine'\nVERSION_ID=3.20.3\n"
      "PRETTY_NAME=\"Alpine \\\"Linux\\\" v3.20\"\n");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, "alpine");
  EXPECT_EQ(d->version_id, "3.20.3");
  EXPECT_EQ(d->pretty_name, "Alpine \"Linux\" v3.20");
}

TEST(OsRelease, WithoutIdIsNothing) { EXPECT_FALSE(parse_os_release("NAME=foo\nVERSION_ID=1\n")); }

TEST(ReleaseFiles, FallbacksNameTheDistribution) {
  auto alpine = parse_release_file("etc/alpine-release", "3.20.3\n");
  ASSERT_TRUE(alpine);
  EXPECT_EQ(alpine->id, "alpine");
  EXPECT_EQ(alpine->version_id, "3.20.3");

  auto debian = parse_release_file("etc/debian_version", "12.7\n");
  ASSERT_TRUE(debian);
  EXPECT_EQ(debian->id, "debian");
  EXPECT_EQ(debian->version_id, "12");

  auto sid = parse_release_file("etc/debian_version", "trixie/sid\n");
  ASSERT_TRUE(sid);
  EXPECT_EQ(sid->version_codename, "trixie");

  auto rhel =
      parse_release_file("etc/redhat-release", "Red Hat Enterprise Linux release 9.3 (Plow)\n");
  ASSERT_TRUE(rhel);
  EXPECT_EQ(rhel->id, "rhel");
  EXPECT_EQ(rhel->version_id, "9.3");

  auto centos = parse_release_file("etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n");
  ASSERT_TRUE(centos);
  EXPECT_EQ(centos->id, "centos");
  EXPECT_EQ(centos->version_id, "7.9.2009");
}

TEST(DpkgStatus, RealMinbaseFixtureYieldsEveryInstalledPackageWithSource) {
  std::string text = testing::read_file(PC_TEST_DATA_DIR "/dpkg-minbase-bookworm.status");
  ASSERT_FALSE(text.empty());
  std::vector<Package> pkgs;
  std::vector<std::string> warnings;
  parse_dpkg_status(text, true, Limits{}, pkgs, warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(pkgs.size(), 96u);

  const Package* bsdutils = find(pkgs, "bsdutils");
  ASSERT_NE(bsdutils, nullptr);
  EXPECT_EQ(bsdutils->type, "deb");
  EXPECT_EQ(bsdutils->version, "1:2.38.1-5+deb12u3");  // epoch kept as written
  EXPECT_EQ(bsdutils->source_name, "util-linux");
  EXPECT_EQ(bsdutils->source_version, "2.38.1-5+deb12u3");
  EXPECT_EQ(bsdutils->arch, "amd64");

  const Package* gcc = find(pkgs, "gcc-12-base");
  ASSERT_NE(gcc, nullptr);
  EXPECT_EQ(gcc->source_name, "gcc-12");
  EXPECT_EQ(gcc->source_version, "");  // same as the binary version

  const Package* base = find(pkgs, "base-files");
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(base->source_name, "");  // no Source field: the binary is the source
}

TEST(DpkgStatus, OnlyInstalledStanzasCount) {
  std::vector<Package> pkgs;
  std::vector<std::string> warnings;
  parse_dpkg_status(
      "Package: removed\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
      "Package: half\nStatus: install ok half-configured\nVersion: 2.0\n\n"
      "Package: held\nStatus: hold ok installed\nVersion: 3.0\nArchitecture: all\n"
      "Description: x\n long description\n .\n more\n\n"
      "Package: nostatus\nVersion: 4.0\n",
      true, Limits{}, pkgs, warnings);
  ASSERT_EQ(pkgs.size(), 1u);
  EXPECT_EQ(pkgs[0].name, "held");
  EXPECT_EQ(pkgs[0].version, "3.0");
}

TEST(DpkgStatus, DistrolessStatusDirEntriesNeedNoStatusField) {
  std::vector<Package> pkgs;
  std::vector<std::string> warnings;
  parse_dpkg_status(
      "Package: libssl3\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\n"
      "Source: openssl\n",
      false, Limits{}, pkgs, warnings);
  ASSERT_EQ(pkgs.size(), 1u);
  EXPECT_EQ(pkgs[0].source_name, "openssl");
}

TEST(DpkgStatus, HugeFieldSkipsTheRecordWithAWarning) {
  std::string huge(100'000, 'a');
  std::vector<Package> pkgs;
  std::vector<std::string> warnings;
  parse_dpkg_status("Package: " + huge +
                        "\nStatus: install ok installed\nVersion: 1\n\n"
                        "Package: ok\nStatus: install ok installed\nVersion: 2\n",
                    true, Limits{}, pkgs, warnings);
  ASSERT_EQ(pkgs.size(), 1u);
  EXPECT_EQ(pkgs[0].name, "ok");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("over 4096 bytes"), std::string::npos);
  EXPECT_LT(warnings[0].size(), 200u);  // the field itself is not echoed
}

TEST(ApkInstalled, ParsesNameVersionArchOriginLicence) {
  std::vector<Package> pkgs;
  std::vector<std::string> warnings;
  parse_apk_installed(
      "C:Q1Bs+xz4aTRMjw0m5mu6PqpwV0tY8=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:411323\nI:659456\n"
      "T:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\n"
      "m:Natanael Copa <ncopa@alpinelinux.org>\nt:1712080497\n\n"
      "C:Q1abc=\nP:libcrypto3\nV:3.3.2-r1\nA:x86_64\nL:Apache-2.0\no:openssl\n\n",
      Limits{}, pkgs, warnings);
  ASSERT_EQ(pkgs.size(), 2u);
  EXPECT_EQ(pkgs[0].name, "musl");
  EXPECT_EQ(pkgs[0].version, "1.2.5-r0");
  EXPECT_EQ(pkgs[0].arch, "x86_64");
  EXPECT_EQ(pkgs[0].source_name, "");  // origin equals the name
  ASSERT_EQ(pkgs[0].licenses.size(), 1u);
  EXPECT_EQ(pkgs[0].licenses[0], "MIT");
  EXPECT_EQ(pkgs[1].type, "apk");
  EXPECT_EQ(pkgs[1].source_name, "openssl");
  EXPECT_TRUE(warnings.empty());
}

TEST(PythonMetadata, NameVersionAndLicence) {
  auto p = parse_python_metadata(
      "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: Python HTTP for Humans.\n"
      "License: Apache 2.0\nClassifier: License :: OSI Approved :: Apache Software License\n"
      "\n# Requests\nName: not-a-header\n",
      Limits{});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, "pypi");
  EXPECT_EQ(p->name, "requests");
  EXPECT_EQ(p->version, "2.31.0");
  ASSERT_EQ(p->licenses.size(), 1u);
  EXPECT_EQ(p->licenses[0], "Apache 2.0");
}

TEST(PythonMetadata, LicenseExpressionThenClassifiers) {
  auto expr = parse_python_metadata(
      "Metadata-Version: 2.4\nName: x\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\n",
      Limits{});
  ASSERT_TRUE(expr);
  EXPECT_EQ(expr->licenses, std::vector<std::string>{"MIT OR Apache-2.0"});
  auto classifier = parse_python_metadata(
      "Name: y\nVersion: 2\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\n",
      Limits{});
  ASSERT_TRUE(classifier);
  EXPECT_EQ(classifier->licenses, std::vector<std::string>{"MIT License"});
  EXPECT_FALSE(parse_python_metadata("Name: z\n", Limits{}));
}

TEST(NpmPackageJson, NameVersionLicence) {
  std::string error;
  auto p = parse_npm_package_json(
      R"({"name":"lodash","version":"4.17.15","license":"MIT","main":"lodash.js"})", Limits{},
      error);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "lodash");
  EXPECT_EQ(p->version, "4.17.15");
  EXPECT_EQ(p->licenses, std::vector<std::string>{"MIT"});

  auto legacy = parse_npm_package_json(
      R"({"name":"old","version":"0.1.0","licenses":[{"type":"MIT"},{"type":"GPL-2.0"}]})",
      Limits{}, error);
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->licenses.size(), 2u);
}

TEST(NpmPackageJson, WithoutVersionOrBrokenIsSkipped) {
  std::string error;
  EXPECT_FALSE(parse_npm_package_json(R"({"type":"module"})", Limits{}, error));
  EXPECT_TRUE(error.empty());
  EXPECT_FALSE(parse_npm_package_json(R"({"name":"x")", Limits{}, error));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos);
}

TEST(NpmLock, Version3Packages) {
  std::vector<Package> pkgs;
  std::vector<std::string> warnings;
  parse_npm_lock(R"({"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{
    "":{"name":"app","version":"1.0.0"},
    "node_modules/lodash":{"version":"4.17.15","license":"MIT"},
    "node_modules/@babel/core":{"version":"7.23.0"},
    "node_modules/a/node_modules/minimist":{"version":"1.2.0"},
    "node_modules/alias":{"name":"real-pkg","version":"2.0.0"},
    "node_modules/devonly":{"version":"1.0.0","dev":true},
    "node_modules/ws-link":{"resolved":"packages/ws","link":true},
    "packages/ws":{"version":"0.0.1"}}})",
                 Limits{}, pkgs, warnings);
  std::vector<std::string> names;
  for (const Package& p : pkgs) names.push_back(p.name + "@" + p.version);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"@babel/core@7.23.0", "lodash@4.17.15",
                                             "minimist@1.2.0", "real-pkg@2.0.0"}));
}

TEST(NpmLock, Version1NestedDependencies) {
  std::vector<Package> pkgs;
  std::vector<std::string> warnings;
  parse_npm_lock(R"({"name":"app","lockfileVersion":1,"dependencies":{
    "express":{"version":"4.17.1","dependencies":{"qs":{"version":"6.7.0"}}},
    "aliased":{"version":"npm:semver@5.7.1"},
    "local":{"version":"file:../local"},
    "gitdep":{"version":"git+https://github.com/x/y.git#abc"}}})",
                 Limits{}, pkgs, warnings);
  std::vector<std::string> names;
  for (const Package& p : pkgs) names.push_back(p.name + "@" + p.version);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"express@4.17.1", "qs@6.7.0", "semver@5.7.1"}));
}

TEST(NpmLock, Version2PrefersPackagesOverDependencies) {
  std::vector<Package> pkgs;
  std::vector<std::string> warnings;
  parse_npm_lock(R"({"lockfileVersion":2,
    "packages":{"node_modules/ms":{"version":"2.1.2"}},
    "dependencies":{"ms":{"version":"2.1.2"}}})",
                 Limits{}, pkgs, warnings);
  ASSERT_EQ(pkgs.size(), 1u);
  EXPECT_EQ(pkgs[0].name, "ms");
}

TEST(NpmLock, DeeplyNestedJsonIsAWarningNotACrash) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "[";
  std::vector<Package> pkgs;
  std::vector<std::string> warnings;
  parse_npm_lock(deep, Limits{}, pkgs, warnings);
  EXPECT_TRUE(pkgs.empty());
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(SourceRpm, SplitsNameAndVersionRelease) {
  std::string name, version;
  ASSERT_TRUE(split_source_rpm("openssl-3.0.7-27.el9.src.rpm", name, version));
  EXPECT_EQ(name, "openssl");
  EXPECT_EQ(version, "3.0.7-27.el9");
  ASSERT_TRUE(split_source_rpm("python3.11-setuptools-65.5.1-2.el9.src.rpm", name, version));
  EXPECT_EQ(name, "python3.11-setuptools");
  EXPECT_EQ(version, "65.5.1-2.el9");
  EXPECT_FALSE(split_source_rpm("garbage.src.rpm", name, version));
  EXPECT_FALSE(split_source_rpm("", name, version));
}

TEST(GoModinfo, MainModuleDepsAndReplacements) {
  GoBuildInfo info;
  parse_go_modinfo(
      "path\tgithub.com/example/tool/cmd/tool\n"
      "mod\tgithub.com/example/tool\tv1.4.2\th1:abc=\n"
      "dep\tgolang.org/x/net\tv0.17.0\th1:def=\n"
      "dep\tgithub.com/old/lib\tv1.0.0\n"
      "=>\tgithub.com/fork/lib\tv1.0.1\th1:ghi=\n"
      "dep\tgithub.com/local/lib\tv0.0.0\n"
      "=>\t../lib\t\n"
      "build\t-compiler=gc\n"
      "build\tCGO_ENABLED=0\n",
      info);
  EXPECT_EQ(info.path, "github.com/example/tool/cmd/tool");
  EXPECT_EQ(info.main_module, "github.com/example/tool");
  EXPECT_EQ(info.main_version, "v1.4.2");
  ASSERT_EQ(info.deps.size(), 3u);
  EXPECT_EQ(info.deps[0].path, "golang.org/x/net");
  EXPECT_EQ(info.deps[1].path, "github.com/fork/lib");
  EXPECT_EQ(info.deps[1].version, "v1.0.1");
  EXPECT_EQ(info.deps[2].path, "../lib");
  EXPECT_EQ(info.deps[2].version, "");
}

}  // namespace
}  // namespace portcullis::scanner::image
