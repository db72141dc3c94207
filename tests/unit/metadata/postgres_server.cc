#include "postgres_server.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace portcullis::testutil {

namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultBin = "/usr/lib/postgresql/15/bin";

struct Owner {
  bool drop = false;  // running as root: initdb and postgres refuse root
  uid_t uid = 0;
  gid_t gid = 0;
};

Owner owner() {
  Owner o;
  if (::geteuid() != 0) return o;
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    throw std::runtime_error(
        "running as root, but there is no `postgres` user to run PostgreSQL as "
        "(install the Debian package postgresql)");
  }
  o.drop = true;
  o.uid = pw->pw_uid;
  o.gid = pw->pw_gid;
  return o;
}

std::string tail(const fs::path& log) {
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

// fork + exec as the owner, output to `log`; the child dies with us.
pid_t spawn(const Owner& o, const std::vector<std::string>& args, const fs::path& log,
            int death_signal) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    if (o.drop && (::setgid(o.gid) != 0 || ::setuid(o.uid) != 0)) ::_exit(126);
    // Set after setuid (changing credentials clears it).
    ::prctl(PR_SET_PDEATHSIG, death_signal);
    if (::getppid() != parent) ::_exit(125);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

PostgresServer& PostgresServer::instance() {
  static std::string failure;
  static std::unique_ptr<PostgresServer> server = []() -> std::unique_ptr<PostgresServer> {
    try {
      return std::unique_ptr<PostgresServer>(new PostgresServer());
    } catch (const std::exception& e) {
      failure = e.what();
      return nullptr;
    }
  }();
  if (!server) throw std::runtime_error("test PostgreSQL server unavailable: " + failure);
  return *server;
}

PostgresServer::PostgresServer() {
  const char* env = std::getenv("PORTCULLIS_TEST_PG_BIN");
  bin_ = env && *env ? env : kDefaultBin;
  for (const char* tool : {"initdb", "postgres"}) {
    if (::access((fs::path(bin_) / tool).c_str(), X_OK) != 0) {
      throw std::runtime_error("PostgreSQL 15 server binary " + (fs::path(bin_) / tool).string() +
                               " not found: install the Debian package postgresql "
                               "(scripts/install-deps.sh test) or set PORTCULLIS_TEST_PG_BIN");
    }
  }
  Owner o = owner();
  fs::create_directories(dir_.path() / "sock");
  if (o.drop) {
    for (const auto& p : {dir_.path(), dir_.path() / "sock"}) {
      if (::chown(p.c_str(), o.uid, o.gid) != 0) throw std::runtime_error("chown failed");
    }
  }
  auto log = dir_.path() / "initdb.log";
  pid_t pid = spawn(o,
                    {bin_ + "/initdb", "-D", (dir_.path() / "data").string(), "-U", "postgres",
                     "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"},
                    log, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("initdb failed: " + tail(log));
  }
  // The free port may be taken between probing and binding: try a few.
  for (int attempt = 1;; ++attempt) {
    try {
      start_postmaster();
      return;
    } catch (const std::exception&) {
      if (attempt == 3) throw;
    }
  }
}

void PostgresServer::start_postmaster() {
  port_ = free_port();
  auto log = dir_.path() / "postgres.log";
  // SIGQUIT on our death: immediate shutdown, no orphaned postmaster.
  pid_ = spawn(
      owner(),
      {bin_ + "/postgres", "-D", (dir_.path() / "data").string(), "-p", std::to_string(port_), "-k",
       (dir_.path() / "sock").string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
       "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"},
      log, SIGQUIT);
  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) +
                         " user=postgres dbname=postgres connect_timeout=2";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("postgres exited at start-up: " + tail(log));
    }
    if (PQping(conninfo.c_str()) == PQPING_OK) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGQUIT);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  throw std::runtime_error("postgres did not accept connections within 30 s: " + tail(log));
}

PostgresServer::~PostgresServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGINT);  // fast shutdown: disconnects clients
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
}

std::string PostgresServer::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::create_database() {
  // Identifiers cannot be parameters; this one is built from a counter.
  std::string name = "t_" + std::to_string(next_db_++);
  query("postgres", "CREATE DATABASE " + name);
  return url(name);
}

std::string PostgresServer::query(const std::string& database, const std::string& sql) const {
  PGconn* c = PQconnectdb(url(database).c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(c, &PQfinish);
  if (PQstatus(c) != CONNECTION_OK) {
    throw std::runtime_error(std::string("cannot connect to the test server: ") +
                             PQerrorMessage(c));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), &PQclear);
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
  }
  if (st == PGRES_TUPLES_OK && PQntuples(r.get()) > 0) return PQgetvalue(r.get(), 0, 0);
  return "";
}

}  // namespace portcullis::testutil
