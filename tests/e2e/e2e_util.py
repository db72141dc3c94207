"""Shared helpers for the Python e2e tests that run several servers or kill them:
one `portcullis serve` process on a free loopback port, and plain HTTP requests."""

import hashlib
import http.client
import os
import re
import signal
import subprocess
import sys
import time

HOST = "127.0.0.1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
ACCEPT = ",".join([
    OCI_MANIFEST, "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"])
LISTENING_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Violation(Exception):
    """What a test asserts did not hold."""


def check(cond, message):
    if not cond:
        raise Violation(message)


class Server:
    """`portcullis serve --data DATA` on a free loopback port; one log file per start.

    The metadata engine follows the environment (PORTCULLIS_METADATA_POSTGRES_URL,
    see with_postgres.sh); `env` adds PORTCULLIS_* settings."""

    def __init__(self, binary, data, log_dir, name="serve", env=None):
        self.binary, self.data, self.log_dir, self.name = binary, data, log_dir, name
        self.extra_env = env or {}
        self.proc = None
        self.port = None
        self.starts = 0
        self.log = None

    def env(self):
        env = dict(os.environ)
        env["PORTCULLIS_LOG_ACCESS_LOG"] = "false"
        env["PORTCULLIS_SCANNER_SCAN_ON_PUSH"] = "false"
        env.update(self.extra_env)
        return env

    def start(self):
        self.launch()
        self.wait_listening()

    def launch(self):
        """Starts the process without waiting (see wait_listening)."""
        self.starts += 1
        self.log_path = os.path.join(self.log_dir, "%s-%03d.log" % (self.name, self.starts))
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", HOST + ":0", "--data", self.data],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env())

    def wait_listening(self):
        log_path = self.log_path
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(log_path, "rb") as f:
                m = LISTENING_RE.search(f.read().decode("utf-8", "replace"))
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        with open(log_path, "rb") as f:
            sys.stderr.write(f.read().decode("utf-8", "replace")[-4000:])
        raise Violation("server did not start (log %s)" % log_path)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()
        self.proc = None

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.proc = None

    def fsck(self, verify):
        args = [self.binary, "fsck", "--data", self.data]
        if not verify:
            args.append("--no-verify")
        r = subprocess.run(args, capture_output=True, env=self.env(), timeout=600)
        out = r.stdout.decode() + r.stderr.decode()
        check(r.returncode == 0, "fsck failed (exit %d):\n%s" % (r.returncode, out[-4000:]))
        return out


def request(port, method, path, body=None, headers=None, timeout=10):
    """(status, lower-cased headers, body) of one request on a new connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def harness_layout(layout):
    """Builds the harness test images into LAYOUT's parent when missing."""
    if not os.path.exists(os.path.join(layout, "index.json")):
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run(["bash", os.path.join(here, "..", "harness", "build-test-images.sh"),
                        os.path.dirname(layout)], check=True, stdout=subprocess.DEVNULL)
    return layout
