// The /api/v1/ administration handler over a real SQLite store: routing
// (namespaces with '/'), bodies, status codes, the actor it builds, pagination.
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include "api/access_control.h"
#include "api/handlers/handlers.h"
#include "auth/admin.h"
#include "auth/token_service.h"
#include "metadata/sqlite/sqlite_store.h"
#include "storage/filesystem_store.h"
#include "temp_dir.h"

namespace portcullis::api {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

class FakeExchange final : public net::Exchange {
 public:
  FakeExchange(http::verb method, std::string target, std::string body) : body_(std::move(body)) {
    header_.method(method);
    header_.target(target);
  }
  const http::request_header<>& header() const override { return header_; }
  const std::string& remote_address() const override { return address_; }
  bool has_body() const override { return !body_.empty(); }
  net::Task<Result<std::size_t>> read_some(char* buf, std::size_t n) override {
    std::size_t k = std::min(n, body_.size() - read_);
    std::copy_n(body_.data() + read_, k, buf);
    read_ += k;
    co_return k;
  }
  net::Task<Result<std::string>> read_all(std::size_t limit) override {
    if (body_.size() > limit) co_return make_error(Errc::size_invalid, "body too large");
    read_ = body_.size();
    co_return body_;
  }
  uint64_t body_bytes_read() const override { return read_; }
  boost::asio::thread_pool& workers() override { return pool_; }

 private:
  http::request_header<> header_;
  std::string address_ = "192.0.2.1";
  std::string body_;
  std::size_t read_ = 0;
  boost::asio::thread_pool pool_{1};
};

class AdminHandlerTest : public ::testing::Test {
 protected:
  AdminHandlerTest()
      : blobs_(dir_.path() / "blobs"),
        meta_(dir_.path() / "metadata.db"),
        clock_(std::chrono::system_clock::now()),
        access_(meta_, clock_, fast_options()),
        tokens_(access_, auth::SigningKey::generate(), {}, clock_),
        access_control_({}, access_, tokens_, nullptr),
        admin_(access_),
        ctx_{blobs_, meta_, cache_, metrics_, clock_, {}} {
    ctx_.access = &access_control_;
    ctx_.admin = &admin_;
  }

  static auth::AccessOptions fast_options() {
    auth::AccessOptions o;
    o.password_cost = {1, 8 << 10};
    return o;
  }

  static Principal root() {
    Principal p;
    p.identity = auth::Identity::user("anonymous", true);
    p.unrestricted = true;
    p.address = "127.0.0.1";
    return p;
  }
  static Principal basic(std::string name, bool system_admin = false) {
    Principal p;
    p.identity = auth::Identity::user(std::move(name), system_admin);
    p.basic = true;
    p.address = "192.0.2.1";
    return p;
  }
  static Principal token(std::string subject) {
    Principal p;
    auto claims = std::make_shared<auth::TokenClaims>();
    claims->subject = subject;
    p.identity = identity_from_subject(subject);
    p.token = claims;
    p.address = "192.0.2.1";
    return p;
  }

  net::Response call(http::verb method, std::string path, std::string body = {},
                     const Principal& who = root(), Query query = {}) {
    FakeExchange ex(method, "/api/v1/" + path, std::move(body));
    boost::asio::io_context io;
    auto done = boost::asio::co_spawn(io, handle_admin(ctx_, ex, path, query, who),
                                      boost::asio::use_future);
    io.run();
    return done.get();
  }

  static std::string error_code(const net::Response& r) {
    return std::string(json::parse(r.body).at("errors").at(0).at("code").as_string());
  }
  static std::optional<std::string> header(const net::Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return std::nullopt;
  }

  testutil::TempDir dir_;
  storage::FilesystemBlobStore blobs_;
  metadata::SqliteStore meta_;
  ManualClock clock_;
  auth::AccessService access_;
  auth::TokenService tokens_;
  AccessControl access_control_;
  auth::Admin admin_;
  ManifestCache cache_;
  Metrics metrics_;
  Context ctx_;
};

TEST_F(AdminHandlerTest, DisabledWithoutAuthentication) {
  ctx_.admin = nullptr;
  auto r = call(http::verb::get, "users");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_code(r), "NOT_FOUND");
}

