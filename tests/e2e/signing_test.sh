#!/usr/bin/env bash
# Cosign-compatible signing end to end: `portcullis key generate`, `portcullis
# sign` and `portcullis verify` against a real Portcullis, cross-checked with
# real cosign 2.5 and skopeo 1.18 (both directions), signatures appended, the
# referrers API, tampering and bad input. Real images from the harness layout.
#
# cosign and skopeo (>= 1.10; Debian 12's build has sigstore disabled) run from
# the Debian trixie toolbox chroot that the shared harness's sigstore-roundtrip.sh
# uses (same cache key, built with mmdebstrap when missing), in a private mount
# namespace, with a clean environment and proxies pointing at a closed port.
# Needs root. Without the toolbox (no Debian mirror), or with
# SIGNING_SKIP_INTEROP=1, the interop checks are SKIPPED (loudly) and the
# Portcullis-only checks still run.
# Usage: signing_test.sh PORTCULLIS_BIN
set -euo pipefail
BIN=$(readlink -f "${1:?usage: signing_test.sh PORTCULLIS_BIN}")
SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
CACHE=${HARNESS_CACHE:-/var/tmp/registry-harness-cache}
log() { printf '[signing_test] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- outer part
if [ -z "${SIGNING_IN_NS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "signing_test.sh must run as root (chroot, mount namespace, harness images)" >&2; exit 2; }
  for p in skopeo:skopeo jq:jq curl:curl; do
    command -v "${p%%:*}" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${p#*:}" >/dev/null; }
  done
  bash "$HERE/../harness/build-test-images.sh" "$CACHE" >/dev/null 2>&1 || bash "$HERE/../harness/build-test-images.sh" "$CACHE"
  ROOT=
  if [ -n "${SIGNING_SKIP_INTEROP:-}" ]; then
    log "SKIP interop: SIGNING_SKIP_INTEROP is set"
  else
    # The toolbox of sigstore-roundtrip.sh: Debian trixie skopeo + cosign (cached, ~240 MB).
    command -v mmdebstrap >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null || true; }
    mkdir -p "$CACHE/tools"
    exec 8>"$CACHE/tools/.lock"; flock 8
    MIRROR=${HARNESS_DEBIAN_MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 'Codename: bookworm' | head -n1)}
    KEY=$(printf '%s\n' trixie skopeo,cosign "$MIRROR" v1 | sha256sum | cut -c1-12)
    ROOT=$CACHE/tools/trixie-sigstore-$KEY
    if [ ! -f "$ROOT/.harness-ok" ]; then
      rm -rf "$CACHE/tools/trixie-sigstore-"*
      log "building the trixie toolbox (skopeo, cosign) in $ROOT"
      if [ -n "$MIRROR" ] && command -v mmdebstrap >/dev/null 2>&1 && \
         mmdebstrap -q --mode=root --variant=essential --include=skopeo,cosign \
           --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --dpkgopt=force-unsafe-io \
           --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
           --dpkgopt='path-exclude=/usr/share/doc/*' \
           trixie "$ROOT" "$MIRROR" >"$CACHE/tools/mmdebstrap.log" 2>&1; then
        touch "$ROOT/.harness-ok"
      else
        tail -n 20 "$CACHE/tools/mmdebstrap.log" >&2 || true
        log "SKIP interop: could not build the trixie toolbox (no Debian mirror?)"
        rm -rf "$ROOT"; ROOT=
      fi
    fi
    [ -n "$ROOT" ] && mkdir -p "$ROOT/hw" "$ROOT/layout"
    flock -u 8
  fi
  WORK=$(mktemp -d /var/tmp/pc-e2e-signing.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  rc=0
  if [ -n "$ROOT" ]; then
    SIGNING_IN_NS=1 SIGNING_WORK=$WORK SIGNING_ROOT=$ROOT unshare --mount --propagation private bash "$SELF" "$BIN" || rc=$?
  else
    SIGNING_IN_NS=1 SIGNING_WORK=$WORK SIGNING_ROOT= bash "$SELF" "$BIN" || rc=$?
  fi
  exit $rc
fi

# ---------------------------------------------------------------- inner part
source "$HERE/lib.sh"
W=$SIGNING_WORK
ROOT=$SIGNING_ROOT
TOOLS=${ROOT:+1}
LAYOUT=$(cd "$CACHE/oci" && pwd)
trap 'pc_stop' EXIT
mkdir -p "$W/keys" "$W/tmp" "$W/home" "$W/out" "$W/chroot-varlib" "$W/registries.d"
pc_start "$BIN" "$W/data"
REG=$PC_ADDR
BASE="http://$REG"
NS=sig
PASS=harness-passphrase
unset COSIGN_PASSWORD PORTCULLIS_PASSWORD
export NO_PROXY='*' no_proxy='*'
echo "# portcullis on $REG (pid $PC_PID)"

if [ -n "$TOOLS" ]; then
  mount --bind "$W" "$ROOT/hw"
  mount --bind "$LAYOUT" "$ROOT/layout"; mount -o remount,bind,ro "$ROOT/layout"
  mount -t proc proc "$ROOT/proc"
  touch "$ROOT/etc/hosts"; mount --bind /etc/hosts "$ROOT/etc/hosts"
  mkdir -p "$ROOT/var/lib/containers"; mount --bind "$W/chroot-varlib" "$ROOT/var/lib/containers"
  CENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/hw/home TMPDIR=/hw/tmp TUF_ROOT=/hw/home/tuf
        HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY="127.0.0.1,localhost,::1")
  sk18() { chroot "$ROOT" "${CENV[@]}" skopeo "$@"; }
  cosign() { chroot "$ROOT" "${CENV[@]}" COSIGN_PASSWORD=$PASS cosign "$@"; }
  COSIGN_REG=(--allow-http-registry --allow-insecure-registry)
  echo "# toolbox: $(sk18 --version), cosign $(chroot "$ROOT" dpkg-query -W -f '${Version}' cosign)"
else
  echo "# SKIP: cosign/skopeo interoperability checks (no toolbox; see the log above)"
fi
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$W/accept.json"
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REG" >"$W/registries.d/sigstore.yaml"
echo -n "$PASS" >"$W/keys/pass.txt"

PASSED=0; FAILED=0; SKIPPED=0
check() {
  local name=$1; shift
  local rc=0
  set +e; ( set -euo pipefail; "$@" ) >"$W/check.log" 2>&1; rc=$?; set -e
  if [ $rc -eq 0 ]; then
    PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$name"; grep '^INFO' "$W/check.log" | sed 's/^/      /' || true
  else
    FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$name"; sed 's/^/      | /' "$W/check.log" | tail -n 20
  fi
}
interop() { # interop NAME FN: a check that needs cosign/skopeo 1.18
  if [ -n "$TOOLS" ]; then check "$@"; else SKIPPED=$((SKIPPED + 1)); printf 'SKIP  %s (no cosign/skopeo toolbox)\n' "$1"; fi
}
fail() { echo "$*" >&2; return 1; }
eq() { [ "$1" = "$2" ] || fail "expected '$2', got '$1' ${3:-}"; }
c() { curl -sS --noproxy '*' -g "$@"; }
ACCEPT='application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json'
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
layout_digest() { jq -r --arg r "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$r) | .digest' "$LAYOUT/index.json"; }
sig_tag() { local d=$1; echo "sha256-${d#sha256:}.sig"; }
manifest() { c -f -H "Accept: $ACCEPT" "$BASE/v2/$NS/$1/manifests/$2"; }
put_manifest() { # put_manifest REPO REF FILE -> HTTP status
  c -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $OCI_MANIFEST" --data-binary "@$3" "$BASE/v2/$NS/$1/manifests/$2"
}
copy_blob() { # copy_blob FROM_REPO TO_REPO DIGEST
  c -f -o "$W/blob" "$BASE/v2/$NS/$1/blobs/$3"
  eq "$(c -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$W/blob" \
        "$BASE/v2/$NS/$2/blobs/uploads/?digest=$3")" 201 "(blob upload)"
}
push() { # push LAYOUT_REF REPO:TAG [--all]
  if [ -n "$TOOLS" ]; then
    sk18 copy -q ${3:-} --policy /hw/accept.json --dest-tls-verify=false "oci:/layout:$1" "docker://$REG/$NS/$2"
  else
    skopeo copy -q ${3:-} --dest-tls-verify=false "oci:$LAYOUT:$1" "docker://$REG/$NS/$2"
  fi
}
pc() { PORTCULLIS_PASSWORD=$PASS "$BIN" "$@"; }
expect_reject() { # expect_reject EXIT_CODE|any PATTERN cmd... : cmd must exit so and print PATTERN
  local want=$1 pat=$2 rc=0; shift 2
  "$@" >"$W/rej.log" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then cat "$W/rej.log"; fail "ACCEPTED but should be rejected: $*"; fi
  [ "$want" = any ] || [ "$rc" = "$want" ] || { cat "$W/rej.log"; fail "exit code $rc, expected $want: $*"; }
  grep -qE "$pat" "$W/rej.log" || { cat "$W/rej.log"; fail "rejected, but not with /$pat/"; }
  echo "INFO rejected (exit $rc): $(grep -E "$pat" "$W/rej.log" | head -n1)"
}
verify_ok() { # verify_ok REPO:TAG DIGEST KEY... : portcullis verify passes and prints the payload
  local ref=$1 d=$2; shift 2
  local args=(); for k in "$@"; do args+=(--key "$k"); done
  "$BIN" verify "$REG/$NS/$ref" "${args[@]}" >"$W/v.out" 2>"$W/v.err" || { cat "$W/v.err"; fail "portcullis verify $ref failed"; }
  [ -s "$W/v.out" ] || fail "no payload printed"
  while read -r line; do
    eq "$(jq -r '.critical.image["docker-manifest-digest"]' <<<"$line")" "$d" "(payload digest)"
    eq "$(jq -r '.critical.type' <<<"$line")" "cosign container image signature"
  done <"$W/v.out"
}
cosign_verify() { # cosign_verify REF PUB [extra...]
  local ref=$1 pub=$2; shift 2
  cosign verify --key "/hw/keys/$pub" --insecure-ignore-tlog "${COSIGN_REG[@]}" "$@" "$REG/$NS/$ref" >"$W/cv.json" 2>"$W/cv.err" \
    || { cat "$W/cv.err"; fail "cosign verify $ref with $pub failed"; }
}
# skopeo 1.18 verify-on-pull: everything under REG/NS needs a sigstore signature by a.pub
# (Portcullis and cosign write a tag-less docker-reference: matchRepository).
cat >"$W/policy.json" <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"$REG/$NS": [{"type": "sigstoreSigned", "keyPath": "/hw/keys/a.pub",
                                         "signedIdentity": {"type": "matchRepository"}}]},
                "oci": {"": [{"type": "insecureAcceptAnything"}]}}}
