#include "audit/audit_chain.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "crypto/hash.h"

namespace portcullis::audit {
namespace {

AuditEvent Event(int i) {
  AuditEvent e;
  e.time_ms = 1'700'000'000'000 + i * 1000;
  e.actor = i % 2 ? "alice" : "robot$ci";
  e.source_address = "192.0.2." + std::to_string(i);
  e.action = i % 3 ? "push" : "pull";
  e.repository = "team-a/app";
  e.reference = "v" + std::to_string(i);
  e.digest = "sha256:" + std::string(64, static_cast<char>('a' + i % 6));
  e.result = "success";
  e.detail = i == 3 ? "line one\nline two" : "";
  return e;
}

std::vector<ChainedEvent> Chain(int n) {
  std::vector<ChainedEvent> out;
  ChainHead head;
  for (int i = 0; i < n; ++i) {
    out.push_back(chain_next(head, Event(i)));
    head = head_of(out.back());
  }
  return out;
}

// --- building the chain -------------------------------------------------------

TEST(AuditChain, CanonicalBytesAreLengthPrefixedInAFixedOrder) {
  AuditEvent e;
  e.time_ms = -5;
  e.actor = "a:b\n";
  e.action = "login";
  e.result = "failure";
  EXPECT_EQ(canonical_bytes(7, e),
            "portcullis-audit-v1\n"
            "seq=1:7\n"
            "time_ms=2:-5\n"
            "actor=4:a:b\n\n"
            "source_address=0:\n"
            "action=5:login\n"
            "repository=0:\n"
            "reference=0:\n"
            "digest=0:\n"
            "result=7:failure\n"
            "detail=0:\n");
}

TEST(AuditChain, FieldBoundariesCannotBeShifted) {
  AuditEvent a, b;
  a.actor = "ab";
  a.source_address = "c";
  b.actor = "a";
  b.source_address = "bc";
  EXPECT_NE(canonical_bytes(1, a), canonical_bytes(1, b));
}

TEST(AuditChain, EachEventHashesItsPredecessorAndItsContent) {
  auto chain = Chain(3);
  EXPECT_EQ(chain[0].seq, 1u);
  EXPECT_EQ(chain[0].prev_hash, kGenesisHash);
  EXPECT_EQ(chain[1].prev_hash, chain[0].hash);
  EXPECT_EQ(chain[2].seq, 3u);
  EXPECT_EQ(chain[2].prev_hash, chain[1].hash);
  // hash = SHA-256(raw prev || canonical), recomputed independently.
  std::string raw_genesis(32, '\0');
  EXPECT_EQ(chain[0].hash, crypto::hex_digest(crypto::HashAlgorithm::sha256,
                                              raw_genesis + canonical_bytes(1, Event(0))));
  EXPECT_EQ(chain_hash("not hex", 1, Event(0)), std::nullopt);
}

TEST(AuditChain, AnIntactChainVerifies) {
  auto chain = Chain(10);
  ChainReport r = verify_chain(chain);
  EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(verify_chain({}).ok());
  EXPECT_TRUE(verify_chain(chain, {}, head_of(chain.back())).ok());
  EXPECT_TRUE(verify_chain(chain, {}, head_of(chain[4])).ok());
}

TEST(AuditChain, AWindowVerifiesFromItsStartingHead) {
  auto chain = Chain(10);
  std::vector<ChainedEvent> window(chain.begin() + 4, chain.end());
  EXPECT_TRUE(verify_chain(window, head_of(chain[3])).ok());
  EXPECT_FALSE(verify_chain(window).ok());  // not from the genesis
}

// --- tampering, each detected at the right index ------------------------------------

TEST(AuditChain, DetectsAnEditedEvent) {
  for (std::size_t k : {0u, 4u, 9u}) {
    auto chain = Chain(10);
    chain[k].event.actor = "mallory";
    ChainReport r = verify_chain(chain);
    EXPECT_EQ(r.problem, Tamper::edited) << k;
    EXPECT_EQ(r.index, k);
    EXPECT_NE(r.message.find(std::to_string(k)), std::string::npos);
  }
  // Any field: result, digest, time, detail, seq, stored hashes.
  auto chain = Chain(10);
  chain[5].event.result = "success ";
  EXPECT_EQ(verify_chain(chain).index, 5u);
  chain = Chain(10);
  chain[6].event.time_ms += 1;
  EXPECT_EQ(verify_chain(chain).index, 6u);
  chain = Chain(10);
  chain[2].hash[0] = chain[2].hash[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(verify_chain(chain).index, 2u);
  chain = Chain(10);
  chain[7].prev_hash = std::string(kGenesisHash);
  EXPECT_EQ(verify_chain(chain).problem, Tamper::edited);
  EXPECT_EQ(verify_chain(chain).index, 7u);
}

TEST(AuditChain, DetectsAnEditedAndRehashedEvent) {
  // The editor recomputes the edited event's own hash, but the next event
  // still links to the original.
  auto chain = Chain(10);
  chain[4].event.digest = "sha256:" + std::string(64, 'f');
  chain[4].hash = *chain_hash(chain[4].prev_hash, chain[4].seq, chain[4].event);
  ChainReport r = verify_chain(chain);
  EXPECT_EQ(r.problem, Tamper::edited);
  EXPECT_EQ(r.index, 4u);
}

TEST(AuditChain, DetectsADeletedEvent) {
  for (std::size_t k : {0u, 3u, 8u}) {
    auto chain = Chain(10);
    chain.erase(chain.begin() + static_cast<long>(k));
    ChainReport r = verify_chain(chain);
    EXPECT_EQ(r.problem, Tamper::deleted) << k;
    EXPECT_EQ(r.index, k);
  }
  auto chain = Chain(10);
  chain.erase(chain.begin() + 2, chain.begin() + 5);
  ChainReport r = verify_chain(chain);
  EXPECT_EQ(r.problem, Tamper::deleted);
  EXPECT_EQ(r.index, 2u);
}

TEST(AuditChain, DetectsReorderedEvents) {
  for (std::size_t k : {0u, 4u, 8u}) {
    auto chain = Chain(10);
    std::swap(chain[k], chain[k + 1]);
    ChainReport r = verify_chain(chain);
    EXPECT_EQ(r.problem, Tamper::reordered) << k;
    EXPECT_EQ(r.index, k);
  }
  // An old event moved to the end.
  auto chain = Chain(10);
  std::rotate(chain.begin() + 2, chain.begin() + 3, chain.end());
  ChainReport r = verify_chain(chain);
  EXPECT_EQ(r.problem, Tamper::reordered);  // seq 3 is missing at index 2 but turns up later
  EXPECT_EQ(r.index, 2u);
  chain = Chain(10);
  std::rotate(chain.begin() + 2, chain.begin() + 9, chain.end());  // the newest moved to index 2
  r = verify_chain(chain);
  EXPECT_EQ(r.problem, Tamper::reordered);
  EXPECT_EQ(r.index, 2u);
}

TEST(AuditChain, DetectsADuplicatedEvent) {
  auto chain = Chain(6);
  chain.insert(chain.begin() + 3, chain[2]);
  ChainReport r = verify_chain(chain);
  EXPECT_EQ(r.problem, Tamper::reordered);
  EXPECT_EQ(r.index, 3u);
}

TEST(AuditChain, ACheckpointCatchesTruncationAndWholesaleRewrites) {
  auto chain = Chain(10);
  ChainHead checkpoint = head_of(chain.back());
  auto truncated = chain;
  truncated.resize(7);
  EXPECT_TRUE(verify_chain(truncated).ok());  // undetectable without the checkpoint
  ChainReport r = verify_chain(truncated, {}, checkpoint);
  EXPECT_EQ(r.problem, Tamper::truncated);
  EXPECT_EQ(r.index, 7u);

  // Rewrite event 5 and re-chain everything after it: self-consistent.
  auto rewritten = chain;
  rewritten[5].event.actor = "mallory";
  ChainHead head = head_of(rewritten[4]);
  for (std::size_t i = 5; i < rewritten.size(); ++i) {
    rewritten[i] = chain_next(head, rewritten[i].event);
    head = head_of(rewritten[i]);
  }
  EXPECT_TRUE(verify_chain(rewritten).ok());
  r = verify_chain(rewritten, {}, checkpoint);
  EXPECT_EQ(r.problem, Tamper::edited);
  EXPECT_EQ(r.index, 9u);
}

// --- export -------------------------------------------------------------------------

TEST(AuditChain, JsonExportRoundTrips) {
  auto chain = Chain(4);
  for (const ChainedEvent& e : chain) {
    boost::json::object o = to_json(e);
    auto back = chained_event_from_json(boost::json::parse(boost::json::serialize(o)));
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(*back, e);
  }
  EXPECT_EQ(to_json(chain[0]).at("time").as_string(), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(to_json(chain[1]).at("time").as_string(), "2023-11-14T22:13:21.000Z");
}

TEST(AuditChain, JsonImportRefusesIncompleteEvents) {
  boost::json::object o = to_json(Chain(1)[0]);
  o.erase("actor");
  EXPECT_FALSE(chained_event_from_json(o).has_value());
  o = to_json(Chain(1)[0]);
  o["seq"] = "1";
  EXPECT_FALSE(chained_event_from_json(o).has_value());
  o = to_json(Chain(1)[0]);
  o["seq"] = -1;
  EXPECT_FALSE(chained_event_from_json(o).has_value());
  EXPECT_FALSE(chained_event_from_json(boost::json::array{}).has_value());
}

}  // namespace
}  // namespace portcullis::audit
