#include "server/policy_directory.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "policy/stored.h"

namespace portcullis::server {

namespace fs = std::filesystem;

Result<std::vector<policy::PolicyFile>> read_policy_directory(const std::string& dir) {
  constexpr std::uintmax_t kMaxFile = 1024 * 1024;
  std::vector<policy::PolicyFile> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return make_error(Errc::invalid_request, dir + ": " + ec.message());
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".yaml") && !name.ends_with(".yml")) continue;
    if (name.front() == '.' || !entry.is_regular_file(ec)) continue;
    if (!policy::valid_file_name(name)) {
      return make_error(Errc::invalid_request,
                        entry.path().string() + ": policy file names are [A-Za-z0-9._-]");
    }
    if (entry.file_size(ec) > kMaxFile) {
      return make_error(Errc::invalid_request, entry.path().string() + ": larger than 1 MiB");
    }
    std::ifstream in(entry.path(), std::ios::binary);
    if (!in) return make_error(Errc::invalid_request, entry.path().string() + ": cannot be read");
    std::ostringstream ss;
    ss << in.rdbuf();
    out.push_back({name, ss.str()});
  }
  std::sort(out.begin(), out.end(), [](const policy::PolicyFile& a, const policy::PolicyFile& b) {
    return a.name < b.name;
  });
  return out;
}

PolicyDirectoryWatcher::PolicyDirectoryWatcher(std::string dir, std::chrono::seconds interval,
                                               auth::Admin& admin, auth::AccessService& access,
                                               std::function<void()> tick)
    : dir_(std::move(dir)),
      interval_(interval),
      admin_(admin),
      access_(access),
      tick_(std::move(tick)) {}

PolicyDirectoryWatcher::~PolicyDirectoryWatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool PolicyDirectoryWatcher::sync() {
  if (dir_.empty()) return true;
  auto files = read_policy_directory(dir_);
  if (!files) {
    if (last_seen_ != "!" + files.error().message) {
      spdlog::error("policy: {}; the active policy stays", files.error().message);
      last_seen_ = "!" + files.error().message;
    }
    return false;
  }
  std::string encoded = policy::encode_files(*files);
  if (encoded == last_seen_) return true;
  auto latest = access_.store().latest_policy_version();
  if (latest && *latest) {
    auto stored = policy::decode_files((*latest)->files_json);
    if (stored && policy::encode_files(*stored) == encoded) {
      last_seen_ = encoded;
      return true;
    }
  }
  last_seen_ = encoded;
  auto v = admin_.put_policy(auth::Actor::local_operator(), *files, "from directory " + dir_);
  if (!v) {
    spdlog::error("policy: {} is invalid; the active policy stays:\n{}", dir_, v.error().message);
    return false;
  }
  spdlog::info("policy: {} is now active as version {}", dir_, *v);
  return true;
}

void PolicyDirectoryWatcher::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      sync();
      if (tick_) tick_();
      lock.lock();
    }
  });
}

}  // namespace portcullis::server
