#!/usr/bin/env python3
"""End-to-end protocol tests for Portcullis against the OCI Distribution Spec v1.1.

Usage:
    python3 tests/e2e/protocol_test.py /path/to/portcullis [unittest options]
    PORTCULLIS_BIN=/path/to/portcullis python3 tests/e2e/protocol_test.py

The suite starts its own `portcullis serve` on a free loopback port with a
temporary data directory, talks to it over plain HTTP with the standard
library only, and stops it with SIGTERM at the end. The restart tests run a
second, private server so that stopping it does not disturb the others.

Spec references in the docstrings point at the sections of
opencontainers/distribution-spec spec.md (v1.1) and its conformance suite.
Exit status is non-zero when any test fails.
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from urllib.parse import quote

HOST = "127.0.0.1"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

EMPTY_JSON = b"{}"
EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

# spec.md "Error Codes": the code field MUST be one of these. The spec also
# says clients MAY meet the legacy Docker codes TAG_INVALID and MANIFEST_UNVERIFIED.
SPEC_ERROR_CODES = {
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
    "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS",
}
LEGACY_ERROR_CODES = {"TAG_INVALID", "MANIFEST_UNVERIFIED"}

LINK_NEXT_RE = re.compile(r'^<([^>]+)>\s*;\s*rel="next"$')
LISTENING_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")

BINARY = None  # set by main()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data):
    return "sha512:" + hashlib.sha512(data).hexdigest()


# --------------------------------------------------------------------------
# Server process management


class Server:
    """One portcullis process on a free loopback port."""

    def __init__(self, binary, data_dir, log_path):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None
        self.port = None
        self._lines = []
        self._lock = threading.Lock()

    def start(self, timeout=20.0):
        self._lines = []
        self.port = None
        found = threading.Event()
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", HOST + ":0", "--data", self.data_dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        proc = self.proc

        def pump():
            with open(self.log_path, "ab") as log:
                for raw in iter(proc.stderr.readline, b""):
                    log.write(raw)
                    log.flush()
                    line = raw.decode("utf-8", "replace")
                    with self._lock:
                        self._lines.append(line)
                    m = LISTENING_RE.search(line)
                    if m and not found.is_set():
                        self.port = int(m.group(1))
                        found.set()
            found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(timeout) or self.port is None:
            self.kill()
            raise RuntimeError("portcullis did not report its port; log:\n" + self.log_tail())
        # The listener is bound before the line is logged; wait for a first answer.
        deadline = time.monotonic() + timeout
        while True:
            try:
                if request(self.port, "GET", "/v2/").status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("portcullis never answered GET /v2/; log:\n" + self.log_tail())
            time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30.0):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise RuntimeError("portcullis did not exit within %.0fs of SIGTERM" % timeout)
        rc = self.proc.returncode
        self.proc.stderr.close()
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, n=25):
        """Last server log lines, without the JSON access-log lines."""
        with self._lock:
            lines = [l for l in self._lines if not l.startswith("{")]
        return "".join(lines[-n:])


# --------------------------------------------------------------------------
# HTTP helpers (one connection per request keeps tests independent)


class Resp:
    def __init__(self, method, status, reason, headers, body):
        self.method = method
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage, case-insensitive
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        body = self.body[:300]
        return "<%s %d %s headers=%s body=%r>" % (
            self.method, self.status, self.reason, dict(self.headers.items()), body)


def request(port, method, path, body=None, headers=None, timeout=60.0, chunked=False):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if chunked:
            data = body if body is not None else b""
            pieces = [data[i:i + 7000] for i in range(0, len(data), 7000)] or [b""]
            conn.request(method, path, body=iter(pieces), headers=hdrs, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Resp(method, r.status, r.reason, r.headers, data)
    finally:
        conn.close()


def raw_exchange(port, head, body=b"", send_all=True, half_close=False, read_timeout=15.0):
    """Sends raw bytes; returns (status or None, raw response bytes).

    Write errors are tolerated: a server may answer and close before reading
    the whole request (413/431). With send_all=False the connection is closed
    right after `body` is written, whatever Content-Length announced.
    """
    s = socket.create_connection((HOST, port), timeout=read_timeout)
    try:
        try:
            s.sendall(head)
            if body:
                view = memoryview(body)
                for i in range(0, len(view), 64 * 1024):
                    s.sendall(view[i:i + 64 * 1024])
        except OSError:
            pass
        if not send_all:
            return None, b""
        if half_close:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        chunks = []
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
                joined = b"".join(chunks)
                if b"\r\n\r\n" in joined:
                    head_part, _, rest = joined.partition(b"\r\n\r\n")
                    m = re.search(rb"(?im)^content-length:\s*(\d+)", head_part)
                    if m and len(rest) >= int(m.group(1)):
                        break
        except OSError:
            pass
        raw = b"".join(chunks)
        m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
        return (int(m.group(1)) if m else None), raw
    finally:
        s.close()


# --------------------------------------------------------------------------
# Shared server for most tests

_shared = {}


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="portcullis-e2e-")
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    server = Server(BINARY, data, os.path.join(tmp, "server.log"))
    server.start()
    _shared["tmp"] = tmp
    _shared["server"] = server


def tearDownModule():
    server = _shared.get("server")
    tmp = _shared.get("tmp")
    try:
        if server is not None:
            was_alive = server.alive()
            rc = server.stop()
            if not was_alive:
                raise AssertionError("the shared portcullis died during the run (exit %r); log:\n%s"
                                     % (rc, server.log_tail()))
            if rc != 0:
                raise AssertionError("portcullis exited with %r after SIGTERM; log:\n%s"
                                     % (rc, server.log_tail()))
    finally:
        if tmp and not os.environ.get("PORTCULLIS_E2E_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


class RegistryTestCase(unittest.TestCase):
    """Helpers shared by every test; talks to self.server."""

    maxDiff = 4000

    @property
    def server(self):
        return _shared["server"]

    @property
    def port(self):
        return self.server.port

    def setUp(self):
        slug = re.sub(r"[^a-z0-9]+", "-", self._testMethodName.lower().replace("test_", "", 1))
        slug = slug.strip("-")[:60].strip("-")
        self.repo = "e2e/%s-%s" % (slug, uuid.uuid4().hex[:6])

    def tearDown(self):
        # A crash must be blamed on the test that caused it, and must not
        # take the rest of the suite down with it: restart on the same data.
        if not self.server.alive():
            rc = self.server.proc.returncode if self.server.proc else None
            tail = self.server.log_tail()
            try:
                self.server.stop()
            except Exception:
                pass
            self.server.start()
            self.fail("portcullis died during this test (exit status %r); restarted it. log:\n%s"
                      % (rc, tail))

    # -- plumbing

    def req(self, method, path, body=None, headers=None, **kw):
        try:
            return request(self.port, method, path, body, headers, **kw)
        except (OSError, http.client.HTTPException) as e:
            self.fail("%s %s failed at the transport level: %r (server alive=%s)\n%s"
                      % (method, path[:200], e, self.server.alive(), self.server.log_tail()))

    def assert_alive(self):
        self.assertTrue(self.server.alive(), "portcullis exited; log:\n" + self.server.log_tail())
        r = self.req("GET", "/v2/")
        self.assertEqual(r.status, 200, "server stopped answering GET /v2/: %r" % r)

    def assert_error(self, r, status, code=None, spec_code=True):
        """Checks status and the spec's error body {"errors":[{"code","message",...}]}."""
        if isinstance(status, (tuple, list, set)):
            self.assertIn(r.status, status, r)
        else:
            self.assertEqual(r.status, status, r)
        if r.method == "HEAD":
            self.assertEqual(r.body, b"", "HEAD response carried a body: %r" % r)
            return None
        ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
        self.assertEqual(ctype, "application/json", "error response is not JSON: %r" % r)
        try:
            doc = r.json()
        except ValueError as e:
            self.fail("error body is not valid JSON (%s): %r" % (e, r))
        self.assertIsInstance(doc, dict, r)
        errors = doc.get("errors")
        self.assertIsInstance(errors, list, "no 'errors' array: %r" % r)
        self.assertTrue(errors, "empty 'errors' array: %r" % r)
        for e in errors:
            self.assertIsInstance(e, dict, r)
            self.assertIsInstance(e.get("code"), str, "error without a string code: %r" % r)
            self.assertRegex(e["code"], r"^[A-Z_]+$", "code must be uppercase letters and '_'")
            self.assertIn("message", e, "error without a message: %r" % r)
            self.assertIsInstance(e["message"], str, r)
        codes = [e["code"] for e in errors]
        if code is not None:
            self.assertIn(code, codes, "expected error code %s: %r" % (code, r))
        if spec_code and 400 <= r.status < 500:
            for c in codes:
                self.assertIn(c, SPEC_ERROR_CODES | LEGACY_ERROR_CODES,
                              "error code %s is not one of the spec's codes: %r" % (c, r))
        return codes

    # -- blobs

    def start_upload(self, repo=None):
        repo = repo or self.repo
        r = self.req("POST", "/v2/%s/blobs/uploads/" % repo)
        self.assertEqual(r.status, 202, r)
        loc = r.header("Location")
        self.assertTrue(loc, "POST upload without Location: %r" % r)
        return loc

    def push_blob(self, data, repo=None):
        repo = repo or self.repo
        digest = sha256(data)
        loc = self.start_upload(repo)
        r = self.req("PUT", with_query(loc, "digest=" + digest), data,
                     {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, r)
        return digest

    def assert_blob(self, digest, data, repo=None):
        repo = repo or self.repo
        r = self.req("GET", "/v2/%s/blobs/%s" % (repo, digest))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, data, "blob content differs")
        self.assertEqual(r.header("Docker-Content-Digest"), digest, r)
        self.assertEqual(int(r.header("Content-Length")), len(data), r)

    def assert_blob_absent(self, digest, repo=None):
        repo = repo or self.repo
        r = self.req("HEAD", "/v2/%s/blobs/%s" % (repo, digest))
        self.assertEqual(r.status, 404, "blob %s should not be visible: %r" % (digest, r))
        r = self.req("GET", "/v2/%s/blobs/%s" % (repo, digest))
        self.assert_error(r, 404, "BLOB_UNKNOWN")

    # -- manifests

    def put_manifest(self, ref, body, media_type=OCI_MANIFEST, repo=None):
        repo = repo or self.repo
        headers = {"Content-Type": media_type} if media_type else {}
        return self.req("PUT", "/v2/%s/manifests/%s" % (repo, ref), body, headers)

    def push_image(self, tag=None, repo=None, layers=1, annotations=None):
        """Pushes config + layers + an OCI image manifest; returns a dict."""
        repo = repo or self.repo
        config = json.dumps({"architecture": "amd64", "os": "linux", "nonce": uuid.uuid4().hex,
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        config_digest = self.push_blob(config, repo)
        layer_descs = []
        blobs = {config_digest: config}
        for i in range(layers):
            data = os.urandom(100 + i)
            d = self.push_blob(data, repo)
            blobs[d] = data
            layer_descs.append({"mediaType": OCI_LAYER, "digest": d, "size": len(data)})
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": config_digest,
                               "size": len(config)},
                    "layers": layer_descs}
        if annotations:
            manifest["annotations"] = annotations
        body = json.dumps(manifest, indent=3).encode() + b"\n"
        digest = sha256(body)
        r = self.put_manifest(tag or digest, body, OCI_MANIFEST, repo)
        self.assertEqual(r.status, 201, r)
        return {"body": body, "digest": digest, "size": len(body), "blobs": blobs,
                "config": config_digest, "layers": [d["digest"] for d in layer_descs],
                "descriptor": {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}}

    def ensure_empty_config(self, repo=None):
        return self.push_blob(EMPTY_JSON, repo)