TEST_F(AdminHandlerTest, CreatesAndListsUsers) {
  auto r = call(http::verb::post, "users", R"({"name":"alice","password":"pw-alice"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(header(r, "Location"), "/api/v1/users/alice");
  r = call(http::verb::post, "users", R"({"name":"alice","password":"other"})");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(error_code(r), "CONFLICT");

  r = call(http::verb::get, "users");
  ASSERT_EQ(r.status, 200u);
  auto users = json::parse(r.body).as_array();
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].at("name").as_string(), "alice");
  EXPECT_EQ(users[0].at("system_admin").as_bool(), false);
  EXPECT_FALSE(users[0].as_object().contains("password_hash"));
}

TEST_F(AdminHandlerTest, RejectsMalformedBodies) {
  EXPECT_EQ(call(http::verb::post, "users", "not json").status, 400u);
  EXPECT_EQ(call(http::verb::post, "users", R"(["array"])").status, 400u);
  EXPECT_EQ(call(http::verb::post, "users", R"({"name":"a","password":5})").status, 400u);
  auto r = call(http::verb::post, "users", R"({"name":"a","password":"p","admin":true})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("unknown field"), std::string::npos);
  EXPECT_EQ(call(http::verb::post, "users", std::string(70 * 1024, ' ')).status, 413u);
}

TEST_F(AdminHandlerTest, AnonymousAndOrdinaryUsersAreDenied) {
  ASSERT_EQ(call(http::verb::post, "users", R"({"name":"alice","password":"pw"})").status, 201u);
  // No credentials: a Basic challenge, and nothing written to the audit log.
  Principal anonymous;
  auto r = call(http::verb::get, "users", {}, anonymous);
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(header(r, "WWW-Authenticate").value_or(""), "Basic realm=\"portcullis\"");
  EXPECT_EQ(call(http::verb::get, "users", {}, basic("alice")).status, 403u);
  // Everyone may change their own password, given the current one.
  EXPECT_EQ(
      call(http::verb::put, "users/alice/password", R"({"password":"new"})", basic("alice")).status,
      403u);
  EXPECT_EQ(call(http::verb::put, "users/alice/password",
                 R"({"password":"new","current_password":"wrong"})", basic("alice"))
                .status,
            403u);
  EXPECT_EQ(call(http::verb::put, "users/alice/password",
                 R"({"password":"new","current_password":"pw"})", basic("alice"))
                .status,
            204u);
  // The refusals are audited.
  metadata::AuditFilter denied;
  denied.result = "denied";
  auto events = meta_.list_audit(denied);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 3u);
}

TEST_F(AdminHandlerTest, RegistryTokensAreRefusedEvenForAdministrators) {
  ASSERT_EQ(
      call(http::verb::post, "users", R"({"name":"boss","password":"pw","system_admin":true})")
          .status,
      201u);
  // A repository-scoped token must not carry its holder's administrative rights.
  auto r = call(http::verb::get, "users", {}, token("boss"));
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(header(r, "WWW-Authenticate").value_or(""), "Basic realm=\"portcullis\"");
  EXPECT_EQ(call(http::verb::get, "users", {}, basic("boss", true)).status, 200u);
  // The last system administrator cannot be deleted; with a second one it can.
  EXPECT_EQ(call(http::verb::delete_, "users/boss").status, 403u);
  ASSERT_EQ(
      call(http::verb::post, "users", R"({"name":"keeper","password":"pw","system_admin":true})")
          .status,
      201u);
  ASSERT_EQ(call(http::verb::delete_, "users/boss").status, 204u);
}

TEST_F(AdminHandlerTest, NamespacesWithSlashesAndMembers) {
  ASSERT_EQ(call(http::verb::post, "users", R"({"name":"alice","password":"pw"})").status, 201u);
  ASSERT_EQ(call(http::verb::put, "namespaces/team-a/infra", R"({"anonymous_pull":true})").status,
            204u);
  ASSERT_EQ(call(http::verb::put, "namespaces/team-a").status, 204u);  // no body: defaults
  auto r = call(http::verb::put, "namespaces/team-a/infra/members/alice", R"({"role":"admin"})");
  ASSERT_EQ(r.status, 204u) << r.body;

  r = call(http::verb::get, "namespaces/team-a/infra/members");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body), json::parse(R"([{"user":"alice","role":"admin"}])"));
  r = call(http::verb::get, "namespaces/team-a/members");
  EXPECT_EQ(json::parse(r.body), json::parse("[]"));

  // alice administers team-a/infra: she manages its members and tag rules.
  r = call(http::verb::post, "namespaces/team-a/infra/tag-rules",
           R"({"name":"releases","pattern":"v*"})", basic("alice"));
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(call(http::verb::post, "namespaces/team-a/tag-rules", R"({"name":"x","pattern":"v*"})",
                 basic("alice"))
                .status,
            403u);
  r = call(http::verb::get, "tag-rules", {}, basic("alice"));
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"([{"namespace":"team-a/infra","name":"releases","pattern":"v*"}])"));
  EXPECT_EQ(
      call(http::verb::delete_, "namespaces/team-a/infra/tag-rules/releases", {}, basic("alice"))
          .status,
      204u);
  EXPECT_EQ(
      call(http::verb::delete_, "namespaces/team-a/infra/tag-rules/releases", {}, basic("alice"))
          .status,
      404u);

  r = call(http::verb::get, "namespaces", {}, basic("alice"));
  auto mine = json::parse(r.body).as_array();
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].at("name").as_string(), "team-a/infra");
  EXPECT_EQ(mine[0].at("anonymous_pull").as_bool(), true);

  EXPECT_EQ(call(http::verb::delete_, "namespaces/team-a/infra/members/alice").status, 204u);
  EXPECT_EQ(call(http::verb::delete_, "namespaces/team-a/infra").status, 204u);
  EXPECT_EQ(call(http::verb::delete_, "namespaces/team-a/infra").status, 404u);
}

