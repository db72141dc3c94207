#include "storage/s3_store.h"

#include <ctime>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "crypto/resumable_sha256.h"
#include "storage/s3/xml.h"

namespace portcullis::storage {

namespace json = boost::json;

struct S3BlobStore::Session {
  struct Part {
    int number = 0;
    uint64_t size = 0;
    std::string etag;
  };
  uint64_t size = 0;
  std::string hash;       // crypto::ResumableSha256::save() of all `size` bytes
  std::string multipart;  // multipart upload id on _uploads/<id>/data; "" before the first part
  std::vector<Part> parts;
  // The bytes after the last part, as objects tail.<n> in order: each append
  // adds one with only its own bytes; they are read back once, to form a part.
  struct Segment {
    uint64_t number = 0;
    uint64_t size = 0;
  };
  std::vector<Segment> tail;
  uint64_t next_segment = 0;
  uint64_t tail_size() const {
    uint64_t n = 0;
    for (const auto& t : tail) n += t.size;
    return n;
  }
  bool assembled = false;  // the multipart upload was completed into _uploads/<id>/data
};

namespace {

constexpr std::size_t kReadChunk = 8 * 1024 * 1024;
constexpr int kMaxParts = 10000;                   // S3's limit per multipart upload
constexpr std::size_t kMinPart = 5 * 1024 * 1024;  // S3's minimum size of all parts but the last

bool valid_upload_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Error s3_failure(std::string_view what, const std::string& key, const s3::Response& r) {
  spdlog::error("s3: {} {}: HTTP {} {} {}", what, key, r.status, r.error_code(),
                s3::xml_text(r.body, "Message"));
  return make_error(Errc::internal, "object store error");
}

// S3 may answer 200 to a copy or a completion and report the failure in the body.
bool ok_without_error_body(const s3::Response& r) {
  return r.status == 200 && r.body.find("<Error>") == std::string::npos;
}

std::string quoted(std::string etag) {
  if (etag.size() < 2 || etag.front() != '"') etag = "\"" + etag + "\"";  // Ceph's UploadPartCopy
  return etag;
}

int64_t parse_iso8601(const std::string& t) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6) return 0;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

std::string session_to_json(const S3BlobStore::Session& s) {
  json::array parts;
  for (const auto& p : s.parts) {
    parts.push_back(json::object{{"n", p.number}, {"size", p.size}, {"etag", p.etag}});
  }
  json::array tail;
  for (const auto& t : s.tail) tail.push_back(json::object{{"n", t.number}, {"size", t.size}});
  return json::serialize(json::object{{"v", 1},
                                      {"size", s.size},
                                      {"hash", s.hash},
                                      {"multipart", s.multipart},
                                      {"parts", std::move(parts)},
                                      {"tail", std::move(tail)},
                                      {"next_segment", s.next_segment},
                                      {"assembled", s.assembled}});
}

std::optional<S3BlobStore::Session> session_from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  try {
    const auto& o = v.as_object();
    if (o.at("v").to_number<int>() != 1) return std::nullopt;
    S3BlobStore::Session s;
    s.size = o.at("size").to_number<uint64_t>();
    s.hash = json::value_to<std::string>(o.at("hash"));
    s.multipart = json::value_to<std::string>(o.at("multipart"));
    for (const auto& p : o.at("parts").as_array()) {
      const auto& po = p.as_object();
      s.parts.push_back({po.at("n").to_number<int>(), po.at("size").to_number<uint64_t>(),
                         json::value_to<std::string>(po.at("etag"))});
    }
    for (const auto& t : o.at("tail").as_array()) {
      const auto& to = t.as_object();
      s.tail.push_back({to.at("n").to_number<uint64_t>(), to.at("size").to_number<uint64_t>()});
    }
    s.next_segment = o.at("next_segment").to_number<uint64_t>();
    s.assembled = o.at("assembled").as_bool();
    return s;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string normalize_prefix(std::string_view p) {
  while (p.starts_with('/')) p.remove_prefix(1);
  while (p.ends_with('/')) p.remove_suffix(1);
  return std::string(p);
}

}  // namespace

// --- reading -----------------------------------------------------------------

class S3BlobStore::Reader final : public BlobReader {
 public:
  Reader(S3BlobStore* store, std::string key, uint64_t size)
      : BlobReader(size), store_(store), key_(std::move(key)) {}
  Result<std::size_t> read_at(uint64_t offset, char* buf, std::size_t n) override {
    if (offset >= size() || n == 0) return std::size_t{0};
    n = static_cast<std::size_t>(std::min<uint64_t>(n, size() - offset));
    s3::Request req;
    req.key = key_;
    req.headers.emplace_back("range", fmt::format("bytes={}-{}", offset, offset + n - 1));
    req.out = buf;
    req.out_capacity = n;
    auto r = store_->client_.send(req);
    if (!r) return r.error();
    if (r->status == 404) return make_error(Errc::blob_unknown, "blob unknown to registry");
    if (r->status != 206 && r->status != 200) return s3_failure("GET", key_, *r);
    if (r->out_size != n) {
      spdlog::error("s3: GET {} at {}: {} bytes instead of {}", key_, offset, r->out_size, n);
      return make_error(Errc::internal, "object store error");
    }
    return n;
  }

