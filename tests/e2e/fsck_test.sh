#!/usr/bin/env bash
# `portcullis fsck` against a registry holding real images: intact store,
# then a corrupted blob, a deleted blob and an orphan, and --repair removing
# only the orphan (after its grace period). Runs against the live server.
# Usage: fsck_test.sh PORTCULLIS_BIN [HARNESS_CACHE]
set -euo pipefail
BIN=$(readlink -f "${1:?usage: fsck_test.sh PORTCULLIS_BIN [HARNESS_CACHE]}")
CACHE=${2:-${HARNESS_CACHE:-/var/tmp/registry-harness-cache}}
HERE=$(dirname "$(readlink -f "$0")")
source "$HERE/lib.sh"
WORK=$(mktemp -d /var/tmp/pc-e2e-fsck.XXXXXX)
trap 'pc_stop; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tmp"
export TMPDIR=$WORK/tmp NO_PROXY='*' no_proxy='*'
LAYOUT=$CACHE/oci
[ -f "$LAYOUT/index.json" ] || bash "$HERE/../harness/build-test-images.sh" "$CACHE" >/dev/null

passed=0
pass() { echo "PASS  $*"; passed=$((passed + 1)); }
fail() { echo "FAIL  $*" >&2; exit 1; }

printf 'scanner:\n  scan_on_push: false\n' >"$WORK/cfg.yaml"
pc_start "$BIN" "$WORK/data" --config "$WORK/cfg.yaml"
REG=$PC_ADDR
skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:debian-base" "docker://$REG/fsck/base:v1"
skopeo copy -q --dest-tls-verify=false --all "oci:$LAYOUT:multi" "docker://$REG/fsck/multi:v1"
run_fsck() { "$BIN" fsck --data "$WORK/data" --config "$WORK/cfg.yaml" "$@" >"$WORK/out" 2>&1; }
blob_file() { local d=${1#sha256:}; echo "$WORK/data/blobs/sha256/${d:0:2}/$d"; }

run_fsck || fail "fsck on an intact store: $(cat "$WORK/out")"
grep -q ' 0 missing, 0 corrupt, 0 orphans' "$WORK/out" || fail "intact summary: $(cat "$WORK/out")"
pass "an intact store after real pushes: 0 missing, 0 corrupt, 0 orphans ($(tail -n1 "$WORK/out" | cut -d';' -f1))"

# One layer corrupted in place, another deleted.
layers=$(skopeo inspect --tls-verify=false --raw "docker://$REG/fsck/base:v1" | jq -r '.layers[].digest')
corrupt=$(echo "$layers" | head -n1)
printf 'X' | dd of="$(blob_file "$corrupt")" bs=1 seek=100 conv=notrunc status=none
config=$(skopeo inspect --tls-verify=false --raw "docker://$REG/fsck/base:v1" | jq -r '.config.digest')
rm -f "$(blob_file "$config")"
rc=0; run_fsck || rc=$?
[ "$rc" = 1 ] || fail "fsck with damage exited $rc: $(cat "$WORK/out")"
grep -q "^CORRUPT  $corrupt" "$WORK/out" || fail "corrupt blob not named: $(cat "$WORK/out")"
grep -q "^MISSING  fsck/base@$config" "$WORK/out" || fail "missing blob not named: $(cat "$WORK/out")"
pass "a corrupted layer (CORRUPT) and a deleted config (MISSING repository@digest) are named; exit 1"
rc=0; run_fsck --no-verify || rc=$?
grep -q "^CORRUPT" "$WORK/out" && fail "--no-verify re-hashed"
grep -q "^MISSING  fsck/base@$config" "$WORK/out" || fail "--no-verify missed the missing blob"
pass "--no-verify checks existence only"

# An orphan: a valid blob nobody references, old enough, and a fresh one.
head -c 4096 /dev/urandom >"$WORK/orphan"
od=$(sha256sum "$WORK/orphan" | cut -d' ' -f1)
mkdir -p "$(dirname "$(blob_file "sha256:$od")")"
cp "$WORK/orphan" "$(blob_file "sha256:$od")"
touch -d '2 hours ago' "$(blob_file "sha256:$od")"
head -c 4096 /dev/urandom >"$WORK/young"
yd=$(sha256sum "$WORK/young" | cut -d' ' -f1)
mkdir -p "$(dirname "$(blob_file "sha256:$yd")")"
cp "$WORK/young" "$(blob_file "sha256:$yd")"
rc=0; run_fsck || rc=$?
grep -q "^ORPHAN   sha256:$od" "$WORK/out" || fail "orphan not reported: $(cat "$WORK/out")"
grep -q "sha256:$yd" "$WORK/out" && fail "a blob inside the grace period was called an orphan"
rc=0; run_fsck --repair || rc=$?
[ ! -e "$(blob_file "sha256:$od")" ] || fail "--repair left the orphan"
[ -e "$(blob_file "sha256:$yd")" ] || fail "--repair removed a blob inside the grace period"
[ -e "$(blob_file "$corrupt")" ] || fail "--repair removed a corrupt (referenced) blob"
grep -q '1 removed' "$WORK/out" || fail "repair summary: $(cat "$WORK/out")"
pass "--repair removes the old orphan only (not a young blob, not referenced content)"

# The server kept serving what is intact.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.index.v1+json' \
  "http://$REG/v2/fsck/multi/manifests/v1")
[ "$code" = 200 ] || fail "the live server stopped serving: $code"
pass "fsck ran against the live server without disturbing it"

echo "fsck: $passed checks passed"
