#!/usr/bin/env python3
"""Online garbage collection under load.

A real `portcullis serve` on a free loopback port; `portcullis gc` runs in a
loop beside it (a separate process on the same data directory and database,
grace period 20 s, mark delay 1 s, untagged manifests deleted; the server's
blob HEADs touch at most every 15 s, a quarter of its 1-minute grace) while clients
push and pull continuously for DURATION seconds:

  - pushers upload fresh layers, re-use layers they pushed before (HEAD; upload
    again only if the registry says it is gone, as docker/podman do), mount
    layers from another repository, then PUT a manifest under one of a few
    tags (moving tags leaves untagged manifests behind for the collector) and
    read their push back; some uploads are abandoned (garbage);
  - pullers fetch stable tagged images (manifest + every blob, digests
    verified) and the pushers' current tags.

Asserts: zero failed pushes, zero failed pulls of live content, the collector
ran many times and reclaimed blobs and manifests, and afterwards `portcullis
fsck --no-verify` finds nothing missing.

Usage: gc_stress_test.py PORTCULLIS_BIN [DURATION_SECONDS]
"""
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Server, sha256 as sha  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
DURATION = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
            except (ConnectionError, http.client.HTTPException, OSError):
                # A kept-alive connection closed by the server between requests.
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def upload(self, repo, data):
        d = sha(data)
        s, h, b = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        if s != 202:
            raise AssertionError(f"POST upload {repo}: {s} {b[:200]!r}")
        loc = h["location"]
        sep = "&" if "?" in loc else "?"
        s, _, b = self.request("PUT", f"{loc}{sep}digest={d}", body=data,
                               headers={"Content-Type": "application/octet-stream"})
        if s != 201:
            raise AssertionError(f"PUT upload {repo} {d}: {s} {b[:200]!r}")
        return d

    def ensure_blob(self, repo, data):
        """Uploads only if the registry does not have it (client-side dedup)."""
        d = sha(data)
        s, _, _ = self.request("HEAD", f"/v2/{repo}/blobs/{d}")
        if s == 200:
            return d, False
        if s != 404:
            raise AssertionError(f"HEAD blob {repo} {d}: {s}")
        return self.upload(repo, data), True

    def put_manifest(self, repo, ref, manifest_bytes):
        s, h, b = self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=manifest_bytes,
                               headers={"Content-Type": MANIFEST})
        if s != 201:
            raise AssertionError(f"PUT manifest {repo}:{ref}: {s} {b[:300]!r}")
        return h["docker-content-digest"]

    def pull(self, repo, ref):
        """Fetches a manifest and every blob it names; verifies digests."""
        s, h, body = self.request("GET", f"/v2/{repo}/manifests/{ref}",
                                  headers={"Accept": MANIFEST})
        if s != 200:
            raise AssertionError(f"GET manifest {repo}:{ref}: {s} {body[:200]!r}")
        if h.get("docker-content-digest") != sha(body):
            raise AssertionError(f"manifest {repo}:{ref} digest mismatch")
        m = json.loads(body)
        for desc in [m["config"]] + m["layers"]:
            s, _, data = self.request("GET", f"/v2/{repo}/blobs/{desc['digest']}")
            if s != 200 or sha(data) != desc["digest"]:
                raise AssertionError(f"GET blob {repo}@{desc['digest']} (of {ref}): {s}")
        return sha(body)


def manifest_for(config_digest, config_len, layers):
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": config_digest, "size": config_len},
        "layers": [{"mediaType": LAYER, "digest": sha(l), "size": len(l)} for l in layers],
    }, separators=(",", ":")).encode()