EOF
pull18() { rm -rf "$W/out/$2"; sk18 copy -q --policy /hw/policy.json --registries.d /hw/registries.d \
             --src-tls-verify=false --remove-signatures "docker://$REG/$NS/$1" "oci:/hw/out/$2:x"; }

D_AMD=$(layout_digest busybox-amd64)
D_ARM=$(layout_digest busybox-arm64)
D_MULTI=$(layout_digest multi)

# ---------------------------------------------------------------- keys
# a: made by Portcullis; b: by cosign, c: by skopeo (by Portcullis too without the toolbox).
t_keys() {
  pc key generate --output-key-prefix "$W/keys/a" >/dev/null
  grep -q -- '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----' "$W/keys/a.key"
  grep -q -- '-----BEGIN PUBLIC KEY-----' "$W/keys/a.pub"
  if [ -n "$TOOLS" ]; then
    (cd "$W/keys" && cosign generate-key-pair --output-key-prefix /hw/keys/b >/dev/null 2>&1)
    sk18 generate-sigstore-key --output-prefix /hw/keys/c --passphrase-file /hw/keys/pass.txt >/dev/null
    mv "$W/keys/c.private" "$W/keys/c.key"
  else
    pc key generate --output-key-prefix "$W/keys/b" >/dev/null
    pc key generate --output-key-prefix "$W/keys/c" >/dev/null
  fi
  for k in a b c; do [ -s "$W/keys/$k.key" ] && [ -s "$W/keys/$k.pub" ]; done
  echo "INFO a.key: $(head -n1 "$W/keys/a.key"); b.key: $(head -n1 "$W/keys/b.key"); c.key: $(head -n1 "$W/keys/c.key")"
}
check "key pairs: portcullis key generate (a), cosign generate-key-pair (b), skopeo generate-sigstore-key (c)" t_keys

