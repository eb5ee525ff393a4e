#!/usr/bin/env bash
# Builds the Fabric binaries the network runs (peer, orderer, osnadmin, configtxgen, configtxlator,
# fabric-ca-server, fabric-ca-client) with `go install`, into a versioned cache directory outside the clone.
# An existing complete cache is reused. Prints the cache directory on stdout.
#
#   FABRIC_BIN_CACHE   parent of the versioned cache directories (default: ~/.cache/smartmeter-fabric)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
network_dir=$(dirname "$script_dir")
# shellcheck source=network/versions.env
source "$network_dir/versions.env"

FABRIC_BINARIES=(peer orderer osnadmin configtxgen configtxlator)
# Our peer auth filter plug-in (network/tools/fabric/timewindow), loaded by the peer from the cache's lib/.
PEER_PLUGINS=(timewindow)
CA_BINARIES=(fabric-ca-server fabric-ca-client)

log() { printf '[install-fabric] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cache_dir() {
  local parent=${FABRIC_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smartmeter-fabric}
  printf '%s/fabric-%s_ca-%s_r%s' "$parent" "$FABRIC_LABEL" "${FABRIC_CA_VERSION#v}" "$BUILD_REVISION"
}

# Succeeds when version $1 >= version $2 (dotted numbers).
version_at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | sed -n 1p)" = "$2" ]
}

check_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is not installed. Install Go >= $GO_MIN_VERSION from https://go.dev/dl/ and re-run."
  local have
  have=$(go env GOVERSION)
  have=${have#go}
  version_at_least "$have" "$GO_MIN_VERSION" ||
    die "Go $have is too old: building Fabric CA $FABRIC_CA_VERSION needs Go >= $GO_MIN_VERSION."
}

cache_complete() {
  local dir=$1 bin plugin
  for bin in "${FABRIC_BINARIES[@]}" "${CA_BINARIES[@]}"; do
    [ -x "$dir/bin/$bin" ] || return 1
  done
  for plugin in "${PEER_PLUGINS[@]}"; do
    [ -f "$dir/lib/$plugin.so" ] || return 1
  done
  [ -f "$dir/config/core.yaml" ] && [ -f "$dir/config/orderer.yaml" ]
}

# go install inside network/tools/<module>: go.mod and go.sum there pin every dependency, and building inside
# a module avoids the proxy's version-list lookups that `go install pkg@version` makes.
build_fabric() {
  local dir=$1 plugin
  local -a ldflags=(-ldflags "-X github.com/hyperledger/fabric/common/metadata.Version=$FABRIC_LABEL -X github.com/hyperledger/fabric/common/metadata.CommitSHA=${FABRIC_COMMIT:0:12}")
  log "building Fabric $FABRIC_LABEL (peer, orderer, osnadmin, configtxgen, configtxlator); the first build takes a few minutes"
  (cd "$network_dir/tools/fabric" &&
    GOBIN="$dir/bin" CGO_ENABLED=0 GOFLAGS=-mod=readonly go install "${ldflags[@]}" \
      "${FABRIC_BINARIES[@]/#/github.com/hyperledger/fabric/cmd/}")
  # The peer loads auth filter plug-ins with Go's plugin package, which needs cgo in the peer and in the
  # plug-in, and both built from the same module versions with the same flags: hence one module, one build.
  log "building the peer with plug-in support and its auth filter plug-ins (${PEER_PLUGINS[*]})"
  mkdir -p "$dir/lib"
  (cd "$network_dir/tools/fabric" &&
    GOBIN="$dir/bin" CGO_ENABLED=1 GOFLAGS=-mod=readonly go install "${ldflags[@]}" github.com/hyperledger/fabric/cmd/peer &&
    for plugin in "${PEER_PLUGINS[@]}"; do
      CGO_ENABLED=1 GOFLAGS=-mod=readonly go build "${ldflags[@]}" -buildmode=plugin -o "$dir/lib/$plugin.so" "./$plugin" || exit 1
    done)
}

build_fabric_ca() {
  local dir=$1
  log "building Fabric CA $FABRIC_CA_VERSION (the server needs cgo for its SQLite registry)"
  (cd "$network_dir/tools/fabric-ca" &&
    GOBIN="$dir/bin" CGO_ENABLED=1 GOFLAGS=-mod=readonly go install github.com/hyperledger/fabric-ca/cmd/fabric-ca-server &&
    GOBIN="$dir/bin" GOFLAGS=-mod=readonly go install -tags caclient github.com/hyperledger/fabric-ca/cmd/fabric-ca-client)
}

# Fabric's own default configuration files, from the module that was just built; every node overrides what
# differs through environment variables (network/scripts/nodes.sh).
copy_default_config() {
  local dir=$1 module_dir
  module_dir=$(cd "$network_dir/tools/fabric" && go list -m -f '{{.Dir}}' github.com/hyperledger/fabric)
  mkdir -p "$dir/config"
  install -m 0644 "$module_dir/sampleconfig/core.yaml" "$module_dir/sampleconfig/orderer.yaml" "$dir/config/"
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
  build_fabric "$dir"
  build_fabric_ca "$dir"
  copy_default_config "$dir"
  cache_complete "$dir" || die "the build finished but $dir is incomplete"
  log "binaries ready in $dir/bin"
  printf '%s\n' "$dir"
}

case "${1:-}" in
  -h | --help | help)
    sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    ;;
  --print-dir) cache_dir && printf '\n' ;;
  *) main ;;
esac
