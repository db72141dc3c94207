// Scanner benchmark (issue 5): prints figures and ratios, asserts nothing.
//   1. importing all of tests/data/vulndata into a fresh advisory database;
//   2. scanning debian-extra from an OCI layout vs merely decompressing its
//      layers (the floor a scan cannot beat) — target: ratio <= 1.5;
//   3. matching an inventory of 10,000 packages — target: well under 100 ms.
// Usage: bench_scan [--layout DIR] [--vulndata DIR]
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "scanner/advisories/database.h"
#include "scanner/image/image_scan.h"
#include "scanner/oci_layout.h"

namespace fs = std::filesystem;
using namespace portcullis::scanner;

namespace {

template <class F>
double best_of(int n, F f) {
  double best = 1e18;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

void decompress(const std::vector<image::Layer>& layers) {
  for (const auto& l : layers) {
    archive* a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, l.path.c_str(), 1 << 20) == ARCHIVE_OK) {
      archive_entry* e = nullptr;
      while (archive_read_next_header(a, &e) == ARCHIVE_OK) archive_read_data_skip(a);
    }
    archive_read_free(a);
  }
}

std::vector<std::vector<std::string>> read_tsv(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(p);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header || line.empty() || line[0] == '#') {
      header = false;
      continue;
    }
    std::vector<std::string> cols;
    std::size_t start = 0;
    while (true) {
      auto tab = line.find('\t', start);
      cols.push_back(line.substr(start, tab == std::string::npos ? tab : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    rows.push_back(std::move(cols));
  }
  return rows;
}

const char* verdict(bool ok) { return ok ? "PASS" : "MISS"; }

}  // namespace

int main(int argc, char** argv) {
  fs::path layout = "/var/tmp/registry-harness-cache/oci";
  fs::path vulndata = fs::path(PORTCULLIS_SOURCE_DIR) / "tests/data/vulndata";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--layout") layout = argv[i + 1];
    if (a == "--vulndata") vulndata = argv[i + 1];
  }
  char tmpl[] = "/tmp/pc-bench-scan-XXXXXX";
  if (!mkdtemp(tmpl)) return 2;
  fs::path tmp = tmpl;

  // 1. Import everything.
  advisories::AdvisoryDatabase db(tmp / "advisories.db");
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(vulndata)) {
    auto name = e.path().filename().string();
    if (e.path().string().find("/expected/") != std::string::npos ||
        e.path().string().find("/fixtures/") != std::string::npos || name == "README.md" ||
        name.find("provenance") != std::string::npos || name.find("sample") != std::string::npos) {
      continue;
    }
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::size_t records = 0;
  double import_s = best_of(1, [&] {
    for (const auto& f : files) {
      auto r = db.import_file(f);
      if (r) records += r->records;
      else std::fprintf(stderr, "import %s: %s\n", f.c_str(), r.error().message.c_str());
    }
  });

  // 2. Scan vs decompress.
  double plain = -1, scan = -1;
  std::size_t packages = 0;
  auto image = read_oci_layout(layout, "debian-extra");
  if (image) {
    plain = best_of(3, [&] { decompress(image->layers); });
    scan = best_of(3, [&] {
      auto inv = image::scan_layers(image->layers);
      if (inv) packages = inv->packages.size();
    });
  } else {
    std::fprintf(stderr, "no %s:debian-extra (%s): tests/harness/build-test-images.sh builds it\n",
                 layout.c_str(), image.error().message.c_str());
  }

  // 3. Match 10,000 distinct packages.
  Inventory inv;
  inv.distro = Distro{"debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"};
  for (const auto& [file, type] : {std::pair{"npm/expected/queries-npm-all-versions.tsv", kTypeNpm},
                                   std::pair{"pypi/expected/queries-pypi.tsv", kTypePypi}}) {
    for (const auto& q : read_tsv(vulndata / file)) {
      if (q.size() >= 3) inv.packages.push_back(Package{type, q[1], q[2], "", "", "", "", "", {}});
    }
  }
  // Alpine's package names (busybox, openssl, curl, …) as Debian packages: they
  // exercise the Debian buckets too.
  for (const auto& q : read_tsv(vulndata / "alpine/expected/queries-alpine-v3.20.tsv")) {
    if (q.size() >= 3) inv.packages.push_back(Package{kTypeDeb, q[1], q[2], "", "", "", "", "", {}});
  }
  for (int i = 0; inv.packages.size() < 10'000; ++i) {
    inv.packages.push_back(Package{i % 2 ? kTypeNpm : kTypeDeb, "unknown-" + std::to_string(i),
                                   "1.0.0", "", "", "", "", "", {}});
  }
  std::size_t findings = db.match(inv).size();  // builds the index
  double match_s = best_of(5, [&] { findings = db.match(inv).size(); });

  fs::remove_all(tmp);
  std::printf("scanner benchmark (one run; best of N where noted)\n");
  std::printf("%-52s %10.3f s  (%zu files, %zu records)\n", "import all of vulndata", import_s,
              files.size(), records);
  if (image) {
    std::printf("%-52s %10.3f s\n", "debian-extra: decompress layers only (best of 3)", plain);
    std::printf("%-52s %10.3f s  (%zu packages)\n", "debian-extra: full scan (best of 3)", scan, packages);
    std::printf("%-52s %10.2f    target <= 1.5  %s\n", "scan / decompress", scan / plain,
                verdict(scan / plain <= 1.5));
  }
  std::printf("%-52s %10.1f ms (%zu findings)  target < 100 ms  %s\n",
              "match 10,000 packages (best of 5)", match_s * 1000, findings, verdict(match_s < 0.1));
  return 0;
}