def with_query(location, query):
    return location + ("&" if "?" in location else "?") + query


def path_of(location):
    """Relative form of a Location (absolute ones are allowed by the spec)."""
    m = re.match(r"^https?://[^/]+(/.*)$", location)
    return m.group(1) if m else location


# --------------------------------------------------------------------------


class BaseApiTest(RegistryTestCase):

    def test_get_v2_returns_200_with_registry_api_version_header(self):
        r = self.req("GET", "/v2/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Docker-Distribution-API-Version"), "registry/2.0", r)

    def test_unknown_endpoint_returns_404_with_error_body(self):
        r = self.req("GET", "/v2/%s/nonsense/route" % self.repo)
        self.assertEqual(r.status, 404, r)
        # Error bodies must have the spec's shape; see the report for the code value.
        self.assert_error(r, 404, spec_code=False)


class ConnectionReuseTest(RegistryTestCase):

    def test_head_and_error_responses_keep_a_persistent_connection_in_sync(self):
        data = b"persistent"
        d = self.push_blob(data)
        img = self.push_image(tag="t")
        missing = sha256(b"missing " + uuid.uuid4().bytes)
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            seq = [("HEAD", "/v2/%s/blobs/%s" % (self.repo, missing), 404, b""),
                   ("HEAD", "/v2/%s/manifests/nope" % self.repo, 404, b""),
                   ("HEAD", "/v2/%s/blobs/%s" % (self.repo, d), 200, b""),
                   ("GET", "/v2/%s/blobs/%s" % (self.repo, d), 200, data),
                   ("HEAD", "/v2/%s/manifests/t" % self.repo, 200, b""),
                   ("GET", "/v2/%s/manifests/t" % self.repo, 200, img["body"]),
                   ("HEAD", "/v2/%s/tags/list" % (self.repo + "-none"), 404, b""),
                   ("GET", "/v2/", 200, None)]
            for method, path, status, body in seq:
                conn.request(method, path)
                r = conn.getresponse()
                got = r.read()
                self.assertEqual(r.status, status, "%s %s" % (method, path))
                if body is not None:
                    self.assertEqual(got, body, "%s %s" % (method, path))
        except (http.client.HTTPException, OSError) as e:
            self.fail("persistent connection broke (a HEAD response carried a body?): %r" % e)
        finally:
            conn.close()


