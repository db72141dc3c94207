#!/usr/bin/env bash
# Scan on push end to end: a real image pushed with skopeo is scanned from the
# blob store, matched against real advisory data, served as JSON / SARIF /
# CycloneDX, re-matched when new data is imported (without re-reading
# layers), and the CLI scans the same image from an OCI layout.
# Usage: scan_test.sh PORTCULLIS_BIN DATA_DIR(tests/data/vulndata)
set -euo pipefail
BIN=$(readlink -f "${1:?usage: scan_test.sh PORTCULLIS_BIN VULNDATA_DIR}")
VULN=$(readlink -f "${2:?usage: scan_test.sh PORTCULLIS_BIN VULNDATA_DIR}")
HERE=$(dirname "$(readlink -f "$0")")
source "$HERE/lib.sh"
CACHE=${HARNESS_CACHE:-/var/tmp/registry-harness-cache}
bash "$HERE/../harness/build-test-images.sh" "$CACHE" >/dev/null 2>&1 || bash "$HERE/../harness/build-test-images.sh" "$CACHE"
LAYOUT=$CACHE/oci
WORK=$(mktemp -d /var/tmp/pc-e2e-scan.XXXXXX)
trap 'pc_stop; rm -rf "$WORK"' EXIT
PASS=0
ok() { echo "PASS  $*"; PASS=$((PASS + 1)); }
fail() { echo "FAIL  $*"; exit 1; }
ACCEPT='application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json'
digest_of() { curl -sfI -H "Accept: $ACCEPT" "http://$PC_ADDR/v2/$1/manifests/$2" | tr -d '\r' | awk 'tolower($1)=="docker-content-digest:"{print $2}'; }
report() { # report REPO DIGEST [QUERY] -> body once the scan is done
  local i code
  for i in $(seq 1 100); do
    code=$(curl -s -o "$WORK/report" -w '%{http_code}' "http://$PC_ADDR/api/v1/repositories/$1/manifests/$2/${4:-vulnerabilities}${3:-}")
    [ "$code" = 200 ] && { cat "$WORK/report"; return 0; }
    [ "$code" = 202 ] || fail "report for $1@$2 answered $code: $(cat "$WORK/report")"
    sleep 0.2
  done
  fail "scan of $1@$2 did not finish"
}

# Only npm data at first; Debian data arrives later to prove re-matching.
"$BIN" db import --db "$WORK/data/advisories.db" "$VULN/npm/npm.osv.jsonl" >/dev/null
PORTCULLIS_SCANNER_REMATCH_INTERVAL_SECONDS=1 pc_start "$BIN" "$WORK/data"
skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:debian-npm" "docker://$PC_ADDR/scan/app:v1"
skopeo copy -q --all --dest-tls-verify=false "oci:$LAYOUT:multi" "docker://$PC_ADDR/scan/multi:v1"
D=$(digest_of scan/app v1)

R=$(report scan/app "$D")
[ "$(jq -r .status <<<"$R")" = null ] || fail "scan not done: $R"
[ "$(jq '[.packages[] | select(.type=="deb")] | length' <<<"$R")" -ge 80 ] || fail "dpkg packages missing"
[ "$(jq -r '.distro.id + " " + .distro.version_id' <<<"$R")" = "debian 12" ] || fail "distro not detected"
for p in lodash@4.17.15 minimist@1.2.0 ansi-regex@5.0.0 node-fetch@2.6.0; do
  jq -e --arg n "${p%@*}" --arg v "${p#*@}" '.packages[] | select(.type=="npm" and .name==$n and .version==$v)' <<<"$R" >/dev/null || fail "npm package $p missing"
done
ok "scan on push: inventory has the Debian packages, distro debian 12 and the four npm packages"
jq -e '.findings[] | select(.id=="GHSA-35jh-r3h4-6jhm" and .package=="lodash" and .fixed_version=="4.17.21")' <<<"$R" >/dev/null || fail "lodash GHSA-35jh-r3h4-6jhm not reported"
jq -e '.findings[] | select(.package=="minimist" and .severity=="critical")' <<<"$R" >/dev/null || fail "critical minimist finding missing"
[ "$(jq '[.findings[] | select(.type=="deb")] | length' <<<"$R")" = 0 ] || fail "Debian findings before Debian data was imported"
ok "findings: lodash/minimist/node-fetch/ansi-regex advisories with fixed versions and severities"
V1=$(jq -r .advisory_data_version <<<"$R")

