#!/usr/bin/env bash
# Signature trust policies enforced by the registry on pull: real images
# (skopeo), keys and signatures made with `portcullis key generate` /
# `portcullis sign`, keys and policies configured with `portcullis trust …`
# on the running server's database. Checks enforce, warn, k-of-n, tampering
# (moved tag, signature copied to another repository, untrusted key), that
# signature artifacts stay pullable, that a platform image is trusted through
# its signed index, and that every decision is in the audit log.
# Usage: trust_policy_test.sh PORTCULLIS_BIN [HARNESS_CACHE]
set -euo pipefail
BIN=$(readlink -f "${1:?usage: trust_policy_test.sh PORTCULLIS_BIN [HARNESS_CACHE]}")
CACHE=${2:-${HARNESS_CACHE:-/var/tmp/registry-harness-cache}}
HERE=$(dirname "$(readlink -f "$0")")
source "$HERE/lib.sh"
WORK=$(mktemp -d /var/tmp/pc-e2e-trust.XXXXXX)
trap 'pc_stop; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tmp" "$WORK/keys"
export TMPDIR=$WORK/tmp NO_PROXY='*' no_proxy='*'
LAYOUT=$CACHE/oci
[ -f "$LAYOUT/index.json" ] || bash "$HERE/../harness/build-test-images.sh" "$CACHE" >/dev/null

passed=0
pass() { echo "PASS  $*"; passed=$((passed + 1)); }
fail() { echo "FAIL  $*" >&2; [ -n "$PC_LOG" ] && tail -n 20 "$PC_LOG" >&2; exit 1; }

printf 'scanner:\n  scan_on_push: false\n' >"$WORK/cfg.yaml"
pc_start "$BIN" "$WORK/data" --config "$WORK/cfg.yaml"
REG=$PC_ADDR
echo "portcullis on $REG (pid $PC_PID)"
pc() { "$BIN" "$@" --data "$WORK/data" --config "$WORK/cfg.yaml"; }
ACCEPT='application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json'
# get REF -> HTTP status of a manifest GET; the body in $WORK/body
get() { curl -sS -o "$WORK/body" -w '%{http_code}' -H "Accept: $ACCEPT" "http://$REG/v2/$1/manifests/$2"; }
digest_of() { skopeo inspect --tls-verify=false --raw "docker://$REG/$1" | sha256sum | cut -d' ' -f1 | sed 's/^/sha256:/'; }
# Policies are re-read within ~2 s of a change made by the CLI.
settle() { sleep 2.5; }
export PORTCULLIS_PASSWORD=trust-test-pw

# ------------------------------------------------------------------ content and keys
skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:debian-base" "docker://$REG/team-a/app:v1"
skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:debian-extra" "docker://$REG/team-a/app:v2"
skopeo copy -q --dest-tls-verify=false --all "oci:$LAYOUT:multi" "docker://$REG/team-a/multi:v1"
V1=$(digest_of team-a/app:v1)
V2=$(digest_of team-a/app:v2)
for k in k1 k2 rogue; do (cd "$WORK/keys" && "$BIN" key generate "$k" >/dev/null) || fail "key generate $k"; done
pc trust key add k1 --public-key "$WORK/keys/k1.pub" --owner release --repository 'team-a/*' >/dev/null
pc trust key add k2 --public-key "$WORK/keys/k2.pub" --owner security --repository 'team-a/*' >/dev/null
[ "$(get team-a/app v1)" = 200 ] || fail "pull before any policy"
pass "keys added; without a policy unsigned images are served"

# ------------------------------------------------------------------ enforce, 1 signature
pc trust policy set signed --repository 'team-a/*' --threshold 1 --mode enforce >/dev/null
settle
code=$(get team-a/app v1)
[ "$code" = 403 ] || fail "unsigned v1 under enforce: $code"
grep -q '"DENIED"' "$WORK/body" && grep -q "signature policy 'signed'" "$WORK/body" && grep -q 'not signed' "$WORK/body" ||
  fail "refusal body: $(cat "$WORK/body")"