class BlobUploadTest(RegistryTestCase):

    def test_post_starts_session_with_202_location_uuid_and_range(self):
        r = self.req("POST", "/v2/%s/blobs/uploads/" % self.repo, headers={"Content-Length": "0"})
        self.assertEqual(r.status, 202, r)
        loc = r.header("Location")
        self.assertTrue(loc, r)
        uid = r.header("Docker-Upload-UUID")
        self.assertTrue(uid, "Docker-Upload-UUID missing: %r" % r)
        self.assertIn(uid, loc, "Location should name the session id")
        self.assertTrue(path_of(loc).startswith("/v2/%s/blobs/uploads/" % self.repo), loc)
        self.assertRegex(r.header("Range") or "", r"^0-\d+$", r)

    def test_single_post_with_digest_creates_blob_201(self):
        data = os.urandom(3000)
        d = sha256(data)
        r = self.req("POST", "/v2/%s/blobs/uploads/?digest=%s" % (self.repo, d), data,
                     {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(path_of(r.header("Location") or ""), "/v2/%s/blobs/%s" % (self.repo, d))
        self.assertEqual(r.header("Docker-Content-Digest"), d)
        self.assert_blob(d, data)

    def test_post_then_put_with_body_creates_blob_201(self):
        data = os.urandom(5000)
        d = sha256(data)
        loc = self.start_upload()
        r = self.req("PUT", with_query(loc, "digest=" + d), data,
                     {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(path_of(r.header("Location") or ""), "/v2/%s/blobs/%s" % (self.repo, d))
        self.assertEqual(r.header("Docker-Content-Digest"), d)
        self.assert_blob(d, data)

    def test_percent_encoded_digest_query_parameter_is_accepted(self):
        data = os.urandom(700)
        d = sha256(data)
        loc = self.start_upload()
        r = self.req("PUT", with_query(loc, "digest=" + quote(d, safe="")), data)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), d)
        self.assert_blob(d, data)

    def test_empty_blob_upload_monolithic_and_via_session(self):
        d = sha256(b"")
        r = self.req("POST", "/v2/%s/blobs/uploads/?digest=%s" % (self.repo, d), b"")
        self.assertEqual(r.status, 201, r)
        self.assert_blob(d, b"")
        repo2 = self.repo + "-2"
        loc = self.start_upload(repo2)
        r = self.req("PUT", with_query(loc, "digest=" + d), b"")
        self.assertEqual(r.status, 201, r)
        self.assert_blob(d, b"", repo2)
        r = self.req("HEAD", "/v2/%s/blobs/%s" % (repo2, d))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Length"), "0")

    def test_completed_upload_session_is_gone(self):
        data = b"complete me"
        loc = self.start_upload()
        r = self.req("PUT", with_query(loc, "digest=" + sha256(data)), data)
        self.assertEqual(r.status, 201, r)
        r = self.req("GET", loc)
        self.assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")
        r = self.req("PATCH", loc, b"more")
        self.assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")
        r = self.req("PUT", with_query(loc, "digest=" + sha256(data)), b"")
        self.assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")

    def test_chunked_patch_sequence_reports_range_then_put_completes(self):
        data = os.urandom(10000)
        d = sha256(data)
        loc = self.start_upload()
        offsets = [0, 3000, 3001, 7777, 10000]
        for a, b in zip(offsets, offsets[1:]):
            r = self.req("PATCH", loc, data[a:b], {"Content-Type": "application/octet-stream",
                                                    "Content-Range": "%d-%d" % (a, b - 1)})
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.header("Range"), "0-%d" % (b - 1), r)
            self.assertTrue(r.header("Location"), r)
            loc = r.header("Location")
        r = self.req("PUT", with_query(loc, "digest=" + d), b"",
                     {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), d)
        self.assert_blob(d, data)

    def test_final_chunk_in_put_with_content_range_completes_upload(self):
        data = os.urandom(4000)
        d = sha256(data)
        loc = self.start_upload()
        r = self.req("PATCH", loc, data[:1500], {"Content-Type": "application/octet-stream",
                                                 "Content-Range": "0-1499"})
        self.assertEqual(r.status, 202, r)
        r = self.req("PUT", with_query(r.header("Location"), "digest=" + d), data[1500:],
                     {"Content-Type": "application/octet-stream", "Content-Range": "1500-3999"})
        self.assertEqual(r.status, 201, r)
        self.assert_blob(d, data)

    def test_streamed_patch_without_content_range_then_put_completes(self):
        data = os.urandom(20000)
        d = sha256(data)
        loc = self.start_upload()
        r = self.req("PATCH", loc, data[:12000], {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-11999", r)
        # A second streamed chunk appends.
        r = self.req("PATCH", r.header("Location"), data[12000:],
                     {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-19999", r)
        r = self.req("PUT", with_query(r.header("Location"), "digest=" + d), b"")
        self.assertEqual(r.status, 201, r)
        self.assert_blob(d, data)

    def test_streamed_patch_with_chunked_transfer_encoding(self):
        data = os.urandom(30000)
        d = sha256(data)
        loc = self.start_upload()
        r = self.req("PATCH", loc, data, {"Content-Type": "application/octet-stream"}, chunked=True)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-29999", r)
        r = self.req("PUT", with_query(r.header("Location"), "digest=" + d), b"")
        self.assertEqual(r.status, 201, r)
        self.assert_blob(d, data)

    def test_out_of_order_chunk_returns_416_and_upload_stays_usable(self):
        data = os.urandom(2000)
        d = sha256(data)
        loc = self.start_upload()
        # First chunk must start at 0.
        r = self.req("PATCH", loc, data[1000:], {"Content-Type": "application/octet-stream",
                                                 "Content-Range": "1000-1999"})
        self.assertEqual(r.status, 416, r)
        r = self.req("PATCH", loc, data[:1000], {"Content-Type": "application/octet-stream",
                                                 "Content-Range": "0-999"})
        self.assertEqual(r.status, 202, r)
        # Retrying the same chunk is out of order too.
        r = self.req("PATCH", loc, data[:1000], {"Content-Type": "application/octet-stream",
                                                 "Content-Range": "0-999"})
        self.assertEqual(r.status, 416, r)
        # A gap is out of order.
        r = self.req("PATCH", loc, data[1500:], {"Content-Type": "application/octet-stream",
                                                 "Content-Range": "1500-1999"})
        self.assertEqual(r.status, 416, r)
        r = self.req("GET", loc)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Range"), "0-999", "416s must not change the upload: %r" % r)
        r = self.req("PATCH", loc, data[1000:], {"Content-Type": "application/octet-stream",
                                                 "Content-Range": "1000-1999"})
        self.assertEqual(r.status, 202, r)
        r = self.req("PUT", with_query(loc, "digest=" + d), b"")
        self.assertEqual(r.status, 201, r)
        self.assert_blob(d, data)

    def test_get_upload_status_returns_204_with_range_and_location(self):
        loc = self.start_upload()
        r = self.req("PATCH", loc, b"x" * 321, {"Content-Range": "0-320"})
        self.assertEqual(r.status, 202, r)
        r = self.req("GET", loc)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Range"), "0-320", r)
        self.assertTrue(r.header("Location"), r)
        self.assertEqual(r.body, b"")

    def test_delete_upload_returns_204_then_session_is_unknown(self):
        loc = self.start_upload()
        r = self.req("PATCH", loc, b"abc", {"Content-Range": "0-2"})
        self.assertEqual(r.status, 202, r)
        r = self.req("DELETE", loc)
        self.assertEqual(r.status, 204, r)
        r = self.req("GET", loc)
        self.assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")
        r = self.req("PATCH", loc, b"def", {"Content-Range": "3-5"})
        self.assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")
        r = self.req("PUT", with_query(loc, "digest=" + sha256(b"abc")), b"")
        self.assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")

    def test_upload_id_used_from_another_repository_is_unknown_404(self):
        loc = self.start_upload()
        uid = path_of(loc).split("?")[0].rstrip("/").rsplit("/", 1)[1]
        other = self.repo + "-other"
        self.push_blob(b"make the other repository exist", other)
        for method, body, headers in (("GET", None, {}),
                                      ("PATCH", b"zz", {"Content-Range": "0-1"}),
                                      ("PUT", b"zz", {}),
                                      ("DELETE", None, {})):
            path = "/v2/%s/blobs/uploads/%s" % (other, uid)
            if method == "PUT":
                path += "?digest=" + sha256(b"zz")
            r = self.req(method, path, body, headers)
            self.assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")
        # The session is untouched in its own repository.
        r = self.req("GET", loc)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Range"), "0-0", r)
        self.assert_blob_absent(sha256(b"zz"), other)

    def test_unknown_upload_id_returns_404_blob_upload_unknown(self):
        for uid in ("0" * 32, "not-a-session", "../../etc"):
            r = self.req("GET", "/v2/%s/blobs/uploads/%s" % (self.repo, quote(uid, safe="")))
            self.assertIn(r.status, (400, 404), r)
            self.assert_error(r, r.status)
        r = self.req("GET", "/v2/%s/blobs/uploads/%s" % (self.repo, "0" * 32))
        self.assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")

    def test_wrong_digest_on_put_returns_400_digest_invalid_and_blob_not_visible(self):
        data = os.urandom(1234)
        wrong = sha256(b"something else")
        loc = self.start_upload()
        r = self.req("PUT", with_query(loc, "digest=" + wrong), data,
                     {"Content-Type": "application/octet-stream"})
        self.assert_error(r, 400, "DIGEST_INVALID")
        self.assert_blob_absent(wrong)
        self.assert_blob_absent(sha256(data))

    def test_wrong_digest_on_single_post_returns_400_digest_invalid_and_blob_not_visible(self):
        data = os.urandom(1234)
        wrong = sha256(b"not the content")
        r = self.req("POST", "/v2/%s/blobs/uploads/?digest=%s" % (self.repo, wrong), data,
                     {"Content-Type": "application/octet-stream"})
        self.assert_error(r, 400, "DIGEST_INVALID")
        self.assert_blob_absent(wrong)
        self.assert_blob_absent(sha256(data))

    def test_wrong_digest_after_chunks_returns_400_and_blob_not_visible(self):
        data = os.urandom(3000)
        wrong = sha256(data[:-1])
        loc = self.start_upload()
        r = self.req("PATCH", loc, data, {"Content-Range": "0-2999"})
        self.assertEqual(r.status, 202, r)
        r = self.req("PUT", with_query(loc, "digest=" + wrong), b"")
        self.assert_error(r, 400, "DIGEST_INVALID")
        self.assert_blob_absent(wrong)
        self.assert_blob_absent(sha256(data))

    def test_put_without_digest_does_not_complete_upload(self):
        data = os.urandom(500)
        loc = self.start_upload()
        r = self.req("PUT", loc, data, {"Content-Type": "application/octet-stream"})
        self.assertGreaterEqual(r.status, 400, r)
        self.assertLess(r.status, 500, r)
        self.assert_error(r, r.status)
        self.assert_blob_absent(sha256(data))

    def test_sha512_digest_upload_monolithic_and_chunked(self):
        data = os.urandom(7000)
        d = sha512(data)
        r = self.req("POST", "/v2/%s/blobs/uploads/?digest=%s" % (self.repo, d), data,
                     {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), d, r)
        self.assert_blob(d, data)
        r = self.req("HEAD", "/v2/%s/blobs/%s" % (self.repo, d))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(int(r.header("Content-Length")), len(data))

        data2 = os.urandom(9000)
        d2 = sha512(data2)
        loc = self.start_upload()
        r = self.req("PATCH", loc, data2[:4000], {"Content-Range": "0-3999"})
        self.assertEqual(r.status, 202, r)
        r = self.req("PATCH", r.header("Location"), data2[4000:], {"Content-Range": "4000-8999"})
        self.assertEqual(r.status, 202, r)
        r = self.req("PUT", with_query(r.header("Location"), "digest=" + d2), b"")
        self.assertEqual(r.status, 201, r)
        self.assert_blob(d2, data2)
        # The same bytes under sha256 are not stored unless pushed.
        self.assert_blob_absent(sha256(data2))
        # A wrong sha512 is rejected.
        r = self.req("POST", "/v2/%s/blobs/uploads/?digest=%s" % (self.repo, sha512(b"x")), data,
                     {"Content-Type": "application/octet-stream"})
        self.assert_error(r, 400, "DIGEST_INVALID")

    def test_truncated_upload_leaves_nothing_visible_and_server_keeps_serving(self):
        data = os.urandom(200000)
        d = sha256(data)
        # Single POST announcing more than it sends, then the connection closes.
        head = ("POST /v2/%s/blobs/uploads/?digest=%s HTTP/1.1\r\nHost: %s\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                % (self.repo, d, HOST, len(data))).encode()
        raw_exchange(self.port, head, data[:50000], send_all=False)
        # PUT on a session, same thing.
        loc = path_of(self.start_upload())
        head = ("PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\n"
                "Content-Length: %d\r\n\r\n" % (with_query(loc, "digest=" + d), HOST,
                                                 len(data))).encode()
        raw_exchange(self.port, head, data[:70000], send_all=False)
        # PATCH on another session, half-closed so the server sees the short body.
        loc2 = path_of(self.start_upload())
        head = ("PATCH %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                % (loc2, HOST, len(data))).encode()
        status, _ = raw_exchange(self.port, head, data[:10000], half_close=True)
        self.assertTrue(status is None or status >= 400, "a short PATCH must not succeed")
        time.sleep(0.3)
        self.assert_alive()
        self.assert_blob_absent(d)
        # The interrupted sessions cannot be completed into a blob with the full digest.
        for l in (loc, loc2):
            r = self.req("PUT", with_query(l, "digest=" + d), b"")
            self.assertNotEqual(r.status, 201, "a truncated upload completed: %r" % r)
        self.assert_blob_absent(d)
        # And a fresh complete upload of the same blob works.
        self.assertEqual(self.push_blob(data), d)
        self.assert_blob(d, data)

    def test_cross_repo_mount_returns_201_and_blob_readable(self):
        data = os.urandom(2500)
        src = self.repo + "-src"
        d = self.push_blob(data, src)
        # Repositories are isolated until the blob is mounted.
        self.assert_blob_absent(d)
        r = self.req("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" % (self.repo, d, src))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(path_of(r.header("Location") or ""), "/v2/%s/blobs/%s" % (self.repo, d))
        self.assertEqual(r.header("Docker-Content-Digest"), d)
        self.assert_blob(d, data)
        self.assert_blob(d, data, src)

    def test_mount_from_repository_without_blob_falls_back_to_202_session(self):
        data = os.urandom(800)
        d = sha256(data)
        src = self.repo + "-empty-src"
        self.push_blob(b"unrelated", src)
        for query in ("mount=%s&from=%s" % (d, src), "mount=%s" % d,
                      "mount=%s&from=%s" % (d, self.repo + "-missing")):
            r = self.req("POST", "/v2/%s/blobs/uploads/?%s" % (self.repo, query))
            self.assertEqual(r.status, 202, r)
            loc = r.header("Location")
            self.assertTrue(path_of(loc).startswith("/v2/%s/blobs/uploads/" % self.repo), r)
        # The fallback session is a real one.
        r = self.req("PUT", with_query(loc, "digest=" + d), data)
        self.assertEqual(r.status, 201, r)
        self.assert_blob(d, data)
        self.assert_blob_absent(d, src)


class BlobReadTest(RegistryTestCase):

    def setUp(self):
        super().setUp()
        self.data = bytes(range(256)) * 4 + b"tail"
        self.digest = self.push_blob(self.data)
        self.path = "/v2/%s/blobs/%s" % (self.repo, self.digest)

    def test_blob_get_returns_content_length_and_digest(self):
        r = self.req("GET", self.path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, self.data)
        self.assertEqual(int(r.header("Content-Length")), len(self.data))
        self.assertEqual(r.header("Docker-Content-Digest"), self.digest)
        self.assertEqual(sha256(r.body), self.digest)

    def test_blob_head_returns_headers_without_body(self):
        r = self.req("HEAD", self.path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        self.assertEqual(int(r.header("Content-Length")), len(self.data))
        self.assertEqual(r.header("Docker-Content-Digest"), self.digest)

    def test_range_request_returns_206_with_content_range(self):
        r = self.req("GET", self.path, headers={"Range": "bytes=10-19"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.body, self.data[10:20])
        self.assertEqual(r.header("Content-Range"), "bytes 10-19/%d" % len(self.data))
        self.assertEqual(int(r.header("Content-Length")), 10)
        # Open-ended and past-the-end last positions are clamped (RFC 9110 14.1.2).
        r = self.req("GET", self.path, headers={"Range": "bytes=1000-"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.body, self.data[1000:])
        self.assertEqual(r.header("Content-Range"),
                         "bytes 1000-%d/%d" % (len(self.data) - 1, len(self.data)))
        r = self.req("GET", self.path, headers={"Range": "bytes=1020-999999"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.body, self.data[1020:])

    def test_suffix_range_returns_last_bytes(self):
        r = self.req("GET", self.path, headers={"Range": "bytes=-4"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.body, b"tail")
        n = len(self.data)
        self.assertEqual(r.header("Content-Range"), "bytes %d-%d/%d" % (n - 4, n - 1, n))
        # A suffix longer than the blob is the whole blob.
        r = self.req("GET", self.path, headers={"Range": "bytes=-100000"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.body, self.data)

    def test_unsatisfiable_or_malformed_range_returns_416(self):
        # Unsatisfiable ranges MUST get 416 (RFC 9110 15.5.17). For malformed ones RFC 9110
        # 14.2 lets a server ignore or reject them; Portcullis rejects, as the brief expects.
        n = len(self.data)
        for rng in ("bytes=%d-" % n, "bytes=%d-%d" % (n + 10, n + 20), "bytes=-0",
                    "bytes=20-10", "bytes=abc", "bytes=1-x"):
            r = self.req("GET", self.path, headers={"Range": rng})
            self.assert_error(r, 416)
            if rng.startswith("bytes=%d" % n) or rng == "bytes=-0":
                self.assertEqual(r.header("Content-Range"), "bytes */%d" % n,
                                 "416 should carry Content-Range: bytes */size: %r" % r)
        self.assert_alive()

    def test_client_closing_mid_download_does_not_kill_the_server(self):
        # A blob larger than the socket buffers, abandoned after the first bytes:
        # sendfile(2) then hits a closed socket (EPIPE, and SIGPIPE unless ignored).
        big = os.urandom(32 * 1024 * 1024)
        digest = self.push_blob(big)
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", self.port))
            s.sendall(("GET /v2/%s/blobs/%s HTTP/1.1\r\nHost: x\r\n\r\n"
                       % (self.repo, digest)).encode())
            self.assertTrue(s.recv(4096))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # RST: the server's next write fails at once
        time.sleep(0.3)
        self.assert_alive()
        self.assert_blob(digest, big)

    def test_range_with_unknown_unit_is_ignored_and_full_blob_served(self):
        # RFC 9110 14.2: an origin server MUST ignore a Range with a unit it does not understand.
        r = self.req("GET", self.path, headers={"Range": "items=0-5"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, self.data)

    def test_unknown_blob_returns_404_blob_unknown(self):
        missing = sha256(b"never pushed " + uuid.uuid4().bytes)
        r = self.req("GET", "/v2/%s/blobs/%s" % (self.repo, missing))
        self.assert_error(r, 404, "BLOB_UNKNOWN")
        r = self.req("HEAD", "/v2/%s/blobs/%s" % (self.repo, missing))
        self.assert_error(r, 404)
        r = self.req("GET", "/v2/%s/blobs/%s" % (self.repo + "-nope", self.digest))
        self.assert_error(r, 404, "BLOB_UNKNOWN")

    def test_malformed_digest_returns_400_digest_invalid(self):
        for bad in ("sha256:abc", "sha256:" + "g" * 64, "nodigest", "sha256:" + "A" * 64,
                    "md5:d41d8cd98f00b204e9800998ecf8427e"):
            r = self.req("GET", "/v2/%s/blobs/%s" % (self.repo, bad))
            self.assert_error(r, 400, "DIGEST_INVALID")

    def test_blob_delete_returns_202_then_404(self):
        r = self.req("DELETE", self.path)
        self.assertEqual(r.status, 202, r)
        r = self.req("GET", self.path)
        self.assert_error(r, 404, "BLOB_UNKNOWN")
        r = self.req("HEAD", self.path)
        self.assertEqual(r.status, 404, r)
        r = self.req("DELETE", self.path)
        self.assert_error(r, 404, "BLOB_UNKNOWN")


class ManifestTest(RegistryTestCase):

    def test_put_by_tag_returns_201_location_and_digest_and_get_is_byte_identical(self):
        img = self.push_image(tag=None)  # pushes blobs; manifest by digest
        # A differently formatted copy under a tag: bytes must be kept exactly.
        obj = json.loads(img["body"])
        body = (b'{\n  "schemaVersion" : 2,\n\t"mediaType":"' + OCI_MANIFEST.encode() + b'",'
                b'"layers": ' + json.dumps(obj["layers"]).encode() + b',\n "config":'
                + json.dumps(obj["config"], indent=1).encode() + b' ,"annotations":{"k":"\\u00e9"}}\n\n')
        d = sha256(body)
        r = self.put_manifest("v1", body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), d)
        loc = path_of(r.header("Location") or "")
        self.assertTrue(loc.startswith("/v2/%s/manifests/" % self.repo), r)
        for ref in ("v1", d):
            r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, ref),
                         headers={"Accept": OCI_MANIFEST})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, body, "manifest bytes were modified")
            self.assertEqual(r.header("Content-Type"), OCI_MANIFEST)
            self.assertEqual(r.header("Docker-Content-Digest"), d)
        r = self.req("GET", loc)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, body)

    def test_content_type_parameters_are_ignored_on_put_and_not_returned(self):
        img = self.push_image()
        r = self.put_manifest("params", img["body"], OCI_MANIFEST + "; charset=utf-8")
        self.assertEqual(r.status, 201, r)
        r = self.req("GET", "/v2/%s/manifests/params" % self.repo)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), OCI_MANIFEST)
        self.assertEqual(r.body, img["body"])

    def test_repository_names_containing_route_keywords_work(self):
        repo = self.repo + "/blobs/uploads/manifests/tags/referrers"
        img = self.push_image(tag="list", repo=repo)
        r = self.req("GET", "/v2/%s/manifests/list" % repo)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, img["body"])
        r = self.req("GET", "/v2/%s/tags/list" % repo)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"name": repo, "tags": ["list"]})
        for d, data in img["blobs"].items():
            self.assert_blob(d, data, repo)
        r = self.req("GET", "/v2/%s/referrers/%s" % (repo, img["digest"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["manifests"], [])

    def test_put_by_digest_returns_201_and_get_by_digest(self):
        img = self.push_image()
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, img["digest"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, img["body"])
        self.assertEqual(r.header("Docker-Content-Digest"), img["digest"])
        self.assertEqual(r.header("Content-Type"), OCI_MANIFEST)
        # Re-pushing the same manifest is idempotent.
        r = self.put_manifest(img["digest"], img["body"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), img["digest"])
        self.assertTrue(r.header("Location"), r)

    def test_put_by_sha512_digest_keeps_that_digest(self):
        img = self.push_image()
        d = sha512(img["body"])
        r = self.put_manifest(d, img["body"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), d, r)
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, d))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, img["body"])

    def test_head_manifest_returns_length_and_digest_without_body(self):
        img = self.push_image(tag="head-me")
        for ref in ("head-me", img["digest"]):
            r = self.req("HEAD", "/v2/%s/manifests/%s" % (self.repo, ref),
                         headers={"Accept": OCI_MANIFEST})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, b"")
            self.assertEqual(int(r.header("Content-Length")), img["size"])
            self.assertEqual(r.header("Docker-Content-Digest"), img["digest"])
            self.assertEqual(r.header("Content-Type"), OCI_MANIFEST)
        r = self.req("HEAD", "/v2/%s/manifests/nope" % self.repo)
        self.assert_error(r, 404)

    def test_unknown_manifest_returns_404_manifest_unknown(self):
        self.push_image(tag="exists")
        r = self.req("GET", "/v2/%s/manifests/missing-tag" % self.repo)
        self.assert_error(r, 404, "MANIFEST_UNKNOWN")
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, sha256(b"nothing")))
        self.assert_error(r, 404, "MANIFEST_UNKNOWN")

    def test_tag_overwrite_points_tag_at_new_manifest(self):
        a = self.push_image(tag="moving")
        r = self.req("GET", "/v2/%s/manifests/moving" % self.repo)
        self.assertEqual(r.header("Docker-Content-Digest"), a["digest"])
        b = self.push_image(tag="moving")
        r = self.req("GET", "/v2/%s/manifests/moving" % self.repo)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b["body"])
        self.assertEqual(r.header("Docker-Content-Digest"), b["digest"])
        # The old manifest stays reachable by digest.
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, a["digest"]))
        self.assertEqual(r.status, 200, r)

    def test_put_by_digest_with_other_content_returns_400_digest_invalid(self):
        img = self.push_image()
        other = img["body"] + b" "
        r = self.put_manifest(img["digest"], other)
        self.assert_error(r, 400, "DIGEST_INVALID")
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, sha256(other)))
        self.assert_error(r, 404, "MANIFEST_UNKNOWN")

    def test_put_with_malformed_digest_reference_returns_400(self):
        img = self.push_image()
        r = self.put_manifest("sha256:totallywrong", img["body"])
        self.assert_error(r, 400)

    def test_put_with_invalid_tag_returns_400(self):
        img = self.push_image()
        for tag in ("-leading-dash", ".dot", "t" * 129):
            r = self.put_manifest(tag, img["body"])
            self.assert_error(r, 400)

    def test_missing_layer_returns_400_manifest_blob_unknown(self):
        config = self.push_blob(b'{"os":"linux"}')
        missing = sha256(b"layer never uploaded " + uuid.uuid4().bytes)
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 14},
                           "layers": [{"mediaType": OCI_LAYER, "digest": missing,
                                       "size": 10}]}).encode()
        r = self.put_manifest("broken", body)
        self.assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")
        r = self.req("GET", "/v2/%s/manifests/broken" % self.repo)
        self.assert_error(r, 404, "MANIFEST_UNKNOWN")
        # A missing config is a missing blob as well.
        layer = self.push_blob(b"0123456789")
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": OCI_CONFIG, "digest": missing, "size": 10},
                           "layers": [{"mediaType": OCI_LAYER, "digest": layer,
                                       "size": 10}]}).encode()
        r = self.put_manifest("broken2", body)
        self.assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")

    def test_index_with_missing_child_returns_400_manifest_blob_unknown(self):
        img = self.push_image()
        missing = sha256(b"child never pushed " + uuid.uuid4().bytes)
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            img["descriptor"],
            {"mediaType": OCI_MANIFEST, "digest": missing, "size": 123,
             "platform": {"os": "linux", "architecture": "arm64"}}]}).encode()
        r = self.put_manifest("idx", body, OCI_INDEX)
        self.assert_error(r, 400, "MANIFEST_BLOB_UNKNOWN")
        # With only the existing child it is accepted.
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                           "manifests": [img["descriptor"]]}).encode()
        r = self.put_manifest("idx", body, OCI_INDEX)
        self.assertEqual(r.status, 201, r)
        r = self.req("GET", "/v2/%s/manifests/idx" % self.repo, headers={"Accept": OCI_INDEX})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, body)
        self.assertEqual(r.header("Content-Type"), OCI_INDEX)

    def test_malformed_json_returns_400_manifest_invalid(self):
        for body in (b"{not json", b"", b"[]", b'"string"', b'{"schemaVersion": 2, "mediaType": "'
                     + OCI_MANIFEST.encode() + b'", "config": 5, "layers": []}'):
            r = self.put_manifest("bad", body)
            self.assert_error(r, 400, "MANIFEST_INVALID")
        self.assert_alive()

    def test_schema_version_1_returns_400_manifest_invalid(self):
        body = json.dumps({"schemaVersion": 1, "name": self.repo, "tag": "old",
                           "architecture": "amd64", "fsLayers": [], "history": []}).encode()
        for ctype in (OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v1+json",
                      "application/vnd.docker.distribution.manifest.v1+prettyjws"):
            r = self.put_manifest("old", body, ctype)
            self.assert_error(r, 400, "MANIFEST_INVALID")

    def test_content_type_mismatching_media_type_returns_400_manifest_invalid(self):
        img = self.push_image()
        for ctype in (DOCKER_MANIFEST, OCI_INDEX):
            r = self.put_manifest("mismatch", img["body"], ctype)
            self.assert_error(r, 400, "MANIFEST_INVALID")

    def test_manifest_over_4_mib_returns_413_and_server_keeps_serving(self):
        img = self.push_image()
        obj = json.loads(img["body"])
        obj["annotations"] = {"pad": "x" * (4 * 1024 * 1024 + 1024)}
        body = json.dumps(obj).encode()
        self.assertGreater(len(body), 4 * 1024 * 1024)
        head = ("PUT /v2/%s/manifests/huge HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
                "Content-Length: %d\r\n\r\n" % (self.repo, HOST, OCI_MANIFEST, len(body))).encode()
        status, raw = raw_exchange(self.port, head, body)
        self.assertEqual(status, 413, "expected 413 for a %d-byte manifest, got %r"
                         % (len(body), raw[:300]))
        self.assert_alive()
        r = self.req("GET", "/v2/%s/manifests/huge" % self.repo)
        self.assert_error(r, 404, "MANIFEST_UNKNOWN")
        # Sent chunked (no Content-Length), it is refused the same way.
        status, raw = raw_exchange(self.port, (
            "PUT /v2/%s/manifests/huge HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" % (self.repo, HOST, OCI_MANIFEST)).encode(),
            b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        self.assertEqual(status, 413, raw[:300])
        self.assert_alive()

    def test_manifest_just_under_4_mib_is_accepted(self):
        img = self.push_image()
        obj = json.loads(img["body"])
        obj["annotations"] = {"pad": ""}
        base = len(json.dumps(obj).encode())
        obj["annotations"]["pad"] = "y" * (4 * 1024 * 1024 - base - 16)
        body = json.dumps(obj).encode()
        self.assertLess(len(body), 4 * 1024 * 1024)
        r = self.put_manifest("big-ok", body)
        self.assertEqual(r.status, 201, r)
        r = self.req("GET", "/v2/%s/manifests/big-ok" % self.repo)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sha256(r.body), sha256(body))

    def test_artifact_manifest_with_artifact_type_and_empty_config(self):
        self.assertEqual(sha256(EMPTY_JSON), EMPTY_JSON_DIGEST)
        self.assertEqual(self.ensure_empty_config(), EMPTY_JSON_DIGEST)
        payload = b'{"sbom": true}'
        layer = self.push_blob(payload)
        body = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.sbom.v1",
            "config": {"mediaType": OCI_EMPTY, "digest": EMPTY_JSON_DIGEST, "size": 2},
            "layers": [{"mediaType": "application/vnd.example.sbom.v1+json", "digest": layer,
                        "size": len(payload)}],
            "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}},
            indent=2).encode()
        r = self.put_manifest("sbom", body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), sha256(body))
        r = self.req("GET", "/v2/%s/manifests/sbom" % self.repo)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, body)
        self.assert_blob(EMPTY_JSON_DIGEST, EMPTY_JSON)
        # Empty layers list with the empty descriptor as config works too.
        body2 = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                            "artifactType": "application/vnd.example.thing",
                            "config": {"mediaType": OCI_EMPTY, "digest": EMPTY_JSON_DIGEST,
                                       "size": 2}, "layers": []}).encode()
        r = self.put_manifest(sha256(body2), body2)
        self.assertEqual(r.status, 201, r)

    def test_put_with_subject_returns_oci_subject_header(self):
        subject = self.push_image(tag="subject")
        self.ensure_empty_config()
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "artifactType": "application/vnd.example.signature.v1",
                           "config": {"mediaType": OCI_EMPTY, "digest": EMPTY_JSON_DIGEST,
                                      "size": 2},
                           "layers": [], "subject": subject["descriptor"]}).encode()
        r = self.put_manifest(sha256(body), body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("OCI-Subject"), subject["digest"], r)
        # Without a subject, no OCI-Subject header.
        img = self.push_image()
        r = self.put_manifest(img["digest"], img["body"])
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.header("OCI-Subject"), r)

    def test_delete_by_tag_returns_202_then_tag_is_unknown(self):
        img = self.push_image(tag="doomed")
        r = self.put_manifest("survivor", img["body"])
        self.assertEqual(r.status, 201, r)
        r = self.req("DELETE", "/v2/%s/manifests/doomed" % self.repo)
        self.assertEqual(r.status, 202, r)
        r = self.req("GET", "/v2/%s/manifests/doomed" % self.repo)
        self.assert_error(r, 404, "MANIFEST_UNKNOWN")
        # Only the tag went away.
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, img["digest"]))
        self.assertEqual(r.status, 200, r)
        r = self.req("GET", "/v2/%s/manifests/survivor" % self.repo)
        self.assertEqual(r.status, 200, r)
        r = self.req("GET", "/v2/%s/tags/list" % self.repo)
        self.assertEqual(r.json()["tags"], ["survivor"])
        r = self.req("DELETE", "/v2/%s/manifests/doomed" % self.repo)
        self.assert_error(r, 404, "MANIFEST_UNKNOWN")

    def test_delete_by_digest_returns_202_then_manifest_and_its_tags_are_unknown(self):
        img = self.push_image(tag="t1")
        r = self.put_manifest("t2", img["body"])
        self.assertEqual(r.status, 201, r)
        r = self.req("DELETE", "/v2/%s/manifests/%s" % (self.repo, img["digest"]))
        self.assertEqual(r.status, 202, r)
        for ref in (img["digest"], "t1", "t2"):
            r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, ref))
            self.assert_error(r, 404, "MANIFEST_UNKNOWN")
            r = self.req("HEAD", "/v2/%s/manifests/%s" % (self.repo, ref))
            self.assertEqual(r.status, 404, r)
        r = self.req("DELETE", "/v2/%s/manifests/%s" % (self.repo, img["digest"]))
        self.assert_error(r, 404, "MANIFEST_UNKNOWN")
        r = self.req("DELETE", "/v2/%s/manifests/%s" % (self.repo + "-nope", img["digest"]))
        self.assertEqual(r.status, 404, r)
        self.assert_error(r, 404)

    def test_docker_schema2_manifest_and_manifest_list_round_trip(self):
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        cd = self.push_blob(config)
        layer = os.urandom(333)
        ld = self.push_blob(layer)
        body = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                           "config": {"mediaType": DOCKER_CONFIG, "size": len(config),
                                      "digest": cd},
                           "layers": [{"mediaType": DOCKER_LAYER, "size": len(layer),
                                       "digest": ld}]}, indent=3).encode()
        md = sha256(body)
        r = self.put_manifest("docker", body, DOCKER_MANIFEST)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), md)
        r = self.req("GET", "/v2/%s/manifests/docker" % self.repo,
                     headers={"Accept": DOCKER_MANIFEST})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, body)
        self.assertEqual(r.header("Content-Type"), DOCKER_MANIFEST)
        self.assertEqual(r.header("Docker-Content-Digest"), md)

        lst = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
            {"mediaType": DOCKER_MANIFEST, "size": len(body), "digest": md,
             "platform": {"architecture": "amd64", "os": "linux"}}]}, indent=3).encode()
        r = self.put_manifest("list", lst, DOCKER_LIST)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), sha256(lst))
        r = self.req("GET", "/v2/%s/manifests/list" % self.repo,
                     headers={"Accept": "%s, %s" % (DOCKER_LIST, DOCKER_MANIFEST)})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, lst)
        self.assertEqual(r.header("Content-Type"), DOCKER_LIST)
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, sha256(lst)))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, lst)
        self.assertEqual(r.header("Content-Type"), DOCKER_LIST)


