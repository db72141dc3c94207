// rpm: the package database read by librpm itself (sqlite and Berkeley DB
// through librpm's read-only bdb_ro backend). The database file is copied to
// a private temporary directory and opened there with that directory as
// %_dbpath; nothing under the host's own /var/lib/rpm is touched.
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>

#include "scanner/image/cataloger.h"
#include "scanner/image/text_util.h"

namespace portcullis::scanner::image {

namespace {

namespace fs = std::filesystem;
using detail::excerpt;

constexpr const char* kDirs[] = {"var/lib/rpm/", "usr/lib/sysimage/rpm/"};

enum class Backend { sqlite, bdb, ndb, none };

Backend backend_of(std::string_view path) {
  std::string_view base = path.substr(path.rfind('/') + 1);
  if (base == "rpmdb.sqlite") return Backend::sqlite;
  if (base == "Packages") return Backend::bdb;
  if (base == "Packages.db") return Backend::ndb;
  return Backend::none;
}

// A private directory removed with its contents.
class TempDir {
 public:
  static Result<TempDir> create() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string tmpl = (base / "portcullis-rpmdb-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return make_error(Errc::internal, "cannot create a temporary directory for the rpm database");
    }
    return TempDir(tmpl);
  }
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

Result<void> copy_to(FileReader& in, const fs::path& out, std::string_view image_path,
                     uint64_t max) {
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::internal, "cannot write the temporary rpm database");
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  Result<void> status;
  while (true) {
    auto n = in.read(std::span<char>(buf));
    if (!n) {
      status = n.error();
      break;
    }
    if (*n == 0) break;
    total += *n;
    if (total > max) {
      status = make_error(Errc::size_invalid, fmt::format("{} is larger than the {}-byte limit for "
                                                          "one file",
                                                          image_path, max));
      break;
    }
    const char* p = buf.data();
    std::size_t left = *n;
    while (left > 0) {
      ssize_t w = ::write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ::close(fd);
        return make_error(Errc::internal, "cannot write the temporary rpm database");
      }
      p += w;
      left -= static_cast<std::size_t>(w);
    }
  }
  ::close(fd);
  return status;
}

uint32_t u32(const unsigned char* p, bool swapped) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped ? __builtin_bswap32(v) : v;
}

uint16_t u16(const unsigned char* p, bool swapped) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return swapped ? __builtin_bswap16(v) : v;
}

// librpm's bdb_ro reader trusts the file's page size and overflow lengths
// (and aborts the process when an allocation they ask for fails): check the
// shape of a Berkeley DB hash file before librpm sees it. "" when it is fine.
std::string check_bdb(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open";
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "cannot stat";
  const auto file_size = static_cast<uint64_t>(st.st_size);
  unsigned char meta[512];
  if (::pread(fd, meta, sizeof meta, 0) != static_cast<ssize_t>(sizeof meta)) return "too short";
  uint32_t magic;
  std::memcpy(&magic, meta + 12, 4);
  bool swapped;
  if (magic == 0x00061561) {
    swapped = false;
  } else if (magic == 0x61150600) {
    swapped = true;
  } else {
    return "not a Berkeley DB hash file";
  }
  const uint32_t version = u32(meta + 16, swapped);
  const uint32_t page_size = u32(meta + 20, swapped);
  const uint32_t last_page = u32(meta + 32, swapped);
  if (version < 8 || version > 10) return fmt::format("unsupported hash version {}", version);
  if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0) {
    return fmt::format("invalid page size {}", page_size);
  }
  if ((static_cast<uint64_t>(last_page) + 1) * page_size > file_size) {
    return "last page beyond the end of the file";
  }
  std::vector<unsigned char> page(page_size);
  for (uint32_t n = 1; n <= last_page; ++n) {
    if (::pread(fd, page.data(), page_size, static_cast<off_t>(n) * page_size) !=
        static_cast<ssize_t>(page_size)) {
      return "cannot read a page";
    }
    const unsigned type = page[25];
    if (type != 2 && type != 13) continue;  // hash pages hold the item references
    const unsigned entries = u16(page.data() + 20, swapped);
    if (26 + 2 * static_cast<uint64_t>(entries) > page_size) return "page with too many entries";
    for (unsigned i = 0; i < entries; ++i) {
      const unsigned off = u16(page.data() + 26 + 2 * i, swapped);
      if (off + 12 > page_size || page[off] != 3) continue;  // not an off-page item
      if (u32(page.data() + off + 8, swapped) > file_size) {
        return "an off-page item longer than the file";
      }
    }
  }
  return {};
}

