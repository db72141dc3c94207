#!/usr/bin/env bash
# HTTPS end to end: a throw-away CA and server certificate, Portcullis with
# TLS on a free loopback port, curl / openssl s_client / skopeo against it,
# certificate reload on SIGHUP, and the listen-address start-up rules.
# Nothing here ever binds a non-loopback address.
# Usage: tls_test.sh PORTCULLIS_BIN [HARNESS_CACHE]
set -euo pipefail
BIN=$(readlink -f "${1:?usage: tls_test.sh PORTCULLIS_BIN [HARNESS_CACHE]}")
CACHE=${2:-${HARNESS_CACHE:-/var/tmp/registry-harness-cache}}
HERE=$(dirname "$(readlink -f "$0")")
source "$HERE/lib.sh"
WORK=$(mktemp -d /var/tmp/pc-e2e-tls.XXXXXX)
trap 'pc_stop; rm -rf "$WORK"' EXIT
PKI=$WORK/pki
mkdir -p "$PKI"

passed=0
pass() { echo "PASS  $*"; passed=$((passed + 1)); }
fail() { echo "FAIL  $*" >&2; [ -n "$PC_LOG" ] && tail -n 20 "$PC_LOG" >&2; exit 1; }

# ------------------------------------------------------------------ PKI
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=Portcullis test CA" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
# make_cert NAME SERIAL: $PKI/NAME.{key,crt} for 127.0.0.1 and localhost, signed by the CA.
make_cert() {
  local name=$1 serial=$2
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "$serial" \
    -days 2 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
}
make_cert one 4097   # 0x1001
make_cert two 8194   # 0x2002
# The files the server is configured with; replaced in place for the reload checks.
cp "$PKI/one.crt" "$PKI/server.crt"
cp "$PKI/one.key" "$PKI/server.key"
mkdir -p "$PKI/certs.d" && cp "$PKI/ca.crt" "$PKI/certs.d/ca.crt"  # skopeo --*-cert-dir

cat >"$WORK/tls.yaml" <<EOF
tls:
  certificate: $PKI/server.crt
  key: $PKI/server.key
http:
  io_timeout_seconds: 3
scanner:
  scan_on_push: false
EOF

pc_start "$BIN" "$WORK/data" --config "$WORK/tls.yaml"
PORT=${PC_ADDR##*:}
URL="https://127.0.0.1:$PORT"
echo "portcullis on https://$PC_ADDR (pid $PC_PID)"
grep -q "listening on .*(https" "$PC_LOG" || fail "start-up line does not say https"

c() { curl -sS --cacert "$PKI/ca.crt" "$@"; }
# served_serial: the serial of the certificate a new connection is given.
served_serial() {
  openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$PKI/ca.crt" \
    -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial | cut -d= -f2
}
# wait_log PATTERN N: until PATTERN occurs N times in the log (5 s).
wait_log() {
  local i
  for i in $(seq 1 100); do
    [ "$(grep -c -- "$1" "$PC_LOG" || true)" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}

# ------------------------------------------------------------------ HTTPS basics
code=$(c -o /dev/null -w '%{http_code}' "$URL/v2/")
[ "$code" = 200 ] || fail "GET /v2/ over HTTPS: $code"
code=$(c -o /dev/null -w '%{http_code}' --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/v2/")
[ "$code" = 200 ] || fail "GET https://localhost/v2/: $code"
pass "GET /v2/ over HTTPS verifies against the test CA (IP and DNS names)"

if curl -s -o /dev/null "$URL/v2/" 2>/dev/null; then fail "curl without the CA trusted the certificate"; fi
pass "a client without the test CA refuses the certificate"

# ------------------------------------------------------------------ blobs over TLS
head -c $((7 * 1024 * 1024 + 12345)) /dev/urandom >"$WORK/blob"
digest=sha256:$(sha256sum "$WORK/blob" | cut -d' ' -f1)
loc=$(c -o /dev/null -D - -X POST "$URL/v2/tls/blob/blobs/uploads/" | tr -d '\r' |
  sed -n 's/^[Ll]ocation: //p')
[ -n "$loc" ] || fail "POST upload gave no Location"
case "$loc" in http*) ;; *) loc="$URL$loc" ;; esac
case "$loc" in *\?*) sep='&' ;; *) sep='?' ;; esac
code=$(c -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
  --data-binary @"$WORK/blob" "$loc${sep}digest=$digest")