[ "$(get team-a/app "$V1")" = 403 ] || fail "unsigned v1 by digest under enforce"
[ "$(curl -sS -o /dev/null -w "%{http_code}" -I -H "Accept: $ACCEPT" "http://$REG/v2/team-a/app/manifests/v1")" = 200 ] ||
  fail "HEAD (digest only, needed to sign) refused"
if skopeo inspect --tls-verify=false "docker://$REG/team-a/app:v1" >/dev/null 2>&1; then fail "skopeo pulled an unsigned image"; fi
pass "enforce: an unsigned image is refused by tag and by digest (403 DENIED naming the rule); HEAD still answers"

"$BIN" sign "$REG/team-a/app:v1" --key "$WORK/keys/k1.key" >/dev/null || fail "portcullis sign v1 with k1"
[ "$(get team-a/app v1)" = 200 ] || fail "signed v1 refused: $(cat "$WORK/body")"
[ "$(get team-a/app "$V1")" = 200 ] || fail "signed v1 by digest refused"
[ "$(get team-a/app v2)" = 403 ] || fail "unsigned v2 served"
skopeo copy -q --src-tls-verify=false "docker://$REG/team-a/app:v1" "oci:$WORK/pulled:v1" || fail "skopeo pull of signed v1"
pass "after signing, v1 is served at once (decision cache invalidated); v2 is still refused"

sigtag="sha256-${V1#sha256:}.sig"
[ "$(get team-a/app "$sigtag")" = 200 ] || fail "signature manifest not pullable"
"$BIN" verify "$REG/team-a/app:v1" --key "$WORK/keys/k1.pub" >/dev/null || fail "portcullis verify"
pass "the signature artifact itself stays pullable; portcullis verify passes"

# ------------------------------------------------------------------ k-of-n
pc trust policy set signed --repository 'team-a/*' --key k1 --key k2 --threshold 2 --mode enforce >/dev/null
settle
code=$(get team-a/app v1)
[ "$code" = 403 ] || fail "1 of 2 signatures served: $code"
grep -q 'found 1' "$WORK/body" || fail "k-of-n refusal body: $(cat "$WORK/body")"
"$BIN" sign "$REG/team-a/app:v1" --key "$WORK/keys/rogue.key" >/dev/null
[ "$(get team-a/app v1)" = 403 ] || fail "an untrusted key's signature counted"
"$BIN" sign "$REG/team-a/app:v1" --key "$WORK/keys/k2.key" >/dev/null
[ "$(get team-a/app v1)" = 200 ] || fail "2 of 2 refused: $(cat "$WORK/body")"
pass "2-of-2: one signature is refused, an untrusted key does not count, the second trusted key admits it"

# ------------------------------------------------------------------ key rotation
(cd "$WORK/keys" && "$BIN" key generate k3 >/dev/null)
pc trust key add k3 --public-key "$WORK/keys/k3.pub" --owner release-2027 --repository 'team-a/*' >/dev/null
if pc trust key delete k1 2>"$WORK/err"; then fail "deleted a key a policy names"; fi
grep -q 'names this key' "$WORK/err" || fail "key delete refusal: $(cat "$WORK/err")"
pc trust policy set signed --repository 'team-a/*' --key k3 --threshold 1 --mode enforce >/dev/null
settle
[ "$(get team-a/app v1)" = 403 ] || fail "after rotating to k3, old signatures still count"
"$BIN" sign "$REG/team-a/app:v1" --key "$WORK/keys/k3.key" >/dev/null
[ "$(get team-a/app v1)" = 200 ] || fail "signed with the new key, refused: $(cat "$WORK/body")"
pc trust key delete k1 >/dev/null || fail "retiring k1 once no policy names it"
pass "key rotation: a policy moved to a new key ignores old signatures until re-signed; a key in use cannot be deleted"

# ------------------------------------------------------------------ tampering
skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:debian-extra" "docker://$REG/team-a/app:v1"
code=$(get team-a/app v1)
[ "$code" = 403 ] || fail "a different image pushed under the signed tag was served: $code"
pass "a different image pushed under a signed tag is refused (the signatures name the old digest)"

# Copy v1's signature manifest (and the image) to another repository.
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$REG/team-a/app@$V1" "docker://$REG/team-a/copy:v1" 2>/dev/null ||
  skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:debian-base" "docker://$REG/team-a/copy:v1"
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$REG/team-a/app:$sigtag" "docker://$REG/team-a/copy:$sigtag" ||
  fail "copying the signature manifest"
code=$(get team-a/copy v1)
[ "$code" = 403 ] || fail "a signature copied to another repository counted: $code"
grep -q 'team-a/app' "$WORK/body" || fail "refusal does not explain the repository mismatch: $(cat "$WORK/body")"
pass "a signature copied to another repository does not count (its docker-reference names team-a/app)"

# ------------------------------------------------------------------ warn mode
pc trust policy set signed --repository 'team-a/*' --threshold 1 --mode warn >/dev/null
settle
[ "$(get team-a/app v2)" = 200 ] || fail "warn mode refused v2"
pass "warn: an unsigned image is served"

# ------------------------------------------------------------------ index
pc trust policy set signed --repository 'team-a/*' --threshold 1 --mode enforce >/dev/null
settle
[ "$(get team-a/multi v1)" = 403 ] || fail "unsigned index served"
"$BIN" sign "$REG/team-a/multi:v1" --key "$WORK/keys/k3.key" >/dev/null
[ "$(get team-a/multi v1)" = 200 ] || fail "signed index refused: $(cat "$WORK/body")"
child=$(jq -r '.manifests[0].digest' "$WORK/body")
[ "$(get team-a/multi "$child")" = 200 ] || fail "platform image of a signed index refused: $(cat "$WORK/body")"
pass "a platform image is trusted through its signed index"

# ------------------------------------------------------------------ outside the policy
skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:debian-base" "docker://$REG/elsewhere/app:v1"
[ "$(get elsewhere/app v1)" = 200 ] || fail "a repository outside the policy was gated"
pass "repositories no policy covers are not gated"

# ------------------------------------------------------------------ audit
sleep 1.5
pc audit list --action verify -n 200 >"$WORK/verify.txt"
grep -q 'denied' "$WORK/verify.txt" && grep -q 'success' "$WORK/verify.txt" && grep -q 'warn' "$WORK/verify.txt" ||
  fail "verify decisions missing from the audit log: $(cat "$WORK/verify.txt")"
pc audit list --action trustpolicy.put -n 20 | grep -q signed || fail "policy changes missing from the audit log"
pc audit verify >/dev/null || fail "audit chain broken"
pass "every decision (success, warn, denied) and every policy change is in the audit log; the chain verifies"

# ------------------------------------------------------------------ bad input
echo "not a key" >"$WORK/keys/bad.pub"
if pc trust key add bad --public-key "$WORK/keys/bad.pub" --repository 'team-a/*' 2>"$WORK/err"; then fail "garbage key accepted"; fi
grep -qi 'pem\|key' "$WORK/err" || fail "garbage key error: $(cat "$WORK/err")"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/keys/rsa.pem" 2>/dev/null
openssl pkey -in "$WORK/keys/rsa.pem" -pubout -out "$WORK/keys/rsa.pub" 2>/dev/null
if pc trust key add rsa --public-key "$WORK/keys/rsa.pub" --repository 'team-a/*' 2>"$WORK/err"; then fail "RSA key accepted"; fi
grep -qi 'unsupported' "$WORK/err" || fail "RSA key error: $(cat "$WORK/err")"
if pc trust policy set broken --repository 'team-a/*' --key nosuchkey 2>"$WORK/err"; then fail "policy with an unknown key accepted"; fi
if PORTCULLIS_PASSWORD=wrong "$BIN" sign "$REG/team-a/app:v2" --key "$WORK/keys/k2.key" 2>"$WORK/err"; then fail "signing with a wrong password"; fi
grep -qi 'password' "$WORK/err" || fail "wrong password error: $(cat "$WORK/err")"
pass "bad input: garbage PEM, an RSA key, a policy naming an unknown key, a wrong password are clear errors"

echo "trust_policy: $passed checks passed"
