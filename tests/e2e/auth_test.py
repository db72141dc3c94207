#!/usr/bin/env python3
"""End-to-end tests of Portcullis authentication, authorisation and auditing.

Usage:
    python3 tests/e2e/auth_test.py /path/to/portcullis [unittest options]
    PORTCULLIS_BIN=/path/to/portcullis python3 tests/e2e/auth_test.py

The suite starts its own `portcullis serve` with auth.enabled=true and a known
initial admin password on a free loopback port (temporary data directory),
builds a small world through the administration API (namespaces team-a and
team-b, users with each role, a robot) and checks, over plain HTTP with the
standard library:

  1. the Docker token flow (challenge, GET /token with scopes, offline
     refresh tokens, the OAuth2 POST grants, what a token opens);
  2. refusals: forged, expired, mis-addressed and malformed tokens and
     Authorization headers, bad /token requests, bad credentials;
  3. the authorisation matrix: every registry endpoint and the namespace
     admin endpoints x every kind of identity x repositories inside and
     outside their grants, with tokens and with Basic credentials;
  4. immutable tag rules;
  5. the audit log: listing, pagination, verification, and tamper detection
     with `portcullis audit verify` after editing / deleting rows with the
     sqlite3 CLI;
  6. login throttling.

Forged tokens are signed with python3-cryptography, using the server's own
key (<data>/token-key.pem) or a foreign one. Logins that are meant to fail
come from their own loopback source address (127.0.x.y), because the server
throttles failed logins per address as well as per account.
Exit status is non-zero when any test fails.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from urllib.parse import quote, urlencode, urlsplit

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                                 encode_dss_signature)
    HAVE_CRYPTO = True
except ImportError:  # pragma: no cover - python3-cryptography is a test dependency
    HAVE_CRYPTO = False

HOST = "127.0.0.1"
SERVICE = "portcullis"
ISSUER = "portcullis-token-service"
ADMIN_PASSWORD = "admin-" + uuid.uuid4().hex
PASSWORD = "pw-" + uuid.uuid4().hex  # every other test user's password
TOKEN_LIFETIME = 300

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"

SPEC_ERROR_CODES = {
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
    "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS",
}

LISTENING_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
LINK_NEXT_RE = re.compile(r'^<([^>]+)>\s*;\s*rel="next"$')

BINARY = None  # set by main()

# The world built in setUpModule.
TEAM_A, TEAM_B = "team-a", "team-b"
REPO_A, REPO_B, REPO_O = "team-a/app", "team-b/app", "other/app"
MATRIX_REPOS = (REPO_A, REPO_B, REPO_O)
ROLES = {"reader": "reader", "developer": "developer", "maintainer": "maintainer",
         "nsadmin": "admin"}
ROLE_ACTIONS = {"reader": {"pull"}, "developer": {"pull", "push"},
                "maintainer": {"pull", "push", "delete"}, "admin": {"pull", "push", "delete"}}
ROBOT = "ci-app"
ROBOT_LOGIN = "robot$" + ROBOT
ROBOT_PERMISSIONS = [{"repository": REPO_A, "actions": ["pull", "push"]}]
IDENTITIES = ("anonymous", "reader", "developer", "maintainer", "nsadmin", "outsider", "robot",
              "admin")
# Accounts used by one test only (their failures must not lock anyone else out).
EXTRA_USERS = ("outsider", "guest", "victim", "bystander", "wrongpw")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def basic(user, password):
    return {"Authorization": "Basic " + b64("%s:%s" % (user, password))}


def bearer(token):
    return {"Authorization": "Bearer " + token}


def decode_jwt(token):
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), b64url_decode(s)


def access_set(access):
    """A token's `access` claim as a comparable set."""
    return {(a["type"], a["name"], frozenset(a["actions"])) for a in access}


def scope_for(repo, action):
    """The scope the server names in a challenge for `action` on `repo`."""
    return "repository:%s:%s" % (repo, {"push": "pull,push", "delete": "delete"}.get(action, "pull"))


def parse_challenge(value):
    """'Bearer realm="…",service="…"' -> ("bearer", {realm: …, service: …})."""
    scheme, _, rest = (value or "").partition(" ")
    params = {}
    for m in re.finditer(r'([A-Za-z_]+)="((?:[^"\\]|\\.)*)"', rest):
        params[m.group(1)] = re.sub(r"\\(.)", r"\1", m.group(2))
    return scheme.lower(), params


# --------------------------------------------------------------------------
# Expected policy (what rbac.h says), for the matrix and the catalog.


def namespace_of(repo):
    for ns in (TEAM_A, TEAM_B):
        if repo == ns or repo.startswith(ns + "/"):
            return ns
    return None


def expected_actions(identity, repo):
    if identity == "admin":
        return {"pull", "push", "delete"}
    ns = namespace_of(repo)
    acts = set()
    if ns == TEAM_B:  # anonymous pull
        acts.add("pull")
    if identity == "robot":
        if repo == REPO_A:
            acts |= {"pull", "push"}
    elif identity in ROLES and ns == TEAM_A:
        acts |= ROLE_ACTIONS[ROLES[identity]]
    return acts


# --------------------------------------------------------------------------
# Server process management


def server_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTCULLIS_")}
    env.update(extra or {})
    return env


class Server:
    """One portcullis process with authentication on, on a free loopback port."""

    def __init__(self, binary, data_dir, log_path, env=None):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_env = dict(env or {})
        self.proc = None
        self.port = None
        self._lines = []
        self._lock = threading.Lock()

    def start(self, timeout=30.0):
        self._lines = []
        self.port = None
        found = threading.Event()
        env = server_env({
            "PORTCULLIS_AUTH_ENABLED": "true",
            "PORTCULLIS_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PORTCULLIS_SCANNER_SCAN_ON_PUSH": "false",  # not under test; saves CPU
        })
        env.update(self.extra_env)
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", HOST + ":0", "--data", self.data_dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
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
        deadline = time.monotonic() + timeout
        while True:
            try:
                if request(self.port, "GET", "/healthz").status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("portcullis never answered GET /healthz; log:\n" + self.log_tail())
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
        if self.proc.stderr:
            self.proc.stderr.close()
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, n=25):
        with self._lock:
            lines = [l for l in self._lines if not l.startswith("{")]
        return "".join(lines[-n:])


# --------------------------------------------------------------------------
# HTTP


class Resp:
    def __init__(self, method, path, status, reason, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%s %s -> %d %s headers=%s body=%r>" % (
            self.method, self.path[:120], self.status, self.reason, dict(self.headers.items()),
            self.body[:300])


def request(port, method, path, body=None, headers=None, source=None, timeout=60.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        data = r.read()
        return Resp(method, path, r.status, r.reason, r.headers, data)
    finally:
        conn.close()


_source_counter = [10]


def fresh_source():
    """A loopback source address no other test uses (its own throttle bucket)."""
    n = _source_counter[0]
    _source_counter[0] += 1
    return "127.0.%d.%d" % (n // 250, 1 + n % 250)


# --------------------------------------------------------------------------
# JWS forging (python3-cryptography)


def libtrust_kid(public_key):
    spki = public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def es256_raw(private_key, data):
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def jws(header, claims, sign=None):
    """Compact JWS; `sign(signing_input) -> bytes` (None: empty signature)."""
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = (h + "." + p).encode()
    sig = sign(signing_input) if sign else b""
    return h + "." + p + "." + b64url(sig)


# --------------------------------------------------------------------------
# The shared server and world

_shared = {}


def admin_req(method, path, body=None, headers=None):
    hdrs = dict(basic("admin", ADMIN_PASSWORD))
    hdrs.update(headers or {})
    return request(_shared["server"].port, method, path, body, hdrs)


def must(resp, status):
    if resp.status != status:
        raise AssertionError("set-up request failed, expected %d: %r" % (status, resp))
    return resp


def admin_json(method, path, obj, status):
    body = None if obj is None else json.dumps(obj).encode()
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    return must(admin_req(method, path, body, hdrs), status)


def push_blob_as(headers, repo, data, port=None):
    port = port or _shared["server"].port
    r = request(port, "POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, sha256(data)), data,
                dict(headers, **{"Content-Type": "application/octet-stream"}))
    return r


def image_manifest(config, layers, annotations=None, subject=None, artifact_type=None,
                   config_media_type=OCI_CONFIG):
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": config_media_type, "digest": sha256(config), "size": len(config)},
         "layers": [{"mediaType": OCI_LAYER, "digest": sha256(l), "size": len(l)} for l in layers]}
    if annotations:
        m["annotations"] = annotations
    if subject:
        m["subject"] = subject
    if artifact_type:
        m["artifactType"] = artifact_type
    return json.dumps(m, sort_keys=True).encode()


def new_config():
    return json.dumps({"architecture": "amd64", "os": "linux", "nonce": uuid.uuid4().hex,
                       "rootfs": {"type": "layers", "diff_ids": []}}).encode()


def admin_push_image(repo, tag=None, layers=None):
    """Pushes config + layers + manifest as admin (Basic); returns a dict."""
    hdrs = basic("admin", ADMIN_PASSWORD)
    config = new_config()
    layers = layers if layers is not None else [os.urandom(200)]
    for blob in [config] + layers:
        must(push_blob_as(hdrs, repo, blob), 201)
    body = image_manifest(config, layers)
    digest = sha256(body)
    ref = tag or digest
    must(admin_req("PUT", "/v2/%s/manifests/%s" % (repo, ref), body,
                   {"Content-Type": OCI_MANIFEST}), 201)
    return {"repo": repo, "tag": tag, "digest": digest, "body": body, "config": config,
            "layers": layers,
            "descriptor": {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}}


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="portcullis-e2e-auth-")
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    server = Server(BINARY, data, os.path.join(tmp, "server.log"))
    server.start()
    _shared.update(tmp=tmp, data=data, server=server)
    try:
        build_world()
    except Exception:
        server.stop()
        raise


