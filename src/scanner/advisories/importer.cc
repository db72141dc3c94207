#include "scanner/advisories/importer.h"

#include <fmt/format.h>

#include "scanner/advisories/alpine_secdb.h"
#include "scanner/advisories/debian_tracker.h"
#include "scanner/advisories/input.h"
#include "scanner/advisories/json_fields.h"
#include "scanner/advisories/osv.h"

namespace portcullis::scanner::advisories {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_space(c); });
}

char first_char(std::string_view s) {
  for (char c : s) {
    if (!is_space(c)) return c;
  }
  return '\0';
}

boost::json::parse_options json_options() {
  boost::json::parse_options opts;
  opts.max_depth = 64;  // deep enough for any real record; the parser itself does not recurse
  return opts;
}

// Parses exactly one JSON text. On error, `error_line` is the line (of
// `text`, 1-based) where parsing stopped.
Result<boost::json::value> parse_json(std::string_view text, boost::json::storage_ptr sp,
                                      uint64_t& error_line) {
  boost::json::parser p(std::move(sp), json_options());
  boost::system::error_code ec;
  std::size_t n = p.write_some(text.data(), text.size(), ec);
  if (ec) {
    error_line = line_of(text, n);
    return malformed(fmt::format("invalid JSON ({})", ec.message()));
  }
  if (!blank(text.substr(n))) {
    error_line = line_of(text, n + (text.size() > n && is_space(text[n]) ? 1 : 0));
    return malformed("unexpected content after the JSON document");
  }
  return p.release();
}

class Reader {
 public:
  Reader(InputReader& in, const ImportLimits& limits, const AdvisorySink& sink)
      : in_(in), limits_(limits), sink_(sink) {}

  Result<std::string> run();

 private:
  Error at_line(uint64_t line, const Error& e) const {
    return make_error(e.code, fmt::format("{}: line {}: {}", in_.label(), line, e.message));
  }
  Error at(const Error& e) const {
    return make_error(e.code, fmt::format("{}: {}", in_.label(), e.message));
  }
  Result<void> emit(Advisory&& adv) {
    if (++records_ > limits_.max_records) {
      return at(
          make_error(Errc::size_invalid, fmt::format("more than {} records", limits_.max_records)));
    }
    return sink_(std::move(adv));
  }
  Result<std::string> json_lines(const boost::json::value& first, uint64_t first_line);
  Result<std::string> document(std::string text, uint64_t first_line);

  InputReader& in_;
  const ImportLimits& limits_;
  const AdvisorySink& sink_;
  std::size_t records_ = 0;
};

Result<std::string> Reader::run() {
  std::string first;
  for (;;) {
    auto got = in_.next_line(first, limits_.max_document_bytes);
    if (!got) return got.error();
    if (!*got) return at(make_error(Errc::unsupported, "empty file"));
    if (in_.line_number() == 1 && first.compare(0, kBom.size(), kBom) == 0)
      first.erase(0, kBom.size());
    if (!blank(first)) break;
  }
  uint64_t first_line = in_.line_number();
  if (first_char(first) == '{') {
    // One complete object on the first line: JSON lines if it is an OSV
    // record, else a one-line document.
    boost::json::monotonic_resource mr;
    uint64_t ignored = 0;
    auto v = parse_json(first, &mr, ignored);
    if (v && v->is_object() && looks_like_osv(v->get_object())) {
      if (first.size() > limits_.max_record_bytes) {
        return at_line(first_line, make_error(Errc::size_invalid,
                                              fmt::format("longer than the limit of {} bytes",
                                                          limits_.max_record_bytes)));
      }
      return json_lines(*v, first_line);
    }
  }
  return document(std::move(first), first_line);
}

