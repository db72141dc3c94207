#!/usr/bin/env python3
"""Crash safety: SIGKILL the server at random moments while clients push.

Usage:
    crash_test.py PORTCULLIS_BIN [--rounds N] [--seed S] [--images OCI_LAYOUT]

Each round starts `portcullis serve` on the same data directory (and, when
PORTCULLIS_METADATA_POSTGRES_URL is set, the same PostgreSQL database; see
with_postgres.sh), checks what earlier rounds were told is stored, then runs
concurrent clients -- random blobs pushed whole, in chunks and in resumable
sessions left open on purpose, images made of them, and skopeo pushing a real
image -- and kills the server with SIGKILL after a random delay. After each
kill, `portcullis fsck` must find nothing missing or corrupt, and after the
restart:

  * every blob and manifest whose push was acknowledged (201) is readable and
    hashes to its digest; every acknowledged tag still names its manifest;
  * what was in flight when the server died is either absent or complete and
    correct (never half-visible);
  * every upload session interrupted mid-way either resumes at an offset
    between what was acknowledged and what was sent (then finishes with the
    right digest) or is cleanly unknown (404 BLOB_UPLOAD_UNKNOWN).

Everything is checked once more at the end, with full digest verification.
Exit status is non-zero on the first violation.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from e2e_util import (ACCEPT, HOST, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Server, Violation, check,
                      harness_layout, request, sha256)

RANGE_RE = re.compile(r"^0-(\d+)$")


# --------------------------------------------------------------------------
# What clients were told (the ledger) and what was in flight


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.blobs = {}       # digest -> (repository, size), acknowledged
        self.manifests = []   # (repository, tag, digest), acknowledged
        self.sessions = []    # interrupted upload sessions (see Session)
        self.in_flight = []   # ("blob", repo, digest, data) / ("manifest", repo, tag, digest)
        self.new_blobs = []   # acknowledged this round (checked fully next round)
        self.new_manifests = []
        self.counts = {"blobs": 0, "manifests": 0, "skopeo": 0, "resumed": 0,
                       "sessions_unknown": 0, "in_flight_visible": 0}

    def ack_blob(self, repo, digest, size):
        with self.lock:
            self.blobs[digest] = (repo, size)
            self.new_blobs.append(digest)
            self.counts["blobs"] += 1

    def ack_manifest(self, repo, tag, digest):
        with self.lock:
            self.manifests.append((repo, tag, digest))
            self.new_manifests.append((repo, tag, digest))
            self.counts["manifests"] += 1


class Session:
    """A chunked upload: `acked` bytes confirmed by 202s, `sent` bytes written."""

    def __init__(self, repo, location, data):
        self.repo, self.location, self.data = repo, location, data
        self.acked = 0
        self.sent = 0


class Dead(Exception):
    """The server went away under a client (expected: it was killed)."""


def call(port, method, path, body=None, headers=None):
    try:
        return request(port, method, path, body, headers)
    except (OSError, http.client.HTTPException) as e:
        raise Dead(e)


# --------------------------------------------------------------------------
# Clients


class Client(threading.Thread):
    def __init__(self, port, ledger, rng, stop):
        super().__init__(daemon=True)
        self.port, self.ledger, self.rng, self.stop_event = port, ledger, rng, stop
        self.error = None

    def run(self):
        try:
            while not self.stop_event.is_set():
                op = self.rng.choice((self.blob_whole, self.blob_whole, self.blob_chunked,
                                      self.image, self.image))
                op()
        except Dead:
            pass
        except Exception as e:  # a wrong answer from a live server
            self.error = e

    def random_bytes(self):
        size = self.rng.choice((0, 1, 100, 4096, 70000, 300000))
        return os.urandom(size)

    def flight(self, item):
        with self.ledger.lock:
            self.ledger.in_flight.append(item)

    def landed(self, item):
        with self.ledger.lock:
            self.ledger.in_flight.remove(item)

    def push_whole(self, repo, data):
        digest = sha256(data)
        item = ("blob", repo, digest, data)
        self.flight(item)
        status, _, body = call(self.port, "POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, digest),
                               data, {"Content-Type": "application/octet-stream"})
        check(status == 201, "monolithic upload %s: %d %s" % (digest, status, body[:300]))
        self.ledger.ack_blob(repo, digest, len(data))
        self.landed(item)
        return digest

    def blob_whole(self):
        self.push_whole("crash/blobs", self.random_bytes())

    def blob_chunked(self):
        repo = "crash/chunked"
        data = os.urandom(self.rng.choice((10000, 200000, 600000)))
        status, headers, body = call(self.port, "POST", "/v2/%s/blobs/uploads/" % repo)
        check(status == 202, "start upload: %d %s" % (status, body[:300]))
        s = Session(repo, headers["location"], data)
        with self.ledger.lock:
            self.ledger.sessions.append(s)
        leave_open = self.rng.random() < 0.3
        chunk = max(1, len(data) // self.rng.choice((2, 3, 5)))
        while s.acked < len(data):
            part = data[s.acked:s.acked + chunk]
            s.sent = s.acked + len(part)
            status, headers, body = call(
                self.port, "PATCH", s.location, part,
                {"Content-Type": "application/octet-stream",
                 "Content-Range": "%d-%d" % (s.acked, s.sent - 1)})
            check(status == 202, "PATCH %s: %d %s" % (s.location, status, body[:300]))
            check(headers.get("range") == "0-%d" % (s.sent - 1),
                  "PATCH acknowledged Range %r, expected 0-%d" % (headers.get("range"), s.sent - 1))
            s.location = headers.get("location", s.location)
            s.acked = s.sent
            if leave_open and s.acked < len(data):
                return  # resumed after the next restart
        finish(self.port, self.ledger, s)

    def image(self):
        repo = "crash/images"
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": []},
                             "nonce": uuid.uuid4().hex}).encode()
        layers = [self.random_bytes() for _ in range(self.rng.choice((1, 2)))]
        descs = []
        for data in layers:
            descs.append({"mediaType": OCI_LAYER, "digest": self.push_whole(repo, data),
                          "size": len(data)})
        config_digest = self.push_whole(repo, config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": descs}).encode()
        digest = sha256(manifest)
        tag = "t-" + uuid.uuid4().hex[:12]
        item = ("manifest", repo, tag, digest)
        self.flight(item)
        status, headers, body = call(self.port, "PUT", "/v2/%s/manifests/%s" % (repo, tag), manifest,
                                     {"Content-Type": OCI_MANIFEST})
        check(status == 201, "manifest PUT: %d %s" % (status, body[:300]))
        check(headers.get("docker-content-digest") == digest, "manifest digest header")
        self.ledger.ack_manifest(repo, tag, digest)
        self.landed(item)


def finish(port, ledger, s):
    """Completes session s from s.acked; acknowledges the blob."""
    digest = sha256(s.data)
    rest = s.data[s.acked:]
    sep = "&" if "?" in s.location else "?"
    item = ("blob", s.repo, digest, s.data)
    with ledger.lock:
        ledger.in_flight.append(item)
    s.sent = len(s.data)
    status, _, body = call(port, "PUT", "%s%sdigest=%s" % (s.location, sep, digest), rest,
                           {"Content-Type": "application/octet-stream",
                            "Content-Range": "%d-%d" % (s.acked, len(s.data) - 1)}
                           if rest else {})
    check(status == 201, "closing upload %s: %d %s" % (s.location, status, body[:300]))
    ledger.ack_blob(s.repo, digest, len(s.data))
    with ledger.lock:
        ledger.in_flight.remove(item)
        ledger.sessions.remove(s)


class Skopeo(threading.Thread):
    """skopeo copies a real image from the harness OCI layout."""

    def __init__(self, port, ledger, layout, ref, digest, n):
        super().__init__(daemon=True)
        self.port, self.ledger, self.layout, self.ref, self.digest = port, ledger, layout, ref, digest
        self.tag = "r%03d" % n
        self.error = None

    def run(self):
        repo = "crash/real"
        item = ("manifest", repo, self.tag, self.digest)
        with self.ledger.lock:
            self.ledger.in_flight.append(item)
        r = subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                            "--preserve-digests",
                            "oci:%s:%s" % (self.layout, self.ref),
                            "docker://%s:%d/%s:%s" % (HOST, self.port, repo, self.tag)],
                           capture_output=True, timeout=300)
        if r.returncode == 0:
            self.ledger.ack_manifest(repo, self.tag, self.digest)
            with self.ledger.lock:
                self.ledger.in_flight.remove(item)
                self.ledger.counts["skopeo"] += 1


# --------------------------------------------------------------------------
# Checks after a restart


def check_blob(port, repo, digest, size=None, full=True):
    if full:
        status, _, body = call(port, "GET", "/v2/%s/blobs/%s" % (repo, digest))
        check(status == 200, "acknowledged blob %s in %s: GET %d" % (digest, repo, status))
        check(sha256(body) == digest, "blob %s: content hashes to %s" % (digest, sha256(body)))
        if size is not None:
            check(len(body) == size, "blob %s: %d bytes, expected %d" % (digest, len(body), size))
    else:
        status, headers, _ = call(port, "HEAD", "/v2/%s/blobs/%s" % (repo, digest))
        check(status == 200, "acknowledged blob %s in %s: HEAD %d" % (digest, repo, status))
        if size is not None:
            check(int(headers.get("content-length", -1)) == size, "blob %s: size" % digest)


def check_manifest(port, repo, ref, digest, full_blobs):
    status, headers, body = call(port, "GET", "/v2/%s/manifests/%s" % (repo, ref),
                                 headers={"Accept": ACCEPT})
    check(status == 200, "acknowledged manifest %s:%s: GET %d %s" % (repo, ref, status, body[:200]))
    check(sha256(body) == digest, "%s:%s serves %s, expected %s" % (repo, ref, sha256(body), digest))
    check(headers.get("docker-content-digest") == digest, "%s:%s digest header" % (repo, ref))
    m = json.loads(body)
    for d in [m.get("config")] + m.get("layers", []):
        if d:
            check_blob(port, repo, d["digest"], d["size"], full=full_blobs)
    for child in m.get("manifests", []):
        check_manifest(port, repo, child["digest"], child["digest"], full_blobs)


def check_in_flight(port, ledger):
    """What was in flight at the kill: absent, or present and complete."""
    for item in ledger.in_flight:
        if item[0] == "blob":
            _, repo, digest, data = item
            status, _, body = call(port, "GET", "/v2/%s/blobs/%s" % (repo, digest))
            if status == 200:
                check(body == data, "in-flight blob %s visible with other content" % digest)
                ledger.counts["in_flight_visible"] += 1
            else:
                check(status == 404, "in-flight blob %s: GET %d" % (digest, status))
        else:
            _, repo, tag, digest = item
            status, _, body = call(port, "GET", "/v2/%s/manifests/%s" % (repo, tag),
                                   headers={"Accept": ACCEPT})
            if status == 200:
                check_manifest(port, repo, tag, digest, full_blobs=True)
                ledger.counts["in_flight_visible"] += 1
            else:
                check(status == 404, "in-flight manifest %s:%s: GET %d" % (repo, tag, status))
    ledger.in_flight.clear()


def resume_sessions(port, ledger):
    for s in list(ledger.sessions):
        status, headers, body = call(port, "GET", s.location)
        if status == 404:
            check(b"BLOB_UPLOAD_UNKNOWN" in body, "unknown session answer: %s" % body[:200])
            ledger.sessions.remove(s)
            ledger.counts["sessions_unknown"] += 1
            continue
        check(status == 204, "upload status %s: %d %s" % (s.location, status, body[:200]))
        rng = headers.get("range", "")
        m = RANGE_RE.match(rng)
        check(m or rng == "", "upload status Range %r" % rng)
        have = int(m.group(1)) + 1 if m else 0
        if rng == "0-0" and s.acked == 0:
            have = 0  # "0-0" also stands for an empty session; chunks here are never 1 byte
        check(s.acked <= have <= s.sent,
              "session %s resumes at %d; acknowledged %d, sent %d" % (s.location, have, s.acked, s.sent))
        s.location = headers.get("location", s.location)
        s.acked = have
        finish(port, ledger, s)
        ledger.counts["resumed"] += 1


def verify_all(port, ledger, rng, everything):
    check_in_flight(port, ledger)
    resume_sessions(port, ledger)
    blobs = list(ledger.blobs.items())
    manifests = list(ledger.manifests)
    if everything:
        check_blobs = blobs
        check_manifests = manifests
    else:
        fresh = set(ledger.new_blobs)
        check_blobs = [(d, v) for d, v in blobs if d in fresh] + rng.sample(blobs, min(40, len(blobs)))
        check_manifests = list(ledger.new_manifests) + rng.sample(manifests, min(15, len(manifests)))
    for digest, (repo, size) in check_blobs:
        check_blob(port, repo, digest, size, full=True)
    for repo, tag, digest in check_manifests:
        check_manifest(port, repo, tag, digest, full_blobs=everything)
        check_manifest(port, repo, digest, digest, full_blobs=False)
    ledger.new_blobs.clear()
    ledger.new_manifests.clear()


# --------------------------------------------------------------------------


def harness_image(layout):
    """(ref, digest) of the smallest single-platform image in the OCI layout."""
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    best = None
    for m in index["manifests"]:
        ref = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
        if ref and m["mediaType"] == OCI_MANIFEST and ref.startswith("busybox"):
            best = (ref, m["digest"])
            break
    check(best, "no busybox image in %s" % layout)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("CRASH_ROUNDS", "50")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CRASH_SEED", "0")) or None)
    ap.add_argument("--images", default=os.path.join(
        os.environ.get("HARNESS_CACHE", "/var/tmp/registry-harness-cache"), "oci"))
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    seed = args.seed or random.randrange(1, 1 << 30)
    rng = random.Random(seed)
    engine = "postgresql" if os.environ.get("PORTCULLIS_METADATA_POSTGRES_URL") else "sqlite"
    print("crash_test: %d rounds, %s, seed %d (CRASH_SEED=%d to replay the schedule)"
          % (args.rounds, engine, seed, seed), flush=True)
    harness_layout(args.images)
    image = harness_image(args.images) if shutil.which("skopeo") else None
    check(image, "skopeo and the harness images are needed (tests/harness/build-test-images.sh)")

    work = tempfile.mkdtemp(prefix="pc-crash-", dir="/var/tmp")
    server = Server(os.path.abspath(args.binary), os.path.join(work, "data"), work)
    ledger = Ledger()
    started = time.monotonic()
    try:
        for n in range(1, args.rounds + 1):
            server.start()
            verify_all(server.port, ledger, rng, everything=False)
            stop = threading.Event()
            clients = [Client(server.port, ledger, random.Random(rng.random()), stop)
                       for _ in range(args.clients)]
            if n % 3 == 1:
                clients.append(Skopeo(server.port, ledger, args.images, image[0], image[1], n))
            for c in clients:
                c.start()
            time.sleep(rng.uniform(0.15, 1.2))
            server.kill()
            stop.set()
            for c in clients:
                c.join(timeout=120)
                check(not c.is_alive(), "a client hangs after the kill")
                if c.error:
                    raise c.error
            server.fsck(verify=(n % 10 == 0))
            if n % 10 == 0 or n == args.rounds:
                print("crash_test: round %d/%d, %.0f s, acknowledged %s"
                      % (n, args.rounds, time.monotonic() - started, ledger.counts), flush=True)
        server.start()
        verify_all(server.port, ledger, rng, everything=True)
        server.stop()
        print(server.fsck(verify=True).strip().splitlines()[-1])
    except Violation as e:
        print("FAIL: %s (seed %d, round %d; logs in %s)" % (e, seed, server.starts, work),
              flush=True)
        server.stop() if server.proc else None
        return 1
    check(ledger.counts["manifests"] > args.rounds, "too little was pushed: %s" % ledger.counts)
    check(ledger.counts["resumed"] > 0, "no interrupted upload was resumed: %s" % ledger.counts)
    print("PASS crash_test (%s): %d rounds, %s in %.0f s"
          % (engine, args.rounds, ledger.counts, time.monotonic() - started))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