 private:
  S3BlobStore* store_;
  std::string key_;
};

S3BlobStore::S3BlobStore(S3Options options)
    : options_(std::move(options)), client_(options_.client) {
  options_.prefix = normalize_prefix(options_.prefix);
  if (options_.part_size < 5 * 1024 * 1024) {
    throw std::runtime_error("S3 part size must be at least 5 MiB");
  }
  s3::Request req;
  req.method = "HEAD";
  auto r = client_.send(req);
  if (!r) {
    throw std::runtime_error(fmt::format("S3 endpoint {} unreachable", options_.client.endpoint));
  }
  if (r->status != 200) {
    throw std::runtime_error(fmt::format("S3 bucket '{}' at {}: HTTP {} (missing, or no access)",
                                         options_.client.bucket, options_.client.endpoint,
                                         r->status));
  }
}

S3BlobStore::~S3BlobStore() = default;

std::string S3BlobStore::key(std::string_view relative) const {
  return options_.prefix.empty() ? std::string(relative)
                                 : options_.prefix + "/" + std::string(relative);
}

std::string S3BlobStore::blob_key(const oci::Digest& d) const {
  return key(fmt::format("blobs/{}/{}/{}", d.algorithm_name(), d.hex().substr(0, 2), d.hex()));
}

std::string S3BlobStore::upload_key(std::string_view id, std::string_view name) const {
  return key(fmt::format("_uploads/{}/{}", id, name));
}

std::optional<std::string> S3BlobStore::redirect_url(const oci::Digest& digest) const {
  if (!options_.redirect) return std::nullopt;
  return client_.presigned_get(blob_key(digest), options_.presign_expiry);
}

Result<uint64_t> S3BlobStore::stat(const oci::Digest& digest) {
  s3::Request req;
  req.method = "HEAD";
  req.key = blob_key(digest);
  auto r = client_.send(req);
  if (!r) return r.error();
  if (r->status == 404) return make_error(Errc::blob_unknown, "blob unknown to registry");
  if (r->status != 200) return s3_failure("HEAD", req.key, *r);
  uint64_t size = 0;
  try {
    size = std::stoull(r->header("content-length"));
  } catch (const std::exception&) {
    return s3_failure("HEAD (no Content-Length)", req.key, *r);
  }
  return size;
}

Result<std::unique_ptr<BlobReader>> S3BlobStore::open(const oci::Digest& digest) {
  auto size = stat(digest);
  if (!size) return size.error();
  return std::unique_ptr<BlobReader>(new Reader(this, blob_key(digest), *size));
}

Result<std::string> S3BlobStore::read_all(const oci::Digest& digest, std::size_t limit) {
  auto reader = open(digest);
  if (!reader) return reader.error();
  if ((*reader)->size() > limit) return make_error(Errc::size_invalid, "blob too large");
  std::string out(static_cast<std::size_t>((*reader)->size()), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    auto n = (*reader)->read_at(got, out.data() + got, std::min(out.size() - got, kReadChunk));
    if (!n) return n.error();
    if (*n == 0) break;
    got += *n;
  }
  out.resize(got);
  return out;
}

Result<void> S3BlobStore::put(const oci::Digest& digest, std::string_view bytes) {
  if (oci::Digest::of(digest.algorithm(), bytes) != digest) {
    return make_error(Errc::digest_invalid, "content does not match digest");
  }
  // Storing existing content again rewrites it: identical bytes, and a new
  // modification time, so the orphan grace period counts from this upload.
  s3::Request req;
  req.method = "PUT";
  req.key = blob_key(digest);
  req.body = bytes;
  auto r = client_.send(req);
  if (!r) return r.error();
  if (r->status != 200) return s3_failure("PUT", req.key, *r);
  return {};
}

Result<void> S3BlobStore::delete_object(const std::string& k) {
  s3::Request req;
  req.method = "DELETE";
  req.key = k;
  auto r = client_.send(req);
  if (!r) return r.error();
  if (r->status != 204 && r->status != 200 && r->status != 404) return s3_failure("DELETE", k, *r);
  return {};
}

Result<void> S3BlobStore::remove(const oci::Digest& digest) {
  auto size = stat(digest);
  if (!size) return size.error();
  return delete_object(blob_key(digest));
}

Result<void> S3BlobStore::list_blobs(const BlobVisitor& each) {
  const std::string root = key("blobs/");
  std::string token;
  for (;;) {
    s3::Request req;
    req.query = {{"list-type", "2"}, {"prefix", root}, {"max-keys", "1000"}};
    if (!token.empty()) req.query.emplace_back("continuation-token", token);
    auto r = client_.send(req);
    if (!r) return r.error();
    if (r->status != 200) return s3_failure("ListObjectsV2", root, *r);
    for (auto contents : s3::xml_elements(r->body, "Contents")) {
      std::string k = s3::xml_text(contents, "Key");
      std::string_view rel = std::string_view(k).substr(std::min(k.size(), root.size()));
      // <algorithm>/<2 hex>/<hex>: anything else is a stray object.
      auto slash1 = rel.find('/');
      auto slash2 = slash1 == std::string_view::npos ? slash1 : rel.find('/', slash1 + 1);
      std::optional<oci::Digest> digest;
      if (slash2 != std::string_view::npos) {
        std::string_view alg = rel.substr(0, slash1);
        std::string_view two = rel.substr(slash1 + 1, slash2 - slash1 - 1);
        std::string_view hex = rel.substr(slash2 + 1);
        auto parsed = oci::Digest::parse(std::string(alg) + ":" + std::string(hex));
        if (parsed && hex.substr(0, 2) == two) digest = *parsed;
      }
      if (!digest) {
        spdlog::warn("storage: stray object in the blob store: {}", k);
        continue;
      }
      uint64_t size = 0;
      try {
        size = std::stoull(s3::xml_text(contents, "Size"));
      } catch (const std::exception&) {
        spdlog::warn("storage: listing without a size for {}", k);
        continue;
      }
      if (!each(*digest, size, parse_iso8601(s3::xml_text(contents, "LastModified")))) return {};
    }
    if (s3::xml_text(r->body, "IsTruncated") != "true") return {};
    token = s3::xml_text(r->body, "NextContinuationToken");
    if (token.empty()) {
      spdlog::error("s3: truncated listing of {} without a continuation token", root);
      return make_error(Errc::internal, "object store error");
    }
  }
}

// --- upload sessions -----------------------------------------------------------

Result<S3BlobStore::Session> S3BlobStore::load_session(std::string_view id) {
  if (!valid_upload_id(id)) return make_error(Errc::blob_upload_unknown, "upload unknown");
  s3::Request req;
  req.key = upload_key(id, "state");
  auto r = client_.send(req);
  if (!r) return r.error();
  if (r->status == 404) return make_error(Errc::blob_upload_unknown, "upload unknown");
  if (r->status != 200) return s3_failure("GET", req.key, *r);
  auto s = session_from_json(r->body);
  if (!s) {
    spdlog::error("s3: {}: not a session state", req.key);
    return make_error(Errc::internal, "upload session state is damaged");
  }
  return *s;
}

Result<void> S3BlobStore::save_session(std::string_view id, const Session& s) {
  std::string body = session_to_json(s);
  s3::Request req;
  req.method = "PUT";
  req.key = upload_key(id, "state");
  req.body = body;
  auto r = client_.send(req);
  if (!r) return r.error();
  if (r->status != 200) return s3_failure("PUT", req.key, *r);
  return {};
}

Result<std::string> S3BlobStore::load_tail(std::string_view id, const Session& s) {
  std::string out;
  out.reserve(static_cast<std::size_t>(s.tail_size()));
  for (const auto& t : s.tail) {
    s3::Request req;
    req.key = upload_key(id, fmt::format("tail.{}", t.number));
    auto r = client_.send(req);
    if (!r) return r.error();
    if (r->status != 200) return s3_failure("GET", req.key, *r);
    if (r->body.size() != t.size) {
      spdlog::error("s3: {}: {} bytes, the session says {}", req.key, r->body.size(), t.size);
      return make_error(Errc::internal, "upload session state is damaged");
    }
    out += r->body;
  }
  return out;
}

Result<std::string> S3BlobStore::start_multipart(const std::string& k) {
  s3::Request req;
  req.method = "POST";
  req.key = k;
  req.query = {{"uploads", ""}};
  auto r = client_.send(req);
  if (!r) return r.error();
  std::string upload_id = s3::xml_text(r->body, "UploadId");
  if (r->status != 200 || upload_id.empty()) return s3_failure("CreateMultipartUpload", k, *r);
  return upload_id;
}

Result<std::string> S3BlobStore::upload_part(const std::string& k, const std::string& upload_id,
                                             int number, std::string_view bytes) {
  s3::Request req;
  req.method = "PUT";
  req.key = k;
  req.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  req.body = bytes;
  auto r = client_.send(req);
  if (!r) return r.error();
  std::string etag = r->header("etag");
  if (r->status != 200 || etag.empty()) return s3_failure("UploadPart", k, *r);
  return quoted(etag);
}

Result<void> S3BlobStore::complete_multipart(
    const std::string& k, const std::string& upload_id,
    const std::vector<std::pair<int, std::string>>& parts) {
  std::string body = "<CompleteMultipartUpload>";
  for (const auto& [n, etag] : parts) {
    body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", n,
                        s3::xml_escape(etag));
  }
  body += "</CompleteMultipartUpload>";
  s3::Request req;
  req.method = "POST";
  req.key = k;
  req.query = {{"uploadId", upload_id}};
  req.body = body;
  auto r = client_.send(req);
  if (!r) return r.error();
  if (!ok_without_error_body(*r)) return s3_failure("CompleteMultipartUpload", k, *r);
  return {};
}

