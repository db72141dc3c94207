#!/usr/bin/env python3
"""Several replicas behave as one registry.

Usage (PostgreSQL is required; with_postgres.sh provides one):
    with_postgres.sh replicas_test.py PORTCULLIS_BIN [--replicas N]

Starts N `portcullis serve` processes sharing one PostgreSQL database and one
data directory (the shared-filesystem deployment), and HAProxy in front of
them (round robin, no stickiness, each request balanced on its own). Then:

  * skopeo pushes every harness image (Debian and npm packages, a
    multi-platform index) through HAProxy and copies each back; the digests
    match and HAProxy spread the requests over every replica;
  * an upload started on one replica is continued on a second and finished on
    a third; the blob is then served by all of them;
  * a tag moved on one replica is seen at once by the others, even by one that
    has just served (and cached) the old manifest; a manifest or blob deleted
    on one is gone on the others.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter

from e2e_util import (ACCEPT, HOST, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Server, Violation, check,
                      harness_layout, request, sha256)

HAPROXY_CONFIG = """global
    maxconn 512
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    option http-keep-alive
    http-reuse never
frontend registry
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    http-response set-header X-Replica %s
{servers}
"""


def free_port():
    import socket
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class HAProxy:
    def __init__(self, work, ports):
        self.port = free_port()
        self.config = os.path.join(work, "haproxy.cfg")
        servers = "\n".join("    server r%d 127.0.0.1:%d" % (i + 1, p) for i, p in enumerate(ports))
        with open(self.config, "w") as f:
            f.write(HAPROXY_CONFIG.format(port=self.port, servers=servers))
        self.log = open(os.path.join(work, "haproxy.log"), "wb")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                status, _, _ = request(self.port, "GET", "/v2/")
                if status == 200:
                    return
            except OSError:
                pass
            check(self.proc.poll() is None, "haproxy exited; see %s" % self.log.name)
            time.sleep(0.05)
        raise Violation("haproxy did not come up")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()


def push_blob(port, repo, data):
    digest = sha256(data)
    status, _, body = request(port, "POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, digest), data,
                              {"Content-Type": "application/octet-stream"})
    check(status == 201, "blob push: %d %s" % (status, body[:200]))
    return digest


def push_image(port, repo, tag):
    """A small image with a fresh config; returns the manifest digest."""
    layer = os.urandom(5000)
    config = json.dumps({"architecture": "amd64", "os": "linux", "nonce": uuid.uuid4().hex,
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": push_blob(port, repo, config),
                   "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": push_blob(port, repo, layer),
                    "size": len(layer)}]}).encode()
    status, _, body = request(port, "PUT", "/v2/%s/manifests/%s" % (repo, tag), manifest,
                              {"Content-Type": OCI_MANIFEST})
    check(status == 201, "manifest push: %d %s" % (status, body[:200]))
    return sha256(manifest)


def get_manifest(port, repo, ref):
    status, headers, body = request(port, "GET", "/v2/%s/manifests/%s" % (repo, ref),
                                    headers={"Accept": ACCEPT})
    return status, headers.get("docker-content-digest"), body


def test_skopeo_through_haproxy(lb, replicas, layout, work):
    with open(os.path.join(layout, "index.json")) as f:
        refs = [(m["annotations"]["org.opencontainers.image.ref.name"], m["digest"])
                for m in json.load(f)["manifests"]]
    for ref, digest in refs:
        dest = "docker://%s:%d/team/%s:v1" % (HOST, lb.port, ref)
        r = subprocess.run(["skopeo", "copy", "--quiet", "--all", "--preserve-digests",
                            "--dest-tls-verify=false", "oci:%s:%s" % (layout, ref), dest],
                           capture_output=True, timeout=600)
        check(r.returncode == 0, "skopeo push %s: %s" % (ref, r.stderr.decode()[-2000:]))
        back = os.path.join(work, "back-" + ref)
        r = subprocess.run(["skopeo", "copy", "--quiet", "--all", "--preserve-digests",
                            "--src-tls-verify=false", dest, "oci:%s:%s" % (back, ref)],
                           capture_output=True, timeout=600)
        check(r.returncode == 0, "skopeo pull %s: %s" % (ref, r.stderr.decode()[-2000:]))
        with open(os.path.join(back, "index.json")) as f:
            got = json.load(f)["manifests"][0]["digest"]
        check(got == digest, "%s: pulled %s, pushed %s" % (ref, got, digest))
        # Every replica serves it.
        for s in replicas:
            status, served, _ = get_manifest(s.port, "team/" + ref, "v1")
            check(status == 200 and served == digest, "replica %d: %s -> %d %s"
                  % (s.port, ref, status, served))
    # Round robin per request: every replica answered some of them.
    seen = Counter()
    for _ in range(3 * len(replicas)):
        status, headers, _ = request(lb.port, "GET", "/v2/")
        seen[headers.get("x-replica")] += 1
    check(len(seen) == len(replicas), "HAProxy did not spread requests: %s" % dict(seen))
    print("PASS skopeo pushed and pulled %d images through HAProxy; requests per replica %s"
          % (len(refs), dict(seen)))


def test_upload_across_replicas(replicas):
    a, b, c = replicas[0], replicas[1 % len(replicas)], replicas[2 % len(replicas)]
    repo = "team/upload"
    data = os.urandom(300000)
    digest = sha256(data)
    status, headers, body = request(a.port, "POST", "/v2/%s/blobs/uploads/" % repo)
    check(status == 202, "start on replica 1: %d %s" % (status, body[:200]))
    location = headers["location"]
    check(location.startswith("/"), "Location must be a path so any replica can continue: %s" % location)
    status, headers, body = request(b.port, "PATCH", location, data[:100000],
                                    {"Content-Type": "application/octet-stream",
                                     "Content-Range": "0-99999"})
    check(status == 202 and headers.get("range") == "0-99999",
          "PATCH on replica 2: %d %s %s" % (status, headers.get("range"), body[:200]))
    location = headers.get("location", location)
    status, headers, _ = request(c.port, "GET", location)
    check(status == 204 and headers.get("range") == "0-99999", "status on replica 3: %d %s"
          % (status, headers.get("range")))
    status, headers, body = request(a.port, "PATCH", location, data[100000:200000],
                                    {"Content-Type": "application/octet-stream",
                                     "Content-Range": "100000-199999"})
    check(status == 202, "second PATCH on replica 1: %d %s" % (status, body[:200]))
    location = headers.get("location", location)
    sep = "&" if "?" in location else "?"
    status, _, body = request(c.port, "PUT", "%s%sdigest=%s" % (location, sep, digest),
                              data[200000:], {"Content-Type": "application/octet-stream",
                                              "Content-Range": "200000-299999"})
    check(status == 201, "finish on replica 3: %d %s" % (status, body[:200]))
    for s in replicas:
        status, _, got = request(s.port, "GET", "/v2/%s/blobs/%s" % (repo, digest))
        check(status == 200 and got == data, "replica %d serves the blob: %d" % (s.port, status))
    print("PASS an upload started, continued and finished on three replicas")


def test_tag_moves_and_deletes(replicas):
    a, b, c = replicas[0], replicas[1 % len(replicas)], replicas[2 % len(replicas)]
    repo = "team/moving"
    first = push_image(a.port, repo, "latest")
    for s in replicas:  # every replica now has "latest" in its cache
        status, digest, _ = get_manifest(s.port, repo, "latest")
        check(status == 200 and digest == first, "before the move: %d %s" % (status, digest))
    second = push_image(c.port, repo, "latest")
    for s in replicas:
        status, digest, _ = get_manifest(s.port, repo, "latest")
        check(status == 200 and digest == second,
              "replica %d still serves %s after the tag moved to %s" % (s.port, digest, second))
    # Delete the first manifest (by digest) on one replica: gone everywhere.
    for s in replicas:
        check(get_manifest(s.port, repo, first)[0] == 200, "first manifest by digest")
    status, _, body = request(b.port, "DELETE", "/v2/%s/manifests/%s" % (repo, first))
    check(status == 202, "delete: %d %s" % (status, body[:200]))
    for s in replicas:
        status, _, _ = get_manifest(s.port, repo, first)
        check(status == 404, "replica %d still serves a deleted manifest: %d" % (s.port, status))
    # A blob deleted on one replica is gone on the others (after each cached it).
    data = os.urandom(1000)
    digest = push_blob(a.port, repo, data)
    for s in replicas:
        check(request(s.port, "HEAD", "/v2/%s/blobs/%s" % (repo, digest))[0] == 200, "blob HEAD")
    status, _, body = request(c.port, "DELETE", "/v2/%s/blobs/%s" % (repo, digest))
    check(status == 202, "blob delete: %d %s" % (status, body[:200]))
    for s in replicas:
        status = request(s.port, "GET", "/v2/%s/blobs/%s" % (repo, digest))[0]
        check(status == 404, "replica %d still serves a deleted blob: %d" % (s.port, status))
    # Tag listing and catalog agree everywhere.
    lists = {request(s.port, "GET", "/v2/%s/tags/list" % repo)[2] for s in replicas}
    check(len(lists) == 1, "replicas disagree on the tag list: %s" % lists)
    print("PASS tag moves and deletions on one replica are seen at once by the others")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--images", default=os.path.join(
        os.environ.get("HARNESS_CACHE", "/var/tmp/registry-harness-cache"), "oci"))
    args = ap.parse_args()
    if not os.environ.get("PORTCULLIS_METADATA_POSTGRES_URL"):
        print("replicas_test: run it under with_postgres.sh (replicas share PostgreSQL)")
        return 2
    layout = harness_layout(args.images)
    work = tempfile.mkdtemp(prefix="pc-replicas-", dir="/var/tmp")
    data = os.path.join(work, "data")
    replicas = [Server(os.path.abspath(args.binary), data, work, name="replica%d" % (i + 1))
                for i in range(args.replicas)]
    lb = None
    try:
        # All at once: they race to run the migrations (serialised by an
        # advisory lock) and to create the shared token key (O_EXCL).
        for s in replicas:
            s.launch()
        for s in replicas:
            s.wait_listening()
        lb = HAProxy(work, [s.port for s in replicas])
        test_skopeo_through_haproxy(lb, replicas, layout, work)
        test_upload_across_replicas(replicas)
        test_tag_moves_and_deletes(replicas)
    except Violation as e:
        print("FAIL: %s (logs in %s)" % (e, work))
        return 1
    finally:
        if lb:
            lb.stop()
        for s in replicas:
            s.stop()
    shutil.rmtree(work, ignore_errors=True)
    print("PASS replicas_test: %d replicas behind HAProxy behave as one registry" % len(replicas))
    return 0


if __name__ == "__main__":
    sys.exit(main())