push busybox-amd64 app:v1
push busybox-amd64 unsigned:v1
push multi multi:v1 --all

# ---------------------------------------------------------------- portcullis sign
t_sign() {
  pc sign "$REG/$NS/app:v1" --key "$W/keys/a.key" --annotation env=test -a team=blue >"$W/sig1" 2>"$W/sign.err" \
    || { cat "$W/sign.err"; fail "portcullis sign failed"; }
  local sigd; sigd=$(cat "$W/sig1")
  [[ "$sigd" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "sign printed '$sigd', not a digest"
  c "$BASE/v2/$NS/app/tags/list" | jq -e --arg t "$(sig_tag "$D_AMD")" '.tags | index($t)' >/dev/null || fail "no .sig tag"
  manifest app "$(sig_tag "$D_AMD")" >"$W/m.json"
  eq "sha256:$(sha256sum <"$W/m.json" | cut -d' ' -f1)" "$sigd" "(the printed digest is the .sig manifest's)"
  eq "$(jq '.layers | length' "$W/m.json")" 1
  eq "$(jq -r '.layers[0].mediaType' "$W/m.json")" application/vnd.dev.cosign.simplesigning.v1+json
  eq "$(jq -r '.subject.digest' "$W/m.json")" "$D_AMD" "(subject)"
  local p; p=$(c -f "$BASE/v2/$NS/app/blobs/$(jq -r '.layers[0].digest' "$W/m.json")")
  eq "$(jq -r '.critical.image["docker-manifest-digest"]' <<<"$p")" "$D_AMD"
  eq "$(jq -r '.critical.identity["docker-reference"]' <<<"$p")" "$REG/$NS/app" "(cosign's tag-less identity)"
  eq "$(jq -r '.optional.env + "," + .optional.team' <<<"$p")" "test,blue"
  echo "INFO payload: $p"
}
check "portcullis sign: .sig tag, one simplesigning layer, subject = image, cosign payload with annotations" t_sign

t_referrers() {
  local r; r=$(c -f "$BASE/v2/$NS/app/referrers/$D_AMD")
  jq -e --arg d "$(cat "$W/sig1")" '.manifests | map(.digest) | index($d)' <<<"$r" >/dev/null || fail "referrers: $r"
  echo "INFO referrers: $(jq -c '[.manifests[] | {digest, artifactType}]' <<<"$r")"
}
check "referrers API of the image lists the signature manifest" t_referrers

t_verify() {
  verify_ok app:v1 "$D_AMD" "$W/keys/a.pub"
  verify_ok "app@$D_AMD" "$D_AMD" "$W/keys/a.pub"
  jq -e '.optional.env == "test"' "$W/v.out" >/dev/null || fail "annotations not printed"
  echo "INFO stdout: $(cat "$W/v.out")"
  echo "INFO stderr: $(tail -n1 "$W/v.err")"
}
check "portcullis verify (by tag and by digest) accepts it and prints the payload" t_verify

t_cosign_verifies_portcullis() {
  cosign_verify app:v1 a.pub -a env=test
  eq "$(jq -r '.[0].critical.image["docker-manifest-digest"]' "$W/cv.json")" "$D_AMD"
  expect_reject any 'no matching signatures' cosign verify --key /hw/keys/b.pub --insecure-ignore-tlog "${COSIGN_REG[@]}" "$REG/$NS/app:v1"
}
interop "cosign 2.5 verify accepts portcullis's signature (and rejects another key)" t_cosign_verifies_portcullis

t_skopeo_policy() {
  pull18 app:v1 ok1
  expect_reject any 'A signature was required, but no signature exists' pull18 unsigned:v1 no1
}
interop "skopeo 1.18 pull with a sigstoreSigned policy (matchRepository) accepts it; unsigned is rejected" t_skopeo_policy

# ---------------------------------------------------------------- appending
t_sign_twice() {
  # b's password on stdin this time.
  env -u PORTCULLIS_PASSWORD -u COSIGN_PASSWORD "$BIN" sign "$REG/$NS/app:v1" --key "$W/keys/b.key" <<<"$PASS" >"$W/sig2"
  manifest app "$(sig_tag "$D_AMD")" >"$W/m.json"
  eq "$(jq '.layers | length' "$W/m.json")" 2 "(layers after the second signature)"
  verify_ok app:v1 "$D_AMD" "$W/keys/a.pub" "$W/keys/b.pub"
  "$BIN" verify "$REG/$NS/app:v1" --key "$W/keys/a.pub" --key "$W/keys/b.pub" --threshold 2 >/dev/null 2>"$W/v.err" \
    || { cat "$W/v.err"; fail "threshold 2 with both keys"; }
  eq "$(wc -l <"$W/v.out")" 2 "(payload lines)"
  expect_reject 1 '1 of the required 2' "$BIN" verify "$REG/$NS/app:v1" --key "$W/keys/a.pub" --key "$W/keys/c.pub" --threshold 2
  cp "$W/keys/a.pub" "$W/keys/a-copy.pub"
  expect_reject 2 'threshold' "$BIN" verify "$REG/$NS/app:v1" --key "$W/keys/a.pub" --key "$W/keys/a-copy.pub" --threshold 2
  c -f "$BASE/v2/$NS/app/referrers/$D_AMD" | jq -e --arg d "$(cat "$W/sig2")" '.manifests | map(.digest) | index($d)' >/dev/null \
    || fail "referrers does not list the new signature manifest"
}
check "signing twice keeps both signatures (2 layers); --threshold 2 needs two distinct keys" t_sign_twice

t_cosign_appends() {
  cosign_verify app:v1 a.pub
  cosign_verify app:v1 b.pub
  cosign sign --key /hw/keys/c.key --tlog-upload=false -y "${COSIGN_REG[@]}" "$REG/$NS/app@$D_AMD" >/dev/null 2>"$W/cs.err" \
    || { cat "$W/cs.err"; fail "cosign sign failed"; }
  manifest app "$(sig_tag "$D_AMD")" >"$W/m.json"
  eq "$(jq '.layers | length' "$W/m.json")" 3 "(cosign appended to portcullis's manifest)"
  "$BIN" verify "$REG/$NS/app:v1" --key "$W/keys/a.pub" --key "$W/keys/b.pub" --key "$W/keys/c.pub" --threshold 3 >/dev/null 2>"$W/v.err" \
    || { cat "$W/v.err"; fail "threshold 3"; }
  pc sign "$REG/$NS/app:v1" --key "$W/keys/a.key" >/dev/null
  manifest app "$(sig_tag "$D_AMD")" >"$W/m.json"
  eq "$(jq '.layers | length' "$W/m.json")" 4 "(portcullis appended to cosign's manifest)"
  cosign_verify app:v1 c.pub
}
interop "cosign verifies both appended signatures, cosign sign appends a third, portcullis a fourth" t_cosign_appends

# ---------------------------------------------------------------- other signers
t_cosign_signs() {
  push busybox-arm64 cosign-a:v1
  cosign sign --key /hw/keys/a.key --tlog-upload=false -y "${COSIGN_REG[@]}" "$REG/$NS/cosign-a@$D_ARM" >/dev/null 2>"$W/cs.err" \
    || { cat "$W/cs.err"; fail "cosign sign with the portcullis key failed"; }
  verify_ok cosign-a:v1 "$D_ARM" "$W/keys/a.pub"
  push busybox-arm64 cosign-b:v1
  cosign sign --key /hw/keys/b.key --tlog-upload=false -y "${COSIGN_REG[@]}" "$REG/$NS/cosign-b@$D_ARM" >/dev/null 2>"$W/cs.err" \
    || { cat "$W/cs.err"; fail "cosign sign failed"; }
  verify_ok cosign-b:v1 "$D_ARM" "$W/keys/b.pub"
  expect_reject 1 'no valid signature|0 of the required' "$BIN" verify "$REG/$NS/cosign-b:v1" --key "$W/keys/a.pub"
}
interop "cosign sign (portcullis key and cosign key) -> portcullis verify accepts; another key is rejected" t_cosign_signs

t_skopeo_signs() {
  sk18 copy -q --policy /hw/accept.json --registries.d /hw/registries.d --dest-tls-verify=false \
    --sign-by-sigstore-private-key /hw/keys/c.key --sign-passphrase-file /hw/keys/pass.txt \
    oci:/layout:busybox-arm64 "docker://$REG/$NS/skopeo-c:v1"
  verify_ok skopeo-c:v1 "$D_ARM" "$W/keys/c.pub"
  echo "INFO skopeo's identity: $(jq -r '.critical.identity["docker-reference"]' <"$W/v.out")"
  sk18 copy -q --policy /hw/accept.json --registries.d /hw/registries.d --dest-tls-verify=false \
    --sign-by-sigstore-private-key /hw/keys/a.key --sign-passphrase-file /hw/keys/pass.txt \
    oci:/layout:busybox-arm64 "docker://$REG/$NS/skopeo-a:v1"
  verify_ok skopeo-a:v1 "$D_ARM" "$W/keys/a.pub"
  pull18 skopeo-a:v1 ok2
}
interop "skopeo 1.18 --sign-by-sigstore-private-key (skopeo key and portcullis key) -> portcullis verify accepts" t_skopeo_signs

t_index() {
  pc sign "$REG/$NS/multi:v1" --key "$W/keys/a.key" >/dev/null
  c -f "$BASE/v2/$NS/multi/tags/list" | jq -e --arg t "$(sig_tag "$D_MULTI")" '.tags | index($t)' >/dev/null \
    || fail "the index digest was not the one signed"
  manifest multi "$(sig_tag "$D_MULTI")" | jq -e --arg d "$D_MULTI" \
    '.subject.digest == $d and .subject.mediaType == "application/vnd.oci.image.index.v1+json"' >/dev/null || fail "subject"
  verify_ok multi:v1 "$D_MULTI" "$W/keys/a.pub"
  if [ -n "$TOOLS" ]; then cosign_verify multi:v1 a.pub; echo "INFO cosign verify accepts the signed index"; fi
}
check "an index is signed as the index (as cosign does)" t_index

# ---------------------------------------------------------------- tampering
t_retagged() {
  push busybox-arm64 swap:v1
  pc sign "$REG/$NS/swap:v1" --key "$W/keys/a.key" >/dev/null
  verify_ok swap:v1 "$D_ARM" "$W/keys/a.pub"      # positive control
  push busybox-amd64 swap:v1                        # another image under the signed tag
  expect_reject 1 'no signatures found' "$BIN" verify "$REG/$NS/swap:v1" --key "$W/keys/a.pub"
  verify_ok "swap@$D_ARM" "$D_ARM" "$W/keys/a.pub"  # the signed image itself still verifies
}
check "another image pushed under the signed tag is REJECTED (no signatures for its digest)" t_retagged

t_relocated() {
  # The arm64 image's valid signature manifest, put on the .sig tag of the amd64 image now under swap:v1.
  manifest swap "$(sig_tag "$D_ARM")" >"$W/m.json"
  eq "$(put_manifest swap "$(sig_tag "$D_AMD")" "$W/m.json")" 201
  expect_reject 1 "$D_ARM|digest" "$BIN" verify "$REG/$NS/swap:v1" --key "$W/keys/a.pub"
  [ -z "$TOOLS" ] || expect_reject any 'no matching signatures' \
    cosign verify --key /hw/keys/a.pub --insecure-ignore-tlog "${COSIGN_REG[@]}" "$REG/$NS/swap:v1"
}
check "a valid signature whose payload names another digest is REJECTED" t_relocated

t_other_repo() {
  push busybox-arm64 elsewhere:v1
  manifest swap "$(sig_tag "$D_ARM")" >"$W/m.json"
  for d in $(jq -r '.config.digest, .layers[].digest' "$W/m.json"); do copy_blob swap elsewhere "$d"; done
  eq "$(put_manifest elsewhere "$(sig_tag "$D_ARM")" "$W/m.json")" 201
  expect_reject 1 "$NS/swap|repository|identity" "$BIN" verify "$REG/$NS/elsewhere:v1" --key "$W/keys/a.pub"
}
check "a signature manifest copied to another repository is REJECTED (identity names the first)" t_other_repo

t_untrusted() {
  push busybox-arm64 untrusted:v1
  pc sign "$REG/$NS/untrusted:v1" --key "$W/keys/c.key" >/dev/null
  expect_reject 1 'no valid signature|0 of the required' "$BIN" verify "$REG/$NS/untrusted:v1" --key "$W/keys/a.pub" --key "$W/keys/b.pub"
}
check "a signature by an untrusted key is REJECTED" t_untrusted

t_truncated() {
  push busybox-arm64 trunc:v1
  pc sign "$REG/$NS/trunc:v1" --key "$W/keys/a.key" >/dev/null
  verify_ok trunc:v1 "$D_ARM" "$W/keys/a.pub"
  manifest trunc "$(sig_tag "$D_ARM")" \
    | jq -c '.layers[0].annotations["dev.cosignproject.cosign/signature"] |= .[0:40]' >"$W/m.json"
  eq "$(put_manifest trunc "$(sig_tag "$D_ARM")" "$W/m.json")" 201
  expect_reject 1 'signature|0 of the required' "$BIN" verify "$REG/$NS/trunc:v1" --key "$W/keys/a.pub"
  [ -z "$TOOLS" ] || expect_reject any 'no matching signatures' \
    cosign verify --key /hw/keys/a.pub --insecure-ignore-tlog "${COSIGN_REG[@]}" "$REG/$NS/trunc:v1"
}
check "a truncated signature is REJECTED (after a passing positive control)" t_truncated

t_garbage() {
  push busybox-arm64 garbage:v1
  pc sign "$REG/$NS/garbage:v1" --key "$W/keys/a.key" >/dev/null
  local t; t=$(sig_tag "$D_ARM")
  manifest garbage "$t" >"$W/good.json"
  local image_config; image_config=$(manifest garbage v1 | jq -r .config.digest)
  # Layers: wrong media type; a "payload" that is the image config; a signature that is not base64; none at all.
  jq -c --arg cfg "$image_config" --argjson cfgsize "$(manifest garbage v1 | jq .config.size)" '
    .layers[0] as $l
    | .layers = [
        ($l | .mediaType = "application/octet-stream"),
        ($l | .digest = $cfg | .size = $cfgsize),
        ($l | .annotations["dev.cosignproject.cosign/signature"] = "!!not-base64!!"),
        ($l | del(.annotations))]' "$W/good.json" >"$W/m.json"
  eq "$(put_manifest garbage "$t" "$W/m.json")" 201
  expect_reject 1 'no valid signature|0 of the required|not cosign' "$BIN" verify "$REG/$NS/garbage:v1" --key "$W/keys/a.pub"
  echo "INFO stderr: $(tr '\n' '|' <"$W/rej.log")"
  # Signing again over the garbage keeps only the real signatures.
  pc sign "$REG/$NS/garbage:v1" --key "$W/keys/a.key" >/dev/null 2>"$W/sign.err"
  grep -q 'dropping' "$W/sign.err" || fail "no warning about dropped layers: $(cat "$W/sign.err")"
  verify_ok garbage:v1 "$D_ARM" "$W/keys/a.pub"
}
check "a signature manifest of garbage layers is REJECTED; re-signing drops the garbage" t_garbage

# ---------------------------------------------------------------- bad input
t_bad_input() {
  printf -- '-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n' >"$W/keys/bad.pub"
  printf 'hello\n' >"$W/keys/bad.key"
  expect_reject 2 'malformed PEM' "$BIN" verify "$REG/$NS/app:v1" --key "$W/keys/bad.pub"
  expect_reject 2 'malformed PEM|PEM' pc sign "$REG/$NS/app:v1" --key "$W/keys/bad.key"
  expect_reject 2 'wrong password' env PORTCULLIS_PASSWORD=not-the-password "$BIN" sign "$REG/$NS/app:v1" --key "$W/keys/a.key"
  expect_reject 2 'no key password' env -u PORTCULLIS_PASSWORD -u COSIGN_PASSWORD "$BIN" sign "$REG/$NS/app:v1" --key "$W/keys/a.key" </dev/null
  expect_reject 2 'PUBLIC KEY|unsupported|malformed' "$BIN" verify "$REG/$NS/app:v1" --key "$W/keys/a.key"
  expect_reject 2 'cannot read key file' "$BIN" verify "$REG/$NS/app:v1" --key "$W/keys/missing.pub"
  expect_reject 2 'not found' pc sign "$REG/$NS/app:no-such-tag" --key "$W/keys/a.key"
  expect_reject 2 'KEY=VALUE' pc sign "$REG/$NS/app:v1" --key "$W/keys/a.key" --annotation novalue
  manifest app "$(sig_tag "$D_AMD")" | jq -e '.layers | length >= 2' >/dev/null || fail "a failed sign changed the signatures"
}
check "bad input: malformed PEM, wrong or missing password, a private key as --key, missing files and tags" t_bad_input

# ---------------------------------------------------------------- authentication and TLS
# A second Portcullis with auth on over HTTPS (throw-away CA): sign and verify
# through the Docker token flow (scope pull,push), --creds and --ca-file.
t_auth_tls() {
  local pki=$W/pki pw
  mkdir -p "$pki/certs.d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=Portcullis signing test CA" -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$pki/server.ext"
  openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -set_serial 7 \
    -days 2 -extfile "$pki/server.ext" -out "$pki/server.crt" 2>/dev/null
  cp "$pki/ca.crt" "$pki/certs.d/ca.crt"
  pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  printf 'tls:\n  certificate: %s\n  key: %s\nauth:\n  enabled: true\nscanner:\n  scan_on_push: false\n' \
    "$pki/server.crt" "$pki/server.key" >"$W/auth.yaml"
  printf '%s\n' "$pw" >"$W/admin-password"
  pc_stop
  PORTCULLIS_AUTH_ADMIN_PASSWORD_FILE=$W/admin-password pc_start "$BIN" "$W/data-auth" --config "$W/auth.yaml"
  trap 'pc_stop' EXIT  # this check runs in a subshell: stop its own server
  local reg=$PC_ADDR url="https://$PC_ADDR"
  admin() { curl -sS --noproxy '*' --cacert "$pki/ca.crt" -u "admin:$pw" -H 'Content-Type: application/json' \
              -o /dev/null -w '%{http_code}' "$@"; }
  eq "$(admin -X PUT -d '{"anonymous_pull":false}' "$url/api/v1/namespaces/team-a")" 204
  eq "$(admin -X POST -d '{"name":"dev","password":"dev-password-1"}' "$url/api/v1/users")" 201
  eq "$(admin -X PUT -d '{"role":"developer"}' "$url/api/v1/namespaces/team-a/members/dev")" 204
  eq "$(admin -X POST -d '{"name":"viewer","password":"viewer-password-1"}' "$url/api/v1/users")" 201
  eq "$(admin -X PUT -d '{"role":"reader"}' "$url/api/v1/namespaces/team-a/members/viewer")" 204
  skopeo copy -q --dest-cert-dir "$pki/certs.d" --dest-creds dev:dev-password-1 \
    "oci:$LAYOUT:busybox-amd64" "docker://$reg/team-a/app:v1"
  local tls=(--ca-file "$pki/ca.crt")
  pc sign "$reg/team-a/app:v1" --key "$W/keys/a.key" --creds dev:dev-password-1 "${tls[@]}" >/dev/null
  "$BIN" verify "$reg/team-a/app:v1" --key "$W/keys/a.pub" --creds viewer:viewer-password-1 "${tls[@]}" >/dev/null
  "$BIN" verify "$reg/team-a/app:v1" --key "$W/keys/a.pub" --creds dev:dev-password-1 --insecure-tls >/dev/null
  echo "INFO signed with --creds (token scope pull,push) and verified by a reader over HTTPS with --ca-file"
  expect_reject 2 '401|unauthorized|credentials' pc sign "$reg/team-a/app:v1" --key "$W/keys/a.key" "${tls[@]}"
  expect_reject 2 '401|403|denied|unauthorized' pc sign "$reg/team-a/app:v1" --key "$W/keys/a.key" \
    --creds viewer:viewer-password-1 "${tls[@]}"
  expect_reject 2 'certificate|verify|handshake' "$BIN" verify "$reg/team-a/app:v1" --key "$W/keys/a.pub" \
    --creds dev:dev-password-1
  c() { curl -sS --noproxy '*' --cacert "$pki/ca.crt" -u dev:dev-password-1 "$@"; }
  c -f -H "Accept: $ACCEPT" "$url/v2/team-a/app/manifests/$(sig_tag "$D_AMD")" | jq -e '.layers | length == 1' >/dev/null \
    || fail "a refused sign changed the signature manifest"
}
check "with auth and TLS: sign with --creds (pull,push token), verify as a reader; anonymous, reader and unknown-CA refused" t_auth_tls

echo "# signing: $PASSED passed, $FAILED failed, $SKIPPED skipped (registry $REG)"
[ "$FAILED" -eq 0 ]