def build_world():
    # Namespaces, users and role bindings, a robot.
    admin_json("PUT", "/api/v1/namespaces/" + TEAM_A, {"anonymous_pull": False}, 204)
    admin_json("PUT", "/api/v1/namespaces/" + TEAM_B, {"anonymous_pull": True}, 204)
    for user in list(ROLES) + list(EXTRA_USERS):
        admin_json("POST", "/api/v1/users", {"name": user, "password": PASSWORD}, 201)
    for user, role in ROLES.items():
        admin_json("PUT", "/api/v1/namespaces/%s/members/%s" % (TEAM_A, user), {"role": role}, 204)
    r = admin_json("POST", "/api/v1/robots", {"name": ROBOT, "permissions": ROBOT_PERMISSIONS}, 201)
    robot = r.json()
    if robot.get("name") != ROBOT_LOGIN or not robot.get("secret"):
        raise AssertionError("unexpected robot creation answer: %r" % r)
    _shared["robot_secret"] = robot["secret"]
    # One image (tag "base") and one referrer in each matrix repository.
    seeds = {}
    empty_ok = set()
    for repo in MATRIX_REPOS:
        img = admin_push_image(repo, "base")
        if repo not in empty_ok:
            must(push_blob_as(basic("admin", ADMIN_PASSWORD), repo, EMPTY_JSON), 201)
            empty_ok.add(repo)
        art = image_manifest(EMPTY_JSON, [], subject=img["descriptor"],
                             artifact_type="application/vnd.example.sig",
                             config_media_type=OCI_EMPTY)
        must(admin_req("PUT", "/v2/%s/manifests/%s" % (repo, sha256(art)), art,
                       {"Content-Type": OCI_MANIFEST}), 201)
        img["referrer"] = sha256(art)
        seeds[repo] = img
    _shared["seeds"] = seeds
    # The token signing key and its libtrust id.
    key_path = os.path.join(_shared["data"], "token-key.pem")
    _shared["key_pem"] = open(key_path, "rb").read()