[ "$code" = 201 ] || fail "PUT blob over HTTPS: $code"
got=$(c "$URL/v2/tls/blob/blobs/$digest" | sha256sum | cut -d' ' -f1)
[ "sha256:$got" = "$digest" ] || fail "GET blob over HTTPS: digest $got"
c -o "$WORK/range" -H 'Range: bytes=1000000-5200000' -w '%{http_code}' \
  "$URL/v2/tls/blob/blobs/$digest" >"$WORK/code"
[ "$(cat "$WORK/code")" = 206 ] || fail "ranged GET: $(cat "$WORK/code")"
cmp -s "$WORK/range" <(tail -c +1000001 "$WORK/blob" | head -c 4200001) || fail "ranged GET bytes differ"
pass "7 MiB blob pushed and pulled whole and by Range over HTTPS (chunked file bodies)"
for i in 1 2 3; do (c "$URL/v2/tls/blob/blobs/$digest" 2>/dev/null || true) | head -c 1000 >/dev/null; done
sleep 0.3
kill -0 "$PC_PID" || fail "server died when clients abandoned downloads"
got=$(c "$URL/v2/tls/blob/blobs/$digest" | sha256sum | cut -d' ' -f1)
[ "sha256:$got" = "$digest" ] || fail "GET blob after abandoned downloads: $got"
pass "clients abandoning HTTPS blob downloads midway do not disturb the server"

# A manifest far larger than one TLS record (16 KiB), served from memory.
printf '{}' >"$WORK/empty"
code=$(c -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' \
  --data-binary @"$WORK/empty" \
  "$URL/v2/tls/big/blobs/uploads/?digest=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
[ "$code" = 201 ] || fail "monolithic POST of the empty config: $code"
python3 - "$WORK/bigmanifest" <<'PY'
import json, sys
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
     "layers": [], "annotations": {"k%04d" % i: "v" * 90 for i in range(1200)}}
open(sys.argv[1], "w").write(json.dumps(m))
PY
code=$(c -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary @"$WORK/bigmanifest" "$URL/v2/tls/big/manifests/v1")
[ "$code" = 201 ] || fail "PUT of a 120 KB manifest over HTTPS: $code"
c -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$URL/v2/tls/big/manifests/v1" >"$WORK/bigmanifest.got" ||
  fail "GET of a 120 KB manifest over HTTPS failed"
cmp -s "$WORK/bigmanifest" "$WORK/bigmanifest.got" || fail "120 KB manifest bytes differ over HTTPS"
pass "a 120 KB manifest (many TLS records, served from memory) round-trips over HTTPS"

# ------------------------------------------------------------------ protocol versions and ciphers
sc() { openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$PKI/ca.crt" "$@" </dev/null >"$WORK/sc.out" 2>&1; }
sc -tls1_2 || fail "TLS 1.2 handshake failed: $(tail -n 3 "$WORK/sc.out")"
grep -q 'Cipher is ECDHE-' "$WORK/sc.out" || fail "TLS 1.2 did not negotiate ECDHE: $(grep Cipher "$WORK/sc.out")"
sc -tls1_3 || fail "TLS 1.3 handshake failed"
pass "TLS 1.2 (ECDHE) and TLS 1.3 handshakes succeed"
# SECLEVEL=0 lets the client offer TLS 1.1 at all: the refusal must come from the server.
if sc -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'; then fail "TLS 1.1 was accepted"; fi
grep -qi 'protocol version\|unsupported protocol\|no protocols available' "$WORK/sc.out" ||
  fail "TLS 1.1 failed for another reason: $(tail -n 3 "$WORK/sc.out")"
if curl -s -o /dev/null --cacert "$PKI/ca.crt" --tlsv1.0 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' "$URL/v2/"; then
  fail "curl --tls-max 1.1 succeeded"
fi
pass "TLS 1.1 is refused by the server (openssl s_client -tls1_1, curl --tls-max 1.1)"
# The test key is ECDSA, so only ECDHE-ECDSA suites are possible at all; OpenSSL's
# default list would accept these CBC ones.
for weak in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA ECDHE-ECDSA-AES128-SHA256; do
  if sc -tls1_2 -cipher "$weak"; then fail "TLS 1.2 accepted the CBC cipher $weak"; fi
done
pass "TLS 1.2 refuses CBC cipher suites"
sc -tls1_2 -cipher 'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256' || fail "AEAD suites refused"
grep -q 'Cipher is ECDHE-ECDSA-AES128-GCM-SHA256' "$WORK/sc.out" ||
  fail "server preference ignored: $(grep 'Cipher is' "$WORK/sc.out")"
pass "the server's cipher order wins over the client's (TLS 1.2)"

# ------------------------------------------------------------------ plain HTTP and stalled handshakes
body=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/v2/") || true
case "$body" in *"plain HTTP request sent to the HTTPS port"*" 400") ;;
  *) fail "plain HTTP to the TLS port: $body" ;; esac
