#include "scanner/advisories/database.h"

#include <mutex>

#include <spdlog/spdlog.h>

#include "scanner/advisories/importer.h"
#include "scanner/advisories/matcher.h"
#include "scanner/advisories/store.h"

namespace portcullis::scanner::advisories {

namespace {

// Whether ISO 8601 timestamp a is later than b. Compares the seconds part
// first, so that "…:08Z" and "…:08.98Z" tie instead of sorting by '.' < 'Z'.
bool later(const std::string& a, const std::string& b) {
  int c = a.compare(0, 19, b, 0, 19);
  return c != 0 ? c > 0 : a > b;
}

}  // namespace

struct AdvisoryDatabase::Impl {
  Options options;
  SystemClock system_clock;

  // Lock order: index_mu before db_mu.
  std::mutex db_mu;
  Store store;  // guarded by db_mu

  std::mutex index_mu;
  std::shared_ptr<const MatchIndex> index;  // guarded by index_mu; rebuilt when stale

  Impl(const std::filesystem::path& path, Options opts) : options(opts), store(path) {}
  const Clock& clock() const { return options.clock ? *options.clock : system_clock; }
};

AdvisoryDatabase::AdvisoryDatabase(const std::filesystem::path& path)
    : AdvisoryDatabase(path, Options{}) {}

AdvisoryDatabase::AdvisoryDatabase(const std::filesystem::path& path, Options options)
    : impl_(std::make_unique<Impl>(path, options)) {}

AdvisoryDatabase::~AdvisoryDatabase() = default;

Result<SourceInfo> AdvisoryDatabase::import_file(const std::filesystem::path& file,
                                                 const std::string& name) {
  std::string label = name.empty() ? file.filename().string() : name;
  if (label.empty()) return make_error(Errc::not_found, "no file name");
  std::lock_guard lock(impl_->db_mu);
  auto tx = impl_->store.begin_import(label);
  if (!tx) return tx.error();
  std::string newest;
  auto format =
      read_advisory_file(file, label, impl_->options.limits, [&](Advisory&& adv) -> Result<void> {
        if (later(adv.modified, newest)) newest = adv.modified;
        return (*tx)->add(adv);
      });
  if (!format) {
    spdlog::warn("advisories: import of {} failed: {}", label, format.error().message);
    return format.error();  // the transaction rolls back
  }
  auto info = (*tx)->commit(*format, newest, impl_->clock().unix_seconds());
  if (!info) return info.error();
  spdlog::info("advisories: imported {} ({}, {} records, data of {})", info->name, info->format,
               info->records, info->data_date.empty() ? "unknown date" : info->data_date);
  return info;
}

std::vector<SourceInfo> AdvisoryDatabase::sources() const {
  std::lock_guard lock(impl_->db_mu);
  auto list = impl_->store.sources();
  if (!list) return {};
  return std::move(*list);
}

std::string AdvisoryDatabase::data_version() const {
  std::lock_guard lock(impl_->db_mu);
  if (auto r = impl_->store.refresh(); !r) spdlog::warn("advisories: {}", r.error().message);
  return impl_->store.data_version();
}

Result<std::vector<Finding>> AdvisoryDatabase::try_match(const Inventory& inventory) const {
  // The file's current generation: another process may have imported.
  uint64_t current;
  {
    std::lock_guard db_lock(impl_->db_mu);
    if (auto r = impl_->store.refresh(); !r) return r.error();
    current = impl_->store.generation();
  }
  std::shared_ptr<const MatchIndex> index;
  {
    std::lock_guard lock(impl_->index_mu);
    if (!impl_->index || impl_->index->generation() != current) {
      std::lock_guard db_lock(impl_->db_mu);
      auto data = impl_->store.load();
      if (!data) return data.error();
      impl_->index = MatchIndex::build(std::move(*data));
      spdlog::debug("advisories: index built ({} entries)", impl_->index->entry_count());
    }
    index = impl_->index;
  }
  return index->match(inventory);
}

std::vector<Finding> AdvisoryDatabase::match(const Inventory& inventory) const {
  auto findings = try_match(inventory);
  if (findings) return std::move(*findings);
  spdlog::error("advisories: cannot rebuild the index: {}", findings.error().message);
  std::shared_ptr<const MatchIndex> index;
  {
    std::lock_guard lock(impl_->index_mu);
    index = impl_->index;
  }
  return index ? index->match(inventory) : std::vector<Finding>{};
}

}  // namespace portcullis::scanner::advisories