void S3BlobStore::abort_multipart(const std::string& k, const std::string& upload_id) {
  s3::Request req;
  req.method = "DELETE";
  req.key = k;
  req.query = {{"uploadId", upload_id}};
  auto r = client_.send(req);
  if (r && r->status != 204 && r->status != 200 && r->status != 404) {
    (void)s3_failure("AbortMultipartUpload", k, *r);
  }
}

Result<void> S3BlobStore::copy_object(const std::string& from, const std::string& to,
                                      uint64_t size) {
  std::string source = client_.path_of(from);
  if (size <= options_.copy_single_max) {
    s3::Request req;
    req.method = "PUT";
    req.key = to;
    req.headers.emplace_back("x-amz-copy-source", source);
    auto r = client_.send(req);
    if (!r) return r.error();
    if (!ok_without_error_body(*r)) return s3_failure("CopyObject", to, *r);
    return {};
  }
  // Larger than one CopyObject may be: copy ranges into a multipart upload.
  auto upload_id = start_multipart(to);
  if (!upload_id) return upload_id.error();
  std::vector<std::pair<int, std::string>> parts;
  for (uint64_t at = 0; at < size; at += options_.copy_part_size) {
    uint64_t last = std::min(size, at + options_.copy_part_size) - 1;
    s3::Request req;
    req.method = "PUT";
    req.key = to;
    int number = static_cast<int>(parts.size()) + 1;
    req.query = {{"partNumber", std::to_string(number)}, {"uploadId", *upload_id}};
    req.headers.emplace_back("x-amz-copy-source", source);
    req.headers.emplace_back("x-amz-copy-source-range", fmt::format("bytes={}-{}", at, last));
    auto r = client_.send(req);
    std::string etag = r ? s3::xml_text(r->body, "ETag") : std::string();
    if (!r || !ok_without_error_body(*r) || etag.empty()) {
      abort_multipart(to, *upload_id);
      if (!r) return r.error();
      return s3_failure("UploadPartCopy", to, *r);
    }
    parts.emplace_back(number, quoted(etag));
  }
  auto done = complete_multipart(to, *upload_id, parts);
  if (!done) abort_multipart(to, *upload_id);
  return done;
}

