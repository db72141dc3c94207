#!/usr/bin/env bash
# Real clients against Portcullis: skopeo, podman and buildah push and pull
# every harness image (Debian and npm packages, a multi-platform index) plus
# raw protocol checks; see tests/harness/real-clients.sh. Needs root.
# Usage: real_clients.sh PORTCULLIS_BIN
set -euo pipefail
BIN=$(readlink -f "${1:?usage: real_clients.sh PORTCULLIS_BIN}")
HERE=$(dirname "$(readlink -f "$0")")
source "$HERE/lib.sh"
WORK=$(mktemp -d /var/tmp/pc-e2e-clients.XXXXXX)
trap 'pc_stop; rm -rf "$WORK"' EXIT
pc_start "$BIN" "$WORK/data"
echo "portcullis on $PC_ADDR (pid $PC_PID)"
bash "$HERE/../harness/real-clients.sh" "$PC_ADDR" "${HARNESS_CACHE:-/var/tmp/registry-harness-cache}"
# A restart must lose nothing: every tag pushed above is still served.
pc_stop
pc_start "$BIN" "$WORK/data"
repos=$(curl -sf "http://$PC_ADDR/v2/_catalog?n=1000" | jq -r '.repositories[]')
n=0
for r in $repos; do
  for t in $(curl -sf "http://$PC_ADDR/v2/$r/tags/list" | jq -r '.tags[]'); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json' "http://$PC_ADDR/v2/$r/manifests/$t")
    [ "$code" = 200 ] || { echo "FAIL after restart: $r:$t -> $code"; exit 1; }
    n=$((n + 1))
  done
done
[ "$n" -gt 10 ] || { echo "FAIL: only $n tags after restart"; exit 1; }
echo "PASS  all $n tags still served after a restart"