def main():
    work = tempfile.mkdtemp(prefix="pc-e2e-gc-", dir="/var/tmp")
    data_dir = os.path.join(work, "data")
    # The server and every `portcullis gc` run read the same settings.
    server = Server(BIN, data_dir, work, env={
        "PORTCULLIS_GC_ENABLED": "false", "PORTCULLIS_GC_GRACE_MINUTES": "1",
        "PORTCULLIS_GC_UNTAGGED": "delete", "PORTCULLIS_GC_UNTAGGED_AGE_HOURS": "0"})
    env = server.env()
    stop = threading.Event()
    failures = []
    counts = {"pushes": 0, "pulls": 0, "gc_runs": 0, "gc_blobs": 0, "gc_bytes": 0,
              "gc_manifests": 0, "reuploads": 0, "abandoned": 0}
    lock = threading.Lock()

    def fail(what):
        with lock:
            failures.append(what)
        print("FAIL ", what, file=sys.stderr, flush=True)

    try:
        server.start()
        port = server.port

        # Stable, tagged content that must stay pullable throughout.
        setup = Client(port)
        stable = []
        for i in range(3):
            layers = [os.urandom(2048 + i) for _ in range(2)]
            for l in layers:
                setup.upload("stable/app", l)
            config = json.dumps({"stable": i}).encode()
            setup.upload("stable/app", config)
            setup.put_manifest("stable/app", f"v{i}", manifest_for(sha(config), len(config), layers))
            stable.append(f"v{i}")

        def gc_loop():
            while not stop.is_set():
                r = subprocess.run([BIN, "gc", "--data", data_dir, "--grace-seconds", "20",
                                    "--mark-delay-seconds", "1", "--quiet"],
                                   capture_output=True, text=True, timeout=120, env=env)
                if r.returncode != 0:
                    fail(f"gc exited {r.returncode}: {r.stderr.strip()}")
                    time.sleep(1)
                    continue
                m = re.search(r"(\d+) manifests and (\d+) blobs \((\d+) bytes\) deleted", r.stdout)
                if not m:
                    fail(f"gc printed no summary: {r.stdout!r}")
                    continue
                with lock:
                    counts["gc_runs"] += 1
                    counts["gc_manifests"] += int(m.group(1))
                    counts["gc_blobs"] += int(m.group(2))
                    counts["gc_bytes"] += int(m.group(3))

        def pusher(n):
            c = Client(port)
            rnd = random.Random(n)
            repo = f"push/p{n}"
            # Layers this pusher pushed before, up to the whole run: old ones
            # have often been collected since (their manifests untagged and
            # deleted), recent ones are marked or about to be.
            previous = []
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    layers = [os.urandom(rnd.randint(512, 4096)) for _ in range(rnd.randint(1, 3))]
                    for l in layers:
                        c.upload(repo, l)
                    if previous:
                        old = rnd.choice(previous)
                        _, uploaded = c.ensure_blob(repo, old)
                        if uploaded:
                            with lock:
                                counts["reuploads"] += 1
                        layers.append(old)
                    if n > 0 and i % 5 == 0:
                        # Mount a stable layer from another repository (201, or 202 and upload).
                        shared = stable_layers[rnd.randrange(len(stable_layers))]
                        s, h, _ = c.request(
                            "POST", f"/v2/{repo}/blobs/uploads/?mount={sha(shared)}&from=stable/app")
                        if s == 202:
                            c.upload(repo, shared)
                        elif s != 201:
                            raise AssertionError(f"mount: {s}")
                        layers.append(shared)
                    if i % 4 == 0:
                        c.upload(repo, os.urandom(1024))  # abandoned: never referenced
                        with lock:
                            counts["abandoned"] += 1
                    config = json.dumps({"pusher": n, "i": i}).encode()
                    c.upload(repo, config)
                    body = manifest_for(sha(config), len(config), layers)
                    tag = f"t{i % 3}"
                    digest = c.put_manifest(repo, tag, body)
                    if digest != sha(body):
                        raise AssertionError("pushed digest mismatch")
                    got = c.pull(repo, digest)
                    if got != digest:
                        raise AssertionError("read back another manifest")
                    previous = (previous + layers)[-3000:]
                    with lock:
                        counts["pushes"] += 1
                except Exception as e:  # noqa: BLE001 - every failure counts
                    fail(f"push {repo} #{i}: {e}")

        def puller(n):
            c = Client(port)
            rnd = random.Random(100 + n)
            while not stop.is_set():
                tag = rnd.choice(stable)
                try:
                    c.pull("stable/app", tag)
                    with lock:
                        counts["pulls"] += 1
                except Exception as e:  # noqa: BLE001
                    fail(f"pull stable/app:{tag}: {e}")

        stable_layers = []
        m = json.loads(setup.request("GET", "/v2/stable/app/manifests/v0",
                                     headers={"Accept": MANIFEST})[2])
        for desc in m["layers"]:
            stable_layers.append(setup.request("GET", f"/v2/stable/app/blobs/{desc['digest']}")[2])

        threads = [threading.Thread(target=gc_loop)]
        threads += [threading.Thread(target=pusher, args=(n,)) for n in range(3)]
        threads += [threading.Thread(target=puller, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        time.sleep(DURATION)
        stop.set()
        for t in threads:
            t.join(timeout=180)

        # Every tag still pulls completely, and nothing referenced is missing.
        check = Client(port)
        for tag in stable:
            check.pull("stable/app", tag)
        for n in range(3):
            for t in range(3):
                s, _, _ = check.request("HEAD", f"/v2/push/p{n}/manifests/t{t}",
                                        headers={"Accept": MANIFEST})
                if s == 200:
                    check.pull(f"push/p{n}", f"t{t}")
        # --dry-run lists what a run would delete and deletes nothing; the real
        # run then deletes exactly those blobs (nothing is pushed meanwhile).
        def blob_files():
            out = set()
            for root, _, files in os.walk(os.path.join(data_dir, "blobs", "sha256")):
                out.update("sha256:" + f for f in files)
            return out
        gc_now = [BIN, "gc", "--data", data_dir, "--grace-seconds", "0", "--mark-delay-seconds", "0"]
        before = blob_files()
        dry = subprocess.run(gc_now + ["--dry-run"], capture_output=True, text=True, timeout=300,
                             env=env)
        would = set(re.findall(r"^WOULD DELETE blob (sha256:[0-9a-f]{64}) ", dry.stdout, re.M))
        if dry.returncode != 0 or "(dry run)" not in dry.stdout or blob_files() != before:
            fail(f"gc --dry-run changed something or failed: {dry.returncode} {dry.stdout[-300:]}")
        wet = subprocess.run(gc_now, capture_output=True, text=True, timeout=300, env=env)
        deleted = set(re.findall(r"^DELETED blob (sha256:[0-9a-f]{64}) ", wet.stdout, re.M))
        if wet.returncode != 0 or not would or not would <= deleted or before - blob_files() != deleted:
            fail(f"gc after --dry-run: would {len(would)}, deleted {len(deleted)}, "
                 f"files gone {len(before - blob_files())}: {wet.stdout[-300:]}")
        for tag in stable:
            check.pull("stable/app", tag)
        out = server.fsck(verify=False)
        if " 0 missing" not in out:
            fail(f"fsck after the run: {out[-500:]}")

        print("gc stress:", json.dumps(counts), flush=True)
        if counts["pushes"] < 50 or counts["pulls"] < 50:
            fail(f"too little traffic to mean anything: {counts}")
        if counts["gc_runs"] < 5:
            fail(f"the collector ran only {counts['gc_runs']} times")
        if counts["reuploads"] == 0:
            fail(f"no re-used layer had been collected: the race was not exercised: {counts}")
        if counts["gc_blobs"] == 0 or counts["gc_manifests"] == 0:
            fail(f"no garbage was reclaimed: {counts}")
        if failures:
            print(f"{len(failures)} failures; first: {failures[0]}", file=sys.stderr)
            print("0 passed, 1 failed")
            return 1
        print(f"PASS  {counts['pushes']} pushes and {counts['pulls']} pulls, 0 failed, while gc "
              f"ran {counts['gc_runs']} times and reclaimed {counts['gc_blobs']} blobs "
              f"({counts['gc_bytes']} bytes) and {counts['gc_manifests']} manifests")
        print("1 passed, 0 failed")
        return 0
    finally:
        stop.set()
        server.stop()
        if os.environ.get("PC_KEEP_WORK"):
            print("work dir:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
