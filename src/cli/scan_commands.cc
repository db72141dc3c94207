#include "cli/scan_commands.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <stdlib.h>
#include <unistd.h>

#include "oci/names.h"
#include "proxy/registry_client.h"
#include "scanner/advisories/database.h"
#include "scanner/oci_layout.h"
#include "scanner/report.h"

namespace portcullis::cli {

namespace fs = std::filesystem;

namespace {

std::string iso(int64_t t) { return fmt::format("{:%FT%TZ}", fmt::gmtime(static_cast<std::time_t>(t))); }

}  // namespace

int db_import(const std::string& db_path, const std::vector<std::string>& files, const std::string& name) {
  if (auto parent = fs::path(db_path).parent_path(); !parent.empty()) fs::create_directories(parent);
  scanner::advisories::AdvisoryDatabase db(db_path);
  int rc = 0;
  for (const auto& f : files) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = db.import_file(f, files.size() == 1 ? name : "");
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r) {
      std::fprintf(stderr, "portcullis: %s: %s\n", f.c_str(), r.error().message.c_str());
      rc = 1;
      continue;
    }
    std::printf("imported %-40s %-15s %8zu records  data %s  (%.2f s)\n", r->name.c_str(),
                r->format.c_str(), r->records, r->data_date.empty() ? "?" : r->data_date.c_str(), secs);
  }
  std::printf("advisory data version %s\n", db.data_version().c_str());
  return rc;
}

int db_status(const std::string& db_path) {
  if (!fs::exists(db_path)) {
    std::fprintf(stderr, "portcullis: no advisory database at %s (import one with `portcullis db import`)\n",
                 db_path.c_str());
    return 1;
  }
  scanner::advisories::AdvisoryDatabase db(db_path);
  std::printf("%-40s %-15s %10s  %-22s %s\n", "SOURCE", "FORMAT", "RECORDS", "DATA DATE", "IMPORTED");
  for (const auto& s : db.sources()) {
    std::printf("%-40s %-15s %10zu  %-22s %s\n", s.name.c_str(), s.format.c_str(), s.records,
                s.data_date.empty() ? "?" : s.data_date.c_str(), iso(s.imported_at).c_str());
  }
  std::printf("data version %s\n", db.data_version().c_str());
  return 0;
}

namespace {

// Downloads a remote image's layers into tmp (verified) for scanning.
Result<scanner::LayoutImage> fetch_remote(const std::string& target, const ScanFlags& flags,
                                          const fs::path& tmp) {
  auto ref = oci::parse_image_reference(target);
  if (!ref) return ref.error();
  proxy::ClientOptions options;
  std::string host = ref->registry.substr(0, ref->registry.rfind(':'));
  options.plain_http = flags.plain_http || host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]";
  options.verify_tls = !flags.insecure_tls;
  if (auto colon = flags.creds.find(':'); colon != std::string::npos) {
    options.username = flags.creds.substr(0, colon);
    options.password = flags.creds.substr(colon + 1);
  }
  std::fprintf(stderr, "pulling %s ...\n", ref->str().c_str());
  auto pulled = proxy::pull_image(*ref, flags.platform, tmp, options);
  if (!pulled) return pulled.error();
  scanner::LayoutImage image{pulled->manifest_digest, {}};
  for (auto& [digest, path] : pulled->layers) image.layers.push_back({digest, path});
  return image;
}

}  // namespace

int scan(const std::string& db_path, const std::string& target, const ScanFlags& flags) {
  const std::string& format = flags.format;
  std::string dir = target, ref;
  if (!fs::is_directory(dir)) {
    auto colon = target.rfind(':');
    if (colon != std::string::npos && fs::is_directory(target.substr(0, colon))) {
      dir = target.substr(0, colon);
      ref = target.substr(colon + 1);
    }
  }
  struct TempDir {
    fs::path path;
    ~TempDir() {
      std::error_code ec;
      if (!path.empty()) fs::remove_all(path, ec);
    }
  } tmp;
  Result<scanner::LayoutImage> image = make_error(Errc::internal, "");
  if (fs::is_directory(dir)) {
    image = scanner::read_oci_layout(dir, ref, flags.platform);
  } else {
    char tmpl[] = "/tmp/portcullis-scan-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      std::fprintf(stderr, "portcullis: cannot create a temporary directory\n");
      return 2;
    }
    tmp.path = tmpl;
    image = fetch_remote(target, flags, tmp.path);
  }
  if (!image) {
    std::fprintf(stderr, "portcullis: %s\n", image.error().message.c_str());
    return 2;
  }
  std::fprintf(stderr, "scanning %zu layers of %s ...\n", image->layers.size(), image->manifest_digest.c_str());
  auto t0 = std::chrono::steady_clock::now();
  bool tty = ::isatty(2);
  auto inv = scanner::image::scan_layers(image->layers, {}, [&](std::size_t done, std::size_t total) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, tty ? "\r  layer %zu/%zu read (%.1f s)" : "  layer %zu/%zu read (%.1f s)\n",
                 done, total, secs);
    if (tty && done == total) std::fputc('\n', stderr);
  });
  if (!inv) {
    std::fprintf(stderr, "portcullis: scan failed: %s\n", inv.error().message.c_str());
    return 2;
  }
  std::vector<scanner::Finding> findings;
  std::string version;
  if (fs::exists(db_path)) {
    scanner::advisories::AdvisoryDatabase db(db_path);
    findings = db.match(*inv);
    version = db.data_version();
  } else {
    std::fprintf(stderr, "warning: no advisory database at %s: inventory only\n", db_path.c_str());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "%zu packages, %zu findings in %.2f s\n", inv->packages.size(), findings.size(), secs);
  scanner::ReportSubject subject{target, image->manifest_digest, version,
                                 iso(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count())};
  std::string out;
  if (format == "json") {
    out = scanner::report_json(subject, *inv, findings);
  } else if (format == "sarif") {
    out = scanner::report_sarif(subject, *inv, findings);
  } else if (format == "cyclonedx") {
    out = scanner::report_cyclonedx(subject, *inv, findings);
  } else {
    out = scanner::report_table(subject, *inv, findings);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (format != "table") std::fputc('\n', stdout);
  if (!flags.fail_on.empty()) {
    int threshold = scanner::severity_rank(flags.fail_on);
    for (const auto& f : findings) {
      if (scanner::severity_rank(f.severity) >= threshold) return 1;
    }
  }
  return 0;
}

}  // namespace portcullis::cli