code=$(c -o /dev/null -w '%{http_code}' "$URL/v2/")
[ "$code" = 200 ] || fail "HTTPS after a plain HTTP request: $code"
pass "plain HTTP to the TLS port gets a clean 400 and the server keeps serving"

# A client that never completes the handshake is dropped after http.io_timeout_seconds (3).
python3 - "$PORT" <<'EOF' || fail "stalled handshakes were not dropped"
import socket, sys, time
port = int(sys.argv[1])
silent = socket.create_connection(("127.0.0.1", port))
partial = socket.create_connection(("127.0.0.1", port))
partial.sendall(b"\x16\x03\x01\x02\x00\x01")  # start of a ClientHello, then nothing
start = time.monotonic()
for s in (silent, partial):
    s.settimeout(10)
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    assert data == b"", data
took = time.monotonic() - start
assert 2 <= took <= 8, took
EOF
code=$(c -o /dev/null -w '%{http_code}' "$URL/v2/")
[ "$code" = 200 ] || fail "HTTPS after stalled handshakes: $code"
pass "silent and half-finished handshakes are dropped after the io timeout"

# ------------------------------------------------------------------ skopeo round trip
LAYOUT=$(cd "$CACHE/oci" && pwd) || fail "no harness images in $CACHE (tests/harness/build-test-images.sh)"
want=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="debian-base") | .digest' \
  "$LAYOUT/index.json")
[ -n "$want" ] || fail "harness layout has no debian-base"
skopeo copy -q --dest-cert-dir "$PKI/certs.d" --digestfile "$WORK/pushed" \
  "oci:$LAYOUT:debian-base" "docker://127.0.0.1:$PORT/tls/debian:v1" || fail "skopeo push over HTTPS"
[ "$(cat "$WORK/pushed")" = "$want" ] || fail "skopeo push digest $(cat "$WORK/pushed") != $want"
skopeo copy -q --src-cert-dir "$PKI/certs.d" "docker://127.0.0.1:$PORT/tls/debian:v1" \
  "oci:$WORK/back:debian" || fail "skopeo pull over HTTPS"
