#!/usr/bin/env bash
# s3_blobs.sh [PORTCULLIS_BIN] — push and pull one large random blob through Portcullis with
# filesystem storage and with S3 storage (a real store from tests/harness/start-s3.sh,
# S3_BACKEND=ceph|swift), and print the wall time and throughput of each. Loopback only.
#   BENCH_MIB=256 (blob size), BENCH_CHUNK_MIB=0 (0: one monolithic PUT; N: PATCH chunks of N MiB)
set -euo pipefail
BIN=$(readlink -f "${1:-build/portcullis}")
HERE=$(dirname "$(readlink -f "$0")")
source "$HERE/../tests/e2e/lib.sh"
MIB=${BENCH_MIB:-256}
CHUNK=${BENCH_CHUNK_MIB:-0}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/pc-bench-s3.XXXXXX")
trap 'pc_stop; bash "$HERE/../tests/harness/stop-s3.sh" "$WORK/s3" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
set -a; eval "$(bash "$HERE/../tests/harness/start-s3.sh" "$WORK/s3" 2>/dev/null)"; set +a
export NO_PROXY='*' no_proxy='*' PORTCULLIS_SCANNER_SCAN_ON_PUSH=false
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/blob"
[ "$CHUNK" = 0 ] || split -b "${CHUNK}M" -d -a 4 "$WORK/blob" "$WORK/chunk."
digest=sha256:$(sha256sum "$WORK/blob" | cut -d' ' -f1)
now() { date +%s.%N; }
rate() { awk -v s="$1" -v e="$2" -v m="$MIB" 'BEGIN{printf "%6.2f s  %7.1f MiB/s", e-s, m/(e-s)}'; }
push() {
  local loc path off=0 f sz
  loc=$(curl -sf -D - -o /dev/null -X POST "http://$PC_ADDR/v2/bench/s3/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  path=$loc; case $loc in http*) path=/${loc#http*://*/};; esac
  local sep='?'; case $path in *\?*) sep='&';; esac
  if [ "$CHUNK" != 0 ]; then
    for f in "$WORK"/chunk.*; do
      sz=$(stat -c %s "$f")
      curl -sf -o /dev/null -X PATCH -H 'Content-Type: application/octet-stream' \
        -H "Content-Range: $off-$((off + sz - 1))" --data-binary @"$f" "http://$PC_ADDR$path"
      off=$((off + sz))
    done
    curl -sf -o /dev/null -X PUT "http://$PC_ADDR$path${sep}digest=$digest"
  else
    curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
      --data-binary @"$WORK/blob" "http://$PC_ADDR$path${sep}digest=$digest"
  fi
}
for driver in filesystem s3; do
  if [ "$driver" = s3 ]; then
    export PORTCULLIS_STORAGE_DRIVER=s3 PORTCULLIS_STORAGE_S3_ENDPOINT=$S3_ENDPOINT
    export PORTCULLIS_STORAGE_S3_BUCKET=$S3_BUCKET PORTCULLIS_STORAGE_S3_REGION=$S3_REGION
    export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
  fi
  pc_start "$BIN" "$WORK/data-$driver"
  s=$(now); push; e=$(now); echo "$driver push ($S3_BACKEND store for s3): $(rate "$s" "$e")"
  s=$(now); curl -sf -o "$WORK/back" "http://$PC_ADDR/v2/bench/s3/blobs/$digest"; e=$(now)
  cmp -s "$WORK/blob" "$WORK/back" || { echo "pulled bytes differ" >&2; exit 1; }
  echo "$driver pull: $(rate "$s" "$e")"
  pc_stop
done