TEST_F(AdminHandlerTest, RobotSecretIsShownOnce) {
  auto r = call(
      http::verb::post, "robots",
      R"({"name":"ci","permissions":[{"repository":"team-a/*","actions":["pull","push"]}],"expires_in_days":30})");
  ASSERT_EQ(r.status, 201u) << r.body;
  auto created = json::parse(r.body);
  EXPECT_EQ(created.at("name").as_string(), "robot$ci");
  EXPECT_TRUE(created.at("secret").as_string().starts_with("pcr_"));

  r = call(http::verb::get, "robots");
  auto robots = json::parse(r.body).as_array();
  ASSERT_EQ(robots.size(), 1u);
  EXPECT_EQ(robots[0].at("name").as_string(), "robot$ci");
  EXPECT_EQ(robots[0].at("expires_at").as_int64(), clock_.unix_seconds() + 30 * 86400);
  EXPECT_EQ(robots[0].at("permissions"),
            json::parse(R"([{"repository":"team-a/*","actions":["pull","push"]}])"));
  EXPECT_FALSE(robots[0].as_object().contains("secret"));

  EXPECT_EQ(call(http::verb::post, "robots",
                 R"({"name":"x","permissions":[],"expires_at":1,"expires_in_days":1})")
                .status,
            400u);
  EXPECT_EQ(call(http::verb::delete_, "robots/robot$ci").status, 204u);
  EXPECT_EQ(call(http::verb::delete_, "robots/ci").status, 404u);
}

TEST_F(AdminHandlerTest, AuditPagesWithLinkAndVerifies) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(call(http::verb::put, "namespaces/ns" + std::to_string(i)).status, 204u);
  }
  auto r = call(http::verb::get, "audit", {}, root(), {{"action", "namespace.put"}, {"n", "2"}});
  ASSERT_EQ(r.status, 200u);
  auto events = json::parse(r.body).at("events").as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].at("repository").as_string(), "ns0");
  EXPECT_EQ(header(r, "Link"), "</api/v1/audit?action=namespace.put&after=2&n=2>; rel=\"next\"");

  r = call(http::verb::get, "audit", {}, root(),
           {{"action", "namespace.put"}, {"after", "2"}, {"n", "2"}});
  EXPECT_EQ(json::parse(r.body).at("events").as_array().size(), 1u);
  EXPECT_FALSE(header(r, "Link").has_value());
  EXPECT_EQ(call(http::verb::get, "audit", {}, root(), {{"n", "0"}}).status, 400u);
  EXPECT_EQ(call(http::verb::get, "audit", {}, root(), {{"since", "yesterday"}}).status, 400u);

  r = call(http::verb::get, "audit/verify");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"ok":true,"problem":"none","index":0,"message":"","events":3})"));
}

TEST_F(AdminHandlerTest, UnknownPathsAndMethods) {
  EXPECT_EQ(call(http::verb::get, "nothing").status, 404u);
  EXPECT_EQ(call(http::verb::get, "users/").status, 404u);
  EXPECT_EQ(call(http::verb::get, "namespaces//members").status, 404u);
  EXPECT_EQ(call(http::verb::get, "namespaces/team-a/members/").status, 404u);
  auto r = call(http::verb::delete_, "users");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(error_code(r), "UNSUPPORTED");
  EXPECT_EQ(call(http::verb::post, "audit").status, 405u);
}

}  // namespace
}  // namespace portcullis::api
