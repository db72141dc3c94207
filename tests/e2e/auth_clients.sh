#!/usr/bin/env bash
# Real clients against Portcullis with authentication on, over HTTPS with a
# throw-away test CA: skopeo --creds and podman login (Docker token flow)
# push and pull the harness's real images; a robot account limited to one
# repository can push there and nowhere else; anonymous clients get nothing
# except from a namespace that allows anonymous pull.
# Usage: auth_clients.sh PORTCULLIS_BIN [HARNESS_CACHE]
set -euo pipefail
BIN=$(readlink -f "${1:?usage: auth_clients.sh PORTCULLIS_BIN [HARNESS_CACHE]}")
CACHE=${2:-${HARNESS_CACHE:-/var/tmp/registry-harness-cache}}
HERE=$(dirname "$(readlink -f "$0")")
source "$HERE/lib.sh"
WORK=$(mktemp -d /var/tmp/pc-e2e-authc.XXXXXX)
trap 'pc_stop; rm -rf "$WORK"' EXIT
PKI=$WORK/pki
mkdir -p "$PKI" "$WORK/tmp"
export TMPDIR=$WORK/tmp NO_PROXY='*' no_proxy='*'

LAYOUT=$CACHE/oci
if [ ! -f "$LAYOUT/index.json" ]; then
  bash "$HERE/../harness/build-test-images.sh" "$CACHE" >/dev/null
fi

passed=0
pass() { echo "PASS  $*"; passed=$((passed + 1)); }
fail() { echo "FAIL  $*" >&2; [ -n "$PC_LOG" ] && tail -n 20 "$PC_LOG" >&2; exit 1; }

# ------------------------------------------------------------------ PKI and server
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=Portcullis auth test CA" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$PKI/server.key" -out "$PKI/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$PKI/server.ext"
openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial 7 \
  -days 2 -extfile "$PKI/server.ext" -out "$PKI/server.crt" 2>/dev/null
mkdir -p "$PKI/certs.d" && cp "$PKI/ca.crt" "$PKI/certs.d/ca.crt"

ADMIN_PW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf 'tls:\n  certificate: %s\n  key: %s\nauth:\n  enabled: true\nscanner:\n  scan_on_push: false\n' \
  "$PKI/server.crt" "$PKI/server.key" >"$WORK/auth.yaml"
printf '%s\n' "$ADMIN_PW" >"$WORK/admin-password"
PORTCULLIS_AUTH_ADMIN_PASSWORD_FILE=$WORK/admin-password pc_start "$BIN" "$WORK/data" --config "$WORK/auth.yaml"
REG=$PC_ADDR
URL="https://$REG"
echo "portcullis on $URL (pid $PC_PID)"

c() { curl -sS --cacert "$PKI/ca.crt" "$@"; }
admin() { c -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' "$@"; }
admin_code() { admin -o /dev/null -w '%{http_code}' "$@"; }

# ------------------------------------------------------------------ accounts
[ "$(admin_code -X PUT -d '{"anonymous_pull":false}' "$URL/api/v1/namespaces/team-a")" = 204 ] ||
  fail "create namespace team-a"
[ "$(admin_code -X PUT -d '{"anonymous_pull":true}' "$URL/api/v1/namespaces/public")" = 204 ] ||
  fail "create namespace public"
[ "$(admin_code -X POST -d '{"name":"dev","password":"dev-password-1"}' "$URL/api/v1/users")" = 201 ] ||
  fail "create user dev"
[ "$(admin_code -X PUT -d '{"role":"developer"}' "$URL/api/v1/namespaces/team-a/members/dev")" = 204 ] ||
  fail "bind dev as developer of team-a"
robot=$(admin -X POST -d '{"name":"ci","permissions":[{"repository":"team-a/app","actions":["pull","push"]}]}' \
  "$URL/api/v1/robots")
ROBOT_USER=$(echo "$robot" | jq -r .name)
ROBOT_SECRET=$(echo "$robot" | jq -r .secret)
[ "$ROBOT_USER" = 'robot$ci' ] && [ -n "$ROBOT_SECRET" ] || fail "create robot: $robot"
pass "admin API: namespaces, a user bound as developer, a robot limited to team-a/app"

# ------------------------------------------------------------------ skopeo --creds
SKC=(--dest-cert-dir "$PKI/certs.d")
skopeo copy -q "${SKC[@]}" --dest-creds "dev:dev-password-1" "oci:$LAYOUT:debian-base" \
  "docker://$REG/team-a/base:v1" || fail "skopeo push with --dest-creds"
skopeo copy -q "${SKC[@]}" --dest-creds "admin:$ADMIN_PW" --all "oci:$LAYOUT:multi" \
  "docker://$REG/public/multi:v1" || fail "skopeo push of the index as admin"
skopeo copy -q --src-cert-dir "$PKI/certs.d" --src-creds "dev:dev-password-1" \
  "docker://$REG/team-a/base:v1" "oci:$WORK/pulled:base" || fail "skopeo pull with --src-creds"
want=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="debian-base") | .digest' \
  "$LAYOUT/index.json")
got=$(skopeo inspect --cert-dir "$PKI/certs.d" --creds "dev:dev-password-1" --raw \
  "docker://$REG/team-a/base:v1" | sha256sum | cut -d' ' -f1)
[ "sha256:$got" = "$want" ] || fail "pulled manifest digest $got, want $want"
pass "skopeo --creds pushes and pulls the real images through the token flow over HTTPS"