back=$(jq -r '.manifests[0].digest' "$WORK/back/index.json")
[ "$back" = "$want" ] || fail "skopeo round trip: $back != $want"
for layer in $(jq -r '.layers[].digest' "$WORK/back/blobs/sha256/${want#sha256:}"); do
  [ "$(sha256sum "$WORK/back/blobs/sha256/${layer#sha256:}" | cut -d' ' -f1)" = "${layer#sha256:}" ] ||
    fail "layer $layer corrupted"
done
if skopeo inspect --raw "docker://127.0.0.1:$PORT/tls/debian:v1" >/dev/null 2>&1; then
  fail "skopeo without the CA trusted the registry"
fi
pass "skopeo copy to the HTTPS registry and back keeps the manifest digest ($want) and layers"

# ------------------------------------------------------------------ reload on SIGHUP
[ "$(served_serial)" = 1001 ] || fail "initial serial $(served_serial)"
loads=$(grep -c 'tls: loaded certificate' "$PC_LOG")
cp "$PKI/two.crt" "$PKI/server.crt.new" && mv "$PKI/server.crt.new" "$PKI/server.crt"
cp "$PKI/two.key" "$PKI/server.key.new" && mv "$PKI/server.key.new" "$PKI/server.key"
kill -HUP "$PC_PID"
wait_log 'tls: loaded certificate' $((loads + 1)) || fail "no reload after SIGHUP"
[ "$(served_serial)" = 2002 ] || fail "serial after reload: $(served_serial)"
kill -0 "$PC_PID" || fail "server died on SIGHUP"
[ "$(c -o /dev/null -w '%{http_code}' "$URL/v2/")" = 200 ] || fail "HTTPS after reload"
pass "SIGHUP loads the new certificate (serial 1001 -> 2002) without a restart"

errors=$(grep -c 'still serving the previous certificate' "$PC_LOG" || true)
cp "$PKI/server.crt" "$WORK/good.crt"
echo "not a certificate" >"$PKI/server.crt"
kill -HUP "$PC_PID"
wait_log 'still serving the previous certificate' $((errors + 1)) || fail "bad certificate not reported"
[ "$(served_serial)" = 2002 ] || fail "serial after a bad reload: $(served_serial)"
cp "$PKI/one.crt" "$PKI/server.crt"  # valid certificate, but server.key belongs to "two"
kill -HUP "$PC_PID"
wait_log 'still serving the previous certificate' $((errors + 2)) || fail "mismatched key not reported"
grep -q 'cannot load private key.*mismatch' "$PC_LOG" || fail "mismatch message missing"
[ "$(served_serial)" = 2002 ] || fail "serial after a mismatched reload: $(served_serial)"
[ "$(c -o /dev/null -w '%{http_code}' "$URL/v2/")" = 200 ] || fail "HTTPS after bad reloads"
pass "a garbage certificate or a mismatched key on SIGHUP is logged and the previous certificate stays"
pc_stop

# ------------------------------------------------------------------ start-up rules
cp "$WORK/good.crt" "$PKI/server.crt"
# start_rc ARGS...: exit code of a serve that must not keep running (10 s bound).
start_rc() {
  local rc=0
  timeout 10 "$BIN" serve --data "$WORK/rules" "$@" >"$WORK/rules.log" 2>&1 || rc=$?
  echo "$rc"
}
rc=$(start_rc --listen 0.0.0.0:0)
[ "$rc" = 2 ] || fail "0.0.0.0 without consent exited $rc: $(cat "$WORK/rules.log")"
grep -q 'refusing to listen on 0.0.0.0:0: authentication is off' "$WORK/rules.log" ||
  fail "refusal message: $(cat "$WORK/rules.log")"
grep -q -- '--insecure-anonymous' "$WORK/rules.log" || fail "refusal does not name --insecure-anonymous"
rc=0
PORTCULLIS_TLS_CERTIFICATE=$PKI/server.crt PORTCULLIS_TLS_KEY=$PKI/server.key \
  timeout 10 "$BIN" serve --listen 0.0.0.0:0 --data "$WORK/rules" >"$WORK/rules.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'authentication is off' "$WORK/rules.log" ||
  fail "TLS on 0.0.0.0 without --insecure-anonymous: $rc $(cat "$WORK/rules.log")"
pass "a non-loopback address is refused (exit 2) without --insecure-anonymous, with or without TLS"
rc=$(start_rc --listen 0.0.0.0:0 --insecure-anonymous)
[ "$rc" = 2 ] || fail "0.0.0.0 without TLS exited $rc: $(cat "$WORK/rules.log")"
grep -q 'refusing to listen on 0.0.0.0:0: plain HTTP is only allowed on loopback' "$WORK/rules.log" ||
  fail "refusal message: $(cat "$WORK/rules.log")"
grep -q -- '--insecure-http' "$WORK/rules.log" || fail "refusal does not name --insecure-http"
pass "plain HTTP on 0.0.0.0 is refused (exit 2) with a message naming TLS and --insecure-http"

# The remaining non-loopback cases must get past the address rule and then fail
# before binding: an unreadable key (TLS is loaded before the socket is bound),
# or a data dir that cannot be created.
touch "$WORK/not-a-dir"
rc=0
PORTCULLIS_TLS_CERTIFICATE=$PKI/server.crt PORTCULLIS_TLS_KEY=$WORK/missing.key \
  PORTCULLIS_HTTP_INSECURE_ALLOW_ANONYMOUS=true \
  timeout 10 "$BIN" serve --listen 0.0.0.0:0 --data "$WORK/rules" >"$WORK/rules.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "TLS on 0.0.0.0 exited $rc: $(cat "$WORK/rules.log")"
grep -q "tls: cannot load private key '$WORK/missing.key'" "$WORK/rules.log" ||
  fail "missing key message: $(cat "$WORK/rules.log")"
grep -q 'refusing to listen' "$WORK/rules.log" && fail "TLS on 0.0.0.0 was refused by the address rule"
pass "with TLS (PORTCULLIS_TLS_*) a non-loopback address passes the rule; a missing key fails start-up clearly"

# With authentication on, TLS is all a non-loopback address needs (no insecure flag);
# the missing key stops it before binding.
rc=0
PORTCULLIS_TLS_CERTIFICATE=$PKI/server.crt PORTCULLIS_TLS_KEY=$WORK/missing.key PORTCULLIS_AUTH_ENABLED=true \
  timeout 10 "$BIN" serve --listen 0.0.0.0:0 --data "$WORK/rules" >"$WORK/rules.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "auth+TLS on 0.0.0.0 exited $rc: $(cat "$WORK/rules.log")"
grep -q 'refusing to listen' "$WORK/rules.log" && fail "auth+TLS on 0.0.0.0 was refused by the address rule"
rc=0
PORTCULLIS_AUTH_ENABLED=true timeout 10 "$BIN" serve --listen 0.0.0.0:0 --data "$WORK/rules" \
  >"$WORK/rules.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'plain HTTP is only allowed on loopback' "$WORK/rules.log" ||
  fail "auth without TLS on 0.0.0.0: $rc $(cat "$WORK/rules.log")"
pass "with authentication on, a non-loopback address needs TLS but no insecure flag"

rc=0
timeout 10 "$BIN" serve --listen 0.0.0.0:0 --insecure-http --insecure-anonymous --data "$WORK/not-a-dir/x" \
  >"$WORK/rules.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "--insecure-http exited $rc: $(cat "$WORK/rules.log")"
grep -q 'INSECURE: serving plain HTTP on 0.0.0.0:0' "$WORK/rules.log" || fail "no insecure warning"
rc=0
PORTCULLIS_HTTP_INSECURE_ALLOW_PLAIN_HTTP=true PORTCULLIS_HTTP_INSECURE_ALLOW_ANONYMOUS=true \
  timeout 10 "$BIN" serve --listen 0.0.0.0:0 \
  --data "$WORK/not-a-dir/x" >"$WORK/rules.log" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'INSECURE' "$WORK/rules.log" || fail "env insecure flag: $rc $(cat "$WORK/rules.log")"
pass "--insecure-http / PORTCULLIS_HTTP_INSECURE_ALLOW_PLAIN_HTTP allow plain HTTP off loopback with a loud warning"

rc=0
PORTCULLIS_TLS_CERTIFICATE=$PKI/server.crt timeout 10 "$BIN" serve --listen 127.0.0.1:0 \
  --data "$WORK/rules" >"$WORK/rules.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'tls.certificate and tls.key must be set together' "$WORK/rules.log" ||
  fail "certificate without key: $rc $(cat "$WORK/rules.log")"
rc=0
PORTCULLIS_TLS_CERTIFICATE=$WORK/missing.crt PORTCULLIS_TLS_KEY=$PKI/server.key timeout 10 "$BIN" serve \
  --listen 127.0.0.1:0 --data "$WORK/rules" >"$WORK/rules.log" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "tls: cannot load certificate chain '$WORK/missing.crt'" "$WORK/rules.log" ||
  fail "missing certificate: $rc $(cat "$WORK/rules.log")"
pass "a certificate without a key (exit 2) or a missing certificate file (exit 1) stops start-up with a clear message"

echo "$passed passed"
