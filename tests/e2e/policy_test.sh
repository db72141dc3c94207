#!/usr/bin/env bash
# The registry policy engine through a running server, with the real test
# images (harness), real Debian advisory data, skopeo and curl:
#   - the image with bookworm's old openssl is denied under a `high` threshold,
#     allowed with valid exceptions, and denied again when they expire (no restart);
#   - debian-extra derives from an approved debian-base; an image with a forged
#     base annotation but other layers is "unknown base" (push refused onPush);
#   - an unsigned image is quarantined while it is scanned, then denied under an
#     enforce signature rule, and served under warn;
#   - blobs of a denied image are refused through its repository;
#   - invalid policy files (directory, API, CLI) give precise messages and the
#     previous version stays active; `policy test` dry-runs a candidate;
#   - every decision is in the audit log with its inputs' versions.
# Usage: policy_test.sh PORTCULLIS_BIN VULNDATA_DIR [HARNESS_CACHE]
set -euo pipefail
BIN=$(readlink -f "${1:?usage: policy_test.sh PORTCULLIS_BIN VULNDATA_DIR [HARNESS_CACHE]}")
VULN=$(readlink -f "${2:?vulndata dir}")
CACHE=${3:-${HARNESS_CACHE:-/var/tmp/registry-harness-cache}}
HERE=$(dirname "$(readlink -f "$0")")
source "$HERE/lib.sh"
WORK=$(mktemp -d /var/tmp/pc-e2e-policy.XXXXXX)
trap 'pc_stop; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tmp" "$WORK/policy" "$WORK/keys"
export TMPDIR=$WORK/tmp NO_PROXY='*' no_proxy='*'
LAYOUT=$CACHE/oci
[ -f "$LAYOUT/index.json" ] || bash "$HERE/../harness/build-test-images.sh" "$CACHE" >/dev/null

passed=0
pass() { echo "PASS  $*"; passed=$((passed + 1)); }
fail() { echo "FAIL  $*" >&2; [ -n "$PC_LOG" ] && tail -n 30 "$PC_LOG" >&2; exit 1; }

