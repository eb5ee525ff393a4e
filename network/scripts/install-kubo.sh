#!/usr/bin/env bash
# Builds Kubo, the network's IPFS node (the ipfs command), with `go install` into a versioned cache directory
# beside the Fabric binaries' (install-fabric.sh). An existing complete cache is reused. Prints the cache
# directory on stdout; the binary is <dir>/bin/ipfs.
#
#   FABRIC_BIN_CACHE   parent of the versioned cache directories (default: ~/.cache/smartmeter-fabric)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
network_dir=$(dirname "$script_dir")
# shellcheck source=network/versions.env
source "$network_dir/versions.env"

log() { printf '[install-kubo] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

cache_dir() {
  local parent=${FABRIC_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smartmeter-fabric}
  printf '%s/kubo-%s_r%s' "$parent" "${KUBO_VERSION#v}" "$KUBO_BUILD_REVISION"
}

# Succeeds when version $1 >= version $2 (dotted numbers).
version_at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | sed -n 1p)" = "$2" ]
}

check_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is not installed. Install Go >= $KUBO_GO_MIN_VERSION from https://go.dev/dl/ and re-run."
  local have
  have=$(go env GOVERSION)
  have=${have#go}
  version_at_least "$have" "$KUBO_GO_MIN_VERSION" ||
    die "Go $have is too old: building Kubo $KUBO_VERSION needs Go >= $KUBO_GO_MIN_VERSION."
}

# Complete when the binary is there and is the pinned version (a build interrupted half-way leaves none).
cache_complete() {
  local dir=$1
  [ -x "$dir/bin/ipfs" ] && [ "$("$dir/bin/ipfs" version 2>/dev/null)" = "ipfs version ${KUBO_VERSION#v}" ]
}

# go install inside network/tools/ipfs, whose go.mod and go.sum pin every dependency; why that wrapper module
# exists, and why it replaces quic-go and webtransport-go, is explained at the top of its go.mod.
build_kubo() {
  local dir=$1
  log "building Kubo $KUBO_VERSION (the IPFS node); the first build downloads its modules: a minute or two"
  (cd "$network_dir/tools/ipfs" &&
    GOBIN="$dir/bin" CGO_ENABLED=0 GOFLAGS=-mod=readonly go install github.com/ipfs/kubo/cmd/ipfs)
}

main() {
  local dir
  dir=$(cache_dir)
  if cache_complete "$dir"; then
    printf '%s\n' "$dir"
    return 0
  fi
  check_go
  mkdir -p "$dir/bin"
  build_kubo "$dir" || die "go install of Kubo $KUBO_VERSION failed"
  cache_complete "$dir" || die "the build finished but $dir/bin/ipfs is missing or not Kubo ${KUBO_VERSION#v}"
  log "Kubo ready in $dir/bin"
  printf '%s\n' "$dir"
}

case "${1:-}" in
  -h | --help | help)
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    ;;
  --print-dir) cache_dir && printf '\n' ;;
  *) main ;;
esac
