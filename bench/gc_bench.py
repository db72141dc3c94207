#!/usr/bin/env python3
"""Garbage collection over many blobs, and push latency while it runs.

Starts `portcullis serve` on a free loopback port with a fresh data
directory (filesystem blob store, SQLite by default; set
PORTCULLIS_METADATA_POSTGRES_URL for PostgreSQL), fills it with BLOBS blobs:
LIVE tagged images (9 layers + config + manifest each) and the rest uploaded,
linked and never referenced (garbage). Then measures push latency (small
images: 2 layers, config, manifest) for BASELINE seconds without GC, and again
while `portcullis gc` (grace 1 s, mark delay 0) collects the garbage.
Prints the figures docs/performance.md records, and checks that every live
image still pulls and that exactly the garbage was deleted.

Usage: gc_bench.py PORTCULLIS_BIN [--blobs N] [--live N] [--baseline S] [--threads N]
"""
import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


class Client:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def req(self, method, path, body=None, headers=None):
        self.c.request(method, path, body=body, headers=headers or {})
        r = self.c.getresponse()
        return r.status, r.getheader("Docker-Content-Digest"), r.read()

    def blob(self, repo, data):
        d = sha(data)
        s, _, b = self.req("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", body=data,
                           headers={"Content-Type": "application/octet-stream"})
        if s != 201:
            raise RuntimeError(f"monolithic upload: {s} {b[:200]!r}")
        return d

    def image(self, repo, tag, layers):
        for l in layers:
            self.blob(repo, l)
        config = json.dumps({"tag": tag, "n": len(layers)}).encode()
        self.blob(repo, config)
        m = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST,
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                   "digest": sha(config), "size": len(config)},
                        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                    "digest": sha(l), "size": len(l)} for l in layers]}).encode()
        s, _, b = self.req("PUT", f"/v2/{repo}/manifests/{tag}", body=m,
                           headers={"Content-Type": MANIFEST})
        if s != 201:
            raise RuntimeError(f"manifest: {s} {b[:200]!r}")
        return m


def parallel(n_threads, items, fn):
    chunks = [items[i::n_threads] for i in range(n_threads)]
    errors = []

    def run(chunk):
        try:
            fn(chunk)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--blobs", type=int, default=100_000)
    ap.add_argument("--live", type=int, default=1000, help="tagged images (11 blobs each)")
    ap.add_argument("--baseline", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=4)
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    work = tempfile.mkdtemp(prefix="pc-gc-bench-", dir="/var/tmp")
    data = os.path.join(work, "data")
    cfg = os.path.join(work, "cfg.yaml")
    with open(cfg, "w") as f:
        f.write("scanner:\n  scan_on_push: false\nlog:\n  access_log: false\n"
                "gc:\n  enabled: false\n")
    log = open(os.path.join(work, "server.log"), "w+")
    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data", data,
                               "--config", cfg],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        port = None
        for _ in range(200):
            log.seek(0)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        if port is None:
            log.seek(0)
            raise SystemExit("server did not start:\n" + log.read())

        live_blobs = a.live * 11  # 9 layers + config + manifest
        garbage = a.blobs - live_blobs
        t0 = time.monotonic()

        def live_worker(ids):
            c = Client(port)
            for i in ids:
                c.image(f"bench/live{i % 50}", f"v{i}",
                        [os.urandom(200) + f"live{i}-{k}".encode() for k in range(9)])

        def garbage_worker(ids):
            c = Client(port)
            for i in ids:
                c.blob(f"bench/garbage{i % 50}", os.urandom(200) + f"garbage{i}".encode())

        parallel(a.threads, list(range(a.live)), live_worker)
        parallel(a.threads, list(range(garbage)), garbage_worker)
        fill_s = time.monotonic() - t0
        print(f"filled {a.blobs} blobs ({a.live} live images, {garbage} garbage) in {fill_s:.1f} s",
              flush=True)
        time.sleep(2.5)  # everything is now older than the 1 s grace period

        def push_loop(stop, out):
            c = Client(port)
            i = 0
            while not stop.is_set():
                i += 1
                t = time.monotonic()
                c.image("bench/pusher", f"p{i % 5}",
                        [os.urandom(1024) + f"push{i}-{k}-{t}".encode() for k in range(2)])
                out.append(time.monotonic() - t)

        base = []
        stop = threading.Event()
        th = threading.Thread(target=push_loop, args=(stop, base))
        th.start()
        time.sleep(a.baseline)
        stop.set()
        th.join()

        during = []
        stop = threading.Event()
        th = threading.Thread(target=push_loop, args=(stop, during))
        th.start()
        t = time.monotonic()
        r = subprocess.run([binary, "gc", "--data", data, "--config", cfg, "--grace-seconds", "1",
                            "--mark-delay-seconds", "0", "--quiet"],
                           capture_output=True, text=True)
        gc_s = time.monotonic() - t
        stop.set()
        th.join()
        if r.returncode != 0:
            raise SystemExit(f"gc failed: {r.stderr}")
        m = re.search(r"(\d+) blobs \((\d+) bytes\) scanned; (\d+) manifests and (\d+) blobs "
                      r"\((\d+) bytes\) deleted in (\d+) ms", r.stdout)
        scanned, deleted = int(m.group(1)), int(m.group(4))

        # Every live image still pulls (manifest + config + first layer, sampled).
        c = Client(port)
        for i in range(0, a.live, max(1, a.live // 200)):
            s, _, body = c.req("GET", f"/v2/bench/live{i % 50}/manifests/v{i}",
                               headers={"Accept": MANIFEST})
            assert s == 200, f"live image v{i} lost: {s}"
            mf = json.loads(body)
            for desc in [mf["config"], mf["layers"][0]]:
                s, _, b = c.req("GET", f"/v2/bench/live{i % 50}/blobs/{desc['digest']}")
                assert s == 200 and sha(b) == desc["digest"], f"live blob lost: {s}"

        result = {
            "blobs": a.blobs, "live_images": a.live, "garbage_blobs": garbage,
            "scanned": scanned, "deleted": deleted, "gc_seconds": round(gc_s, 2),
            "blobs_per_second": round(deleted / gc_s),
            "push_p50_ms_baseline": round(statistics.median(base) * 1e3, 2),
            "push_p99_ms_baseline": round(pct(base, 0.99) * 1e3, 2),
            "push_p50_ms_during_gc": round(statistics.median(during) * 1e3, 2),
            "push_p99_ms_during_gc": round(pct(during, 0.99) * 1e3, 2),
            "push_max_ms_during_gc": round(max(during) * 1e3, 2),
            "pushes_during_gc": len(during),
        }
        print(json.dumps(result, indent=1))
        if deleted < garbage:
            raise SystemExit(f"only {deleted} of {garbage} garbage blobs deleted")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