ACCEPT='application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json'
# get REPO REF -> HTTP status of a manifest GET; the body in $WORK/body
get() { curl -sS -o "$WORK/body" -w '%{http_code}' -H "Accept: $ACCEPT" "http://$REG/v2/$1/manifests/$2"; }
digest_of() { curl -sfI -H "Accept: $ACCEPT" "http://$REG/v2/$1/manifests/$2" | tr -d '\r' | awk 'tolower($1)=="docker-content-digest:"{print $2}'; }
push() { skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:$1" "docker://$REG/$2"; }
# until SECONDS CMD... : retries CMD every 0.25 s
until_ok() { local t=$1; shift; local i; for i in $(seq 1 $((t * 4))); do "$@" && return 0; sleep 0.25; done; return 1; }
status_is() { [ "$(get "$2" "$3")" = "$1" ]; }
body_has() { grep -q -- "$1" "$WORK/body"; }
scan_done() { # scan_done REPO DIGEST -> the vulnerability report in $WORK/report
  SCAN_CODE=$(curl -s -o "$WORK/report" -w '%{http_code}' "http://$REG/api/v1/repositories/$1/manifests/$2/vulnerabilities")
  [ "$SCAN_CODE" = 200 ]
}
pc() { "$BIN" "$@" --data "$WORK/data" --config "$WORK/cfg.yaml"; }
versions() { pc policy versions | wc -l; }
rfc3339() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# ------------------------------------------------------------------ server
"$BIN" db import --db "$WORK/data/advisories.db" "$VULN/debian/debian-12.osv.jsonl.gz" >/dev/null
cat >"$WORK/cfg.yaml" <<EOF
policy:
  directory: $WORK/policy
  reload_interval_seconds: 1
EOF
cat >"$WORK/policy/10-vulns.yaml" <<'EOF'
rules:
  - name: no-high
    repositories: ["vuln/*"]
    vulnerabilities:
      severityThreshold: high
      fixableOnly: true
EOF
pc_start "$BIN" "$WORK/data" --config "$WORK/cfg.yaml"
REG=$PC_ADDR
echo "portcullis on $REG (pid $PC_PID)"
grep -q 'is now active as version 1' "$PC_LOG" || fail "policy directory not applied at start"
pass "the policy directory becomes version 1 at start"

# ------------------------------------------------------------------ vulnerabilities
push debian-extra vuln/app:v1
DX=$(digest_of vuln/app v1)
until_ok 120 scan_done vuln/app "$DX" || fail "scan of debian-extra did not finish: $SCAN_CODE $(head -c 300 "$WORK/report")"
until_ok 10 status_is 403 vuln/app v1 || fail "old openssl served under a high threshold: $(cat "$WORK/body")"
body_has '"DENIED"' && body_has "policy rule 'no-high': vulnerabilities:" && body_has 'fixed in' || fail "denial body: $(cat "$WORK/body")"
# Debian's (changelog-derived) data carries no severities: unknown counts as critical by default.
jq -e '[.findings[] | select((.package=="openssl" or .package=="libssl3") and .fixed_version != "")] | length > 0' "$WORK/report" >/dev/null ||
  fail "no fixable openssl finding in the real data"
body_has 'libssl3, openssl' || fail "the denial does not name openssl: $(cat "$WORK/body")"
[ "$(get vuln/app "$DX")" = 403 ] || fail "denied image served by digest"
LAYER=$(skopeo inspect --raw "oci:$LAYOUT:debian-extra" | jq -r '.layers[-1].digest')
code=$(curl -s -o "$WORK/blob" -w '%{http_code}' "http://$REG/v2/vuln/app/blobs/$LAYER")
[ "$code" = 403 ] || fail "a layer of the denied image was served through its repository: $code"
# Not copied out either: a mount of that layer (or of the manifest) into another
# repository becomes a plain upload session, and the manifest is no blob.
for d in "$LAYER" "$DX"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$REG/v2/copy/out/blobs/uploads/?mount=$d&from=vuln/app")
  [ "$code" = 202 ] || fail "content of the denied image mounted out of vuln/app ($d): $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/copy/out/blobs/$d")
  [ "$code" = 404 ] || fail "content of the denied image readable after a mount attempt ($d): $code"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/vuln/app/blobs/$DX")
[ "$code" = 403 ] || fail "the denied manifest was served through the blob route: $code"
grep -q 'blob belongs to refused image' "$WORK/blob" || fail "blob refusal body: $(cat "$WORK/blob")"
pass "debian-extra (bookworm openssl) is denied under severityThreshold high: manifest by tag and digest, and its layers"

IDS=$(jq -c '[.findings[] | select((.severity=="high" or .severity=="critical" or .severity=="unknown") and .fixed_version != "") | .id] | unique' "$WORK/report")
N=$(jq length <<<"$IDS")
exceptions() { # exceptions EXPIRES -> YAML list items
  jq -r --arg e "$1" '.[] | "        - {id: \(.), reason: \"patched in the next release\", owner: sec@example.com, expires: \"\($e)\"}"' <<<"$IDS"
}
write_vulns() {
  { printf 'rules:\n  - name: no-high\n    repositories: ["vuln/*"]\n    vulnerabilities:\n      severityThreshold: high\n      fixableOnly: true\n      exceptions:\n'
    exceptions "$1"; } >"$WORK/policy/10-vulns.yaml.tmp"
  mv "$WORK/policy/10-vulns.yaml.tmp" "$WORK/policy/10-vulns.yaml"
}
write_vulns 2099-12-31
until_ok 15 status_is 200 vuln/app v1 || fail "valid exceptions did not admit the image: $(cat "$WORK/body")"
pass "with valid exceptions for its $N fixable findings at or above high (unknown counts as critical) it is served (policy version 2 from the directory)"

EXPIRY=$(( $(date +%s) + 8 ))
write_vulns "$(rfc3339 $EXPIRY)"
until_ok 15 bash -c "grep -q 'is now active as version 3' '$PC_LOG'" || fail "version 3 not applied"
sleep 2.5
[ "$(get vuln/app v1)" = 200 ] || fail "exceptions expiring in a few seconds refused early: $(cat "$WORK/body")"
while [ "$(date +%s)" -le "$EXPIRY" ]; do sleep 0.5; done
[ "$(get vuln/app v1)" = 403 ] || fail "expired exceptions still count"
body_has "no-high" || fail "denial after expiry: $(cat "$WORK/body")"
pass "when the exceptions expire the image is denied again, without a restart or a policy change"