class ReferrersTest(RegistryTestCase):

    def artifact(self, subject_desc, artifact_type=None, annotations=None, config=None,
                 ref=None):
        """Pushes an image manifest with a subject; returns (body, digest)."""
        if config is None:
            self.ensure_empty_config()
            config = {"mediaType": OCI_EMPTY, "digest": EMPTY_JSON_DIGEST, "size": 2}
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
             "layers": [], "subject": subject_desc}
        if artifact_type:
            m["artifactType"] = artifact_type
        if annotations:
            m["annotations"] = annotations
        body = json.dumps(m).encode()
        d = sha256(body)
        r = self.put_manifest(ref or d, body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("OCI-Subject"), subject_desc["digest"], r)
        return body, d

    def assert_descriptor(self, got, expected):
        """Every expected field is present and equal (extra fields are allowed)."""
        for k, v in expected.items():
            self.assertIn(k, got, "descriptor lacks %s: %r" % (k, got))
            self.assertEqual(got[k], v, "descriptor field %s: %r" % (k, got))

    def referrers(self, digest, query=""):
        r = self.req("GET", "/v2/%s/referrers/%s%s" % (self.repo, digest, query))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), OCI_INDEX, r)
        doc = r.json()
        self.assertEqual(doc.get("schemaVersion"), 2, doc)
        self.assertEqual(doc.get("mediaType"), OCI_INDEX, doc)
        self.assertIsInstance(doc.get("manifests"), list, doc)
        return r, doc["manifests"]

    def test_referrers_lists_artifact_with_artifact_type_and_annotations(self):
        subject = self.push_image(tag="app")
        ann = {"org.example.kind": "sbom", "org.opencontainers.image.created": "2024-05-01T00:00:00Z"}
        body, d = self.artifact(subject["descriptor"], "application/vnd.example.sbom.v1", ann)
        r, manifests = self.referrers(subject["digest"])
        self.assertEqual(len(manifests), 1, manifests)
        self.assert_descriptor(manifests[0], {"mediaType": OCI_MANIFEST, "digest": d,
                                              "size": len(body),
                                              "artifactType": "application/vnd.example.sbom.v1",
                                              "annotations": ann})

    def test_referrer_without_artifact_type_reports_config_media_type(self):
        subject = self.push_image()
        cfg = b'{"signature":"config"}'
        cd = self.push_blob(cfg)
        config = {"mediaType": "application/vnd.example.sig.config.v1+json", "digest": cd,
                  "size": len(cfg)}
        body, d = self.artifact(subject["descriptor"], None, {"a": "b"}, config=config)
        _, manifests = self.referrers(subject["digest"])
        self.assertEqual(len(manifests), 1, manifests)
        self.assertEqual(manifests[0]["digest"], d)
        self.assertEqual(manifests[0]["artifactType"], "application/vnd.example.sig.config.v1+json")
        self.assertEqual(manifests[0]["annotations"], {"a": "b"})

    def test_index_referrer_is_listed_without_artifact_type(self):
        subject = self.push_image()
        child = self.push_image()
        ann = {"org.example.kind": "bundle"}
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                           "manifests": [child["descriptor"]], "subject": subject["descriptor"],
                           "annotations": ann}).encode()
        d = sha256(body)
        r = self.put_manifest(d, body, OCI_INDEX)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("OCI-Subject"), subject["digest"], r)
        _, manifests = self.referrers(subject["digest"])
        self.assertEqual(len(manifests), 1, manifests)
        self.assert_descriptor(manifests[0], {"mediaType": OCI_INDEX, "digest": d,
                                              "size": len(body), "annotations": ann})
        self.assertNotIn("artifactType", manifests[0],
                         "an index without artifactType MUST NOT get one in the referrers list")

    def test_referrers_artifact_type_filter_sets_oci_filters_applied(self):
        subject = self.push_image()
        _, sbom = self.artifact(subject["descriptor"], "application/vnd.example.sbom.v1",
                                {"n": "1"})
        _, sig = self.artifact(subject["descriptor"], "application/vnd.example.signature.v1",
                               {"n": "2"})
        _, sbom2 = self.artifact(subject["descriptor"], "application/vnd.example.sbom.v1",
                                 {"n": "3"})
        _, all_refs = self.referrers(subject["digest"])
        self.assertEqual(sorted(m["digest"] for m in all_refs), sorted([sbom, sig, sbom2]))
        r, filtered = self.referrers(subject["digest"],
                                     "?artifactType=" + quote("application/vnd.example.sbom.v1",
                                                              safe=""))
        self.assertEqual(r.header("OCI-Filters-Applied"), "artifactType", r)
        self.assertEqual(sorted(m["digest"] for m in filtered), sorted([sbom, sbom2]))
        for m in filtered:
            self.assertEqual(m["artifactType"], "application/vnd.example.sbom.v1")
        r, none = self.referrers(subject["digest"], "?artifactType=application/x-nothing")
        self.assertEqual(r.header("OCI-Filters-Applied"), "artifactType", r)
        self.assertEqual(none, [])
        r, _ = self.referrers(subject["digest"])
        self.assertIsNone(r.header("OCI-Filters-Applied"), "no filter was requested: %r" % r)

    def test_referrers_are_scoped_to_the_repository(self):
        subject = self.push_image()
        _, d = self.artifact(subject["descriptor"], "application/vnd.example.scoped")
        other = self.repo + "-other"
        self.push_blob(b"other repository", other)
        r = self.req("GET", "/v2/%s/referrers/%s" % (other, subject["digest"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["manifests"], [])
        _, manifests = self.referrers(subject["digest"])
        self.assertEqual([m["digest"] for m in manifests], [d])

    def test_referrers_for_digest_without_referrers_is_empty_index(self):
        img = self.push_image()
        _, manifests = self.referrers(img["digest"])
        self.assertEqual(manifests, [])
        _, manifests = self.referrers(sha256(b"nothing refers to me " + uuid.uuid4().bytes))
        self.assertEqual(manifests, [])

    def test_referrer_pushed_before_subject_is_listed_before_and_after(self):
        config = json.dumps({"os": "linux", "nonce": uuid.uuid4().hex}).encode()
        cd = self.push_blob(config)
        subject_body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                   "config": {"mediaType": OCI_CONFIG, "digest": cd,
                                              "size": len(config)}, "layers": []}).encode()
        sd = sha256(subject_body)
        desc = {"mediaType": OCI_MANIFEST, "digest": sd, "size": len(subject_body)}
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, sd))
        self.assert_error(r, 404, "MANIFEST_UNKNOWN")
        body, d = self.artifact(desc, "application/vnd.example.early.v1")
        _, manifests = self.referrers(sd)
        self.assertEqual([m["digest"] for m in manifests], [d])
        r = self.put_manifest(sd, subject_body)
        self.assertEqual(r.status, 201, r)
        _, manifests = self.referrers(sd)
        self.assertEqual([m["digest"] for m in manifests], [d])
        self.assertEqual(manifests[0]["artifactType"], "application/vnd.example.early.v1")
        self.assertEqual(manifests[0]["size"], len(body))

    def test_deleted_referrer_is_no_longer_listed(self):
        subject = self.push_image()
        _, keep = self.artifact(subject["descriptor"], "application/vnd.example.keep")
        _, gone = self.artifact(subject["descriptor"], "application/vnd.example.gone")
        r = self.req("DELETE", "/v2/%s/manifests/%s" % (self.repo, gone))
        self.assertEqual(r.status, 202, r)
        _, manifests = self.referrers(subject["digest"])
        self.assertEqual([m["digest"] for m in manifests], [keep])

    def test_referrers_with_malformed_digest_returns_400(self):
        for bad in ("sha256:abc", "latest", "sha256:" + "z" * 64):
            r = self.req("GET", "/v2/%s/referrers/%s" % (self.repo, bad))
            self.assert_error(r, 400)

    def test_referrers_tag_schema_fallback_index_is_storable_and_readable(self):
        subject = self.push_image(tag="app")
        body, d = self.artifact(subject["descriptor"], "application/vnd.example.sbom.v1",
                                {"org.example.kind": "sbom"})
        tag = "sha256-" + subject["digest"].split(":", 1)[1]
        fallback = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": d, "size": len(body),
             "artifactType": "application/vnd.example.sbom.v1",
             "annotations": {"org.example.kind": "sbom"}}]}, indent=2).encode()
        r = self.put_manifest(tag, fallback, OCI_INDEX)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), sha256(fallback))
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, tag),
                     headers={"Accept": OCI_INDEX})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, fallback)
        self.assertEqual(r.header("Content-Type"), OCI_INDEX)
        r = self.req("GET", "/v2/%s/tags/list" % self.repo)
        self.assertEqual(r.status, 200, r)
        self.assertIn(tag, r.json()["tags"])
        # An empty fallback index (no referrers yet) is valid too.
        empty = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()
        other = "sha256-" + "0" * 64
        r = self.put_manifest(other, empty, OCI_INDEX)
        self.assertEqual(r.status, 201, r)
        r = self.req("GET", "/v2/%s/manifests/%s" % (self.repo, other))
        self.assertEqual(r.body, empty)


