#!/usr/bin/env bash
# bench/load.sh [path/to/portcullis]
#
# Side-by-side load benchmark on loopback: Portcullis, the reference registry
# (Debian's docker-registry = CNCF Distribution 2.8.2) and nginx serving the
# very same manifest and blob bytes as static files (the "how fast can this
# box serve these bytes at all" baseline). See docs/performance.md.
#
# Each server runs on its own free 127.0.0.1 port, in its own directory under
# one temp dir, and is stopped by its own PID when the script exits.
#
# Measured, in interleaved rounds (every metric: portcullis, distribution,
# nginx; then the next metric; then the next round), median over rounds:
#   - manifest GET by tag, wrk with 64 connections: req/s, p50, p99 latency,
#     server CPU per request (utime+stime delta from /proc/<pid>/stat);
#   - 1 MiB blob GET throughput (wrk, 4 connections);
#   - 256 MiB blob GET throughput (wrk, 1 connection);
#   - monolithic 256 MiB push (POST + PUT ?digest= with curl), against
#     `openssl speed -evp sha256` on 1 MiB blocks as the hashing limit;
#   - peak RSS (VmHWM) of each server after all of the above.
#
# Environment:
#   BENCH_SECONDS=10          duration of each wrk measurement
#   BENCH_ROUNDS=3            interleaved rounds (medians are reported)
#   BENCH_THREADS=2           wrk threads for the manifest run
#   BENCH_CONNECTIONS=64      wrk connections for the manifest run
#   BENCH_BLOB_CONNECTIONS=4  wrk connections for the 1 MiB blob run
#   BENCH_BIG_CONNECTIONS=1   wrk connections for the big blob run
#   BENCH_BIG_MIB=256         size of the big blob in MiB
#   BENCH_SHA_SECONDS=2       openssl speed duration
#   BENCH_KEEP=1              keep the temp dir (logs, wrk output) at exit
#   BENCH_STRICT=1            exit 1 if any target is missed
#   BENCH_AUTH=1              Portcullis with authentication on: every request
#                             to it carries a Bearer token from its /token
#                             endpoint (the path a docker/podman client takes)
#   TMPDIR                    where the temp dir goes (needs ~4x the big blob)
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$ROOT/build/portcullis}
case "$BIN" in /*) ;; *) BIN=$PWD/$BIN ;; esac
SECONDS_PER=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
BLOB_CONNS=${BENCH_BLOB_CONNECTIONS:-4}
BIG_CONNS=${BENCH_BIG_CONNECTIONS:-1}
BIG_MIB=${BENCH_BIG_MIB:-256}
SHA_SECONDS=${BENCH_SHA_SECONDS:-2}
REPO=bench/app
TAG=latest
SERVERS=(portcullis distribution nginx)
MANIFEST_TYPE=application/vnd.oci.image.manifest.v1+json

die() { echo "load.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[ -x "$BIN" ] || die "no executable at $BIN (build first: make build)"
for v in SECONDS_PER ROUNDS THREADS CONNS BLOB_CONNS BIG_CONNS BIG_MIB SHA_SECONDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done

# --- dependencies ------------------------------------------------------------
need_install=0
for c in wrk nginx docker-registry curl openssl python3 sha256sum; do
  command -v "$c" >/dev/null 2>&1 || need_install=1
done
if [ $need_install = 1 ]; then
  log "installing bench dependencies"
  "$ROOT/scripts/install-deps.sh" bench
fi
for c in wrk nginx docker-registry curl openssl python3 sha256sum; do
  command -v "$c" >/dev/null 2>&1 || die "$c not found after install-deps.sh bench"
done
CLK_TCK=$(getconf CLK_TCK)

# --- temp dir, process bookkeeping, cleanup ------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-bench.XXXXXX")
chmod 755 "$TMP"  # nginx workers may run as nobody and must reach the files
declare -A PID PORT BASE
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$? s p
  trap - EXIT INT TERM
  for s in "${SERVERS[@]}"; do
    p=${PID[$s]:-}
    [ -n "$p" ] || continue
    kill -TERM "$p" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Three distinct free ports.
ports=()
while [ ${#ports[@]} -lt 3 ]; do
  p=$(free_port)
  [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
PORT[portcullis]=${ports[0]}; PORT[distribution]=${ports[1]}; PORT[nginx]=${ports[2]}
for s in "${SERVERS[@]}"; do BASE[$s]="http://127.0.0.1:${PORT[$s]}"; done

CURL=(curl -sS --noproxy '*')

alive() {  # alive SERVER: dies with the log tail if the server has gone
  local s=$1
  if ! kill -0 "${PID[$s]}" 2>/dev/null; then
    local st=0
    wait "${PID[$s]}" 2>/dev/null || st=$?
    if [ "$st" -gt 128 ]; then st="killed by signal $((st - 128)) ($(kill -l $((st - 128)) 2>/dev/null))"; else st="exit status $st"; fi
    echo "load.sh: $s (pid ${PID[$s]}) is not running: $st; log tail:" >&2
    tail -n 30 "$TMP/$s"/*.log >&2 || true
    PID[$s]=
    exit 1
  fi
}
wait_up() {  # wait_up SERVER URL: any HTTP answer counts
  local s=$1 url=$2 code
  for _ in $(seq 1 100); do
    alive "$s"
    code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$url" 2>/dev/null || true)
    [ "$code" != 000 ] && [ -n "$code" ] && return 0
    sleep 0.1
  done
  die "$s did not come up on $url"
}

# --- content -----------------------------------------------------------------
log "generating content in $TMP/content (1 MiB + ${BIG_MIB} MiB random blobs)"
C=$TMP/content
mkdir -p "$C"
head -c 1048576 /dev/urandom >"$C/small"
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$C/big"
SMALL_SIZE=1048576
BIG_SIZE=$((BIG_MIB * 1048576))
SMALL_DIGEST=sha256:$(sha256sum "$C/small" | cut -d' ' -f1)
BIG_DIGEST=sha256:$(sha256sum "$C/big" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["%s","%s"]},"history":[{"created_by":"bench small layer"},{"created_by":"bench big layer"}]}' \
  "$SMALL_DIGEST" "$BIG_DIGEST" >"$C/config"
CONFIG_SIZE=$(stat -c %s "$C/config")
CONFIG_DIGEST=sha256:$(sha256sum "$C/config" | cut -d' ' -f1)
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}],"annotations":{"org.opencontainers.image.title":"portcullis bench"}}' \
  "$MANIFEST_TYPE" "$CONFIG_DIGEST" "$CONFIG_SIZE" "$SMALL_DIGEST" "$SMALL_SIZE" "$BIG_DIGEST" "$BIG_SIZE" >"$C/manifest"
MANIFEST_DIGEST=sha256:$(sha256sum "$C/manifest" | cut -d' ' -f1)
MANIFEST_SIZE=$(stat -c %s "$C/manifest")
chmod 644 "$C"/*

# --- servers -------------------------------------------------------------------
log "starting portcullis on ${BASE[portcullis]}"
mkdir -p "$TMP/portcullis"
# A private copy: a rebuild during the run must not change what is measured.
cp "$BIN" "$TMP/portcullis/portcullis"
BIN=$TMP/portcullis/portcullis
AUTH=${BENCH_AUTH:-0}
BENCH_PASSWORD=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
PORTCULLIS_LOG_ACCESS_LOG=false PORTCULLIS_AUTH_ENABLED=$([ "$AUTH" = 1 ] && echo true || echo false) \
  PORTCULLIS_AUTH_ADMIN_PASSWORD=$BENCH_PASSWORD PORTCULLIS_AUTH_TOKEN_LIFETIME_SECONDS=86400 \
  "$BIN" serve --listen "127.0.0.1:${PORT[portcullis]}" \
  --data "$TMP/portcullis/data" >"$TMP/portcullis/stdout.log" 2>"$TMP/portcullis/stderr.log" </dev/null &
PID[portcullis]=$!
wait_up portcullis "${BASE[portcullis]}/v2/"
# ah SERVER: sets AH to the extra curl/wrk arguments for that server.
AH=()
TOKEN=
if [ "$AUTH" = 1 ]; then
  scopes="scope=repository:$REPO:pull,push"
  for r in $(seq 1 "$ROUNDS"); do scopes="$scopes&scope=repository:bench/push$r:pull,push"; done
  TOKEN=$("${CURL[@]}" -u "admin:$BENCH_PASSWORD" "${BASE[portcullis]}/token?service=portcullis&$scopes" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || die "could not get a token"
  log "authentication on: using a Bearer token for every Portcullis request"
fi
ah() { AH=(); if [ "$1" = portcullis ] && [ -n "$TOKEN" ]; then AH=(-H "Authorization: Bearer $TOKEN"); fi; }

# Distribution: as tests/harness/reference-registry.sh, but quiet (warn level,
# no access log, just like Portcullis here) and with the in-memory blob
# descriptor cache of Debian's stock config.
log "starting distribution on ${BASE[distribution]}"
mkdir -p "$TMP/distribution/data"
cat >"$TMP/distribution/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $TMP/distribution/data
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${PORT[distribution]}
  secret: $(openssl rand -hex 16)
EOF
docker-registry serve "$TMP/distribution/config.yml" >"$TMP/distribution/registry.log" 2>&1 </dev/null &
PID[distribution]=$!
wait_up distribution "${BASE[distribution]}/v2/"

log "starting nginx on ${BASE[nginx]}"
N=$TMP/nginx
mkdir -p "$N/root/v2/$REPO/manifests" "$N/root/v2/$REPO/blobs" "$N/temp"
cp "$C/manifest" "$N/root/v2/$REPO/manifests/$TAG"
for f in small big config; do
  d=$(sha256sum "$C/$f" | cut -d' ' -f1)
  ln "$C/$f" "$N/root/v2/$REPO/blobs/sha256:$d" 2>/dev/null || cp "$C/$f" "$N/root/v2/$REPO/blobs/sha256:$d"
done
chmod -R a+rX "$N/root"
cat >"$N/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $N/temp/body;
  proxy_temp_path $N/temp/proxy;
  fastcgi_temp_path $N/temp/fastcgi;
  uwsgi_temp_path $N/temp/uwsgi;
  scgi_temp_path $N/temp/scgi;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${PORT[nginx]};
    root $N/root;
    location /v2/$REPO/manifests/ {
      default_type $MANIFEST_TYPE;
      add_header Docker-Content-Digest $MANIFEST_DIGEST;
    }
    location /v2/$REPO/blobs/ {
      default_type application/octet-stream;
    }
  }
}
EOF
nginx -p "$N/" -c "$N/nginx.conf" -e "$N/error.log" -t >"$N/nginx-t.out" 2>&1 || { cat "$N/nginx-t.out" >&2; die "bad nginx.conf"; }
nginx -p "$N/" -c "$N/nginx.conf" -e "$N/error.log" >"$N/stdout.log" 2>&1 </dev/null &
PID[nginx]=$!
wait_up nginx "${BASE[nginx]}/v2/$REPO/manifests/$TAG"

# --- push the content to both registries --------------------------------------
# push_blob SERVER FILE DIGEST [REPO] -> prints "HTTP_CODE TIME_TOTAL" of the PUT.
push_blob() {
  local s=$1 file=$2 digest=$3 repo=${4:-$REPO} base loc url
  base=${BASE[$s]}
  ah "$s"
  loc=$("${CURL[@]}" "${AH[@]}" -o /dev/null -D - -X POST "$base/v2/$repo/blobs/uploads/" |
    awk 'tolower($1) == "location:" {sub(/\r$/, ""); print $2}')
  [ -n "$loc" ] || die "$s: POST /v2/$repo/blobs/uploads/ gave no Location"
  case "$loc" in http://*|https://*) url=$loc ;; *) url=$base$loc ;; esac
  case "$url" in *\?*) url="$url&digest=$digest" ;; *) url="$url?digest=$digest" ;; esac
  # Expect: off, as Go clients (docker, containerd, skopeo) do not send it.
  "${CURL[@]}" "${AH[@]}" -o "$TMP/$s/put.out" -w '%{http_code} %{time_total}\n' -X PUT \
    -H 'Content-Type: application/octet-stream' -H 'Expect:' --data-binary @"$file" "$url"
}
for s in portcullis distribution; do
  log "pushing to $s"
  for f in config small big; do
    d=$(sha256sum "$C/$f" | cut -d' ' -f1)
    read -r code _ < <(push_blob "$s" "$C/$f" "sha256:$d")
    [ "$code" = 201 ] || { cat "$TMP/$s/put.out" >&2; die "$s: blob PUT of $f gave HTTP $code"; }
  done
  ah "$s"
  code=$("${CURL[@]}" "${AH[@]}" -o "$TMP/$s/put.out" -w '%{http_code}' -X PUT -H "Content-Type: $MANIFEST_TYPE" \
    --data-binary @"$C/manifest" "${BASE[$s]}/v2/$REPO/manifests/$TAG")
  [ "$code" = 201 ] || { cat "$TMP/$s/put.out" >&2; die "$s: manifest PUT gave HTTP $code"; }
done

# --- verify that all three serve the same bytes (and warm caches) ---------------
for s in "${SERVERS[@]}"; do
  b=${BASE[$s]}
  ah "$s"
  ct=$("${CURL[@]}" "${AH[@]}" -o "$TMP/$s/manifest.got" -w '%{content_type}' -H "Accept: $MANIFEST_TYPE" "$b/v2/$REPO/manifests/$TAG")
  [ "$ct" = "$MANIFEST_TYPE" ] || die "$s: manifest Content-Type is '$ct'"
  cmp -s "$TMP/$s/manifest.got" "$C/manifest" || die "$s: manifest bytes differ"
  for f in small big; do
    d=$(sha256sum "$C/$f" | cut -d' ' -f1)
    got=$("${CURL[@]}" "${AH[@]}" "$b/v2/$REPO/blobs/sha256:$d" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$d" ] || die "$s: blob $f digest mismatch"
  done
done
log "all three servers serve identical manifest ($MANIFEST_SIZE bytes, $MANIFEST_DIGEST) and blobs"

# --- measurement helpers -------------------------------------------------------
cat >"$TMP/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%.0f bytes=%.0f duration_us=%.0f p50_us=%.0f p99_us=%.0f errors=%.0f status_errors=%.0f\n",
    summary.requests, summary.bytes, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
EOF

cpu_ticks() {  # utime+stime of PID and its direct children (nginx workers)
  local total=0 p f
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    f=${f##*) }
    read -r -a a <<<"$f"
    total=$((total + a[11] + a[12]))
  done
  echo "$total"
}
peak_rss_kib() {  # VmHWM of PID plus its direct children
  local total=0 p v
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

R=$TMP/results
mkdir -p "$R"
record() { echo "$3" >>"$R/$1.$2"; }  # record METRIC SERVER VALUE

# run_wrk METRIC SERVER THREADS CONNS URL [extra wrk args...]
run_wrk() {
  local metric=$1 s=$2 t=$3 c=$4 url=$5 out t0 t1 line
  shift 5
  out=$TMP/$s/wrk.$metric.$round.txt
  alive "$s"
  t0=$(cpu_ticks "${PID[$s]}")
  ah "$s"
  wrk -t"$t" -c"$c" -d"${SECONDS_PER}s" --latency -s "$TMP/report.lua" "${AH[@]}" "$@" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed against $s"; }
  t1=$(cpu_ticks "${PID[$s]}")
  alive "$s"
  line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "no wrk summary for $s $metric"; }
  local requests=0 bytes=0 duration_us=0 p50_us=0 p99_us=0 errors=0 status_errors=0
  eval "${line#BENCH }"   # sets the variables named in report.lua
  requests=${requests:-0}
  [ "$requests" -gt 0 ] || die "$s $metric: no completed requests"
  local sec cpu_s
  sec=$(awk -v d="$duration_us" 'BEGIN{print d/1e6}')
  cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN{print (b-a)/hz}')
  record "$metric.rps" "$s" "$(awk -v n="$requests" -v d="$sec" 'BEGIN{printf "%.1f", n/d}')"
  record "$metric.mibs" "$s" "$(awk -v n="$bytes" -v d="$sec" 'BEGIN{printf "%.1f", n/d/1048576}')"
  record "$metric.p50" "$s" "$(awk -v v="$p50_us" 'BEGIN{printf "%.3f", v/1000}')"
  record "$metric.p99" "$s" "$(awk -v v="$p99_us" 'BEGIN{printf "%.3f", v/1000}')"
  record "$metric.cpu_us" "$s" "$(awk -v c="$cpu_s" -v n="$requests" 'BEGIN{printf "%.2f", c*1e6/n}')"
  record "$metric.cpu_s_per_gib" "$s" "$(awk -v c="$cpu_s" -v b="$bytes" 'BEGIN{printf "%.3f", c/(b/1073741824)}')"
  echo $((errors + status_errors)) >>"$R/$metric.errors.$s"
  printf '   %-13s %-12s %10.1f req/s %9.1f MiB/s  p50 %7.3f ms  p99 %8.3f ms  cpu %6.1f us/req  errors %d\n' \
    "$metric" "$s" "$(tail -n1 "$R/$metric.rps.$s")" "$(tail -n1 "$R/$metric.mibs.$s")" \
    "$(tail -n1 "$R/$metric.p50.$s")" "$(tail -n1 "$R/$metric.p99.$s")" \
    "$(tail -n1 "$R/$metric.cpu_us.$s")" $((errors + status_errors)) >&2
}

# --- rounds --------------------------------------------------------------------
MANIFEST_PATH=/v2/$REPO/manifests/$TAG
SMALL_PATH=/v2/$REPO/blobs/$SMALL_DIGEST
BIG_PATH=/v2/$REPO/blobs/$BIG_DIGEST
for round in $(seq 1 "$ROUNDS"); do
  log "round $round/$ROUNDS (${SECONDS_PER}s per measurement)"
  for s in "${SERVERS[@]}"; do
    run_wrk manifest "$s" "$THREADS" "$CONNS" "${BASE[$s]}$MANIFEST_PATH" -H "Accept: $MANIFEST_TYPE"
  done
  for s in "${SERVERS[@]}"; do
    run_wrk blob1m "$s" "$(( BLOB_CONNS < THREADS ? BLOB_CONNS : THREADS ))" "$BLOB_CONNS" \
      "${BASE[$s]}$SMALL_PATH" --timeout 30s
  done
  for s in "${SERVERS[@]}"; do
    run_wrk blobbig "$s" "$(( BIG_CONNS < THREADS ? BIG_CONNS : THREADS ))" "$BIG_CONNS" \
      "${BASE[$s]}$BIG_PATH" --timeout 60s
  done
  for s in portcullis distribution; do
    alive "$s"
    read -r code t < <(push_blob "$s" "$C/big" "$BIG_DIGEST" "bench/push$round")
    alive "$s"
    [ "$code" = 201 ] || { cat "$TMP/$s/put.out" >&2; die "$s: ${BIG_MIB} MiB push gave HTTP $code"; }
    record push.mibs "$s" "$(awk -v m="$BIG_MIB" -v t="$t" 'BEGIN{printf "%.1f", m/t}')"
    printf '   %-13s %-12s %10s %15.1f MiB/s  (%.3f s)\n' push "$s" "" "$(tail -n1 "$R/push.mibs.$s")" "$t" >&2
  done
  kbs=$(openssl speed -evp sha256 -bytes 1048576 -seconds "$SHA_SECONDS" 2>/dev/null | awk '/^sha256/ {v=$NF} END{sub(/k$/,"",v); print v}')
  [ -n "$kbs" ] || die "could not parse openssl speed output"
  record sha256.mibs openssl "$(awk -v k="$kbs" 'BEGIN{printf "%.1f", k*1000/1048576}')"
  printf '   %-13s %-12s %10s %15.1f MiB/s\n' sha256 openssl "" "$(tail -n1 "$R/sha256.mibs.openssl")" >&2
  # The other limit of a push: writing the bytes durably to the same disk.
  t0=$(date +%s.%N)
  dd if="$C/big" of="$TMP/dd.out" bs=1M conv=fdatasync status=none
  t1=$(date +%s.%N)
  rm -f "$TMP/dd.out"
  record disk.mibs dd "$(awk -v m="$BIG_MIB" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", m/(b-a)}')"
  printf '   %-13s %-12s %10s %15.1f MiB/s\n' disk dd "" "$(tail -n1 "$R/disk.mibs.dd")" >&2
done

for s in "${SERVERS[@]}"; do
  alive "$s"
  record rss.mib "$s" "$(awk -v k="$(peak_rss_kib "${PID[$s]}")" 'BEGIN{printf "%.1f", k/1024}')"
done

# --- report --------------------------------------------------------------------
med() {  # med METRIC SERVER -> median over rounds, or "-"
  local f=$R/$1.$2
  [ -s "$f" ] || { echo -; return; }
  sort -g "$f" | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2 }'
}
errsum() { local f=$R/$1.errors.$2; [ -s "$f" ] && awk '{s+=$1} END{print s}' "$f" || echo 0; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="-"||b=="-"||b==0) print "-"; else printf "%.2f", a/b }'; }
fmt() { awk -v v="$1" -v p="$2" 'BEGIN{ if (v=="-") print "-"; else printf "%." p "f", v }'; }
MISSES=0
verdict() {  # verdict VALUE OP LIMIT
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN{
    if (v=="-") { print "n/a"; exit }
    ok = (op==">=") ? (v+0 >= l+0) : (v+0 <= l+0); print ok ? "PASS" : "MISS" }'
}

row() {  # row LABEL METRIC DECIMALS
  local label=$1 m=$2 d=$3 p dd n
  p=$(med "$m" portcullis); dd=$(med "$m" distribution); n=$(med "$m" nginx)
  printf '%-34s %12s %12s %12s %8s %8s\n' "$label" "$(fmt "$p" "$d")" "$(fmt "$dd" "$d")" "$(fmt "$n" "$d")" \
    "$(ratio "$p" "$n")" "$(ratio "$p" "$dd")"
}

echo
echo "Portcullis load benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -r)  $(nproc) CPUs  load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "portcullis $("$BIN" version 2>/dev/null | awk '{print $NF}'), $(docker-registry --version | awk '{print "distribution " $NF}'), $(nginx -v 2>&1 | sed 's|.*/|nginx |'), $(wrk -v 2>&1 | head -n1 | awk '{print "wrk " $2}')"
[ "$AUTH" = 1 ] && echo "portcullis with authentication ON: every request carries a Bearer token (ES256 JWT)"
echo "medians of $ROUNDS interleaved rounds, ${SECONDS_PER}s each; manifest: wrk -t$THREADS -c$CONNS; 1 MiB blob: -c$BLOB_CONNS; ${BIG_MIB} MiB blob: -c$BIG_CONNS"
echo
printf '%-34s %12s %12s %12s %8s %8s\n' metric portcullis distribution nginx "P/nginx" "P/dist"
printf '%-34s %12s %12s %12s %8s %8s\n' "$(printf '%.0s-' {1..34})" ------------ ------------ ------------ -------- --------
row "manifest GET (req/s)" manifest.rps 0
row "manifest GET p50 (ms)" manifest.p50 3
row "manifest GET p99 (ms)" manifest.p99 3
row "server CPU per manifest GET (us)" manifest.cpu_us 1
row "1 MiB blob GET (MiB/s)" blob1m.mibs 0
row "server CPU per GiB, 1 MiB GET (s)" blob1m.cpu_s_per_gib 3
row "${BIG_MIB} MiB blob GET (MiB/s)" blobbig.mibs 0
row "server CPU per GiB, ${BIG_MIB} MiB GET (s)" blobbig.cpu_s_per_gib 3
row "${BIG_MIB} MiB monolithic push (MiB/s)" push.mibs 0
row "peak RSS after load (MiB)" rss.mib 1
SHA=$(med sha256.mibs openssl)
printf '%-34s %12s\n' "openssl sha256, 1 MiB blocks (MiB/s)" "$(fmt "$SHA" 0)"
DISK=$(med disk.mibs dd)
printf '%-34s %12s\n' "dd + fdatasync to the data disk (MiB/s)" "$(fmt "$DISK" 0)"
for m in manifest blob1m blobbig; do
  for s in "${SERVERS[@]}"; do
    e=$(errsum "$m" "$s")
    [ "$e" = 0 ] || echo "WARNING: $s had $e failed/non-2xx requests in the $m runs (see wrk output)"
  done