# ------------------------------------------------------------------ bad policy files
cp "$WORK/policy/10-vulns.yaml" "$WORK/good.yaml"
before=$(versions)
cat >"$WORK/policy/20-bad.yaml" <<'EOF'
rules:
  - name: typo
    repositories: ["x/*"]
    vulnerabilities:
      severityThreshold: hihg
    maxAge: -3
EOF
until_ok 10 bash -c "grep -q '20-bad.yaml:5: rules\[0\] (typo).vulnerabilities.severityThreshold: must be one of negligible, low, medium, high, critical (got \"hihg\")' '$PC_LOG'" ||
  fail "no precise error for the bad file in the log"
grep -q '20-bad.yaml:6: rules\[0\] (typo).maxAge: must be between 1 and 36500 (got -3)' "$PC_LOG" || fail "second problem not reported"
[ "$(versions)" = "$before" ] || fail "a bad policy was stored"
[ "$(get vuln/app v1)" = 403 ] || fail "the previous policy is no longer active"
if "$BIN" policy validate "$WORK/policy" 2>"$WORK/err"; then fail "policy validate accepted a bad file"; fi
grep -q '20-bad.yaml:5: rules\[0\] (typo).vulnerabilities.severityThreshold' "$WORK/err" || fail "validate output: $(cat "$WORK/err")"
code=$(curl -s -o "$WORK/put" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  --data "$(jq -n --rawfile a "$WORK/policy/20-bad.yaml" '{files: {"up.yaml": $a}}')" "http://$REG/api/v1/policy")
[ "$code" = 400 ] || fail "API accepted a bad policy: $code"
jq -e '.errors[0].message | contains("up.yaml:5: rules[0] (typo).vulnerabilities.severityThreshold")' "$WORK/put" >/dev/null || fail "API error: $(cat "$WORK/put")"
rm "$WORK/policy/20-bad.yaml"
pass "invalid policy files (directory, CLI validate, API upload) name file:line: field and the previous version stays active"

# ------------------------------------------------------------------ approved base images
push debian-base base/debian:12
BASE=$(digest_of base/debian 12)
code=$(curl -s -o "$WORK/out" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  --data '{"repository":"base/debian","tag":"12"}' "http://$REG/api/v1/policy/bases/debian")
[ "$code" = 204 ] || fail "approving a base: $code $(cat "$WORK/out")"
curl -sf "http://$REG/api/v1/policy/bases" | jq -e --arg d "$BASE" '.bases[0].digests[0].digest == $d' >/dev/null || fail "base digest not recorded"
cat >"$WORK/policy/30-bases.yaml" <<'EOF'
rules:
  - name: approved-base
    repositories: ["apps/*"]
    onPush: true
    baseImages:
      allowed: [debian]
  - name: approved-base-at-pull
    repositories: ["legacy/*"]
    baseImages: {}
EOF
until_ok 15 bash -c "pc() { \"$BIN\" \"\$@\" --data '$WORK/data' --config '$WORK/cfg.yaml'; }; pc policy show | grep -q approved-base-at-pull" || fail "base rules not applied"
sleep 2.5
push debian-extra apps/extra:v1 || fail "debian-extra refused though built on debian-base"
"$BIN" policy check "$REG/apps/extra:v1" >"$WORK/check" || fail "policy check: $(cat "$WORK/check")"
grep -q "built on approved base 'debian' (base/debian:12@$BASE)" "$WORK/check" || fail "lineage: $(cat "$WORK/check")"
pass "debian-extra derives from the approved debian-base (layer prefix by diff_id); policy check names base and digest"

# The forged image: busybox layers, annotations claiming debian-base.
if push busybox-amd64 apps/forged:orig 2>"$WORK/err"; then fail "busybox pushed under an approved-base onPush rule"; fi
grep -q 'DENIED\|denied' "$WORK/err" || fail "skopeo error: $(cat "$WORK/err")"
push busybox-amd64 legacy/forged:orig
skopeo inspect --raw "oci:$LAYOUT:busybox-amd64" |
  jq -c --arg d "$BASE" '.annotations = {"org.opencontainers.image.base.name": "base/debian:12", "org.opencontainers.image.base.digest": $d}' >"$WORK/forged.json"