class ListingTest(RegistryTestCase):

    TAGS = ["v10", "v2", "latest", "1.0", "alpha", "beta-1", "a_b", "zeta", "0.9.1"]

    def push_tags(self):
        img = self.push_image()
        for t in self.TAGS:
            r = self.put_manifest(t, img["body"])
            self.assertEqual(r.status, 201, r)
        return sorted(self.TAGS)

    def follow(self, path):
        """Walks Link rel="next" pages; returns (items, pages)."""
        pages = []
        key = None
        seen = 0
        while path:
            seen += 1
            self.assertLess(seen, 200, "pagination does not terminate")
            r = self.req("GET", path)
            self.assertEqual(r.status, 200, r)
            doc = r.json()
            key = "tags" if "tags" in doc else "repositories"
            pages.append(doc[key])
            link = r.header("Link")
            if link is None:
                break
            m = LINK_NEXT_RE.match(link.strip())
            self.assertIsNotNone(m, "Link header is not <url>; rel=\"next\": %r" % link)
            path = path_of(m.group(1))
        return [x for p in pages for x in p], pages

    def test_tags_list_is_sorted(self):
        expected = self.push_tags()
        r = self.req("GET", "/v2/%s/tags/list" % self.repo)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["name"], self.repo)
        self.assertEqual(doc["tags"], expected)
        self.assertIsNone(r.header("Link"), r)

    def test_tags_list_with_mixed_case_tags_is_in_a_consistent_lexical_order(self):
        # spec.md says "lexical order (i.e. case-insensitive alphanumeric order)"; the
        # conformance suite (distribution-spec PR #583) accepts that or plain byte order.
        img = self.push_image()
        tags = ["test0", "TEST0", "test1", "TEST1", "Beta", "alpha", "_x", "Zed"]
        for t in tags:
            self.assertEqual(self.put_manifest(t, img["body"]).status, 201)
        r = self.req("GET", "/v2/%s/tags/list" % self.repo)
        got = r.json()["tags"]
        self.assertEqual(sorted(got), sorted(tags))
        byte_order = sorted(tags)
        self.assertTrue(got == byte_order or
                        [t.lower() for t in got] == sorted(t.lower() for t in tags),
                        "tags are in neither lexical nor byte order: %r" % got)
        # Pagination walks the same order, without loss or repetition.
        items, _ = self.follow("/v2/%s/tags/list?n=3" % self.repo)
        self.assertEqual(items, got)
        for i, t in enumerate(got):
            r = self.req("GET", "/v2/%s/tags/list?last=%s" % (self.repo, t))
            self.assertEqual(r.json()["tags"], got[i + 1:], "last=%s" % t)

    def test_tags_list_pagination_with_n_last_and_link_header(self):
        expected = self.push_tags()
        r = self.req("GET", "/v2/%s/tags/list?n=2" % self.repo)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["tags"], expected[:2])
        link = r.header("Link")
        self.assertIsNotNone(link, "a partial page must carry Link: %r" % r)
        self.assertRegex(link, LINK_NEXT_RE)
        items, pages = self.follow("/v2/%s/tags/list?n=2" % self.repo)
        self.assertEqual(items, expected)
        self.assertTrue(all(len(p) <= 2 for p in pages), pages)
        self.assertTrue(all(len(p) == 2 for p in pages[:-1]), pages)
        # `last` alone, and n with last.
        r = self.req("GET", "/v2/%s/tags/list?last=%s" % (self.repo, expected[3]))
        self.assertEqual(r.json()["tags"], expected[4:])
        r = self.req("GET", "/v2/%s/tags/list?n=3&last=%s" % (self.repo, expected[1]))
        self.assertEqual(r.json()["tags"], expected[2:5])
        r = self.req("GET", "/v2/%s/tags/list?n=%d" % (self.repo, len(expected)))
        self.assertEqual(r.json()["tags"], expected)
        r = self.req("GET", "/v2/%s/tags/list?n=1000" % self.repo)
        self.assertEqual(r.json()["tags"], expected)
        self.assertIsNone(r.header("Link"), r)

    def test_tags_list_n_zero_returns_empty_list_without_link(self):
        self.push_tags()
        r = self.req("GET", "/v2/%s/tags/list?n=0" % self.repo)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["tags"], [])
        self.assertIsNone(r.header("Link"), "n=0 MUST NOT include a Link header: %r" % r)
        self.assert_alive()

    def test_tags_list_invalid_n_returns_400(self):
        self.push_tags()
        for n in ("-1", "abc", "1.5"):
            r = self.req("GET", "/v2/%s/tags/list?n=%s" % (self.repo, n))
            # The code is checked for shape only; see the report for its value.
            self.assert_error(r, 400, spec_code=False)

    def test_tags_list_for_unknown_repository_returns_404_name_unknown(self):
        r = self.req("GET", "/v2/%s/tags/list" % (self.repo + "-never"))
        self.assert_error(r, 404, "NAME_UNKNOWN")

    def test_catalog_is_sorted_and_paginates_with_link(self):
        prefix = "catalog-%s" % uuid.uuid4().hex[:6]
        names = ["%s/zeta" % prefix, "%s/alpha" % prefix, "%s/mid-1" % prefix,
                 "%s/mid/nested" % prefix, "%s/b_c" % prefix]
        for n in names:
            self.push_blob(b"catalog " + n.encode(), n)
        r = self.req("GET", "/v2/_catalog")
        self.assertEqual(r.status, 200, r)
        full = r.json()["repositories"]
        self.assertEqual(full, sorted(full))
        for n in names:
            self.assertIn(n, full)
        items, pages = self.follow("/v2/_catalog?n=2")
        self.assertEqual(items, full)
        self.assertTrue(all(len(p) == 2 for p in pages[:-1]), pages)
        mine = [x for x in full if x.startswith(prefix + "/")]
        self.assertEqual(mine, sorted(names))
        # `last` starts strictly after the given name.
        r = self.req("GET", "/v2/_catalog?n=2&last=%s" % quote(mine[0], safe=""))
        self.assertEqual(r.json()["repositories"], full[full.index(mine[0]) + 1:][:2])

    def test_catalog_n_zero_returns_empty_list_without_link(self):
        self.push_blob(b"so the catalog is not empty", self.repo)
        r = self.req("GET", "/v2/_catalog?n=0")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["repositories"], [])
        self.assertIsNone(r.header("Link"), "n=0 MUST NOT include a Link header: %r" % r)
        self.assert_alive()

    def test_catalog_invalid_n_returns_400(self):
        for n in ("-5", "x"):
            r = self.req("GET", "/v2/_catalog?n=%s" % n)
            self.assert_error(r, 400, spec_code=False)


