// The interface between the layer walker and the package catalogers.
//
// A cataloger declares the paths it wants (PathPattern) and may narrow them
// by mode, size and the file's first bytes (accepts). The walker reads only
// the files some cataloger accepts, hands each to the cataloger as a stream,
// and keeps what it found per path, so that a newer layer's copy replaces an
// older one and whiteouts delete it. Catalogers never see the host file system.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "scanner/image/image_scan.h"
#include "scanner/image/path.h"
#include "scanner/model.h"

namespace portcullis::scanner::image {

// A file the walker found (a regular file; links are resolved before this).
struct FileInfo {
  std::string path;          // normalised image path
  std::string layer_digest;  // layer the bytes come from
  uint64_t size = 0;         // size declared by the archive
  uint32_t mode = 0;         // permission bits (07777)
  // The exact path the cataloger asked for when the file was reached through
  // links (etc/os-release -> usr/lib/os-release); empty otherwise.
  std::string wanted_as;

  // The path that says what the file is: wanted_as when set, else path.
  const std::string& role_path() const { return wanted_as.empty() ? path : wanted_as; }
};

// The bytes of one file, read once from the start. Not thread-safe.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // Reads up to buf.size() bytes; 0 at the end. An error means the layer
  // itself is corrupt or truncated, and the scan fails with it.
  virtual Result<std::size_t> read(std::span<char> buf) = 0;

  // Reads the rest of the file. Errc::size_invalid, naming `path`, when the
  // file is larger than `max` bytes (nothing over the bound is kept).
  Result<std::string> read_all(std::string_view path, uint64_t max);
};

// Reads from a string (files buffered for several catalogers, tests).
class StringReader final : public FileReader {
 public:
  explicit StringReader(std::string_view data) : data_(data) {}
  Result<std::size_t> read(std::span<char> buf) override;

 private:
  std::string_view data_;
};

// What one file yields. Packages need not carry layer_digest or path: the
// walker fills in the file's own when they are empty.
struct Found {
  std::vector<Package> packages;
  std::optional<Distro> distro;
  int distro_rank = 0;                // lower wins (etc/os-release before fallbacks)
  std::vector<std::string> warnings;  // file-level problems that do not fail the scan
};

class Cataloger {
 public:
  virtual ~Cataloger() = default;
  virtual std::string_view name() const = 0;
  // Exact paths are looked up in the final image tree with links resolved
  // (inside the image); the other kinds match regular files as stored.
  virtual std::vector<PathPattern> patterns() const = 0;
  // Narrows a match before anything is read; `head` is up to the first 512 bytes.
  virtual bool accepts(const FileInfo& file, std::string_view head) const {
    (void)file;
    (void)head;
    return true;
  }
  // Reads one file. Problems with the file's content become warnings in
  // Found; an error fails the whole scan (a bound exceeded, a corrupt layer).
  virtual Result<Found> catalog(const FileInfo& file, FileReader& in) = 0;
  // Called once with everything this cataloger found in the final image
  // (e.g. to drop lock-file entries that an installed package also reports).
  virtual void finish(std::vector<Package>& packages, std::vector<std::string>& warnings) const {
    (void)packages;
    (void)warnings;
  }
};

using CatalogerList = std::vector<std::unique_ptr<Cataloger>>;

// The built-in catalogers in reporting order: os-release, dpkg, apk, rpm,
// npm, PyPI, Go binaries, Java archives.
CatalogerList default_catalogers(const Limits& limits);

std::unique_ptr<Cataloger> make_os_cataloger(const Limits& limits);
std::unique_ptr<Cataloger> make_dpkg_cataloger(const Limits& limits);
std::unique_ptr<Cataloger> make_apk_cataloger(const Limits& limits);
std::unique_ptr<Cataloger> make_rpm_cataloger(const Limits& limits);
std::unique_ptr<Cataloger> make_npm_cataloger(const Limits& limits);
std::unique_ptr<Cataloger> make_python_cataloger(const Limits& limits);
std::unique_ptr<Cataloger> make_go_cataloger(const Limits& limits);
std::unique_ptr<Cataloger> make_java_cataloger(const Limits& limits);

// Scans with a chosen set of catalogers (tests, or a caller that wants only some).
Result<Inventory> scan_layers_with(const std::vector<Layer>& layers, const Limits& limits,
                                   CatalogerList catalogers, const Progress& progress = {});

// ---- Pure parsers, exposed for tests ---------------------------------------

// os-release (KEY=value, shell quoting). nullopt when it names no ID.
std::optional<Distro> parse_os_release(std::string_view text);
// Fallback files: etc/debian_version, etc/alpine-release, etc/redhat-release
// (and its relatives); `path` says which one.
std::optional<Distro> parse_release_file(std::string_view path, std::string_view text);

// dpkg status text. `status_required`: var/lib/dpkg/status stanzas must say
// "installed"; distroless status.d files may have no Status field at all.
void parse_dpkg_status(std::string_view text, bool status_required, const Limits& limits,
                       std::vector<Package>& out, std::vector<std::string>& warnings);
// apk lib/apk/db/installed.
void parse_apk_installed(std::string_view text, const Limits& limits, std::vector<Package>& out,
                         std::vector<std::string>& warnings);
// PyPI core metadata (METADATA / PKG-INFO); nullopt without Name and Version.
std::optional<Package> parse_python_metadata(std::string_view text, const Limits& limits);
// An npm package.json (installed package); nullopt without name and version.
std::optional<Package> parse_npm_package_json(std::string_view text, const Limits& limits,
                                              std::string& error);
// package-lock.json / npm-shrinkwrap.json, lockfileVersion 1, 2 and 3.
void parse_npm_lock(std::string_view text, const Limits& limits, std::vector<Package>& out,
                    std::vector<std::string>& warnings);
// Splits an rpm source package file name ("openssl-3.0.7-27.el9.src.rpm")
// into name and version-release; false when it has no such shape.
bool split_source_rpm(std::string_view srpm, std::string& name, std::string& version);

// Go build information as the Go linker embeds it (Go >= 1.18 inline form).
struct GoBuildInfo {
  std::string go_version;  // "go1.21.5"
  std::string path;        // main package path
  std::string main_module;
  std::string main_version;
  struct Module {
    std::string path;
    std::string version;
  };
  std::vector<Module> deps;  // replacements applied
};
// Parses the text between the module-info sentinels (or the whole string).
void parse_go_modinfo(std::string_view modinfo, GoBuildInfo& info);

}  // namespace portcullis::scanner::image
