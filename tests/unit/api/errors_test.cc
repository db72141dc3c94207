#include "api/errors.h"

#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace portcullis::api {
namespace {

struct Expected {
  Errc errc;
  const char* code;
  unsigned status;
};

// The OCI distribution spec's error codes and the statuses its endpoints use.
const std::vector<Expected> kSpecTable = {
    {Errc::blob_unknown, "BLOB_UNKNOWN", 404},
    {Errc::blob_upload_invalid, "BLOB_UPLOAD_INVALID", 400},
    {Errc::blob_upload_unknown, "BLOB_UPLOAD_UNKNOWN", 404},
    {Errc::digest_invalid, "DIGEST_INVALID", 400},
    {Errc::manifest_blob_unknown, "MANIFEST_BLOB_UNKNOWN", 400},
    {Errc::manifest_invalid, "MANIFEST_INVALID", 400},
    {Errc::manifest_unknown, "MANIFEST_UNKNOWN", 404},
    {Errc::name_invalid, "NAME_INVALID", 400},
    {Errc::name_unknown, "NAME_UNKNOWN", 404},
    {Errc::size_invalid, "SIZE_INVALID", 400},
    {Errc::payload_too_large, "SIZE_INVALID", 413},
    {Errc::unauthorized, "UNAUTHORIZED", 401},
    {Errc::denied, "DENIED", 403},
    {Errc::unsupported, "UNSUPPORTED", 405},
    {Errc::too_many_requests, "TOOMANYREQUESTS", 429},
};

class SpecErrorMapping : public ::testing::TestWithParam<Expected> {};

TEST_P(SpecErrorMapping, MapsToTheSpecCodeAndStatus) {
  const auto& e = GetParam();
  auto m = map_error(e.errc);
  EXPECT_EQ(m.code, e.code) << errc_name(e.errc);
  EXPECT_EQ(m.status, e.status) << errc_name(e.errc);
}

INSTANTIATE_TEST_SUITE_P(AllSpecCodes, SpecErrorMapping, ::testing::ValuesIn(kSpecTable),
                         [](const ::testing::TestParamInfo<Expected>& info) {
                           return std::string(errc_name(info.param.errc));
                         });

// Every Errc, including the ones without a spec code of their own.
const std::vector<Errc> kAllErrc = {
    Errc::blob_unknown,       Errc::blob_upload_invalid, Errc::blob_upload_unknown,
    Errc::digest_invalid,     Errc::manifest_blob_unknown, Errc::manifest_invalid,
    Errc::manifest_unknown,   Errc::name_invalid,        Errc::name_unknown,
    Errc::size_invalid,       Errc::payload_too_large,   Errc::not_found,
    Errc::range_invalid,      Errc::tag_invalid,         Errc::pagination_invalid,
    Errc::unauthorized,       Errc::denied,              Errc::unsupported,
    Errc::too_many_requests,  Errc::unavailable,         Errc::internal,
};

TEST(ErrorMapping, EveryErrcMapsToAnUpperCaseCodeAndAnErrorStatus) {
  for (Errc e : kAllErrc) {
    auto m = map_error(e);
    EXPECT_FALSE(m.code.empty()) << errc_name(e);
    for (char c : m.code) {
      EXPECT_TRUE((c >= 'A' && c <= 'Z') || c == '_') << errc_name(e) << " -> " << m.code;
    }
    EXPECT_GE(m.status, 400u) << errc_name(e);
    EXPECT_LT(m.status, 600u) << errc_name(e);
    EXPECT_NE(errc_name(e), "unknown");
  }
}

TEST(ErrorMapping, ClientErrorsAre4xxAndServerErrorsAre5xx) {
  EXPECT_EQ(map_error(Errc::not_found).status, 404u);
  EXPECT_EQ(map_error(Errc::range_invalid).status, 416u);
  EXPECT_EQ(map_error(Errc::tag_invalid).status, 400u);
  EXPECT_EQ(map_error(Errc::pagination_invalid).status, 400u);
  EXPECT_EQ(map_error(Errc::unavailable).status, 503u);
  EXPECT_EQ(map_error(Errc::internal).status, 500u);
}

TEST(ErrorResponse, HasTheSpecJsonBodyShapeAndMappedStatus) {
  auto r = error_response(make_error(Errc::blob_unknown, "blob unknown to registry"));
  EXPECT_EQ(r.status, 404u);
  bool json_type = false;
  for (const auto& [name, value] : r.headers) {
    if (name == "Content-Type" && value == "application/json") json_type = true;
  }
  EXPECT_TRUE(json_type);

  auto v = boost::json::parse(r.body);
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.as_object().size(), 1u);
  const auto& errors = v.as_object().at("errors");
  ASSERT_TRUE(errors.is_array());
  ASSERT_EQ(errors.as_array().size(), 1u);
  const auto& e = errors.as_array()[0].as_object();
  EXPECT_EQ(e.at("code").as_string(), "BLOB_UNKNOWN");
  EXPECT_EQ(e.at("message").as_string(), "blob unknown to registry");
  EXPECT_TRUE(e.contains("detail"));
}

TEST(ErrorResponse, EscapesTheMessageAsJson) {
  std::string message = "quote \" backslash \\ newline \n tab \t";
  auto r = error_response(make_error(Errc::manifest_invalid, message));
  EXPECT_EQ(r.status, 400u);
  auto v = boost::json::parse(r.body);
  const auto& e = v.at("errors").at(0).as_object();
  EXPECT_EQ(e.at("code").as_string(), "MANIFEST_INVALID");
  EXPECT_EQ(e.at("message").as_string(), message);
}

TEST(ErrorResponse, PayloadTooLargeIs413SizeInvalid) {
  auto r = error_response(make_error(Errc::payload_too_large, "manifest exceeds 4 MiB"));
  EXPECT_EQ(r.status, 413u);
  auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("errors").at(0).at("code").as_string(), "SIZE_INVALID");
}

}  // namespace
}  // namespace portcullis::api