def tearDownModule():
    server = _shared.get("server")
    tmp = _shared.get("tmp")
    try:
        if server is not None and server.proc is not None and not _shared.get("stopped"):
            was_alive = server.alive()
            rc = server.stop()
            if not was_alive:
                raise AssertionError("portcullis died during the run (exit %r); log:\n%s"
                                     % (rc, server.log_tail()))
            if rc != 0:
                raise AssertionError("portcullis exited with %r after SIGTERM; log:\n%s"
                                     % (rc, server.log_tail()))
    finally:
        if tmp and not os.environ.get("PORTCULLIS_E2E_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# Test base


class AuthTestCase(unittest.TestCase):
    maxDiff = 6000

    @property
    def server(self):
        return _shared["server"]

    @property
    def port(self):
        return self.server.port

    def tearDown(self):
        if _shared.get("stopped"):
            return
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

    def req(self, method, path, body=None, headers=None, source=None):
        try:
            return request(self.port, method, path, body, headers, source=source)
        except (OSError, http.client.HTTPException) as e:
            self.fail("%s %s failed at the transport level: %r (server alive=%s)\n%s"
                      % (method, path[:200], e, self.server.alive(), self.server.log_tail()))

    def admin(self, method, path, body=None, headers=None):
        hdrs = dict(basic("admin", ADMIN_PASSWORD))
        hdrs.update(headers or {})
        return self.req(method, path, body, hdrs)

    def creds(self, identity):
        """Basic credentials of an identity ({} for anonymous)."""
        if identity == "anonymous":
            return {}
        if identity == "admin":
            return basic("admin", ADMIN_PASSWORD)
        if identity == "robot":
            return basic(ROBOT_LOGIN, _shared["robot_secret"])
        return basic(identity, PASSWORD)

    def token(self, identity, *scopes, offline=False, service=SERVICE, expect=200):
        """GET /token as `identity` with one `scope` parameter per scope."""
        params = [("service", service)] + [("scope", s) for s in scopes]
        if offline:
            params.append(("offline_token", "true"))
        r = self.req("GET", "/token?" + urlencode(params), headers=self.creds(identity))
        self.assertEqual(r.status, expect, r)
        if expect != 200:
            return r
        doc = r.json()
        self.assertIsInstance(doc.get("token"), str, r)
        return doc

    def assert_alive(self):
        self.assertTrue(self.server.alive(), "portcullis exited; log:\n" + self.server.log_tail())
        r = self.req("GET", "/healthz")
        self.assertEqual(r.status, 200, "server stopped answering: %r" % r)

    def assert_error(self, r, status, code=None, msg=None):
        """Status plus the spec's error body {"errors":[{"code","message",...}]}."""
        self.assertEqual(r.status, status, msg or r)
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
            self.assertIsInstance(e.get("code"), str, r)
            self.assertIsInstance(e.get("message"), str, r)
        codes = [e["code"] for e in errors]
        if code is not None:
            self.assertIn(code, codes, msg or "expected error code %s: %r" % (code, r))
        return doc

    def assert_challenge(self, r, scope=None, error=None, msg=None):
        """401 UNAUTHORIZED with `WWW-Authenticate: Bearer realm,service[,scope][,error]`."""
        self.assert_error(r, 401, "UNAUTHORIZED", msg)
        values = r.headers.get_all("WWW-Authenticate") or []
        self.assertEqual(len(values), 1, msg or "expected one challenge: %r" % r)
        scheme, params = parse_challenge(values[0])
        self.assertEqual(scheme, "bearer", msg or r)
        self.assertEqual(params.get("realm"), "http://%s:%d/token" % (HOST, self.port), msg or r)
        self.assertEqual(params.get("service"), SERVICE, msg or r)
        self.assertEqual(params.get("scope"), scope, msg or "challenge scope: %r" % r)
        self.assertEqual(params.get("error"), error, msg or "challenge error: %r" % r)
        return params

    def assert_denied(self, r, msg=None):
        """403 DENIED (valid Basic credentials without the right), no challenge."""
        self.assert_error(r, 403, "DENIED", msg)
        self.assertIsNone(r.header("WWW-Authenticate"), msg or r)

    def manifest_exists(self, repo, ref):
        r = self.admin("HEAD", "/v2/%s/manifests/%s" % (repo, ref))
        self.assertIn(r.status, (200, 404), r)
        return r.status == 200

    def blob_exists(self, repo, digest):
        r = self.admin("HEAD", "/v2/%s/blobs/%s" % (repo, digest))
        self.assertIn(r.status, (200, 404), r)
        return r.status == 200

    def wait_audit(self, predicate, what, timeout=8.0, query="n=1000"):
        """Audit events (all pages of `query`) once one satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.audit_events(query)
            if any(predicate(e) for e in events):
                return events
            if time.monotonic() > deadline:
                self.fail("no audit event for %s within %.0fs; last events: %s"
                          % (what, timeout, json.dumps(events[-8:], indent=1)))
            time.sleep(0.25)

    def audit_events(self, query="n=1000"):
        path = "/api/v1/audit?" + query
        events = []
        for _ in range(1000):
            r = self.admin("GET", path)
            self.assertEqual(r.status, 200, r)
            events.extend(r.json()["events"])
            link = r.header("Link")
            if not link:
                return events
            m = LINK_NEXT_RE.match(link)
            self.assertTrue(m, "malformed Link header: %r" % link)
            path = m.group(1)
        self.fail("audit pagination does not end")


# --------------------------------------------------------------------------
# 1. Token flow


class TokenFlowTest(AuthTestCase):

    def test_base_without_credentials_is_challenged(self):
        for method in ("GET", "HEAD"):
            r = self.req(method, "/v2/")
            self.assert_challenge(r)
            self.assertEqual(r.header("Docker-Distribution-API-Version"), "registry/2.0", r)
        params = parse_challenge(self.req("GET", "/v2/").header("WWW-Authenticate"))[1]
        self.assertTrue(params["realm"].endswith("/token"), params)
        self.assertEqual(set(params), {"realm", "service"})

    def test_repository_route_without_credentials_names_the_scope(self):
        r = self.req("GET", "/v2/%s/tags/list" % REPO_A)
        self.assert_challenge(r, scope="repository:%s:pull" % REPO_A)
        r = self.req("POST", "/v2/%s/blobs/uploads/" % REPO_A)
        self.assert_challenge(r, scope="repository:%s:pull,push" % REPO_A)
        r = self.req("DELETE", "/v2/%s/manifests/%s" % (REPO_A, _shared["seeds"][REPO_A]["digest"]))
        self.assert_challenge(r, scope="repository:%s:delete" % REPO_A)

    def test_token_grants_exactly_the_allowed_subset_of_several_scopes(self):
        scopes = ["repository:%s:pull,push,delete" % REPO_A,
                  "repository:%s:pull,push" % REPO_B,
                  "repository:%s:pull" % REPO_O,
                  "registry:catalog:*"]
        doc = self.token("developer", *scopes)
        self.assertEqual(doc["access_token"], doc["token"])
        self.assertEqual(doc["expires_in"], TOKEN_LIFETIME)
        self.assertRegex(doc["issued_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertNotIn("refresh_token", doc)
        header, claims, sig = decode_jwt(doc["token"])
        self.assertEqual(header.get("alg"), "ES256", header)
        self.assertEqual(header.get("typ"), "JWT", header)
        self.assertEqual(claims["iss"], ISSUER)
        self.assertEqual(claims["aud"], SERVICE)
        self.assertEqual(claims["sub"], "developer")
        self.assertEqual(claims["exp"] - claims["iat"], TOKEN_LIFETIME)
        self.assertLessEqual(claims["nbf"], time.time() + 2)
        self.assertTrue(claims.get("jti"))
        self.assertEqual(access_set(claims["access"]), {
            ("repository", REPO_A, frozenset({"pull", "push"})),
            ("repository", REPO_B, frozenset({"pull"})),
            ("registry", "catalog", frozenset({"*"})),
        })
        self.assertEqual(len(claims["access"]), 3, claims["access"])
        if HAVE_CRYPTO:
            key = serialization.load_pem_private_key(_shared["key_pem"], None)
            self.assertEqual(header.get("kid"), libtrust_kid(key.public_key()))
            # ES256: the raw 64-byte r||s over "header.payload", with the server's key.
            self.assertEqual(len(sig), 64)
            signing_input = doc["token"].rsplit(".", 1)[0].encode()
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                       int.from_bytes(sig[32:], "big"))
            key.public_key().verify(der, signing_input, ec.ECDSA(hashes.SHA256()))

    def test_space_separated_scopes_in_one_parameter_and_unknown_actions(self):
        doc = self.token("reader", "repository:%s:pull,push repository:%s:pull,frobnicate"
                         % (REPO_A, REPO_B))
        _, claims, _ = decode_jwt(doc["token"])
        self.assertEqual(access_set(claims["access"]), {
            ("repository", REPO_A, frozenset({"pull"})),
            ("repository", REPO_B, frozenset({"pull"}))})

    def test_nothing_allowed_is_an_empty_grant_not_an_error(self):
        doc = self.token("outsider", "repository:%s:pull,push" % REPO_A,
                         "repository:%s:pull" % REPO_O)
        _, claims, _ = decode_jwt(doc["token"])
        self.assertEqual(claims["access"], [])
        self.assertEqual(claims["sub"], "outsider")

    def test_anonymous_token_gets_only_anonymous_pull(self):
        doc = self.token("anonymous", "repository:%s:pull,push" % REPO_B,
                         "repository:%s:pull" % REPO_A, offline=True)
        self.assertNotIn("refresh_token", doc, "anonymous clients must not get refresh tokens")
        _, claims, _ = decode_jwt(doc["token"])
        self.assertEqual(claims["sub"], "")
        self.assertEqual(access_set(claims["access"]),
                         {("repository", REPO_B, frozenset({"pull"}))})
        tok = doc["token"]
        r = self.req("GET", "/v2/%s/tags/list" % REPO_B, headers=bearer(tok))
        self.assertEqual(r.status, 200, r)
        r = self.req("GET", "/v2/%s/tags/list" % REPO_A, headers=bearer(tok))
        self.assert_challenge(r, scope="repository:%s:pull" % REPO_A, error="insufficient_scope")

    def test_token_works_on_base_and_on_the_granted_repository_only(self):
        doc = self.token("developer", "repository:%s:pull,push" % REPO_A)
        tok = doc["token"]
        r = self.req("GET", "/v2/", headers=bearer(tok))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {})
        r = self.req("GET", "/v2/%s/tags/list" % REPO_A, headers=bearer(tok))
        self.assertEqual(r.status, 200, r)
        self.assertIn("base", r.json()["tags"])
        # Push works with the token.
        config = new_config()
        r = push_blob_as(bearer(tok), REPO_A, config)
        self.assertEqual(r.status, 201, r)
        # The developer may pull team-b/app, but this token does not say so.
        r = self.req("GET", "/v2/%s/tags/list" % REPO_B, headers=bearer(tok))
        self.assert_challenge(r, scope="repository:%s:pull" % REPO_B, error="insufficient_scope")
        r = self.req("GET", "/v2/_catalog", headers=bearer(tok))
        self.assert_challenge(r, scope="registry:catalog:*", error="insufficient_scope")
        # No delete in the token (nor in the role).
        seed = _shared["seeds"][REPO_A]
        r = self.req("DELETE", "/v2/%s/manifests/%s" % (REPO_A, seed["digest"]), headers=bearer(tok))
        self.assert_challenge(r, scope="repository:%s:delete" % REPO_A, error="insufficient_scope")
        self.assertTrue(self.manifest_exists(REPO_A, seed["digest"]))

    def test_offline_token_returns_a_refresh_token(self):
        doc = self.token("developer", "repository:%s:pull" % REPO_A, offline=True)
        rt = doc.get("refresh_token")
        self.assertIsInstance(rt, str, doc)
        _, claims, _ = decode_jwt(rt)
        self.assertEqual(claims["sub"], "developer")
        self.assertNotEqual(claims["aud"], SERVICE, "a refresh token must not be an access token")

    def post_token(self, form, source=None):
        return self.req("POST", "/token", urlencode(form).encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"}, source=source)

    def test_oauth2_password_and_refresh_token_grants(self):
        r = self.post_token({"grant_type": "password", "username": "developer",
                             "password": PASSWORD, "service": SERVICE, "client_id": "e2e",
                             "access_type": "offline",
                             "scope": "repository:%s:pull,push repository:%s:pull,push"
                                      % (REPO_A, REPO_O)})
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertNotIn("token", doc, "the OAuth2 form answers access_token only")
        self.assertEqual(doc["scope"], "repository:%s:pull,push" % REPO_A)
        self.assertEqual(doc["expires_in"], TOKEN_LIFETIME)
        rt = doc["refresh_token"]
        _, claims, _ = decode_jwt(doc["access_token"])
        self.assertEqual(access_set(claims["access"]),
                         {("repository", REPO_A, frozenset({"pull", "push"}))})
        r = self.req("GET", "/v2/%s/tags/list" % REPO_A, headers=bearer(doc["access_token"]))
        self.assertEqual(r.status, 200, r)

        # The refresh grant: a new access token for another scope, same refresh token.
        r = self.post_token({"grant_type": "refresh_token", "refresh_token": rt,
                             "service": SERVICE, "client_id": "e2e",
                             "scope": "repository:%s:pull repository:%s:pull" % (REPO_B, REPO_O)})
        self.assertEqual(r.status, 200, r)
        doc2 = r.json()
        self.assertEqual(doc2.get("refresh_token"), rt)
        self.assertEqual(doc2["scope"], "repository:%s:pull" % REPO_B)
        _, claims2, _ = decode_jwt(doc2["access_token"])
        self.assertEqual(claims2["sub"], "developer")
        self.assertEqual(access_set(claims2["access"]), {("repository", REPO_B, frozenset({"pull"}))})
        r = self.req("GET", "/v2/%s/tags/list" % REPO_B, headers=bearer(doc2["access_token"]))
        self.assertEqual(r.status, 200, r)

        # Without access_type=offline: no refresh token.
        r = self.post_token({"grant_type": "password", "username": "developer",
                             "password": PASSWORD, "service": SERVICE, "client_id": "e2e",
                             "scope": ""})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("refresh_token", r.json())

    def test_refresh_token_is_not_an_access_token_and_vice_versa(self):
        doc = self.token("admin", "repository:%s:pull" % REPO_A, offline=True)
        at, rt = doc["token"], doc["refresh_token"]
        r = self.req("GET", "/v2/", headers=bearer(rt))
        self.assert_challenge(r, error="invalid_token")
        r = self.req("GET", "/v2/%s/tags/list" % REPO_A, headers=bearer(rt))
        self.assert_challenge(r, scope="repository:%s:pull" % REPO_A, error="invalid_token")
        r = self.req("GET", "/api/v1/users", headers=bearer(rt))
        self.assertEqual(r.status, 401, r)
        r = self.post_token({"grant_type": "refresh_token", "refresh_token": at,
                             "service": SERVICE, "client_id": "e2e", "scope": ""})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json().get("error"), "invalid_grant", r)
        self.assertNotIn("access_token", r.json())
        r = self.post_token({"grant_type": "refresh_token", "refresh_token": "garbage.x.y",
                             "service": SERVICE, "client_id": "e2e"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json().get("error"), "invalid_grant", r)

    def test_oauth2_errors(self):
        r = self.post_token({"grant_type": "client_credentials", "service": SERVICE})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json().get("error"), "unsupported_grant_type", r)
        r = self.post_token({"grant_type": "password", "username": "admin",
                             "password": ADMIN_PASSWORD, "service": "elsewhere"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json().get("error"), "invalid_request", r)
        self.assertNotIn("access_token", r.json())
        r = self.post_token({"grant_type": "password", "username": "admin",
                             "password": ADMIN_PASSWORD, "service": SERVICE, "scope": "garbage"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json().get("error"), "invalid_scope", r)
        src = fresh_source()
        r = self.post_token({"grant_type": "password", "username": "wrongpw",
                             "password": "not-the-password", "service": SERVICE}, source=src)
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json().get("error"), "invalid_grant", r)
        self.assertNotIn("access_token", r.json())

    def test_robot_token(self):
        doc = self.token("robot", "repository:%s:pull,push,delete" % REPO_A,
                         "repository:team-a/other:pull")
        _, claims, _ = decode_jwt(doc["token"])
        self.assertEqual(claims["sub"], ROBOT_LOGIN)
        self.assertEqual(access_set(claims["access"]),
                         {("repository", REPO_A, frozenset({"pull", "push"}))})


# --------------------------------------------------------------------------
# 2. Refusals


@unittest.skipUnless(HAVE_CRYPTO, "python3-cryptography is needed to forge tokens")
class ForgedTokenTest(AuthTestCase):
    """Tokens that must be refused: 401 invalid_token, nothing done."""

    @classmethod
    def setUpClass(cls):
        cls.key = serialization.load_pem_private_key(_shared["key_pem"], None)
        cls.kid = libtrust_kid(cls.key.public_key())
        cls.foreign = ec.generate_private_key(ec.SECP256R1())

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": ISSUER, "sub": "admin", "aud": SERVICE, "exp": now + 300, "nbf": now - 5,
             "iat": now - 5, "jti": uuid.uuid4().hex,
             "access": [{"type": "repository", "name": REPO_A, "actions": ["pull", "push"]}]}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def header(self, **over):
        h = {"typ": "JWT", "alg": "ES256", "kid": self.kid}
        h.update(over)
        return {k: v for k, v in h.items() if v is not None}

    def sign(self, key=None):
        key = key or self.key
        return lambda data: es256_raw(key, data)

    def forge(self, header=None, claims=None, key=None):
        return jws(header or self.header(), claims or self.claims(), self.sign(key))

    def assert_accepted(self, token):
        r = self.req("GET", "/v2/%s/tags/list" % REPO_A, headers=bearer(token))
        self.assertEqual(r.status, 200, r)

    def assert_refused(self, token, what):
        """GET and a manifest PUT with `token`: 401 invalid_token, no manifest stored."""
        msg = "forged token (%s) " % what
        r = self.req("GET", "/v2/%s/tags/list" % REPO_A, headers=bearer(token))
        self.assert_challenge(r, scope="repository:%s:pull" % REPO_A, error="invalid_token",
                              msg=msg + "was not refused on GET: %r" % r)
        tag = "forged-" + uuid.uuid4().hex[:10]
        seed = _shared["seeds"][REPO_A]
        body = image_manifest(seed["config"], seed["layers"], annotations={"forged": tag})
        r = self.req("PUT", "/v2/%s/manifests/%s" % (REPO_A, tag), body,
                     dict(bearer(token), **{"Content-Type": OCI_MANIFEST}))
        self.assert_challenge(r, scope="repository:%s:pull,push" % REPO_A, error="invalid_token",
                              msg=msg + "was not refused on PUT: %r" % r)
        self.assertFalse(self.manifest_exists(REPO_A, tag), msg + "stored a manifest")
        r = self.req("GET", "/v2/", headers=bearer(token))
        self.assert_challenge(r, error="invalid_token", msg=msg + "opened /v2/: %r" % r)
        r = self.req("GET", "/api/v1/users", headers=bearer(token))
        self.assertEqual(r.status, 401, msg + "reached the admin API: %r" % r)

    def test_well_formed_forgery_with_the_server_key_is_accepted(self):
        # The forging machinery is right: everything below differs in one point only.
        self.assert_accepted(self.forge())
        # Inside the 30 s leeway: just expired, or valid a little in the future.
        now = int(time.time())
        self.assert_accepted(self.forge(claims=self.claims(exp=now - 10)))
        self.assert_accepted(self.forge(claims=self.claims(nbf=now + 10)))
        # aud may be an array that holds the service.
        self.assert_accepted(self.forge(claims=self.claims(aud=["elsewhere", SERVICE])))

    def test_alg_none(self):
        self.assert_refused(jws(self.header(alg="none"), self.claims()), "alg none, no signature")
        self.assert_refused(jws(self.header(alg="none"), self.claims(), self.sign()),
                            "alg none with a valid ES256 signature")
        self.assert_refused(jws(self.header(alg="None"), self.claims()), "alg None")
        self.assert_refused(jws(self.header(alg=None), self.claims(), self.sign()), "no alg")

    def test_algorithm_confusion_hs256_with_the_public_key(self):
        pub = self.key.public_key()
        for name, secret in (
                ("PEM", pub.public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)),
                ("DER", pub.public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo))):
            tok = jws(self.header(alg="HS256"), self.claims(),
                      lambda data, s=secret: hmac.new(s, data, hashlib.sha256).digest())
            self.assert_refused(tok, "HS256 keyed with the public key " + name)

    def test_rs256_and_other_algorithm_names(self):
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tok = jws(self.header(alg="RS256"), self.claims(),
                  lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
        self.assert_refused(tok, "RS256")
        for alg in ("es256", "ES384", "ES512", "PS256", "EdDSA"):
            self.assert_refused(jws(self.header(alg=alg), self.claims(), self.sign()), "alg " + alg)

    def test_expired_and_not_yet_valid(self):
        now = int(time.time())
        self.assert_refused(self.forge(claims=self.claims(exp=now - 120, nbf=now - 600,
                                                          iat=now - 600)), "expired 2 min ago")
        self.assert_refused(self.forge(claims=self.claims(nbf=now + 120)), "nbf in 2 min")
        self.assert_refused(self.forge(claims=self.claims(exp=None)), "no exp")

    def test_wrong_audience_and_issuer(self):
        self.assert_refused(self.forge(claims=self.claims(aud="elsewhere")), "wrong aud")
        self.assert_refused(self.forge(claims=self.claims(aud=SERVICE + "#refresh")),
                            "refresh-token aud")
        self.assert_refused(self.forge(claims=self.claims(aud=["elsewhere"])), "aud array")
        self.assert_refused(self.forge(claims=self.claims(aud=None)), "no aud")
        self.assert_refused(self.forge(claims=self.claims(iss="evil-token-service")), "wrong iss")
        self.assert_refused(self.forge(claims=self.claims(iss=None)), "no iss")

    def test_unknown_kid_and_foreign_key(self):
        fkid = libtrust_kid(self.foreign.public_key())
        self.assert_refused(self.forge(header=self.header(kid=fkid), key=self.foreign),
                            "foreign key with its own kid")
        self.assert_refused(self.forge(key=self.foreign), "foreign key with the server's kid")
        self.assert_refused(self.forge(header=self.header(kid=None)), "no kid")
        self.assert_refused(self.forge(header=self.header(kid="AAAA:" + self.kid[5:])),
                            "unknown kid")
        # An embedded key must never be trusted.
        nums = self.foreign.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url(nums.x.to_bytes(32, "big")),
               "y": b64url(nums.y.to_bytes(32, "big"))}
        self.assert_refused(self.forge(header=self.header(kid=None, jwk=jwk), key=self.foreign),
                            "embedded jwk, no kid")
        self.assert_refused(self.forge(header=self.header(kid=fkid, jwk=jwk), key=self.foreign),
                            "embedded jwk with its kid")
        self.assert_refused(self.forge(header=self.header(crit=["exp"])), "crit header")

    def test_damaged_signatures_and_malformed_tokens(self):
        good = self.forge()
        h, p, s = good.split(".")
        self.assert_refused(good[:-4], "truncated signature")
        self.assert_refused(h + "." + p + ".", "empty signature")
        sig = bytearray(b64url_decode(s))
        sig[10] ^= 1
        self.assert_refused(h + "." + p + "." + b64url(bytes(sig)), "flipped signature bit")
        self.assert_refused(h + "." + p + "." + b64url(bytes(sig) + b"\0"), "65-byte signature")
        # DER instead of raw r||s.
        der = self.key.sign((h + "." + p).encode(), ec.ECDSA(hashes.SHA256()))
        self.assert_refused(h + "." + p + "." + b64url(der), "DER signature")
        # Claims changed after signing.
        other = b64url(json.dumps(self.claims(sub="someone-else")).encode())
        self.assert_refused(h + "." + other + "." + s, "payload swapped")
        self.assert_refused(h + "." + p, "two parts")
        self.assert_refused(good + ".x", "four parts")
        self.assert_refused("not-a-token", "garbage")

    def huge_token(self):
        """A correctly signed token over 100 KB (a long access list)."""
        access = [{"type": "repository", "name": "team-a/r%05d" % i, "actions": ["pull"]}
                  for i in range(2000)]
        access.insert(0, {"type": "repository", "name": REPO_A, "actions": ["pull", "push"]})
        big = self.forge(claims=self.claims(access=access))
        self.assertGreater(len(big), 100 * 1024)
        return big

    def test_big_tokens(self):
        # Over the verifier's 8 KiB bound but inside the 16 KiB header limit: 401.
        self.assert_refused(self.forge(claims=self.claims(pad="x" * 9000)), "9 KB signed token")
        self.assert_refused("a" * 12000, "12 KB of garbage")
        # 100 KB: the request headers exceed http.header_limit_bytes (16 KiB): 431.
        for token in (self.huge_token(), "a" * (100 * 1024)):
            tag = "huge-" + uuid.uuid4().hex[:8]
            seed = _shared["seeds"][REPO_A]
            body = image_manifest(seed["config"], seed["layers"], annotations={"t": tag})
            r = self.req("PUT", "/v2/%s/manifests/%s" % (REPO_A, tag), body,
                         dict(bearer(token), **{"Content-Type": OCI_MANIFEST}))
            self.assertEqual(r.status, 431, r)
            self.assertFalse(self.manifest_exists(REPO_A, tag))
        self.assert_alive()

    def test_huge_token_with_the_highest_header_limit(self):
        # With http.header_limit_bytes at its 60 KiB maximum, a 50 KB token reaches
        # authentication (401), and a 100 KB header (one field over Beast's own
        # 64 KiB field limit) is a clean 431: the server never dies.
        data = os.path.join(_shared["tmp"], "big-headers")
        os.makedirs(data, exist_ok=True)
        shutil.copy2(os.path.join(_shared["data"], "token-key.pem"), data)
        server = Server(BINARY, data, os.path.join(_shared["tmp"], "big-headers.log"),
                        {"PORTCULLIS_HTTP_HEADER_LIMIT_BYTES": str(60 * 1024)})
        server.start()
        try:
            access = [{"type": "repository", "name": "team-a/r%05d" % i, "actions": ["pull"]}
                      for i in range(550)]
            signed = self.forge(claims=self.claims(access=access))
            self.assertGreater(len(signed), 40 * 1024)
            self.assertLess(len(signed), 58 * 1024)
            for what, token, status in (("~50 KB signed token", signed, 401),
                                        ("50 KB garbage", "a" * (50 * 1024), 401),
                                        ("100 KB garbage", "a" * (100 * 1024), 431),
                                        ("65534-byte field", "a" * 65534, 431)):
                try:
                    r = request(server.port, "GET", "/v2/%s/tags/list" % REPO_A,
                                headers=bearer(token))
                except (OSError, http.client.HTTPException) as e:
                    r = e
                time.sleep(0.2)
                self.assertTrue(server.alive(),
                                "portcullis died on a %s in the Authorization header (%r); log:\n%s"
                                % (what, r, server.log_tail(5)))
                self.assertIsInstance(r, Resp, r)
                self.assertEqual(r.status, status, "%s: %r" % (what, r))
                if status == 401:
                    _, params = parse_challenge(r.header("WWW-Authenticate"))
                    self.assertEqual(params.get("error"), "invalid_token", r)
        finally:
            server.stop()

    def test_token_for_one_repository_used_on_another(self):
        tok = self.forge()  # pull,push on team-a/app
        for repo in (REPO_B, REPO_O, "team-a/app2"):
            r = self.req("GET", "/v2/%s/tags/list" % repo, headers=bearer(tok))
            self.assert_challenge(r, scope="repository:%s:pull" % repo, error="insufficient_scope")
            r = self.req("POST", "/v2/%s/blobs/uploads/" % repo, headers=bearer(tok))
            self.assert_challenge(r, scope="repository:%s:pull,push" % repo,
                                  error="insufficient_scope")
        # A real token too.
        real = self.token("admin", "repository:%s:pull" % REPO_A)["token"]
        r = self.req("GET", "/v2/%s/manifests/base" % REPO_B, headers=bearer(real))
        self.assert_challenge(r, scope="repository:%s:pull" % REPO_B, error="insufficient_scope")
        r = self.req("HEAD", "/v2/%s/manifests/base" % REPO_B, headers=bearer(real))
        self.assert_challenge(r, scope="repository:%s:pull" % REPO_B, error="insufficient_scope")


class CredentialRefusalTest(AuthTestCase):

    def test_malformed_authorization_headers(self):
        for value in ("Bearer", "Bearer ", "Bearer a b", "Basic !!!", "Basic " + b64("nocolon"),
                      "Basic " + b64(":empty-user"), "Basic", "Digest x", "Negotiate abc",
                      "x" * 9000):
            for method, path, scope in (("GET", "/v2/", None),
                                        ("GET", "/v2/%s/tags/list" % REPO_B,
                                         "repository:%s:pull" % REPO_B)):
                r = self.req(method, path, headers={"Authorization": value})
                self.assert_challenge(r, scope=scope, error="invalid_token",
                                      msg="Authorization %r on %s: %r" % (value[:40], path, r))
        # The token endpoint: Basic or nothing.
        for value in ("Bearer abc", "Digest x", "Basic !!!"):
            r = self.req("GET", "/token?service=portcullis", headers={"Authorization": value})
            self.assert_error(r, 401, "UNAUTHORIZED")
            self.assertNotIn(b"token\"", r.body)
        self.assert_alive()

    def test_bad_scopes_at_token_endpoint_are_400(self):
        cases = [
            ("garbage", None),
            ("repository:BAD/Name:pull", "NAME_INVALID"),
            ("repository:team-a/app", None),
            ("repository::pull", None),
            ("registry:everything:*", None),
            ("repository:" + "a" * 600 + ":pull", None),
            (" ".join("repository:team-b/r%d:pull" % i for i in range(65)), None),
        ]
        for scope, code in cases:
            with self.subTest(scope=scope[:40]):
                r = self.req("GET", "/token?" + urlencode({"service": SERVICE, "scope": scope}),
                             headers=basic("admin", ADMIN_PASSWORD))
                self.assert_error(r, 400, code, msg="scope %r at GET /token: expected 400 with "
                                                    "an error body, got %r" % (scope[:60], r))
                self.assertNotIn("token", r.json())

    def test_service_mismatch_is_refused(self):
        r = self.req("GET", "/token?service=elsewhere&scope=repository:%s:pull" % REPO_A,
                     headers=basic("admin", ADMIN_PASSWORD))
        self.assert_error(r, 403, "DENIED")
        self.assertNotIn("token", r.json())

    def test_unknown_user_and_wrong_password(self):
        src = fresh_source()
        for user, pw in (("nobody-" + uuid.uuid4().hex[:6], "whatever"), ("wrongpw", "wrong")):
            r = self.req("GET", "/token?service=portcullis&scope=repository:%s:pull" % REPO_B,
                         headers=basic(user, pw), source=src)
            self.assert_error(r, 401, "UNAUTHORIZED")
            self.assertNotIn("token", r.json())
            self.assertEqual(r.json()["errors"][0]["message"], "invalid username or password")
            # Basic on /v2/: 401 with the Bearer challenge (never 403 for bad credentials).
            r = self.req("GET", "/v2/%s/tags/list" % REPO_B, headers=basic(user, pw), source=src)
            self.assert_challenge(r, scope="repository:%s:pull" % REPO_B, error="invalid_token")
        # A robot with a wrong secret, and an existing user's name as a robot.
        src = fresh_source()
        r = self.req("GET", "/token?service=portcullis", headers=basic(ROBOT_LOGIN, "pcr_wrong"),
                     source=src)
        self.assert_error(r, 401, "UNAUTHORIZED")
        r = self.req("GET", "/v2/", headers=basic("robot$wrongpw", PASSWORD), source=src)
        self.assert_challenge(r, error="invalid_token")

    def test_account_parameter_must_match_the_credentials(self):
        r = self.req("GET", "/token?service=portcullis&account=admin",
                     headers=basic("reader", PASSWORD))
        self.assert_error(r, 401, "UNAUTHORIZED")
        r = self.req("GET", "/token?service=portcullis&account=reader",
                     headers=basic("reader", PASSWORD))
        self.assertEqual(r.status, 200, r)


# --------------------------------------------------------------------------
# 3. Authorisation matrix


class AuthorizationMatrixTest(AuthTestCase):

    MODES = ("token", "basic")

    def headers_for(self, identity, mode, tokens):
        if mode == "token":
            return bearer(tokens[identity])
        return self.creds(identity)

    def matrix_tokens(self):
        """One token per identity asking for everything on the three repos and the catalog."""
        tokens = {}
        scopes = ["repository:%s:pull,push,delete" % repo for repo in MATRIX_REPOS]
        scopes.append("registry:catalog:*")
        for identity in IDENTITIES:
            doc = self.token(identity, *scopes)
            _, claims, _ = decode_jwt(doc["token"])
            want = {("repository", repo, frozenset(expected_actions(identity, repo)))
                    for repo in MATRIX_REPOS if expected_actions(identity, repo)}
            want.add(("registry", "catalog", frozenset({"*"})))
            self.assertEqual(access_set(claims["access"]), want,
                             "token of %s grants the wrong access" % identity)
            tokens[identity] = doc["token"]
        return tokens

    def check_refusal(self, r, identity, mode, scope, msg):
        if mode == "token":
            self.assert_challenge(r, scope=scope, error="insufficient_scope", msg=msg)
        elif identity == "anonymous":
            self.assert_challenge(r, scope=scope, error=None, msg=msg)
        else:
            self.assert_denied(r, msg=msg)

    def test_registry_endpoints(self):
        tokens = self.matrix_tokens()
        admin_hdrs = basic("admin", ADMIN_PASSWORD)
        for identity in IDENTITIES:
            for mode in self.MODES:
                hdrs = self.headers_for(identity, mode, tokens)
                for repo in MATRIX_REPOS:
                    with self.subTest(identity=identity, mode=mode, repo=repo):
                        self.run_cell(identity, mode, repo, hdrs, admin_hdrs)

    def run_cell(self, identity, mode, repo, hdrs, admin_hdrs):
        allowed = expected_actions(identity, repo)
        seed = _shared["seeds"][repo]
        cell = "%s/%s/%s" % (identity, mode, repo)

        # Fixtures made by the admin for this cell.
        victim_blob = os.urandom(64)
        self.assertEqual(push_blob_as(admin_hdrs, repo, victim_blob).status, 201)
        victim = admin_push_image(repo, layers=[os.urandom(32)])
        sessions = []
        for _ in range(2):
            r = self.req("POST", "/v2/%s/blobs/uploads/" % repo, headers=admin_hdrs)
            self.assertEqual(r.status, 202, r)
            sessions.append(urlsplit(r.header("Location")).path)
        upload_data = os.urandom(100)
        new_tag = "m-" + uuid.uuid4().hex[:12]
        new_manifest = image_manifest(seed["config"], seed["layers"], annotations={"cell": cell})

        def call(method, path, body=None, extra=None):
            h = dict(hdrs)
            h.update(extra or {})
            return self.req(method, path, body, h)

        ops = [
            ("GET manifest", "pull", 200,
             lambda: call("GET", "/v2/%s/manifests/base" % repo)),
            ("HEAD manifest", "pull", 200,
             lambda: call("HEAD", "/v2/%s/manifests/%s" % (repo, seed["digest"]))),
            ("GET blob", "pull", 200,
             lambda: call("GET", "/v2/%s/blobs/%s" % (repo, sha256(seed["config"])))),
            ("HEAD blob", "pull", 200,
             lambda: call("HEAD", "/v2/%s/blobs/%s" % (repo, sha256(seed["layers"][0])))),
            ("GET tags/list", "pull", 200,
             lambda: call("GET", "/v2/%s/tags/list" % repo)),
            ("GET referrers", "pull", 200,
             lambda: call("GET", "/v2/%s/referrers/%s" % (repo, seed["digest"]))),
            ("POST upload", "push", 202,
             lambda: call("POST", "/v2/%s/blobs/uploads/" % repo)),
            ("PATCH upload", "push", 202,
             lambda: call("PATCH", sessions[0], upload_data,
                          {"Content-Type": "application/octet-stream"})),
            ("PUT upload", "push", 201,
             lambda: call("PUT", sessions[1] + "?digest=" + sha256(upload_data), upload_data,
                          {"Content-Type": "application/octet-stream"})),
            ("PUT manifest", "push", 201,
             lambda: call("PUT", "/v2/%s/manifests/%s" % (repo, new_tag), new_manifest,
                          {"Content-Type": OCI_MANIFEST})),
            ("DELETE blob", "delete", 202,
             lambda: call("DELETE", "/v2/%s/blobs/%s" % (repo, sha256(victim_blob)))),
            ("DELETE manifest", "delete", 202,
             lambda: call("DELETE", "/v2/%s/manifests/%s" % (repo, victim["digest"]))),
        ]
        for name, action, ok_status, do in ops:
            r = do()
            msg = "%s as %s: %r" % (name, cell, r)
            if action in allowed:
                self.assertEqual(r.status, ok_status, msg)
            else:
                self.check_refusal(r, identity, mode, scope_for(repo, action), msg)
            if name == "GET manifest" and r.status == 200:
                self.assertEqual(r.body, seed["body"], msg)
            if name == "GET tags/list" and r.status == 200:
                self.assertIn("base", r.json()["tags"], msg)
            if name == "GET referrers" and r.status == 200:
                self.assertEqual([m["digest"] for m in r.json()["manifests"]], [seed["referrer"]])

        # What happened (or did not) to the fixtures.
        pushed = "push" in allowed
        deleted = "delete" in allowed
        self.assertEqual(self.manifest_exists(repo, new_tag), pushed, cell + ": PUT manifest effect")
        self.assertEqual(self.blob_exists(repo, sha256(upload_data)), pushed,
                         cell + ": PUT upload effect")
        r = self.req("GET", sessions[0], headers=admin_hdrs)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Range"), "0-99" if pushed else "0-0", cell + ": PATCH effect")
        self.assertEqual(self.blob_exists(repo, sha256(victim_blob)), not deleted,
                         cell + ": DELETE blob effect")
        self.assertEqual(self.manifest_exists(repo, victim["digest"]), not deleted,
                         cell + ": DELETE manifest effect")

    def test_catalog_lists_only_what_the_caller_may_pull(self):
        tokens = self.matrix_tokens()
        # Every repository, as the system administrator sees it.
        r = self.admin("GET", "/v2/_catalog?n=100000")
        self.assertEqual(r.status, 200, r)
        every = r.json()["repositories"]
        for repo in MATRIX_REPOS:
            self.assertIn(repo, every)
        for identity in IDENTITIES:
            want = [repo for repo in every if "pull" in expected_actions(identity, repo)]
            for mode in self.MODES:
                with self.subTest(identity=identity, mode=mode):
                    r = self.req("GET", "/v2/_catalog?n=100000",
                                 headers=self.headers_for(identity, mode, tokens))
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(r.json()["repositories"], want,
                                     "catalog of %s (%s)" % (identity, mode))
        # Pagination never reveals hidden names: page through as the outsider.
        seen, path = [], "/v2/_catalog?n=1"
        for _ in range(100):
            r = self.req("GET", path, headers=self.creds("outsider"))
            self.assertEqual(r.status, 200, r)
            seen.extend(r.json()["repositories"])
            link = r.header("Link")
            if not link:
                break
            path = LINK_NEXT_RE.match(link).group(1)
        self.assertEqual(seen, [repo for repo in every if namespace_of(repo) == TEAM_B])
        # A token without the catalog scope.
        tok = self.token("admin", "repository:%s:pull" % REPO_A)["token"]
        r = self.req("GET", "/v2/_catalog", headers=bearer(tok))
        self.assert_challenge(r, scope="registry:catalog:*", error="insufficient_scope")

    def test_cross_repository_mount_needs_pull_on_the_source(self):
        tokens_scopes = ("repository:%s:pull,push" % REPO_A, "repository:%s:pull" % REPO_B,
                         "repository:%s:pull" % REPO_O)
        for identity in ("developer", "robot"):
            tok = self.token(identity, *tokens_scopes)["token"]
            for mode, hdrs in (("token", bearer(tok)), ("basic", self.creds(identity))):
                with self.subTest(identity=identity, mode=mode):
                    # From other/app (not pullable): no mount, a plain upload session.
                    src = admin_push_image(REPO_O)
                    layer = sha256(src["layers"][0])
                    r = self.req("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s"
                                 % (REPO_A, layer, REPO_O), headers=hdrs)
                    self.assertEqual(r.status, 202, "mount from a repository %s may not pull: %r"
                                     % (identity, r))
                    self.assertTrue(r.header("Location"), r)
                    self.assertIsNone(r.header("Docker-Content-Digest"), r)
                    self.assertFalse(self.blob_exists(REPO_A, layer),
                                     "the blob was mounted from %s" % REPO_O)
                    # From team-b/app (anonymous pull): mounted.
                    src = admin_push_image(REPO_B)
                    layer = sha256(src["layers"][0])
                    r = self.req("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s"
                                 % (REPO_A, layer, REPO_B), headers=hdrs)
                    self.assertEqual(r.status, 201, r)
                    self.assertEqual(r.header("Docker-Content-Digest"), layer, r)
                    self.assertTrue(self.blob_exists(REPO_A, layer))
        # A token without pull on the source does not mount either, even from a
        # repository the identity could pull with another token.
        tok = self.token("developer", "repository:%s:pull,push" % REPO_A)["token"]
        src = admin_push_image(REPO_B)
        layer = sha256(src["layers"][0])
        r = self.req("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" % (REPO_A, layer, REPO_B),
                     headers=bearer(tok))
        self.assertEqual(r.status, 202, r)
        self.assertFalse(self.blob_exists(REPO_A, layer))

    def test_namespace_admin_endpoints(self):
        tokens = self.matrix_tokens()
        members = {"reader", "developer", "maintainer", "nsadmin"}
        for identity in IDENTITIES:
            for mode in self.MODES:
                with self.subTest(identity=identity, mode=mode):
                    self.run_admin_cell(identity, mode, self.headers_for(identity, mode, tokens),
                                        members)

    def run_admin_cell(self, identity, mode, hdrs, members):
        cell = "%s/%s" % (identity, mode)
        is_admin = identity == "admin"
        jhdrs = dict(hdrs, **{"Content-Type": "application/json"})

        def expect(r, allowed, ok_status, what):
            msg = "%s as %s: %r" % (what, cell, r)
            if allowed:
                self.assertEqual(r.status, ok_status, msg)
            else:
                self.assert_error(r, 403, "DENIED", msg)

        def member_list(ns):
            r = self.admin("GET", "/api/v1/namespaces/%s/members" % ns)
            self.assertEqual(r.status, 200, r)
            return {m["user"]: m["role"] for m in r.json()}

        def rule_names(ns):
            r = self.admin("GET", "/api/v1/namespaces/%s/tag-rules" % ns)
            self.assertEqual(r.status, 200, r)
            return {x["name"] for x in r.json()}

        # The administration API takes Basic credentials only: registry tokens
        # (whoever holds them) and anonymous callers get a Basic challenge.
        if mode == "token" or identity == "anonymous":
            for method, path, body in (
                    ("GET", "/api/v1/namespaces/%s/members" % TEAM_A, None),
                    ("PUT", "/api/v1/namespaces/%s/members/guest" % TEAM_A, {"role": "reader"}),
                    ("DELETE", "/api/v1/namespaces/%s/members/reader" % TEAM_A, None),
                    ("GET", "/api/v1/tag-rules", None),
                    ("POST", "/api/v1/namespaces/%s/tag-rules" % TEAM_A,
                     {"name": "x-" + uuid.uuid4().hex[:6], "pattern": "*"})):
                data = json.dumps(body).encode() if body is not None else None
                r = self.req(method, path, data, jhdrs if data else hdrs)
                self.assert_error(r, 401, "UNAUTHORIZED", "%s %s as %s: %r" % (method, path, cell, r))
                self.assertEqual(r.header("WWW-Authenticate"), 'Basic realm="portcullis"', r)
            self.assertEqual(member_list(TEAM_A), ROLES)
            return

        # Members: list (members and system admins), change (namespace admins).
        r = self.req("GET", "/api/v1/namespaces/%s/members" % TEAM_A, headers=hdrs)
        expect(r, identity in members or is_admin, 200, "GET team-a members")
        if r.status == 200:
            self.assertEqual({m["user"]: m["role"] for m in r.json()}, ROLES)
        r = self.req("GET", "/api/v1/namespaces/%s/members" % TEAM_B, headers=hdrs)
        expect(r, is_admin, 200, "GET team-b members")
        for ns, may in ((TEAM_A, identity in ("nsadmin", "admin")), (TEAM_B, is_admin)):
            r = self.req("PUT", "/api/v1/namespaces/%s/members/guest" % ns,
                         json.dumps({"role": "reader"}).encode(), jhdrs)
            expect(r, may, 204, "PUT %s member" % ns)
            self.assertEqual("guest" in member_list(ns), may, cell + ": member.set effect")
            if not may:
                admin_json("PUT", "/api/v1/namespaces/%s/members/guest" % ns, {"role": "reader"},
                           204)
            r = self.req("DELETE", "/api/v1/namespaces/%s/members/guest" % ns, headers=hdrs)
            expect(r, may, 204, "DELETE %s member" % ns)
            self.assertEqual("guest" in member_list(ns), not may, cell + ": member.remove effect")
            if not may:
                must(self.admin("DELETE", "/api/v1/namespaces/%s/members/guest" % ns), 204)
        self.assertEqual(member_list(TEAM_A), ROLES)

        # Tag rules: list (anyone authenticated), change (maintainers and admins).
        r = self.req("GET", "/api/v1/namespaces/%s/tag-rules" % TEAM_A, headers=hdrs)
        expect(r, identity != "anonymous", 200, "GET team-a tag rules")
        r = self.req("GET", "/api/v1/tag-rules", headers=hdrs)
        expect(r, identity != "anonymous", 200, "GET all tag rules")
        for ns, may in ((TEAM_A, identity in ("maintainer", "nsadmin", "admin")),
                        (TEAM_B, is_admin)):
            name = "m-%s-%s-%s" % (identity, mode, uuid.uuid4().hex[:6])
            r = self.req("POST", "/api/v1/namespaces/%s/tag-rules" % ns,
                         json.dumps({"name": name, "pattern": "zz-never-*"}).encode(), jhdrs)
            expect(r, may, 201, "POST %s tag rule" % ns)
            self.assertEqual(name in rule_names(ns), may, cell + ": tagrule.create effect")
            if not may:
                admin_json("POST", "/api/v1/namespaces/%s/tag-rules" % ns,
                           {"name": name, "pattern": "zz-never-*"}, 201)
            r = self.req("DELETE", "/api/v1/namespaces/%s/tag-rules/%s" % (ns, name), headers=hdrs)
            expect(r, may, 204, "DELETE %s tag rule" % ns)
            self.assertEqual(name in rule_names(ns), not may, cell + ": tagrule.delete effect")
            if not may:
                must(self.admin("DELETE", "/api/v1/namespaces/%s/tag-rules/%s" % (ns, name)), 204)

        # System-administrator endpoints.
        for path in ("/api/v1/users", "/api/v1/robots", "/api/v1/audit?n=1",
                     "/api/v1/audit/verify"):
            r = self.req("GET", path, headers=hdrs)
            expect(r, is_admin, 200, "GET " + path)
        r = self.req("PUT", "/api/v1/namespaces/%s" % TEAM_A, json.dumps({}).encode(), jhdrs)
        expect(r, is_admin, 204, "PUT namespace")


# --------------------------------------------------------------------------
# 4. Immutable tags


class ImmutableTagsTest(AuthTestCase):

    @classmethod
    def setUpClass(cls):
        # Idempotent: the rule may exist when this class runs twice.
        r = admin_req("POST", "/api/v1/namespaces/%s/tag-rules" % TEAM_A,
                      json.dumps({"name": "releases", "pattern": "v*"}).encode(),
                      {"Content-Type": "application/json"})
        if r.status not in (201, 409):
            raise AssertionError("creating the tag rule failed: %r" % r)

    def setUp(self):
        self.repo = "team-a/imm-" + uuid.uuid4().hex[:8]
        scope = "repository:%s:pull,push,delete" % self.repo
        self.dev = bearer(self.token("developer", scope)["token"])
        self.maint = bearer(self.token("maintainer", scope)["token"])

    def push(self, hdrs, tag, body):
        return self.req("PUT", "/v2/%s/manifests/%s" % (self.repo, tag), body,
                        dict(hdrs, **{"Content-Type": OCI_MANIFEST}))

    def image(self, hdrs):
        config, layer = new_config(), os.urandom(50)
        for blob in (config, layer):
            self.assertEqual(push_blob_as(hdrs, self.repo, blob).status, 201)
        return image_manifest(config, [layer])

    def tag_digest(self, tag):
        r = self.admin("HEAD", "/v2/%s/manifests/%s" % (self.repo, tag))
        return r.header("Docker-Content-Digest") if r.status == 200 else None

    def test_matching_tag_is_immutable(self):
        a, b = self.image(self.dev), self.image(self.dev)
        self.assertEqual(self.push(self.dev, "v1", a).status, 201)
        # The same digest again is fine.
        r = self.push(self.dev, "v1", a)
        self.assertEqual(r.status, 201, r)
        # Another digest is refused, naming the rule; v1 does not move.
        r = self.push(self.dev, "v1", b)
        doc = self.assert_error(r, 403, "DENIED")
        self.assertIn("releases", doc["errors"][0]["message"])
        self.assertEqual(self.tag_digest("v1"), sha256(a))
        # Even a system administrator cannot move or delete it.
        r = self.admin("PUT", "/v2/%s/manifests/v1" % self.repo, b, {"Content-Type": OCI_MANIFEST})
        self.assert_error(r, 403, "DENIED")
        for hdrs in (self.maint, basic("admin", ADMIN_PASSWORD)):
            r = self.req("DELETE", "/v2/%s/manifests/v1" % self.repo, headers=hdrs)
            doc = self.assert_error(r, 403, "DENIED")
            self.assertIn("releases", doc["errors"][0]["message"])
            r = self.req("DELETE", "/v2/%s/manifests/%s" % (self.repo, sha256(a)), headers=hdrs)
            doc = self.assert_error(r, 403, "DENIED")
            self.assertIn("releases", doc["errors"][0]["message"])
        self.assertEqual(self.tag_digest("v1"), sha256(a))
        self.assertTrue(self.manifest_exists(self.repo, sha256(a)))
        # A new matching tag can still be created, once.
        self.assertEqual(self.push(self.dev, "v2.0", b).status, 201)
        self.assert_error(self.push(self.dev, "v2.0", a), 403, "DENIED")
        # The rule covers nested repositories of the namespace.
        nested = "team-a/deep/%s" % uuid.uuid4().hex[:6]
        hdrs = basic("admin", ADMIN_PASSWORD)
        imgs = []
        for _ in range(2):
            config = new_config()
            self.assertEqual(push_blob_as(hdrs, nested, config).status, 201)
            imgs.append(image_manifest(config, []))
        r = self.admin("PUT", "/v2/%s/manifests/v9" % nested, imgs[0], {"Content-Type": OCI_MANIFEST})
        self.assertEqual(r.status, 201, r)
        r = self.admin("PUT", "/v2/%s/manifests/v9" % nested, imgs[1], {"Content-Type": OCI_MANIFEST})
        self.assert_error(r, 403, "DENIED")

    def test_non_matching_tag_moves_freely(self):
        a, b = self.image(self.dev), self.image(self.dev)
        for body in (a, b, a):
            r = self.push(self.dev, "latest", body)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(self.tag_digest("latest"), sha256(body))
        r = self.req("DELETE", "/v2/%s/manifests/latest" % self.repo, headers=self.maint)
        self.assertEqual(r.status, 202, r)
        self.assertIsNone(self.tag_digest("latest"))
        r = self.req("DELETE", "/v2/%s/manifests/%s" % (self.repo, sha256(b)), headers=self.maint)
        self.assertEqual(r.status, 202, r)
        # Globs match the whole tag: "version1" matches "v*" ...
        self.assertEqual(self.push(self.dev, "version1", a).status, 201)
        self.assert_error(self.push(self.dev, "version1", b), 403, "DENIED")
        # ... and "V1" does not (case matters).
        self.assertEqual(self.push(self.dev, "V1", a).status, 201)
        self.assertEqual(self.push(self.dev, "V1", b).status, 201)

    def test_signature_tags_are_never_blocked(self):
        # A namespace where every tag is immutable.
        ns = "sealed-" + uuid.uuid4().hex[:6]
        admin_json("PUT", "/api/v1/namespaces/" + ns, {}, 204)
        admin_json("POST", "/api/v1/namespaces/%s/tag-rules" % ns,
                   {"name": "everything", "pattern": "*"}, 201)
        repo = ns + "/app"
        subject = admin_push_image(repo, "1.0")
        hdrs = basic("admin", ADMIN_PASSWORD)
        self.assertEqual(push_blob_as(hdrs, repo, EMPTY_JSON).status, 201)
        sig_tag = "sha256-%s.sig" % subject["digest"].split(":", 1)[1]
        for tag in (sig_tag, sig_tag[:-4] + ".att"):
            sigs = [image_manifest(EMPTY_JSON, [], annotations={"n": uuid.uuid4().hex},
                                   config_media_type=OCI_EMPTY) for _ in range(2)]
            for body in sigs:
                r = self.admin("PUT", "/v2/%s/manifests/%s" % (repo, tag), body,
                               {"Content-Type": OCI_MANIFEST})
                self.assertEqual(r.status, 201, "signature tag %s blocked: %r" % (tag, r))
            r = self.admin("DELETE", "/v2/%s/manifests/%s" % (repo, tag))
            self.assertEqual(r.status, 202, r)
        # Whereas an ordinary tag there is immutable (the rule is in force).
        other = admin_push_image(repo)
        r = self.admin("PUT", "/v2/%s/manifests/1.0" % repo, other["body"],
                       {"Content-Type": OCI_MANIFEST})
        doc = self.assert_error(r, 403, "DENIED")
        self.assertIn("everything", doc["errors"][0]["message"])
        # Something that only looks like a signature tag is protected.
        fake = "sha256-%s.sig" % ("A" * 64)
        self.assertEqual(self.admin("PUT", "/v2/%s/manifests/%s" % (repo, fake), subject["body"],
                                    {"Content-Type": OCI_MANIFEST}).status, 201)
        r = self.admin("PUT", "/v2/%s/manifests/%s" % (repo, fake), other["body"],
                       {"Content-Type": OCI_MANIFEST})
        self.assert_error(r, 403, "DENIED")


# --------------------------------------------------------------------------
# 6. Login throttling


class LoginThrottleTest(AuthTestCase):

    def login(self, user, password, source):
        return self.req("GET", "/token?service=portcullis", headers=basic(user, password),
                        source=source)

    def test_repeated_failures_lock_the_account(self):
        a, b, c = fresh_source(), fresh_source(), fresh_source()
        # Sanity: the right password works before the attack.
        r = self.login("victim", PASSWORD, c)
        self.assertEqual(r.status, 200, r)
        for i in range(5):
            r = self.login("victim", "guess-%d" % i, a)
            self.assert_error(r, 401, "UNAUTHORIZED", "wrong password #%d: %r" % (i + 1, r))
        # Now even the right password is refused, from the attacker's address ...
        r = self.login("victim", PASSWORD, a)
        self.assert_error(r, 429, "TOOMANYREQUESTS")
        self.assertNotIn("token", r.json())
        retry = r.header("Retry-After")
        self.assertTrue(retry and retry.isdigit() and int(retry) > 0, r)
        # ... and from anywhere else (the account is locked, not just the address),
        r = self.login("victim", PASSWORD, b)
        self.assert_error(r, 429, "TOOMANYREQUESTS")
        r = self.req("POST", "/token", urlencode({
            "grant_type": "password", "username": "victim", "password": PASSWORD,
            "service": SERVICE}).encode(), {"Content-Type": "application/x-www-form-urlencoded"},
            source=b)
        self.assertEqual(r.status, 429, r)
        self.assertNotIn(b"access_token", r.body)
        r = self.req("GET", "/v2/", headers=basic("victim", PASSWORD), source=b)
        self.assert_error(r, 429, "TOOMANYREQUESTS")
        # The attacker's address is throttled for every account.
        r = self.login("bystander", PASSWORD, a)
        self.assert_error(r, 429, "TOOMANYREQUESTS")
        # Other accounts from other addresses are not affected.
        r = self.login("bystander", PASSWORD, c)
        self.assertEqual(r.status, 200, r)
        # Still locked a little later.
        time.sleep(1.0)
        r = self.login("victim", PASSWORD, c)
        self.assert_error(r, 429, "TOOMANYREQUESTS")


# --------------------------------------------------------------------------
# 5. Audit (last: it stops the server)


class AuditTest(AuthTestCase):

    def test_1_events_are_listed_with_actor_and_address(self):
        tag = uuid.uuid4().hex[:8]
        repo = "team-a/audit-" + tag
        ghost_src = fresh_source()
        ghost = "ghost-" + tag
        # A failed login, a successful one, a push, a tag delete, a blob delete,
        # a member change, a tag rule, a refused (immutable) push.
        r = self.req("GET", "/token?service=portcullis", headers=basic(ghost, "nope"),
                     source=ghost_src)
        self.assertEqual(r.status, 401, r)
        tok = self.token("maintainer", "repository:%s:pull,push,delete" % repo)["token"]
        hdrs = bearer(tok)
        config = new_config()
        self.assertEqual(push_blob_as(hdrs, repo, config).status, 201)
        body = image_manifest(config, [])
        r = self.req("PUT", "/v2/%s/manifests/rel-%s" % (repo, tag), body,
                     dict(hdrs, **{"Content-Type": OCI_MANIFEST}))
        self.assertEqual(r.status, 201, r)
        r = self.req("DELETE", "/v2/%s/manifests/rel-%s" % (repo, tag), headers=hdrs)
        self.assertEqual(r.status, 202, r)
        r = self.req("DELETE", "/v2/%s/blobs/%s" % (repo, sha256(config)), headers=hdrs)
        self.assertEqual(r.status, 202, r)
        admin_json("PUT", "/api/v1/namespaces/%s/members/guest" % TEAM_A, {"role": "developer"}, 204)
        must(self.admin("DELETE", "/api/v1/namespaces/%s/members/guest" % TEAM_A), 204)
        rule = "audit-" + tag
        r = self.req("POST", "/api/v1/namespaces/%s/tag-rules" % TEAM_A,
                     json.dumps({"name": rule, "pattern": "frozen-%s*" % tag}).encode(),
                     dict(basic("nsadmin", PASSWORD), **{"Content-Type": "application/json"}))
        self.assertEqual(r.status, 201, r)
        for expected in (201, 403):
            frozen_config = new_config()
            self.assertEqual(push_blob_as(hdrs, repo, frozen_config).status, 201)
            r = self.req("PUT", "/v2/%s/manifests/frozen-%s" % (repo, tag),
                         image_manifest(frozen_config, []),
                         dict(hdrs, **{"Content-Type": OCI_MANIFEST}))
            self.assertEqual(r.status, expected, r)
        self.assert_error(r, 403, "DENIED")
        # A refused admin call.
        r = self.req("GET", "/api/v1/audit", headers=basic("reader", PASSWORD))
        self.assert_error(r, 403, "DENIED")

        def find(events, **want):
            return [e for e in events if all(e.get(k) == v for k, v in want.items())]

        # Logins, blob deletions and refusals are written in the background
        # (~1 s); wait for each of them.
        for what, predicate in (
                ("the failed login", lambda e: e["actor"] == ghost and e["action"] == "login"),
                ("the blob deletion", lambda e: e["repository"] == repo and e["action"] == "delete"
                 and e["detail"] == "blob"),
                ("the refused push", lambda e: e["repository"] == repo and e["action"] == "push"
                 and e["result"] == "denied"),
                ("the refused audit.list", lambda e: e["actor"] == "reader"
                 and e["action"] == "audit.list" and e["result"] == "denied")):
            events = self.wait_audit(predicate, what)
        got = find(events, actor=ghost, action="login", result="failure")
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["source_address"], ghost_src)
        got = find(events, actor="maintainer", action="login", result="success")
        self.assertTrue(got, "no successful login event for the maintainer")
        self.assertEqual(got[-1]["source_address"], HOST)
        got = find(events, action="push", repository=repo, reference="rel-" + tag, result="success")
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["actor"], "maintainer")
        self.assertEqual(got[0]["source_address"], HOST)
        self.assertEqual(got[0]["digest"], sha256(body))
        got = find(events, action="delete", repository=repo, reference="rel-" + tag)
        self.assertEqual(len(got), 1, got)
        self.assertEqual((got[0]["actor"], got[0]["result"]), ("maintainer", "success"))
        got = find(events, action="delete", repository=repo, detail="blob")
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["actor"], "maintainer")
        got = find(events, action="member.set", repository=TEAM_A, reference="guest",
                   detail="role=developer")
        self.assertTrue(got, "no member.set event")
        self.assertEqual((got[-1]["actor"], got[-1]["source_address"], got[-1]["result"]),
                         ("admin", HOST, "success"))
        got = find(events, action="tagrule.create", repository=TEAM_A, reference=rule)
        self.assertEqual(len(got), 1, got)
        self.assertEqual((got[0]["actor"], got[0]["source_address"], got[0]["result"]),
                         ("nsadmin", HOST, "success"))
        got = find(events, action="push", repository=repo, reference="frozen-" + tag,
                   result="denied")
        self.assertEqual(len(got), 1, got)
        self.assertIn(rule, got[0]["detail"])
        got = find(events, actor="reader", action="audit.list", result="denied")
        self.assertTrue(got, "the refused audit.list call was not recorded")
        # Every event is chained.
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(seqs), len(set(seqs)))
        for prev, e in zip(events, events[1:]):
            if e["seq"] == prev["seq"] + 1:
                self.assertEqual(e["prev_hash"], prev["hash"], e)
        for e in events:
            self.assertRegex(e["hash"], r"^[0-9a-f]{64}$")
            self.assertIsInstance(e["time_ms"], int)
        # Filters.
        got = self.audit_events("action=login&result=failure&n=1000")
        self.assertTrue(got)
        self.assertTrue(all(e["action"] == "login" and e["result"] == "failure" for e in got))
        self.assertIn(ghost, [e["actor"] for e in got])
        got = self.audit_events("actor=%s" % quote(ghost))
        self.assertEqual([e["action"] for e in got], ["login"])

    def test_2_pagination_via_link(self):
        full = self.audit_events("n=1000")
        self.assertGreater(len(full), 10)
        # Small pages: a Link to the next one each time, the same events in the end.
        pages, path = [], "/api/v1/audit?n=7"
        while True:
            r = self.admin("GET", path)
            self.assertEqual(r.status, 200, r)
            page = r.json()["events"]
            pages.append(page)
            link = r.header("Link")
            if not link:
                break
            m = LINK_NEXT_RE.match(link)
            self.assertTrue(m, "malformed Link: %r" % link)
            self.assertEqual(len(page), 7, "a page before the last is short")
            self.assertIn("after=%d" % page[-1]["seq"], m.group(1))
            self.assertIn("n=7", m.group(1))
            path = m.group(1)
            self.assertLess(len(pages), 10000)
        walked = [e for p in pages for e in p]
        self.assertEqual([e["seq"] for e in walked], [e["seq"] for e in full[:len(walked)]])
        self.assertGreaterEqual(len(walked), len(full))
        # Filters survive in the Link.
        r = self.admin("GET", "/api/v1/audit?action=push&n=2")
        self.assertEqual(r.status, 200, r)
        link = r.header("Link")
        self.assertTrue(link and "action=push" in link, r)
        r2 = self.admin("GET", LINK_NEXT_RE.match(link).group(1))
        self.assertTrue(all(e["action"] == "push" for e in r2.json()["events"]))
        self.assertGreater(r2.json()["events"][0]["seq"], r.json()["events"][-1]["seq"])
        # Bad page sizes.
        for n in ("0", "1001", "x", "-1"):
            r = self.admin("GET", "/api/v1/audit?n=" + n)
            self.assert_error(r, 400, "PAGINATION_NUMBER_INVALID")

    def test_3_verify_endpoint(self):
        r = self.admin("GET", "/api/v1/audit/verify")
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual((doc["ok"], doc["problem"]), (True, "none"), doc)
        self.assertEqual(doc["events"], len(self.audit_events("n=1000")))

    def run_verify(self, data_dir):
        p = subprocess.run([BINARY, "audit", "verify", "--data", data_dir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=server_env(),
                           timeout=120)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def copy_db(self, name):
        """A data directory holding a copy of the metadata database."""
        d = os.path.join(_shared["tmp"], name)
        os.makedirs(d)
        for f in os.listdir(_shared["data"]):
            if f.startswith("metadata.db"):
                shutil.copy2(os.path.join(_shared["data"], f), os.path.join(d, f))
        return d

    def sqlite(self, data_dir, sql):
        p = subprocess.run(["sqlite3", os.path.join(data_dir, "metadata.db"), sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout)
        return p.stdout.decode().strip()

    def test_4_tampering_is_detected_offline(self):
        # The CLI reads the database directly: stop the server first.
        self.assertGreater(len(self.audit_events("n=1000")), 20)
        rc = self.server.stop()
        _shared["stopped"] = True
        self.assertEqual(rc, 0, "portcullis exited with %r after SIGTERM" % rc)
        if shutil.which("sqlite3") is None:
            self.skipTest("the sqlite3 CLI is not installed")
        probe = subprocess.run([BINARY, "audit", "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=server_env(), timeout=60)
        if probe.returncode != 0 or b"verify" not in probe.stdout:
            self.skipTest("`portcullis audit verify` does not exist in this build")

        rc, out = self.run_verify(_shared["data"])
        self.assertEqual(rc, 0, out)
        self.assertIn("OK", out)

        total = int(self.sqlite(_shared["data"], "SELECT COUNT(*) FROM audit_events"))
        seq = total // 2

        # An edited row.
        d = self.copy_db("edited")
        self.sqlite(d, "UPDATE audit_events SET actor='mallory' WHERE seq=%d" % seq)
        rc, out = self.run_verify(d)
        self.assertNotEqual(rc, 0, "an edited row was not detected:\n" + out)
        self.assertIn("edited", out)
        self.assertTrue("seq %d" % seq in out or "index %d" % (seq - 1) in out,
                        "the report does not name seq %d / index %d:\n%s" % (seq, seq - 1, out))

        # A deleted row.
        d = self.copy_db("deleted")
        self.sqlite(d, "DELETE FROM audit_events WHERE seq=%d" % seq)
        rc, out = self.run_verify(d)
        self.assertNotEqual(rc, 0, "a deleted row was not detected:\n" + out)
        self.assertIn("deleted", out)
        self.assertTrue("seq %d" % (seq + 1) in out or "index %d" % (seq - 1) in out
                        or "seq %d" % seq in out,
                        "the report does not say where:\n" + out)

        # Rows swapped (content exchanged between two seqs).
        d = self.copy_db("reordered")
        self.sqlite(d, "UPDATE audit_events SET seq=-1 WHERE seq=%d; "
                       "UPDATE audit_events SET seq=%d WHERE seq=%d; "
                       "UPDATE audit_events SET seq=%d WHERE seq=-1;"
                    % (seq, seq, seq + 1, seq + 1))
        rc, out = self.run_verify(d)
        self.assertNotEqual(rc, 0, "swapped rows were not detected:\n" + out)

        # The untouched original still verifies.
        rc, out = self.run_verify(_shared["data"])
        self.assertEqual(rc, 0, out)


def load_tests(loader, standard_tests, pattern):
    """Runs the classes in this order (the audit test stops the server)."""
    suite = unittest.TestSuite()
    for cls in (TokenFlowTest, ForgedTokenTest, CredentialRefusalTest, AuthorizationMatrixTest,
                ImmutableTagsTest, LoginThrottleTest, AuditTest):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


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