class NamesAndLimitsTest(RegistryTestCase):

    def check_bad_name(self, method, path, body=None, headers=None):
        r = self.req(method, path, body, headers)
        self.assertLess(r.status, 500, "5xx for %s %s: %r" % (method, path[:80], r))
        self.assertIn(r.status, (400, 404), "%s %s: %r" % (method, path[:80], r))
        if r.status == 400:
            self.assert_error(r, 400, "NAME_INVALID")
        else:
            self.assert_error(r, 404)
        self.assert_alive()
        return r

    def test_invalid_repository_names_are_rejected_without_5xx(self):
        d = sha256(b"x")
        bad_names = ["../x", "x/../y", "./x", "Upper", "UPPER/case", "a//b", "a/", "-lead",
                     "trail-", "a..b", "a___b", "a" * 256, "a/" * 127 + "bb", "with space",
                     "semi;colon", "%2e%2e/x", "a%2Fb"]
        for name in bad_names:
            for method, suffix in (("GET", "/tags/list"), ("GET", "/manifests/latest"),
                                   ("HEAD", "/manifests/latest"), ("GET", "/blobs/" + d),
                                   ("POST", "/blobs/uploads/"), ("GET", "/referrers/" + d),
                                   ("PUT", "/manifests/latest"),
                                   ("DELETE", "/manifests/latest")):
                path = "/v2/" + name.replace(" ", "%20") + suffix
                body = b"{}" if method == "PUT" else None
                self.check_bad_name(method, path, body,
                                    {"Content-Type": OCI_MANIFEST} if body else None)
        # A name that is invalid must never be created by a push.
        r = self.req("GET", "/v2/_catalog?n=10000")
        for repo in r.json()["repositories"]:
            self.assertRegex(repo, r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")

    def test_uppercase_and_double_slash_names_return_name_invalid(self):
        for name in ("Foo", "foo/Bar", "a//b"):
            r = self.req("GET", "/v2/%s/tags/list" % name)
            self.assert_error(r, 400, "NAME_INVALID")
        self.assert_alive()

    def test_name_of_255_chars_is_valid_and_256_is_not(self):
        ok = "/".join(["a" * 127, "b" * 127])
        self.assertEqual(len(ok), 255)
        d = self.push_blob(b"long name", ok)
        self.assert_blob(d, b"long name", ok)
        r = self.req("GET", "/v2/%s/tags/list" % ok)
        self.assertEqual(r.status, 200, r)  # the repository exists (it has a blob), no tags
        self.assertEqual(r.json(), {"name": ok, "tags": []})
        bad = ok + "c"
        r = self.req("POST", "/v2/%s/blobs/uploads/" % bad)
        self.assert_error(r, 400, "NAME_INVALID")
        r = self.req("GET", "/v2/%s/tags/list" % bad)
        self.assert_error(r, 400, "NAME_INVALID")

    def test_oversized_request_headers_return_431_and_server_keeps_serving(self):
        head = ("GET /v2/ HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\n\r\n"
                % (HOST, "a" * (20 * 1024))).encode()
        status, raw = raw_exchange(self.port, head)
        self.assertEqual(status, 431, raw[:300])
        self.assert_alive()
        # Many headers adding up past the limit as well.
        head = ("GET /v2/ HTTP/1.1\r\nHost: %s\r\n" % HOST).encode()
        head += b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(300)) + b"\r\n"
        status, raw = raw_exchange(self.port, head)
        self.assertEqual(status, 431, raw[:300])
        # The error body has the spec's shape.
        body = raw.partition(b"\r\n\r\n")[2]
        doc = json.loads(body.decode())
        self.assertTrue(doc["errors"] and doc["errors"][0]["code"], doc)
        self.assert_alive()

    def test_long_target_and_garbage_requests_do_not_break_the_server(self):
        for head in (b"GARBAGE\r\n\r\n", b"GET /v2/ HTTP/9.9\r\n\r\n",
                     b"GET /" + b"a" * 30000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"):
            status, raw = raw_exchange(self.port, head, read_timeout=10)
            self.assertTrue(status is None or 400 <= status < 500, raw[:200])
            self.assert_alive()


class ErrorBodyTest(RegistryTestCase):

    def test_every_error_response_has_spec_json_body(self):
        img = self.push_image(tag="t")
        d_missing = sha256(b"missing " + uuid.uuid4().bytes)
        loc = self.start_upload()
        cases = [
            ("GET", "/v2/%s/blobs/%s" % (self.repo, d_missing), None, {}, 404, "BLOB_UNKNOWN"),
            ("DELETE", "/v2/%s/blobs/%s" % (self.repo, d_missing), None, {}, 404, "BLOB_UNKNOWN"),
            ("GET", "/v2/%s/blobs/sha256:123" % self.repo, None, {}, 400, "DIGEST_INVALID"),
            ("GET", "/v2/%s/manifests/nope" % self.repo, None, {}, 404, "MANIFEST_UNKNOWN"),
            ("PUT", "/v2/%s/manifests/x" % self.repo, b"{", {"Content-Type": OCI_MANIFEST}, 400,
             "MANIFEST_INVALID"),
            ("PUT", "/v2/%s/manifests/%s" % (self.repo, d_missing), img["body"],
             {"Content-Type": OCI_MANIFEST}, 400, "DIGEST_INVALID"),
            ("GET", "/v2/%s-none/tags/list" % self.repo, None, {}, 404, "NAME_UNKNOWN"),
            ("GET", "/v2/Bad/tags/list", None, {}, 400, "NAME_INVALID"),
            ("GET", "/v2/%s/blobs/uploads/%s" % (self.repo, "f" * 32), None, {}, 404,
             "BLOB_UPLOAD_UNKNOWN"),
            ("PUT", with_query(loc, "digest=" + d_missing), b"abc", {}, 400, "DIGEST_INVALID"),
            ("POST", "/v2/%s/blobs/uploads/?digest=%s" % (self.repo, d_missing), b"q", {}, 400,
             "DIGEST_INVALID"),
            ("GET", "/v2/%s/referrers/sha256:zz" % self.repo, None, {}, 400, None),
            ("GET", "/v2/%s/tags/list?n=-3" % self.repo, None, {}, 400, None),
        ]
        for method, path, body, headers, status, code in cases:
            with self.subTest(method=method, path=path[:90]):
                r = self.req(method, path, body, headers)
                self.assert_error(r, status, code, spec_code=code is not None)
        # A chunk out of order: 416 with a JSON body (or none at all).
        loc = self.start_upload()
        r = self.req("PATCH", loc, b"abc", {"Content-Range": "5-7"})
        self.assertEqual(r.status, 416, r)
        if r.body:
            self.assert_error(r, 416)


class RestartTest(RegistryTestCase):
    """Runs its own server so it can stop and restart it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="portcullis-e2e-restart-")
        cls.data = os.path.join(cls.tmp, "data")
        os.makedirs(cls.data)
        cls.own = Server(BINARY, cls.data, os.path.join(cls.tmp, "server.log"))
        cls.own.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.own.stop()
        finally:
            if not os.environ.get("PORTCULLIS_E2E_KEEP"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    @property
    def server(self):
        return self.own

    def restart(self):
        rc = self.own.stop()
        self.assertEqual(rc, 0, "portcullis exited with %r on SIGTERM; log:\n%s"
                         % (rc, self.own.log_tail()))
        self.own.start()

    def test_upload_resumes_after_restart_and_content_survives(self):
        img = self.push_image(tag="before")
        data = os.urandom(300000)
        d = sha256(data)
        loc = self.start_upload()
        r = self.req("PATCH", loc, data[:123456], {"Content-Type": "application/octet-stream",
                                                   "Content-Range": "0-123455"})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-123455")
        loc = path_of(r.header("Location"))

        self.restart()
        self.assertTrue(self.own.alive())

        r = self.req("GET", loc)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Range"), "0-123455", "upload offset lost in restart: %r" % r)
        r = self.req("PATCH", loc, data[123456:], {"Content-Type": "application/octet-stream",
                                                   "Content-Range": "123456-299999"})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-299999", r)
        r = self.req("PUT", with_query(path_of(r.header("Location")), "digest=" + d), b"")
        self.assertEqual(r.status, 201, r)
        self.assert_blob(d, data)

        # What was pushed before the restart is intact.
        r = self.req("GET", "/v2/%s/manifests/before" % self.repo)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, img["body"])
        self.assertEqual(r.header("Docker-Content-Digest"), img["digest"])
        self.assertEqual(sha256(r.body), img["digest"])
        for digest, blob in img["blobs"].items():
            r = self.req("GET", "/v2/%s/blobs/%s" % (self.repo, digest))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(sha256(r.body), digest)
            self.assertEqual(r.body, blob)
        r = self.req("GET", "/v2/%s/tags/list" % self.repo)
        self.assertEqual(r.json()["tags"], ["before"])

    def test_streamed_upload_and_referrers_survive_restart(self):
        subject = self.push_image(tag="s")
        self.ensure_empty_config()
        art = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                          "artifactType": "application/vnd.example.persist",
                          "config": {"mediaType": OCI_EMPTY, "digest": EMPTY_JSON_DIGEST,
                                     "size": 2},
                          "layers": [], "subject": subject["descriptor"]}).encode()
        r = self.put_manifest(sha256(art), art)
        self.assertEqual(r.status, 201, r)
        data = os.urandom(50000)
        loc = self.start_upload()
        r = self.req("PATCH", loc, data[:20000])
        self.assertEqual(r.status, 202, r)
        self.restart()
        # Streamed (no Content-Range) append after restart: the running hash is rebuilt.
        r = self.req("PATCH", path_of(loc), data[20000:])
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-49999", r)
        r = self.req("PUT", with_query(path_of(loc), "digest=" + sha256(data)), b"")
        self.assertEqual(r.status, 201, r)
        self.assert_blob(sha256(data), data)
        r = self.req("GET", "/v2/%s/referrers/%s" % (self.repo, subject["digest"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual([m["digest"] for m in r.json()["manifests"]], [sha256(art)])


def main():
    global BINARY
    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        BINARY = args.pop(0)
    else:
        BINARY = os.environ.get("PORTCULLIS_BIN")
    if not BINARY:
        sys.stderr.write("usage: %s /path/to/portcullis [unittest args]  (or set PORTCULLIS_BIN)\n"
                         % sys.argv[0])
        return 2
    BINARY = os.path.abspath(BINARY)
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        sys.stderr.write("portcullis binary not found or not executable: %s\n" % BINARY)
        return 2
    program = unittest.main(argv=[sys.argv[0]] + args, exit=False, verbosity=2)
    result = program.result
    ok = result.wasSuccessful() and result.testsRun > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