Result<std::string> S3BlobStore::hash_object(const std::string& k,
                                             crypto::HashAlgorithm algorithm) {
  s3::Request head;
  head.method = "HEAD";
  head.key = k;
  auto r = client_.send(head);
  if (!r) return r.error();
  if (r->status != 200) return s3_failure("HEAD", k, *r);
  Reader reader(this, k, std::stoull(r->header("content-length")));
  crypto::Hasher hasher(algorithm);
  std::vector<char> buf(kReadChunk);
  for (uint64_t at = 0; at < reader.size();) {
    auto n = reader.read_at(at, buf.data(), buf.size());
    if (!n) return n.error();
    if (*n == 0) break;
    hasher.update(buf.data(), *n);
    at += *n;
  }
  return hasher.finish_hex();
}

Result<void> S3BlobStore::discard_session(std::string_view id, const Session& s) {
  if (!s.multipart.empty() && !s.assembled) abort_multipart(upload_key(id, "data"), s.multipart);
  for (const auto& t : s.tail)
    (void)delete_object(upload_key(id, fmt::format("tail.{}", t.number)));
  // The segment a writer that died before saving the state may have left.
  (void)delete_object(upload_key(id, fmt::format("tail.{}", s.next_segment)));
  if (s.assembled || !s.multipart.empty()) (void)delete_object(upload_key(id, "data"));
  // The state goes last: while it exists, the session can still be found and cleaned up.
  return delete_object(upload_key(id, "state"));
}

