#include "cli/scan_commands.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include <fmt/chrono.h>
#include <fmt/format.h>

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

int scan(const std::string& db_path, const std::string& target, const std::string& format,
         const std::string& platform, const std::string& fail_on) {
  std::string dir = target, ref;
  if (!fs::is_directory(dir)) {
    auto colon = target.rfind(':');
    if (colon != std::string::npos && fs::is_directory(target.substr(0, colon))) {
      dir = target.substr(0, colon);
      ref = target.substr(colon + 1);
    }
  }
  if (!fs::is_directory(dir)) {
    std::fprintf(stderr, "portcullis: %s is not an OCI image layout directory (DIR or DIR:REF)\n", target.c_str());
    return 2;
  }
  auto image = scanner::read_oci_layout(dir, ref, platform);
  if (!image) {
    std::fprintf(stderr, "portcullis: %s\n", image.error().message.c_str());
    return 2;
  }
  std::fprintf(stderr, "scanning %zu layers of %s ...\n", image->layers.size(), image->manifest_digest.c_str());
  auto t0 = std::chrono::steady_clock::now();
  auto inv = scanner::image::scan_layers(image->layers);
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
  if (!fail_on.empty()) {
    int threshold = scanner::severity_rank(fail_on);
    for (const auto& f : findings) {
      if (scanner::severity_rank(f.severity) >= threshold) return 1;
    }
  }
  return 0;
}

}  // namespace portcullis::cli
