// The S3 store beyond the shared contract: SigV4 against AWS's published
// examples, the XML reader, and behaviour only an object store has (crash of
// a writer between its part uploads and its state update, server-side
// multipart copy of large blobs, presigned redirect URLs).
#include <curl/curl.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "s3_server.h"
#include "storage/s3/sigv4.h"
#include "storage/s3/xml.h"
#include "storage/s3_store.h"

namespace portcullis::storage {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;

oci::Digest Sha256(std::string_view c) { return oci::Digest::of(crypto::HashAlgorithm::sha256, c); }

std::string Pattern(std::size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 7;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

// --- SigV4 (AWS documentation examples, examplebucket / AKIAIOSFODNN7EXAMPLE) ----

const s3::Credentials kAwsExample{"AKIAIOSFODNN7EXAMPLE",
                                  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"};

TEST(SigV4, GetObjectMatchesTheAwsExample) {
  s3::SignInput in;
  in.method = "GET";
  in.canonical_uri = "/test.txt";
  in.payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  in.amz_date = "20130524T000000Z";
  in.headers = {{"host", "examplebucket.s3.amazonaws.com"},
                {"range", "bytes=0-9"},
                {"x-amz-content-sha256", in.payload_hash},
                {"x-amz-date", in.amz_date}};
  EXPECT_EQ(s3::authorization(kAwsExample, in),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, PresignedUrlMatchesTheAwsExample) {
  auto q = s3::presign_query(kAwsExample, "examplebucket.s3.amazonaws.com", "/test.txt",
                             "20130524T000000Z", 86400);
  EXPECT_NE(q.find("X-Amz-Expires=86400"), std::string::npos);
  EXPECT_TRUE(q.ends_with(
      "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"))
      << q;
}

TEST(SigV4, UriEncodingFollowsTheSigV4Rules) {
  EXPECT_EQ(s3::uri_encode("a b/c~d+e=f", false), "a%20b%2Fc~d%2Be%3Df");
  EXPECT_EQ(s3::uri_encode("blobs/sha256/ab", true), "blobs/sha256/ab");
  EXPECT_EQ(s3::canonical_query({{"uploads", ""}, {"b", "2"}, {"a", "x/y"}}),
            "a=x%2Fy&b=2&uploads=");
}

TEST(S3Xml, ReadsElementsAndDecodesEntities) {
  std::string doc =
      "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a&amp;b</Key>"
      "<Size>3</Size></Contents><Contents><Key>c&#x41;&#66;</Key><Size>4</Size></Contents>"
      "<KeyCount>2</KeyCount><NextContinuationToken>t&lt;1&gt;</NextContinuationToken>"
      "</ListBucketResult>";
  auto contents = s3::xml_elements(doc, "Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(s3::xml_text(contents[0], "Key"), "a&b");
  EXPECT_EQ(s3::xml_text(contents[1], "Key"), "cAB");
  EXPECT_EQ(s3::xml_text(doc, "Key"), "a&b");  // not <KeyCount>
  EXPECT_EQ(s3::xml_text(doc, "NextContinuationToken"), "t<1>");
  EXPECT_EQ(s3::xml_text(doc, "Missing"), "");
  EXPECT_EQ(s3::xml_escape("\"a\"&<b>"), "&quot;a&quot;&amp;&lt;b&gt;");
}

// --- against the real store ---------------------------------------------------------

class S3StoreTest : public ::testing::Test {
 protected:
  S3Options Options() const {
    const auto& ep = testutil::S3Server::instance().endpoint();
    S3Options o;
    o.client.endpoint = ep.endpoint;
    o.client.region = ep.region;
    o.client.bucket = ep.bucket;
    o.client.access_key = ep.access_key;
    o.client.secret_key = ep.secret_key;
    o.prefix = prefix_;
    o.part_size = 5 * kMiB;
    return o;
  }
  std::string prefix_ = "s3-store-test/" + crypto::random_hex(8) + "/";
};

TEST_F(S3StoreTest, AWriterThatDiesBeforeSavingLeavesTheSessionAtItsLastDurableOffset) {
  auto a = std::make_unique<S3BlobStore>(Options());
  auto id = a->create_upload();
  ASSERT_TRUE(id);
  std::string first = Pattern(1000, 1);
  {
    auto w = a->append(*id, 0);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(first.data(), first.size()));
    ASSERT_TRUE((*w)->close());
  }
  // This writer uploads a part and a half, then its process "dies": it is
  // never closed while the session goes on elsewhere.
  auto dying = a->append(*id, first.size());
  ASSERT_TRUE(dying);
  std::string lost = Pattern(8 * kMiB, 2);
  ASSERT_TRUE((*dying)->write(lost.data(), lost.size()));

  S3BlobStore b(Options());  // another replica
  EXPECT_EQ(*b.upload_size(*id), first.size());
  std::string rest = Pattern(6 * kMiB, 3);
  {
    auto w = b.append(*id, first.size());
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE((*w)->write(rest.data(), rest.size()));
    ASSERT_TRUE((*w)->close());
  }
  auto d = Sha256(first + rest);
  auto committed = b.commit_upload(*id, d);
  ASSERT_TRUE(committed) << committed.error().message;
  // The dead writer's late close must neither resurrect the session nor touch the blob.
  auto late = (*dying)->close();
  EXPECT_FALSE(late);
  dying->reset();
  EXPECT_EQ(b.upload_size(*id).error().code, Errc::blob_upload_unknown);
  auto all = b.read_all(d, 20 * kMiB);
  ASSERT_TRUE(all);
  EXPECT_TRUE(*all == first + rest);
}

TEST_F(S3StoreTest, BlobsLargerThanOneCopyAreCopiedInParts) {
  auto o = Options();
  o.copy_single_max = 5 * kMiB;  // force UploadPartCopy (S3's real limit is 5 GiB)
  o.copy_part_size = 5 * kMiB;
  S3BlobStore store(o);
  std::string content = Pattern(12 * kMiB + 3, 4);
  auto id = store.create_upload();
  ASSERT_TRUE(id);
  {
    auto w = store.append(*id, 0);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(content.data(), content.size()));
    ASSERT_TRUE((*w)->close());
  }
  auto committed = store.commit_upload(*id, Sha256(content));
  ASSERT_TRUE(committed) << committed.error().message;
  auto all = store.read_all(Sha256(content), content.size());
  ASSERT_TRUE(all);
  EXPECT_TRUE(*all == content);
}

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::pair<long, std::string> Fetch(const std::string& url) {
  CURL* c = curl_easy_init();
  std::string body;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return {status, body};
}

TEST_F(S3StoreTest, RedirectUrlsArePresignedGetsOfTheBlob) {
  auto o = Options();
  EXPECT_FALSE(S3BlobStore(o).redirect_url(Sha256("x")));
  o.redirect = true;
  S3BlobStore store(o);
  std::string content = "fetched without credentials";
  ASSERT_TRUE(store.put(Sha256(content), content));
  auto url = store.redirect_url(Sha256(content));
  ASSERT_TRUE(url);
  auto [status, body] = Fetch(*url);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, content);
  // Without the signature the object is not public (Ceph: 403, Swift: 400).
  auto [unsigned_status, unsigned_body] = Fetch(url->substr(0, url->find('?')));
  EXPECT_GE(unsigned_status, 400);
  EXPECT_NE(unsigned_body, content);
}

TEST_F(S3StoreTest, UnreachableEndpointOrBucketFailsAtStartUp) {
  auto o = Options();
  o.client.bucket = "no-such-bucket-" + crypto::random_hex(4);
  EXPECT_THROW(S3BlobStore{o}, std::runtime_error);
  o = Options();
  o.client.secret_key = "wrong";
  EXPECT_THROW(S3BlobStore{o}, std::runtime_error);
  o = Options();
  o.client.endpoint = "http://127.0.0.1:1";
  o.client.max_attempts = 2;
  o.client.backoff_base = std::chrono::milliseconds(1);
  EXPECT_THROW(S3BlobStore{o}, std::runtime_error);
}

}  // namespace
}  // namespace portcullis::storage