MT=$(jq -r .mediaType "$WORK/forged.json")
code=$(curl -s -o "$WORK/out" -w '%{http_code}' -X PUT -H "Content-Type: $MT" --data-binary "@$WORK/forged.json" \
  "http://$REG/v2/apps/forged/manifests/v1")
[ "$code" = 403 ] || fail "forged manifest accepted onPush: $code $(cat "$WORK/out")"
grep -q "unknown base: the annotations name approved base 'debian'" "$WORK/out" || fail "forged push refusal: $(cat "$WORK/out")"
code=$(curl -s -o "$WORK/out" -w '%{http_code}' -X PUT -H "Content-Type: $MT" --data-binary "@$WORK/forged.json" \
  "http://$REG/v2/legacy/forged/manifests/v1")
[ "$code" = 201 ] || fail "push to legacy (checked at pull only): $code"
if "$BIN" policy check "$REG/legacy/forged:v1" >"$WORK/check"; then fail "forged image allowed"; fi
grep -q 'unknown base' "$WORK/check" && grep -q 'annotations alone are not trusted' "$WORK/check" || fail "forged check: $(cat "$WORK/check")"
[ "$(get legacy/forged v1)" = 403 ] || fail "forged image served"
pass "a forged base annotation over other layers is 'unknown base': refused on push (onPush) and on pull"

# ------------------------------------------------------------------ quarantine and signatures
(cd "$WORK/keys" && PORTCULLIS_PASSWORD=pw "$BIN" key generate k1 >/dev/null)
pc trust key add k1 --public-key "$WORK/keys/k1.pub" --owner release --repository 'sig/*' >/dev/null
cat >"$WORK/policy/40-signed.yaml" <<'EOF'
rules:
  - name: signed
    repositories: ["sig/*"]
    scan: required
    signatures:
      keys: [k1]
      threshold: 1
EOF
until_ok 15 bash -c "pc() { \"$BIN\" \"\$@\" --data '$WORK/data' --config '$WORK/cfg.yaml'; }; pc policy show | grep -q 'name: signed'" || fail "signature rule not applied"
sleep 2.5
# Keep the single scan worker busy so that the next image waits in the queue.
push debian-npm sig/app:npm
push debian-base sig/app:base
push debian-extra sig/app:v1
code=$(get sig/app v1)
[ "$code" = 403 ] && body_has 'quarantined: scanning' || fail "a fresh unsigned image was not quarantined: $code $(cat "$WORK/body")"
pass "a newly pushed image is quarantined (DENIED \"quarantined: scanning\") while it waits for its scan"
SX=$(digest_of sig/app v1)
until_ok 180 scan_done sig/app "$SX" || fail "scan did not finish"
until_ok 10 bash -c "[ \"\$(curl -s -o '$WORK/body' -w '%{http_code}' -H 'Accept: $ACCEPT' http://$REG/v2/sig/app/manifests/v1)\" = 403 ] && ! grep -q quarantined '$WORK/body'" ||
  fail "after the scan: $(cat "$WORK/body")"
body_has "policy rule 'signed': signatures:" && body_has 'not signed' || fail "signature denial: $(cat "$WORK/body")"
pass "once scanned, the unsigned image is denied under the enforce signature rule"
PORTCULLIS_PASSWORD=pw "$BIN" sign "$REG/sig/app:v1" --key "$WORK/keys/k1.key" >/dev/null || fail "signing"
until_ok 10 status_is 200 sig/app v1 || fail "signed image refused: $(cat "$WORK/body")"
pass "after signing with the trusted key it is served (verdict follows the new signature)"
push debian-extra sig/other:v1
OX=$(digest_of sig/other v1)
until_ok 180 scan_done sig/other "$OX" || fail "scan did not finish"
sed -i 's/    scan: required/    mode: warn\n    scan: required/' "$WORK/policy/40-signed.yaml"
until_ok 15 status_is 200 sig/other v1 || fail "warn mode refused the unsigned image: $(cat "$WORK/body")"
pass "under warn the unsigned image is served"

