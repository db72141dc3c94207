#include "storage/s3/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "crypto/hash.h"
#include "crypto/resumable_sha256.h"
#include "storage/s3/xml.h"

namespace portcullis::storage::s3 {

namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;
constexpr std::size_t kIdleHandles = 16;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Transfer {
  const Request* request;
  Response* response;
  CURL* curl;
  std::size_t sent = 0;
  bool overflow = false;
};

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view body = t->request->body;
  std::size_t len = std::min(size * n, body.size() - t->sent);
  std::copy_n(body.data() + t->sent, len, buf);
  t->sent += len;
  return len;
}

int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 ||
      static_cast<std::size_t>(offset) > t->request->body.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->sent = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->request->out != nullptr && status >= 200 && status < 300) {
    if (t->response->out_size + len > t->request->out_capacity) {
      t->overflow = true;
      return 0;  // aborts the transfer
    }
    std::copy_n(data, len, t->request->out + t->response->out_size);
    t->response->out_size += len;
    return len;
  }
  if (t->request->out != nullptr && t->response->body.size() + len > kMaxErrorBody) return len;
  t->response->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();  // a new response (after 100 Continue, say)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name = trim(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  t->response->headers[name] = trim(line.substr(colon + 1));
  return size * n;
}

bool retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace

struct Client::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

std::string Response::error_code() const { return xml_text(body, "Code"); }

Client::Client(ClientOptions options) : options_(std::move(options)) {
  global_init();
  std::string endpoint = options_.endpoint;
  while (endpoint.ends_with('/')) endpoint.pop_back();
  options_.endpoint = endpoint;
  std::string_view ep = endpoint;
  auto scheme = ep.find("://");
  if (scheme == std::string_view::npos) {
    throw std::runtime_error(
        fmt::format("S3 endpoint '{}' must start with http:// or https://", ep));
  }
  std::string_view proto = ep.substr(0, scheme);
  if (proto != "http" && proto != "https") {
    throw std::runtime_error(
        fmt::format("S3 endpoint '{}' must start with http:// or https://", ep));
  }
  std::string_view host = ep.substr(scheme + 3);
  if (host.empty() || host.find('/') != std::string_view::npos) {
    throw std::runtime_error(
        fmt::format("S3 endpoint '{}' must be scheme://host[:port] without a path", ep));
  }
  // curl sends the port only when it is not the scheme's default; so do we.
  if ((proto == "http" && host.ends_with(":80")) || (proto == "https" && host.ends_with(":443"))) {
    host.remove_suffix(host.size() - host.rfind(':'));
  }
  host_ = std::string(host);
  if (options_.bucket.empty()) throw std::runtime_error("S3 bucket must be set");
  creds_ = Credentials{options_.access_key, options_.secret_key, options_.region};
}

Client::~Client() {
  for (Handle* h : idle_) delete h;
}

Client::Handle* Client::borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      Handle* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  auto* h = new Handle;
  h->curl = curl_easy_init();
  if (h->curl == nullptr) {
    delete h;
    throw std::runtime_error("curl_easy_init failed");
  }
  return h;
}

void Client::give_back(Handle* h) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kIdleHandles) {
    idle_.push_back(h);
  } else {
    delete h;
  }
}

std::string Client::path_of(std::string_view key) const {
  std::string path = "/" + uri_encode(options_.bucket, false);
  if (!key.empty()) path += "/" + uri_encode(key, true);
  return path;
}

std::string Client::presigned_get(std::string_view key, std::chrono::seconds expires) const {
  std::string path = path_of(key);
  std::string query = presign_query(creds_, host_, path, amz_date(now_seconds()),
                                    static_cast<uint32_t>(expires.count()));
  return options_.endpoint + path + "?" + query;
}

Result<Response> Client::attempt(Handle* h, const Request& req, bool* retryable) {
  *retryable = false;
  CURL* c = h->curl;
  curl_easy_reset(c);
  Response resp;
  Transfer t{&req, &resp, c};

  std::string path = path_of(req.key);
  std::string query = canonical_query(req.query);
  std::string url = options_.endpoint + path + (query.empty() ? "" : "?" + query);
  std::string date = amz_date(now_seconds());
  std::string payload_hash = crypto::to_hex(
      reinterpret_cast<const unsigned char*>(crypto::sha256_raw(req.body).data()), 32);

  SignInput sign{req.method, path, query, {}, payload_hash, date};
  sign.headers.emplace_back("host", host_);
  sign.headers.emplace_back("x-amz-content-sha256", payload_hash);
  sign.headers.emplace_back("x-amz-date", date);
  for (const auto& [k, v] : req.headers) sign.headers.emplace_back(k, trim(v));

  curl_slist* hdrs = nullptr;
  for (const auto& [k, v] : sign.headers) hdrs = curl_slist_append(hdrs, (k + ": " + v).c_str());
  std::string auth = "authorization: " + authorization(creds_, sign);
  hdrs = curl_slist_append(hdrs, auth.c_str());
  hdrs = curl_slist_append(hdrs, "Expect:");        // no 100-continue round trip
  hdrs = curl_slist_append(hdrs, "Content-Type:");  // nothing curl would invent
  hdrs = curl_slist_append(hdrs, "Accept:");

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_timeout.count()));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (req.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hdrs);
  if (rc != CURLE_OK) {
    if (t.overflow) {
      spdlog::error("s3: {} {}: response larger than the {} bytes expected", req.method, path,
                    req.out_capacity);
      return make_error(Errc::internal, "object store answered more than asked for");
    }
    *retryable = true;
    spdlog::warn("s3: {} {}: {}", req.method, path, curl_easy_strerror(rc));
    return make_error(Errc::unavailable, "object store unreachable");
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  *retryable = retryable_status(resp.status);
  return resp;
}

Result<Response> Client::send(const Request& request) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  Handle* h = borrow();
  Result<Response> last = make_error(Errc::unavailable, "object store unreachable");
  for (int i = 0; i < std::max(1, options_.max_attempts); ++i) {
    if (i > 0) {
      auto cap = std::min<int64_t>(options_.backoff_max.count(), options_.backoff_base.count()
                                                                     << std::min(i - 1, 20));
      std::uniform_int_distribution<int64_t> jitter(cap / 2, std::max<int64_t>(cap, 1));
      std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
    }
    bool retryable = false;
    last = attempt(h, request, &retryable);
    if (!retryable) break;
    if (last) {
      spdlog::warn("s3: {} {}: HTTP {} {} (attempt {} of {})", request.method, request.key,
                   last->status, last->error_code(), i + 1, options_.max_attempts);
    }
  }
  give_back(h);
  return last;
}

}  // namespace portcullis::storage::s3
