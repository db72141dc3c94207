#include "audit/audit_chain.h"

#include <time.h>

#include <limits>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "crypto/hash.h"

namespace portcullis::audit {

namespace json = boost::json;

namespace {

constexpr std::string_view kVersionLine = "portcullis-audit-v1\n";

void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += '=';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// 64 lower-case hex characters -> 32 bytes.
std::optional<std::string> decode_hash(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::string out(32, '\0');
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string rfc3339_ms(std::int64_t time_ms) {
  std::int64_t secs = time_ms / 1000;
  std::int64_t ms = time_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", std::string_view(buf, n), ms);
}

ChainReport report(Tamper problem, std::size_t index, std::string message) {
  return ChainReport{problem, index, std::move(message)};
}

}  // namespace

std::string canonical_bytes(std::uint64_t seq, const AuditEvent& e) {
  std::string out(kVersionLine);
  field(out, "seq", std::to_string(seq));
  field(out, "time_ms", std::to_string(e.time_ms));
  field(out, "actor", e.actor);
  field(out, "source_address", e.source_address);
  field(out, "action", e.action);
  field(out, "repository", e.repository);
  field(out, "reference", e.reference);
  field(out, "digest", e.digest);
  field(out, "result", e.result);
  field(out, "detail", e.detail);
  return out;
}

std::optional<std::string> chain_hash(std::string_view prev_hash, std::uint64_t seq,
                                      const AuditEvent& event) {
  auto prev = decode_hash(prev_hash);
  if (!prev) return std::nullopt;
  crypto::Hasher h(crypto::HashAlgorithm::sha256);
  h.update(*prev);
  h.update(canonical_bytes(seq, event));
  return h.finish_hex();
}

ChainedEvent chain_next(const ChainHead& head, AuditEvent event) {
  ChainedEvent e;
  e.seq = head.seq + 1;
  e.prev_hash = head.hash;
  e.event = std::move(event);
  // A head that is not a hash is a bug in the caller (heads come from this file).
  e.hash = chain_hash(e.prev_hash, e.seq, e.event).value_or(std::string());
  return e;
}

std::string_view tamper_name(Tamper t) {
  switch (t) {
    case Tamper::none: return "none";
    case Tamper::edited: return "edited";
    case Tamper::deleted: return "deleted";
    case Tamper::reordered: return "reordered";
    case Tamper::truncated: return "truncated";
  }
  return "unknown";
}

ChainReport verify_chain(std::span<const ChainedEvent> events, const ChainHead& start,
                         const std::optional<ChainHead>& checkpoint) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    const ChainedEvent& e = events[i];
    const std::uint64_t expected_seq = start.seq + 1 + i;

    // 1. The event must hash to its stored hash: otherwise its content (or
    //    its seq, or one of its hashes) was changed in place.
    auto recomputed = chain_hash(e.prev_hash, e.seq, e.event);
    if (!recomputed || *recomputed != e.hash) {
      return report(Tamper::edited, i,
                    fmt::format("event at index {} (seq {}) was edited: its hash does not match "
                                "its content",
                                i, e.seq));
    }

    // 2. Positions must follow on. A later position here means earlier events
    //    are gone — unless the missing one turns up further on (moved).
    if (e.seq != expected_seq) {
      bool missing_appears_later = false;
      for (std::size_t j = i + 1; j < events.size() && !missing_appears_later; ++j) {
        missing_appears_later = events[j].seq == expected_seq;
      }
      if (e.seq > expected_seq && !missing_appears_later) {
        return report(Tamper::deleted, i,
                      fmt::format("event(s) deleted before index {}: expected seq {}, found {}", i,
                                  expected_seq, e.seq));
      }
      return report(Tamper::reordered, i,
                    fmt::format("event at index {} is out of order: expected seq {}, found {}", i,
                                expected_seq, e.seq));
    }

    // 3. Each event must link to the one stored before it. Both are intact on
    //    their own, so the one before was replaced by a re-hashed version.
    const std::string& expected_prev = i == 0 ? start.hash : events[i - 1].hash;
    if (e.prev_hash != expected_prev) {
      std::size_t at = i == 0 ? 0 : i - 1;
      return report(Tamper::edited, at,
                    fmt::format("event at index {} was rewritten: the event after it does not "
                                "link to it",
                                at));
    }
  }

  if (checkpoint && checkpoint->seq > start.seq) {
    const std::uint64_t offset = checkpoint->seq - start.seq - 1;
    if (offset >= events.size()) {
      return report(Tamper::truncated, events.size(),
                    fmt::format("the chain ends at seq {} but the checkpoint is at seq {}",
                                start.seq + events.size(), checkpoint->seq));
    }
    if (events[offset].hash != checkpoint->hash) {
      return report(Tamper::edited, offset,
                    fmt::format("event at index {} (seq {}) does not match the checkpoint: the "
                                "chain was rewritten up to there",
                                offset, checkpoint->seq));
    }
  }
  return {};
}

json::object to_json(const ChainedEvent& e) {
  json::object o;
  o["seq"] = e.seq;
  o["time"] = rfc3339_ms(e.event.time_ms);
  o["time_ms"] = e.event.time_ms;
  o["actor"] = e.event.actor;
  o["source_address"] = e.event.source_address;
  o["action"] = e.event.action;
  o["repository"] = e.event.repository;
  o["reference"] = e.event.reference;
  o["digest"] = e.event.digest;
  o["result"] = e.event.result;
  o["detail"] = e.event.detail;
  o["prev_hash"] = e.prev_hash;
  o["hash"] = e.hash;
  return o;
}

Result<ChainedEvent> chained_event_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return make_error(Errc::internal, "audit event: not a JSON object");
  ChainedEvent e;
  auto str = [&](std::string_view key, std::string& out) {
    const json::value* f = o->if_contains(key);
    if (f == nullptr || !f->is_string()) return false;
    out = std::string(f->get_string());
    return true;
  };
  const json::value* seq = o->if_contains("seq");
  const json::value* time_ms = o->if_contains("time_ms");
  bool ok = seq != nullptr && time_ms != nullptr;
  if (ok && seq->is_uint64()) {
    e.seq = seq->get_uint64();
  } else if (ok && seq->is_int64() && seq->get_int64() >= 0) {
    e.seq = static_cast<std::uint64_t>(seq->get_int64());
  } else {
    ok = false;
  }
  if (ok && time_ms->is_int64()) {
    e.event.time_ms = time_ms->get_int64();
  } else if (ok && time_ms->is_uint64() &&
             time_ms->get_uint64() <=
                 static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    e.event.time_ms = static_cast<std::int64_t>(time_ms->get_uint64());
  } else {
    ok = false;
  }
  ok = ok && str("actor", e.event.actor) && str("source_address", e.event.source_address) &&
       str("action", e.event.action) && str("repository", e.event.repository) &&
       str("reference", e.event.reference) && str("digest", e.event.digest) &&
       str("result", e.event.result) && str("detail", e.event.detail) &&
       str("prev_hash", e.prev_hash) && str("hash", e.hash);
  if (!ok) return make_error(Errc::internal, "audit event: missing or mistyped field");
  return e;
}

}  // namespace portcullis::audit