# ------------------------------------------------------------------ dry run
mkdir -p "$WORK/candidate"
cp "$WORK/policy/"*.yaml "$WORK/candidate/"
cat >"$WORK/candidate/50-strict.yaml" <<'EOF'
rules:
  - name: strict-apps
    repositories: ["apps/*"]
    vulnerabilities:
      severityThreshold: medium
EOF
before=$(versions)
"$BIN" policy test --policy "$WORK/candidate" --server "$REG" >"$WORK/dry" || fail "policy test: $(cat "$WORK/dry")"
grep -q 'apps/extra:v1' "$WORK/dry" && grep -q 'allowed -> denied' "$WORK/dry" && grep -q "strict-apps" "$WORK/dry" ||
  fail "dry run output: $(cat "$WORK/dry")"
[ "$(versions)" = "$before" ] || fail "the dry run stored a version"
[ "$(get apps/extra v1)" = 200 ] || fail "the dry run changed enforcement"
pass "policy test lists what a candidate would deny and why, without activating it"

# ------------------------------------------------------------------ audit
sleep 1.5
pc audit list --action policy -n 500 >"$WORK/audit"
grep -q 'denied' "$WORK/audit" && grep -q 'quarantined' "$WORK/audit" && grep -q 'policy v' "$WORK/audit" && grep -q 'advisory data' "$WORK/audit" ||
  fail "policy decisions missing from the audit log: $(head -c 2000 "$WORK/audit")"
pc audit list --action policy.put -n 50 | grep -q 'from directory' || fail "policy versions not audited"
pc audit list --action base.digest -n 50 | grep -q "$BASE" || fail "base digest history not audited"
pc audit verify >/dev/null || fail "audit chain broken"
curl -sf "http://$REG/api/v1/policy/verdicts?repository=vuln/app" |
  jq -e '.verdicts[0].outcome == "denied" and (.verdicts[0].inputs | contains("policy v"))' >/dev/null || fail "stored verdicts"
pc policy verdicts --repository sig/app | grep -q 'allowed' || fail "policy verdicts CLI"
pass "decisions (with policy version, access generation and advisory data version), versions and base digests are audited; the newest verdict per image is stored"

# ------------------------------------------------------------------ with authentication
pc_stop
printf 'auth:\n  enabled: true\n  admin_password: policy-admin-pw\n' >>"$WORK/cfg.yaml"
pc_start "$BIN" "$WORK/data" --config "$WORK/cfg.yaml"
REG=$PC_ADDR
code=$(curl -s -o "$WORK/out" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  --data "$(jq -n --rawfile a "$WORK/good.yaml" '{files: {"x.yaml": $a}}')" "http://$REG/api/v1/policy")
[ "$code" = 401 ] || fail "anonymous policy upload: $code $(cat "$WORK/out")"
curl -s -u admin:policy-admin-pw "http://$REG/api/v1/policy" | jq -e '.version >= 3 and (.files | length) >= 3' >/dev/null ||
  fail "admin cannot read the active policy"
code=$(curl -s -o "$WORK/out" -w '%{http_code}' -u admin:policy-admin-pw -X POST \
  -d '{"repository":"vuln/app","reference":"v1"}' "http://$REG/api/v1/policy/evaluate")
[ "$code" = 200 ] && jq -e '.allowed == false and (.rules[0].rule == "no-high")' "$WORK/out" >/dev/null || fail "evaluate as admin: $code $(cat "$WORK/out")"
code=$(curl -s -o "$WORK/out" -w '%{http_code}' -X POST -d '{"repository":"vuln/app","reference":"v1"}' "http://$REG/api/v1/policy/evaluate")
[ "$code" = 401 ] || [ "$code" = 403 ] || fail "anonymous evaluate of a private repository: $code"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -u admin:policy-admin-pw -H "Accept: $ACCEPT" "http://$REG/v2/vuln/app/manifests/v1")
[ "$code" = 403 ] && body_has 'no-high' || fail "a denied image was served to an administrator: $code"
pass "with authentication: the policy API needs an administrator, evaluate needs pull access, denials apply to administrators too"

echo "policy e2e: $passed checks passed"