report scan/app "$D" "?format=sarif" | jq -e '.version=="2.1.0" and (.runs[0].results | length) > 0' >/dev/null || fail "SARIF"
report scan/app "$D" "" sbom | jq -e '.bomFormat=="CycloneDX" and .specVersion=="1.5" and (.components|length) > 80 and (.vulnerabilities|length) > 0' >/dev/null || fail "CycloneDX"
ok "SARIF 2.1.0 and CycloneDX 1.5 reports"

# The SBOM against the official CycloneDX 1.5 schema, with CycloneDX's own validator (npm).
command -v npm >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
NPMDIR=${PORTCULLIS_NPM_CACHE:-/var/tmp/portcullis-npm-cyclonedx}
if [ ! -d "$NPMDIR/node_modules/@cyclonedx/cyclonedx-library" ]; then
  mkdir -p "$NPMDIR"
  npm install --prefix "$NPMDIR" --no-audit --no-fund --loglevel=error \
    @cyclonedx/cyclonedx-library@10 ajv@8 ajv-formats@3 ajv-formats-draft2019@1 >/dev/null
fi
report scan/app "$D" "" sbom >"$WORK/sbom.json"
NODE_PATH=$NPMDIR/node_modules node "$HERE/validate_cyclonedx.js" <"$WORK/sbom.json" || fail "SBOM is not valid CycloneDX 1.5"
jq '.components[0].bogus = 1' "$WORK/sbom.json" >"$WORK/bad.json"
if NODE_PATH=$NPMDIR/node_modules node "$HERE/validate_cyclonedx.js" <"$WORK/bad.json" >/dev/null; then fail "validator accepts an invalid SBOM"; fi
ok "the SBOM validates against the CycloneDX 1.5 schema (and a corrupted one does not)"

"$BIN" db import --db "$WORK/data/advisories.db" "$VULN/debian/debian-12.osv.jsonl.gz" >/dev/null
for i in $(seq 1 50); do
  R=$(report scan/app "$D")
  [ "$(jq -r .advisory_data_version <<<"$R")" != "$V1" ] && break
  sleep 0.2
done
[ "$(jq -r .advisory_data_version <<<"$R")" != "$V1" ] || fail "no re-match after import"
[ "$(jq '[.findings[] | select(.type=="deb")] | length' <<<"$R")" -gt 0 ] || fail "no Debian findings after importing Debian data"
ok "importing new advisory data re-matches the stored inventory (data version $V1 -> $(jq -r .advisory_data_version <<<"$R"))"

M=$(digest_of scan/multi v1)
R=$(report scan/multi "$M")
[ "$(jq '[.packages[] | select(.name=="busybox-static")] | length' <<<"$R")" = 2 ] || fail "index is not the union of its images: $R"
ok "an index's inventory is the union of its platform images"

"$BIN" scan "$LAYOUT:debian-npm" --db "$WORK/data/advisories.db" --format json >"$WORK/cli.json" 2>/dev/null
jq -e '.findings[] | select(.id=="GHSA-35jh-r3h4-6jhm")' "$WORK/cli.json" >/dev/null || fail "CLI scan misses lodash"
set +e; "$BIN" scan "$LAYOUT:debian-npm" --db "$WORK/data/advisories.db" --fail-on critical >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 1 ] || fail "--fail-on critical exit code $rc"
ok "portcullis scan reads the OCI layout; --fail-on critical exits 1"
# The CLI pulls from a registry (ours, over loopback HTTP) and verifies every digest.
"$BIN" scan "$PC_ADDR/scan/app:v1" --db "$WORK/data/advisories.db" --format json >"$WORK/remote.json" 2>"$WORK/remote.err" || fail "remote scan: $(cat "$WORK/remote.err")"
jq -e --arg d "$D" '.digest==$d and ([.findings[] | select(.id=="GHSA-35jh-r3h4-6jhm")] | length) == 1' "$WORK/remote.json" >/dev/null || fail "remote scan misses lodash"
"$BIN" scan "$PC_ADDR/scan/multi:v1" --platform linux/arm64 --db "$WORK/data/advisories.db" --format json 2>/dev/null |
  jq -e '.packages[] | select(.name=="busybox-static" and .arch=="arm64")' >/dev/null || fail "remote scan of the arm64 image"
ok "portcullis scan REGISTRY/REPO:TAG pulls (index -> platform) and scans a remote image"
echo "$PASS passed"
