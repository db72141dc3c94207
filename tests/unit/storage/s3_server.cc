#include "s3_server.h"

#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>

namespace portcullis::testutil {

namespace {

std::string run(const std::string& command, int* status) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  *status = ::pclose(p);
  return out;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

S3Server& S3Server::instance() {
  static S3Server server;
  return server;
}

S3Server::S3Server() {
  if (const char* d = std::getenv("PORTCULLIS_TEST_S3_DIR"); d && *d) {
    dir_ = d;
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pc-s3-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    owned_ = true;
  }
  int status = 0;
  std::string out = run(std::string(PC_TEST_HARNESS_DIR) + "/start-s3.sh " + quote(dir_), &status);
  if (status != 0) {
    throw std::runtime_error("tests/harness/start-s3.sh " + dir_ +
                             " failed (see its messages above); the S3 tests need a real store");
  }
  std::map<std::string, std::string> env;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  endpoint_ = {env["S3_ENDPOINT"], env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"],
               env["S3_REGION"],   env["S3_BUCKET"],     env["S3_BACKEND"]};
  if (endpoint_.endpoint.empty() || endpoint_.bucket.empty()) {
    throw std::runtime_error("start-s3.sh printed no endpoint: " + out);
  }
}

S3Server::~S3Server() {
  if (!owned_) return;
  int status = 0;
  run(std::string(PC_TEST_HARNESS_DIR) + "/stop-s3.sh " + quote(dir_) + " >&2", &status);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace portcullis::testutil
