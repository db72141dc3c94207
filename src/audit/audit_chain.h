// Tamper-evident audit log: each event is hashed together with the hash of
// the event before it, so editing, deleting or reordering stored events
// breaks the chain at that point and verify_chain() names the index.
//
// Canonical bytes of an event (version 1), what the hash covers:
//
//   "portcullis-audit-v1\n"
//   then, for each field in this order:
//     seq, time_ms, actor, source_address, action, repository, reference,
//     digest, result, detail
//   the line  <field name> "=" <decimal byte length of value> ":" <value> "\n"
//
// Integers are written in decimal ASCII (time_ms may be negative). Values are
// raw bytes: length-prefixed, so no escaping and no ambiguity. This format is
// frozen; any change gets a new version line.
//
//   hash(seq) = lower-case hex SHA-256( raw 32 bytes of prev_hash || canonical bytes )
//   prev_hash(1) = kGenesisHash (64 '0'), prev_hash(n) = hash(n-1)
//
// What a plain hash chain cannot show: the removal of the newest events, or a
// rewrite of every event from some point on (the chain has no secret). Keep a
// checkpoint (ChainHead of the newest event) somewhere the database's writers
// cannot change and pass it to verify_chain() to catch both.
//
// Contract: value types and pure functions; thread-safe. Writers append one
// event at a time inside the transaction that makes the change it records:
// read the newest (seq, hash), call chain_next(), insert.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "base/error.h"

namespace portcullis::audit {

struct AuditEvent {
  std::int64_t time_ms = 0;    // Unix time, milliseconds, UTC
  std::string actor;           // user or robot name; "" for anonymous
  std::string source_address;  // client address
  std::string action;          // "push", "pull", "delete", "login", "role.bind", …
  std::string repository;
  std::string reference;  // tag or digest as the client named it
  std::string digest;     // the content digest concerned
  std::string result;     // "success", "failure", "denied"
  std::string detail;     // reasons, rule names, …
  friend bool operator==(const AuditEvent&, const AuditEvent&) = default;
};

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct ChainedEvent {
  std::uint64_t seq = 0;  // 1, 2, 3, … position in the chain
  AuditEvent event;
  std::string prev_hash;  // hex SHA-256 of the previous event (kGenesisHash for seq 1)
  std::string hash;       // hex SHA-256 of this one
  friend bool operator==(const ChainedEvent&, const ChainedEvent&) = default;
};

// The newest event's position and hash: where the next event links to, or a
// checkpoint to verify against. The default is the empty chain.
struct ChainHead {
  std::uint64_t seq = 0;
  std::string hash = std::string(kGenesisHash);
};

std::string canonical_bytes(std::uint64_t seq, const AuditEvent& event);

// hash(seq) for an event linked to `prev_hash`; nullopt when prev_hash is not
// 64 lower-case hex characters.
std::optional<std::string> chain_hash(std::string_view prev_hash, std::uint64_t seq,
                                      const AuditEvent& event);

// The event that follows `head`: seq head.seq + 1, linked to head.hash.
ChainedEvent chain_next(const ChainHead& head, AuditEvent event);
inline ChainHead head_of(const ChainedEvent& e) { return ChainHead{e.seq, e.hash}; }

enum class Tamper {
  none,
  edited,     // an event's content, seq or hashes no longer match (or it was rewritten)
  deleted,    // one or more events are missing before this index
  reordered,  // an event appears out of order (or was inserted)
  truncated,  // the newest events up to the checkpoint are missing
};
std::string_view tamper_name(Tamper t);

struct ChainReport {
  Tamper problem = Tamper::none;
  std::size_t index = 0;  // index into the verified sequence of the first problem
  std::string message;    // human-readable, names index and seq
  bool ok() const { return problem == Tamper::none; }
};

// Verifies `events`, which must be the chain from start.seq + 1 on, in stored
// order (start = {} for the whole chain; a checkpoint to verify a later
// window). Reports the first problem found, scanning from the oldest event.
// With `checkpoint`, also requires the event with checkpoint->seq to be
// present with exactly checkpoint->hash.
ChainReport verify_chain(std::span<const ChainedEvent> events, const ChainHead& start = {},
                         const std::optional<ChainHead>& checkpoint = std::nullopt);

// JSON lines for `portcullis audit export`: every field above, plus a
// readable "time" (RFC 3339, UTC, milliseconds) that is ignored on input.
boost::json::object to_json(const ChainedEvent& e);
// Errc::internal for a line that is not an exported event (missing field or
// wrong type): the caller is reading a file it expects to be an export.
Result<ChainedEvent> chained_event_from_json(const boost::json::value& v);

}  // namespace portcullis::audit
