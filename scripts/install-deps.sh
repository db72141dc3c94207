#!/usr/bin/env bash
# install-deps.sh [build|test|bench]
# Installs the Debian 12 packages Portcullis needs, only those missing.
#   build: compiler toolchain and libraries (enough for `make run`)
#   test:  build + the real peers the test suite drives (PostgreSQL, skopeo, podman,
#          python3-cryptography for forged-token tests, openssl and gnupg,
#          buildah, umoci, mmdebstrap for the test images, curl, jq, python3,
#          haproxy in front of replicas, Ceph and Swift for the S3 store
#          tests/harness/start-s3.sh starts)
#   bench: test + the reference registry, nginx and wrk
set -euo pipefail
what=${1:-build}
build_pkgs=(make cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsodium-dev libsqlite3-dev libpq-dev libcli11-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  libarchive-dev librpm-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev)
test_pkgs=(skopeo podman buildah umoci mmdebstrap jq curl python3 python3-cryptography openssl gnupg
  uidmap util-linux postgresql haproxy
  ceph-mon ceph-osd radosgw ceph-common ceph-base
  swift-proxy swift-object swift-container swift-account memcached)
bench_pkgs=(docker-registry nginx-light wrk)
pkgs=("${build_pkgs[@]}")
case "$what" in
  build) ;;
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}" >&2
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
