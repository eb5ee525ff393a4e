#!/usr/bin/env bash
# Runs the Hyperledger Caliper 0.6.0 benchmark (bench/caliper/benchconfig.yaml) against the running network:
# checks the network, builds what the preparation needs, installs bench/caliper's own dependencies if missing,
# prepares a fleet of meters, then launches Caliper's manager with the peer-gateway connector. Writes Caliper's
# HTML report to .bench-results/caliper/report.html.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO_DIR=$PWD
CALIPER_DIR=$REPO_DIR/bench/caliper
OUT_DIR=$REPO_DIR/.bench-results/caliper

usage() {
  cat <<'EOF'
Usage: bash bench/caliper/run.sh

Runs the Caliper benchmark of bench/caliper/benchconfig.yaml (rounds ping, submitReading, submitReadings96) on
the network that ./test-network.sh up started, and writes the report to .bench-results/caliper/report.html.

Environment:
  CALIPER_METERS   meters to prepare (default 20: benchconfig.yaml's largest transactionLoad plus its workers)
EOF
}

die() {
  printf 'caliper: %s\n' "$*" >&2
  exit 1
}

say() {
  printf 'caliper: %s\n' "$*" >&2
}

# Every node the status table lists must be alive and healthy (or serving); orderers the ordering mode does not
# use are fine.
check_network() {
  local status unhealthy
  status=$(./test-network.sh status) || die "./test-network.sh status failed"
  if grep -q 'The network is not up' <<<"$status"; then
    die "the network is not up: start it with ./test-network.sh up"
  fi
  unhealthy=$(awk '$5 == "yes" || $5 == "no" {
      health = $8; for (i = 9; i <= NF; i++) health = health " " $i
      if (health !~ /^(healthy|serving|not used)/) print "  " $1 ": " health
    }' <<<"$status")
  if [ -n "$unhealthy" ]; then
    die "the network is not healthy (./test-network.sh status):"$'\n'"$unhealthy"
  fi
  local profile=${NETWORK_HOME:-$REPO_DIR/.network}/profiles/households1.json
  [ -f "$profile" ] || die "no $profile: is the network up?"
}

# The preparation imports the built @smartmeter/crypto and @smartmeter/domain; the workloads require them too.
build() {
  [ -x node_modules/.bin/tsc ] || die "the repository's dependencies are not installed: run npm ci at its root"
  say "building crypto, domain and the benchmarks …"
  npx tsc -b crypto domain || die "the build of crypto and domain failed (npm run build shows why)"
  npx tsc -p bench/tsconfig.json || die "the build of the benchmarks failed (npx tsc -p bench/tsconfig.json)"
}

# Caliper is bench/caliper's own npm project, not a workspace of the root: the root's npm ci stays fast.
install_caliper() {
  if [ ! -x "$CALIPER_DIR/node_modules/.bin/caliper" ] ||
    [ ! -d "$CALIPER_DIR/node_modules/@hyperledger/fabric-gateway" ]; then
    # No install scripts: nothing Caliper uses here is native (they only build Ethereum and PKCS#11 add-ons).
    say "installing Caliper 0.6.0 into bench/caliper/node_modules (npm ci) …"
    npm ci --prefix "$CALIPER_DIR" --ignore-scripts --no-audit --no-fund || die "npm ci in bench/caliper failed"
  fi
  # With @hyperledger/fabric-gateway 1.x installed (and no fabric-network), caliper-fabric picks its peer-gateway
  # connector by itself: no `caliper bind`, nothing downloaded.
  if [ -d "$CALIPER_DIR/node_modules/fabric-network" ]; then
    die "bench/caliper/node_modules holds fabric-network (an earlier caliper bind?): rm -rf bench/caliper/node_modules and re-run"
  fi
}

prepare() {
  say "preparing ${CALIPER_METERS:-20} meters …"
  node .bench-dist/bench/caliper/prepare.js || die "the preparation failed (see above)"
}

launch() {
  say "launching Caliper (2 workers, 3 rounds of 20 s) …"
  rm -f "$OUT_DIR/report.html"
  # --caliper-flow-only-test: the network and chaincode exist already (no init, no install); no --caliper-bind-sut:
  # the connector comes from the installed fabric-gateway. Caliper logs each failed transaction with all its
  # arguments (96 readings): the full log goes to caliper.log, the console gets its lines cut short.
  (
    cd "$CALIPER_DIR"
    CALIPER_FLEET_MANIFEST="$OUT_DIR/fleet.json" ./node_modules/.bin/caliper launch manager \
      --caliper-workspace . \
      --caliper-benchconfig benchconfig.yaml \
      --caliper-networkconfig "$OUT_DIR/networkconfig.json" \
      --caliper-flow-only-test \
      --caliper-report-path "$OUT_DIR/report.html"
  ) 2>&1 | tee "$OUT_DIR/caliper.log" | cut -c1-400 || die "Caliper failed (see $OUT_DIR/caliper.log)"
  [ -f "$OUT_DIR/report.html" ] || die "Caliper finished without writing $OUT_DIR/report.html"
  failure_causes
  say "report: $OUT_DIR/report.html (log: $OUT_DIR/caliper.log)"
}

# Why transactions failed: the connector's error (its first words) and what each peer said (the gateway's
# details), counted over all rounds, with ids and times masked.
failure_causes() {
  local causes
  causes=$({
    grep -o 'with error: .*' "$OUT_DIR/caliper.log" | cut -c13-140
    grep -E '^-  [0-9.]+:[0-9]+:' "$OUT_DIR/caliper.log"
  } | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/<time>/g; s/sub_[0-9a-f]+/<subscription>/g' |
    sed -E 's/(sequence|version) [0-9]+/\1 N/g' | sort | uniq -c | sort -rn || true)
  if [ -n "$causes" ]; then
    say "why transactions failed (all rounds):"
    printf '%s\n' "$causes" >&2
  fi
}

main() {
  case "${1:-}" in
    -h | --help | help)
      usage
      return 0
      ;;
    '') ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
  check_network
  build
  install_caliper
  prepare
  launch
}

main "$@"