Result<std::string> Reader::json_lines(const boost::json::value& first, uint64_t first_line) {
  auto one = [&](const boost::json::value& v, uint64_t line) -> Result<void> {
    auto adv = advisory_from_osv(v);
    if (!adv) return at_line(line, adv.error());
    if (auto r = emit(std::move(*adv)); !r) return r;
    return {};
  };
  if (auto r = one(first, first_line); !r) return r.error();
  std::string line;
  unsigned char buffer[64 * 1024];
  for (;;) {
    auto got = in_.next_line(line, limits_.max_record_bytes);
    if (!got) return got.error();
    if (!*got) break;
    if (blank(line)) continue;
    boost::json::monotonic_resource mr(buffer, sizeof buffer);
    uint64_t ignored = 0;
    auto v = parse_json(line, &mr, ignored);
    if (!v) return at_line(in_.line_number(), v.error());
    if (auto r = one(*v, in_.line_number()); !r) return r.error();
  }
  return std::string(kFormatOsv);
}

Result<std::string> Reader::document(std::string text, uint64_t first_line) {
  text.push_back('\n');
  if (auto r = in_.read_rest(text, limits_.max_document_bytes); !r) return r.error();
  char c = first_char(text);
  if (c != '{' && c != '[') {
    auto doc = secdb_from_yaml(text, limits_);
    if (!doc) {
      if (doc.error().code == Errc::unsupported) {
        return at(make_error(Errc::unsupported,
                             "format not recognised (expected OSV JSON or JSON lines, the Debian "
                             "security tracker's JSON, or an Alpine secdb in JSON or YAML)"));
      }
      return at(doc.error());
    }
    auto advisories = advisories_from_secdb(*doc);
    if (!advisories) return at(advisories.error());
    for (auto& adv : *advisories) {
      if (auto r = emit(std::move(adv)); !r) return r.error();
    }
    return std::string(kFormatAlpineSecdb);
  }

  boost::json::monotonic_resource mr;
  uint64_t error_line = 0;
  auto parsed = parse_json(text, &mr, error_line);
  if (!parsed) return at_line(first_line - 1 + error_line, parsed.error());
  text = std::string();  // the DOM is all that is needed from here

  if (parsed->is_array()) {
    const auto& arr = parsed->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      auto adv = advisory_from_osv(arr[i]);
      if (!adv) return at(malformed(fmt::format("record {}: {}", i, adv.error().message)));
      if (auto r = emit(std::move(*adv)); !r) return r.error();
    }
    return std::string(kFormatOsv);
  }
  const auto& obj = parsed->get_object();
  if (looks_like_osv(obj)) {
    auto adv = advisory_from_osv(*parsed);
    if (!adv) return at(adv.error());
    if (auto r = emit(std::move(*adv)); !r) return r.error();
    return std::string(kFormatOsv);
  }
  if (looks_like_secdb(obj)) {
    auto doc = secdb_from_json(obj, limits_.max_records);
    if (!doc) return at(doc.error());
    auto advisories = advisories_from_secdb(*doc);
    if (!advisories) return at(advisories.error());
    for (auto& adv : *advisories) {
      if (auto r = emit(std::move(adv)); !r) return r.error();
    }
    return std::string(kFormatAlpineSecdb);
  }
  if (looks_like_debian_tracker(obj)) {
    auto advisories = advisories_from_debian_tracker(obj, limits_.max_records);
    if (!advisories) return at(advisories.error());
    for (auto& adv : *advisories) {
      if (auto r = emit(std::move(adv)); !r) return r.error();
    }
    return std::string(kFormatDebianTracker);
  }
  return at(make_error(Errc::unsupported,
                       "format not recognised (a JSON object that is neither an OSV record, an "
                       "Alpine secdb nor the Debian security tracker's JSON)"));
}

}  // namespace

Result<std::string> read_advisory_file(const std::filesystem::path& file, const std::string& label,
                                       const ImportLimits& limits, const AdvisorySink& sink) {
  auto in = InputReader::open(file, label, limits);
  if (!in) return in.error();
  Reader reader(**in, limits, sink);
  return reader.run();
}

}  // namespace portcullis::scanner::advisories