bool S3BlobStore::checkout(const std::string& id) {
  std::lock_guard lock(mu_);
  return writing_.insert(id).second;
}

void S3BlobStore::checkin(const std::string& id) {
  std::lock_guard lock(mu_);
  writing_.erase(id);
}

Result<std::string> S3BlobStore::create_upload() {
  std::string id = crypto::random_hex(16);
  Session s;
  s.hash = crypto::ResumableSha256().save();
  auto saved = save_session(id, s);
  if (!saved) return saved.error();
  return id;
}

Result<uint64_t> S3BlobStore::upload_size(std::string_view id) {
  auto s = load_session(id);
  if (!s) return s.error();
  return s->size;
}

class S3BlobStore::Writer final : public UploadWriter {
 public:
  Writer(S3BlobStore* store, std::string id, Session session, crypto::ResumableSha256 hasher)
      : store_(store),
        id_(std::move(id)),
        session_(std::move(session)),
        hasher_(std::move(hasher)),
        size_(session_.size) {}
  ~Writer() override {
    if (!closed_) (void)close();
  }

  Result<void> write(const char* data, std::size_t size) override {
    if (failed_) return make_error(Errc::internal, "an earlier write to this upload failed");
    if (size == 0) return {};
    hasher_.update(data, size);
    buffer_.append(data, size);
    size_ += size;
    dirty_ = true;
    const std::size_t part = store_->options_.part_size;
    while (session_.tail_size() + buffer_.size() >= part) {
      auto flushed = flush(part);
      if (!flushed) {
        failed_ = true;
        return flushed;
      }
    }
    return {};
  }

  uint64_t size() const override { return size_; }

  Result<void> close() override {
    if (closed_) return {};
    closed_ = true;
    auto result = persist();
    store_->checkin(id_);
    return result;
  }