done

echo
printf '%-44s %10s %10s  %s\n' target value limit result
check() {  # check LABEL VALUE OP LIMIT
  local v r
  v=$2; r=$(verdict "$v" "$3" "$4")
  [ "$r" = PASS ] || MISSES=$((MISSES + 1))
  printf '%-44s %10s %10s  %s\n' "$1" "$v" "$3 $4" "$r"
}
check "manifest GET req/s, portcullis/nginx" "$(ratio "$(med manifest.rps portcullis)" "$(med manifest.rps nginx)")" ">=" 0.60
check "manifest GET p99 (ms), portcullis" "$(fmt "$(med manifest.p99 portcullis)" 3)" "<=" 5
check "1 MiB blob GET, portcullis/nginx" "$(ratio "$(med blob1m.mibs portcullis)" "$(med blob1m.mibs nginx)")" ">=" 0.90
check "${BIG_MIB} MiB blob GET, portcullis/nginx" "$(ratio "$(med blobbig.mibs portcullis)" "$(med blobbig.mibs nginx)")" ">=" 0.95
check "${BIG_MIB} MiB push, portcullis/sha256 speed" "$(ratio "$(med push.mibs portcullis)" "$SHA")" ">=" 0.50
check "peak RSS (MiB), portcullis" "$(fmt "$(med rss.mib portcullis)" 1)" "<=" 50
echo "(push, distribution/sha256 speed: $(ratio "$(med push.mibs distribution)" "$SHA"))"
echo "(push vs the disk's own durable write speed: portcullis $(ratio "$(med push.mibs portcullis)" "$DISK"), distribution $(ratio "$(med push.mibs distribution)" "$DISK"))"

# Anything the servers complained about during the run.
for s in portcullis distribution nginx; do
  n=$(cat "$TMP/$s"/*.log 2>/dev/null | grep -ciE 'error|warn|panic|fatal' || true)
  [ "$n" = 0 ] || { echo "NOTE: $s logged $n warning/error lines; last ones:"; cat "$TMP/$s"/*.log | grep -iE 'error|warn|panic|fatal' | tail -n 5; }
done

if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$MISSES" -gt 0 ]; then exit 1; fi
exit 0