if skopeo inspect --cert-dir "$PKI/certs.d" --raw "docker://$REG/team-a/base:v1" >/dev/null 2>"$WORK/err"; then
  fail "anonymous skopeo read a private namespace"
fi
grep -qi 'unauthorized\|denied\|authentication required' "$WORK/err" || fail "anonymous refusal: $(cat "$WORK/err")"
skopeo inspect --cert-dir "$PKI/certs.d" --raw "docker://$REG/public/multi:v1" >/dev/null ||
  fail "anonymous pull from the anonymous-pull namespace"
if skopeo copy -q "${SKC[@]}" "oci:$LAYOUT:debian-base" "docker://$REG/public/anon:v1" 2>/dev/null; then
  fail "anonymous push succeeded"
fi
if skopeo copy -q "${SKC[@]}" --dest-creds "dev:wrong-password" "oci:$LAYOUT:debian-base" \
  "docker://$REG/team-a/x:v1" 2>/dev/null; then
  fail "push with a wrong password succeeded"
fi
pass "anonymous: no access to team-a, pull only from 'public'; wrong password refused"

# ------------------------------------------------------------------ robot limited to one repository
skopeo copy -q "${SKC[@]}" --dest-creds "$ROBOT_USER:$ROBOT_SECRET" "oci:$LAYOUT:debian-extra" \
  "docker://$REG/team-a/app:v1" || fail "robot push to team-a/app"
for target in team-a/other public/app elsewhere/app; do
  if skopeo copy -q "${SKC[@]}" --dest-creds "$ROBOT_USER:$ROBOT_SECRET" "oci:$LAYOUT:debian-base" \
    "docker://$REG/$target:v1" 2>/dev/null; then
    fail "robot pushed to $target"
  fi
done
if skopeo inspect --cert-dir "$PKI/certs.d" --creds "$ROBOT_USER:$ROBOT_SECRET" --raw \
  "docker://$REG/team-a/base:v1" >/dev/null 2>&1; then
  fail "robot read team-a/base"
fi
pass "robot\$ci pushes to team-a/app and nowhere else (team-a/other, public/app, elsewhere/app refused)"

[ "$(admin_code -X DELETE "$URL/api/v1/robots/ci")" = 204 ] || fail "revoke robot"
if skopeo copy -q "${SKC[@]}" --dest-creds "$ROBOT_USER:$ROBOT_SECRET" "oci:$LAYOUT:debian-extra" \
  "docker://$REG/team-a/app:v2" 2>/dev/null; then
  fail "revoked robot still pushes"
fi
pass "a revoked robot can no longer log in"

# ------------------------------------------------------------------ podman login / push / pull
pm() { podman --root "$WORK/storage" --runroot "$WORK/run" --storage-driver vfs "$@"; }
AUTHFILE=$WORK/auth.json
if pm login --cert-dir "$PKI/certs.d" --authfile "$AUTHFILE" -u dev -p wrong-password "$REG" >/dev/null 2>&1; then
  fail "podman login with a wrong password succeeded"
fi
pm login --cert-dir "$PKI/certs.d" --authfile "$AUTHFILE" -u dev -p dev-password-1 "$REG" >/dev/null ||
  fail "podman login"
pm pull -q --cert-dir "$PKI/certs.d" --authfile "$AUTHFILE" "$REG/team-a/base:v1" >/dev/null || fail "podman pull"
pm tag "$REG/team-a/base:v1" "$REG/team-a/podman:v1"
pm push -q --cert-dir "$PKI/certs.d" --authfile "$AUTHFILE" --digestfile "$WORK/d" "$REG/team-a/podman:v1" ||
  fail "podman push"
got=$(c -u dev:dev-password-1 \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' \
  "$URL/v2/team-a/podman/manifests/v1" | sha256sum | cut -d' ' -f1)
[ "sha256:$got" = "$(cat "$WORK/d")" ] || fail "registry serves $got, podman pushed $(cat "$WORK/d")"
pm tag "$REG/team-a/base:v1" "$REG/public/podman:v1"
if pm push -q --cert-dir "$PKI/certs.d" --authfile "$AUTHFILE" "$REG/public/podman:v1" 2>/dev/null; then
  fail "developer of team-a pushed to public"
fi
pm logout --authfile "$AUTHFILE" "$REG" >/dev/null
pass "podman login, pull, push (token flow over HTTPS); no push outside the developer's namespace"

# ------------------------------------------------------------------ audit trail
events=$(admin "$URL/api/v1/audit?n=1000")
for a in login push; do
  echo "$events" | jq -e --arg a "$a" '[.events[] | select(.action==$a and .result=="success")] | length > 0' \
    >/dev/null || fail "no successful $a in the audit log"
done
echo "$events" | jq -e '[.events[] | select(.action=="login" and .result=="failure")] | length > 0' >/dev/null ||
  fail "no failed login in the audit log"
echo "$events" |
  jq -e '[.events[] | select(.action=="push" and .actor=="robot$ci" and .repository=="team-a/app")] | length > 0' \
    >/dev/null || fail "the robot's push is not in the audit log"
[ "$(admin "$URL/api/v1/audit/verify" | jq -r .ok)" = true ] || fail "audit chain does not verify"
pass "the audit log records logins (success and failure) and pushes with their actor, and verifies"

echo "auth_clients: $passed checks passed"