 private:
  // Sends the first n bytes of the tail (saved segments, then buffer_) as the next part.
  Result<void> flush(std::size_t n) {
    if (!session_.tail.empty()) {
      // The saved segments start the part: read them back, once.
      auto saved = store_->load_tail(id_, session_);
      if (!saved) return saved.error();
      buffer_.insert(0, *saved);
      consumed_.insert(consumed_.end(), session_.tail.begin(), session_.tail.end());
      session_.tail.clear();
    }
    auto sent = flush_part(std::string_view(buffer_).substr(0, n));
    if (!sent) return sent;
    buffer_.erase(0, n);
    return {};
  }

  Result<void> flush_part(std::string_view bytes) {
    std::string data_key = store_->upload_key(id_, "data");
    if (session_.multipart.empty()) {
      auto started = store_->start_multipart(data_key);
      if (!started) return started.error();
      session_.multipart = *started;
      started_multipart_ = true;
    }
    int number = static_cast<int>(session_.parts.size()) + 1;
    if (number >= kMaxParts) {  // the last part is added at commit
      return make_error(
          Errc::size_invalid,
          "upload larger than the object store allows (storage.s3.part_size_mib × 10000)");
    }
    auto etag = store_->upload_part(data_key, session_.multipart, number, bytes);
    if (!etag) return etag.error();
    session_.parts.push_back({number, bytes.size(), *etag});
    return {};
  }

  // Makes what was written durable: a new tail segment with the bytes not in
  // a part, then the state (the commit point), then the segments that went
  // into parts are deleted.
  Result<void> persist() {
    // After a failed write the caller got the error; the session stays at its
    // last durable offset.
    if (failed_ || !dirty_) return {};
    // A tail of S3's minimum part size becomes a part now (parts need not be
    // equal): appends of 5 MiB or more then write their bytes exactly once.
    if (session_.tail_size() + buffer_.size() >= kMinPart) {
      auto flushed = flush(buffer_.size() + static_cast<std::size_t>(session_.tail_size()));
      if (!flushed) return flushed;
    }
    session_.size = size_;
    session_.hash = hasher_.save();
    std::string segment_key;
    if (!buffer_.empty()) {
      // A writer that died before saving the state may have left this number
      // behind: it is overwritten.
      uint64_t number = session_.next_segment++;
      segment_key = store_->upload_key(id_, fmt::format("tail.{}", number));
      s3::Request req;
      req.method = "PUT";
      req.key = segment_key;
      req.body = buffer_;
      auto r = store_->client_.send(req);
      if (!r) return r.error();
      if (r->status != 200) return s3_failure("PUT", segment_key, *r);
      session_.tail.push_back({number, buffer_.size()});
    }
    // A session cancelled (or committed) while this writer was open must not come back.
    s3::Request head;
    head.method = "HEAD";
    head.key = store_->upload_key(id_, "state");
    auto exists = store_->client_.send(head);
    if (!exists) return exists.error();
    if (exists->status == 404) {
      if (!segment_key.empty()) (void)store_->delete_object(segment_key);
      if (started_multipart_)
        store_->abort_multipart(store_->upload_key(id_, "data"), session_.multipart);
      return make_error(Errc::blob_upload_unknown, "upload unknown");
    }
    auto saved = store_->save_session(id_, session_);
    if (!saved) return saved;
    for (const auto& t : consumed_) {
      (void)store_->delete_object(store_->upload_key(id_, fmt::format("tail.{}", t.number)));
    }
    return {};
  }

  S3BlobStore* store_;
  std::string id_;
  Session session_;  // what close() will make durable
  crypto::ResumableSha256 hasher_;
  std::string buffer_;  // bytes after the last part and the session's saved segments
  std::vector<Session::Segment> consumed_;  // saved segments now inside parts
  uint64_t size_;
  bool started_multipart_ = false;
  bool dirty_ = false;
  bool failed_ = false;
  bool closed_ = false;
};