// librpm (4.18) opens these index tables with the Packages table; in a
// read-only database a missing one sends it down an error path that leaks.
constexpr const char* kRpmIndexTables[] = {"Name",
                                           "Basenames",
                                           "Group",
                                           "Requirename",
                                           "Providename",
                                           "Conflictname",
                                           "Obsoletename",
                                           "Triggername",
                                           "Dirnames",
                                           "Installtid",
                                           "Sigmd5",
                                           "Sha1header",
                                           "Filetriggername",
                                           "Transfiletriggername",
                                           "Recommendname",
                                           "Suggestname",
                                           "Supplementname",
                                           "Enhancename"};

// Checks that the private copy is an rpm sqlite database and adds any empty
// index table it lacks (older or trimmed databases). "" when it is usable.
std::string prepare_sqlite(const fs::path& file) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "not an sqlite database";
  }
  std::string problem;
  if (sqlite3_table_column_metadata(db, nullptr, "Packages", "blob", nullptr, nullptr, nullptr,
                                    nullptr, nullptr) != SQLITE_OK) {
    problem = fmt::format("no rpm Packages table ({})", sqlite3_errmsg(db));
  }
  for (const char* table : kRpmIndexTables) {
    if (!problem.empty()) break;
    char* sql = sqlite3_mprintf(
        "CREATE TABLE IF NOT EXISTS '%q' (key 'TEXT' NOT NULL, hnum INTEGER NOT NULL, "
        "idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))",
        table);
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      problem = fmt::format("cannot prepare the database: {}", sqlite3_errmsg(db));
    }
    sqlite3_free(sql);
  }
  sqlite3_close(db);
  return problem;
}

// librpm keeps its macros and log callback process-wide: one reader at a time.
std::mutex& librpm_mutex() {
  static std::mutex m;
  return m;
}

int collect_log(rpmlogRec rec, rpmlogCallbackData data) {
  auto* messages = static_cast<std::vector<std::string>*>(data);
  if (rpmlogRecPriority(rec) <= RPMLOG_ERR && messages->size() < 8) {
    std::string msg = rpmlogRecMessage(rec);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    messages->push_back(std::move(msg));
  }
  return 0;  // never print to stderr
}

std::string str(Header h, rpmTagVal tag) {
  const char* s = headerGetString(h, tag);
  return s ? s : "";
}

// Reads every package header with librpm from a database in `dir`.
void read_database(const fs::path& dir, Backend backend, const std::string& image_path,
                   const Limits& limits, Found& found) {
  std::vector<std::string> log;
  std::lock_guard lock(librpm_mutex());
  rpmlogCallback previous = rpmlogSetCallback(collect_log, &log);
  rpmPushMacro(nullptr, "_dbpath", nullptr, dir.c_str(), RMIL_CMDLINE);
  rpmPushMacro(nullptr, "_db_backend", nullptr, backend == Backend::sqlite ? "sqlite" : "bdb_ro",
               RMIL_CMDLINE);
  rpmts ts = rpmtsCreate();
  rpmtsSetRootDir(ts, "/");
  // Installed headers: no signature or digest policy applies to reading them.
  rpmtsSetVSFlags(
      ts, static_cast<rpmVSFlags>(_RPMVSF_NOSIGNATURES | _RPMVSF_NODIGESTS | RPMVSF_NOHDRCHK));
  if (rpmtsOpenDB(ts, O_RDONLY) != 0) {
    found.warnings.push_back(fmt::format("{}: librpm cannot open the database: {}", image_path,
                                         log.empty() ? "unknown error" : log.front()));
  } else {
    rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_PACKAGES, nullptr, 0);
    Header h;
    std::size_t skipped = 0;
    while (mi != nullptr && (h = rpmdbNextIterator(mi)) != nullptr) {
      Package p;
      p.type = kTypeRpm;
      p.name = str(h, RPMTAG_NAME);
      if (p.name == "gpg-pubkey") continue;  // imported keys, not packages
      std::string version = str(h, RPMTAG_VERSION);
      std::string release = str(h, RPMTAG_RELEASE);
      std::string epoch;
      if (headerIsEntry(h, RPMTAG_EPOCH)) epoch = std::to_string(headerGetNumber(h, RPMTAG_EPOCH));
      p.arch = str(h, RPMTAG_ARCH);
      std::string srpm = str(h, RPMTAG_SOURCERPM);
      std::string license = str(h, RPMTAG_LICENSE);
      const std::size_t max = limits.max_field_bytes;
      if (p.name.empty() || version.empty() || p.name.size() > max || version.size() > max ||
          release.size() > max || p.arch.size() > max || srpm.size() > max ||
          license.size() > max) {
        if (skipped++ < 8) {
          found.warnings.push_back(
              fmt::format("{}: rpm header {} has a missing or over-long "
                          "field; ignored",
                          image_path, excerpt(p.name)));
        }
        continue;
      }
      std::string prefix = epoch.empty() ? "" : epoch + ":";
      p.version = prefix + version + (release.empty() ? "" : "-" + release);
      std::string src_name, src_version;
      if (split_source_rpm(srpm, src_name, src_version)) {
        p.source_name = src_name;
        // The source package carries no epoch of its own; the binary's applies.
        p.source_version = prefix + src_version;
      }
      if (!license.empty()) p.licenses.push_back(license);
      found.packages.push_back(std::move(p));
    }
    rpmdbFreeIterator(mi);
  }
  rpmtsFree(ts);
  rpmPopMacro(nullptr, "_db_backend");
  rpmPopMacro(nullptr, "_dbpath");
  rpmlogSetCallback(previous, nullptr);
}