Result<std::unique_ptr<UploadWriter>> S3BlobStore::append(std::string_view id_view,
                                                          uint64_t offset) {
  if (!valid_upload_id(id_view)) return make_error(Errc::blob_upload_unknown, "upload unknown");
  std::string id(id_view);
  if (!checkout(id)) {
    return make_error(Errc::blob_upload_invalid, "another request is writing to this upload");
  }
  auto fail = [&](Error e) -> Result<std::unique_ptr<UploadWriter>> {
    checkin(id);
    return e;
  };
  auto s = load_session(id);
  if (!s) return fail(s.error());
  if (s->assembled) return fail(make_error(Errc::blob_upload_invalid, "upload is being committed"));
  if (offset != s->size) {
    return fail(
        make_error(Errc::range_invalid,
                   fmt::format("chunk starts at {}, upload has {} bytes", offset, s->size)));
  }
  auto hasher = crypto::ResumableSha256::restore(s->hash);
  if (!hasher) {
    spdlog::error("s3: upload {}: unreadable hash state", id);
    return fail(make_error(Errc::internal, "upload session state is damaged"));
  }
  return std::unique_ptr<UploadWriter>(new Writer(this, id, std::move(*s), std::move(*hasher)));
}

Result<uint64_t> S3BlobStore::commit_upload(std::string_view id_view, const oci::Digest& digest) {
  if (!valid_upload_id(id_view)) return make_error(Errc::blob_upload_unknown, "upload unknown");
  std::string id(id_view);
  if (!checkout(id)) {
    return make_error(Errc::blob_upload_invalid, "another request is writing to this upload");
  }
  struct Release {
    S3BlobStore* store;
    const std::string& id;
    ~Release() { store->checkin(id); }
  } release{this, id};

  auto s = load_session(id);
  if (!s) return s.error();
  auto mismatch = [&]() -> Result<uint64_t> {
    (void)discard_session(id, *s);
    return make_error(Errc::digest_invalid, "uploaded content does not match digest");
  };
  const bool sha256 = digest.algorithm() == crypto::HashAlgorithm::sha256;
  if (sha256) {
    auto hasher = crypto::ResumableSha256::restore(s->hash);
    if (!hasher) return make_error(Errc::internal, "upload session state is damaged");
    if (hasher->hex() != digest.hex()) return mismatch();
  }
  const std::string data_key = upload_key(id, "data");
  if (!s->assembled && s->parts.empty()) {
    // Small blob: all of it is in the tail. One PUT, whose body hash the store checks.
    auto tail = load_tail(id, *s);
    if (!tail) return tail.error();
    if (!sha256 && oci::Digest::of(digest.algorithm(), *tail) != digest) return mismatch();
    auto stored = put(digest, *tail);
    if (!stored) return stored.error();
    (void)discard_session(id, *s);
    return s->size;
  }
  if (!s->assembled) {
    auto tail = load_tail(id, *s);
    if (!tail) return tail.error();
    std::vector<std::pair<int, std::string>> parts;
    for (const auto& p : s->parts) parts.emplace_back(p.number, p.etag);
    if (!tail->empty()) {
      int number = static_cast<int>(parts.size()) + 1;
      auto etag = upload_part(data_key, s->multipart, number, *tail);
      if (!etag) return etag.error();
      parts.emplace_back(number, *etag);
    }
    auto completed = complete_multipart(data_key, s->multipart, parts);
    if (!completed) {
      // Completed before, by a commit that crashed before recording it?
      s3::Request head;
      head.method = "HEAD";
      head.key = data_key;
      auto r = client_.send(head);
      if (!r || r->status != 200 || r->header("content-length") != std::to_string(s->size)) {
        return completed.error();
      }
    }
    s->assembled = true;
    auto saved = save_session(id, *s);
    if (!saved) return saved.error();
  }
  if (!sha256) {
    auto hex = hash_object(data_key, digest.algorithm());
    if (!hex) return hex.error();
    if (*hex != digest.hex()) return mismatch();
  }
  auto copied = copy_object(data_key, blob_key(digest), s->size);
  if (!copied) return copied.error();
  (void)discard_session(id, *s);
  return s->size;
}

Result<void> S3BlobStore::cancel_upload(std::string_view id) {
  auto s = load_session(id);
  if (!s) return s.error();
  return discard_session(id, *s);
}

}  // namespace portcullis::storage