class RpmCataloger final : public Cataloger {
 public:
  explicit RpmCataloger(const Limits& limits) : limits_(limits) {}
  std::string_view name() const override { return "rpm"; }
  std::vector<PathPattern> patterns() const override {
    std::vector<PathPattern> out;
    for (const char* dir : kDirs) {
      for (const char* file : {"rpmdb.sqlite", "Packages", "Packages.db"}) {
        out.push_back(PathPattern::exact(std::string(dir) + file));
      }
    }
    return out;
  }
  Result<Found> catalog(const FileInfo& file, FileReader& in) override {
    Found found;
    Backend backend = backend_of(file.role_path());
    if (backend == Backend::ndb) {
      found.warnings.push_back(
          fmt::format("{}: rpm ndb database (SUSE) not read: this librpm reads only sqlite and bdb "
                      "databases",
                      file.path));
      return found;
    }
    if (file.size > limits_.max_file_bytes) {
      return make_error(Errc::size_invalid, fmt::format("{} is larger than the {}-byte limit for "
                                                        "one file",
                                                        file.path, limits_.max_file_bytes));
    }
    auto dir = TempDir::create();
    if (!dir) return dir.error();
    fs::path db = dir->path() / std::string(base_name(file.role_path()));
    if (auto ok = copy_to(in, db, file.path, limits_.max_file_bytes); !ok) return ok.error();
    std::string problem = backend == Backend::sqlite ? prepare_sqlite(db) : check_bdb(db);
    if (!problem.empty()) {
      found.warnings.push_back(fmt::format("{}: not read: {}", file.path, problem));
      return found;
    }
    read_database(dir->path(), backend, file.path, limits_, found);
    return found;
  }
  // An image converted from bdb to sqlite may keep both: the sqlite one is current.
  void finish(std::vector<Package>& packages, std::vector<std::string>&) const override {
    std::set<std::string> sqlite_dirs;
    for (const Package& p : packages) {
      if (backend_of(p.path) == Backend::sqlite)
        sqlite_dirs.insert(p.path.substr(0, p.path.rfind('/')));
    }
    if (sqlite_dirs.empty()) return;
    std::erase_if(packages, [&](const Package& p) {
      return backend_of(p.path) == Backend::bdb &&
             sqlite_dirs.count(p.path.substr(0, p.path.rfind('/')));
    });
  }

 private:
  Limits limits_;
};

}  // namespace

bool split_source_rpm(std::string_view srpm, std::string& name, std::string& version) {
  for (std::string_view suffix : {".src.rpm", ".nosrc.rpm"}) {
    if (srpm.ends_with(suffix)) {
      srpm.remove_suffix(suffix.size());
      break;
    }
  }
  std::size_t rel = srpm.rfind('-');
  if (rel == std::string_view::npos || rel == 0) return false;
  std::size_t ver = srpm.rfind('-', rel - 1);
  if (ver == std::string_view::npos || ver == 0 || ver + 1 == rel || rel + 1 == srpm.size()) {
    return false;
  }
  name = std::string(srpm.substr(0, ver));
  version = std::string(srpm.substr(ver + 1));
  return true;
}

std::unique_ptr<Cataloger> make_rpm_cataloger(const Limits& limits) {
  return std::make_unique<RpmCataloger>(limits);
}

}  // namespace portcullis::scanner::image
