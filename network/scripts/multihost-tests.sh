#!/usr/bin/env bash
# The multi-host tests, start to end, for CI: every organization on a host of its own (network namespaces on
# this machine), the network started on that topology in a state folder of its own, the jest project
# `multihost`, then everything taken down again, also on failure or interruption.
#   bash network/scripts/multihost-tests.sh <jest-report.json>
# Needs root and iproute2. Exits non-zero when anything fails; the jest report is written either way (if jest ran).
set -Eeuo pipefail
trap 'printf "ERROR: %s failed (exit %s) at %s:%s\n" "$BASH_COMMAND" "$?" "${BASH_SOURCE[0]}" "$LINENO" >&2' ERR

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REPORT=${1:-}
[ -n "$REPORT" ] || {
  printf 'usage: %s <jest-report.json>\n' "$0" >&2
  exit 2
}
REPORT=$(realpath -m "$REPORT")
WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/smartmeter-multihost.XXXXXX")
# The generated topology and the network's own state folder: nothing touches the default .network.
export NETWORK_CONF="$WORK_DIR/network.conf"
export NETWORK_HOME="$WORK_DIR/network"
network_started=false

say() { printf '\n=== multihost: %s\n' "$*" >&2; }

# Always runs: the network (if this run started it), then the hosts, then the work folder.
clean_up() {
  local status=$?
  trap - ERR
  if [ "$network_started" = true ]; then
    say "network down"
    "$REPO_DIR/test-network.sh" down || status=1
  fi
  if [ -f "$NETWORK_CONF" ]; then
    say "hosts down"
    "$REPO_DIR/test-network.sh" hosts down || status=1
  fi
  rm -rf "$WORK_DIR"
  exit "$status"
}
trap clean_up EXIT
trap 'exit 130' INT TERM

cd "$REPO_DIR"
say "topology (./test-network.sh hosts conf > $NETWORK_CONF)"
"$REPO_DIR/test-network.sh" hosts conf >"$NETWORK_CONF"
grep '^host ' "$NETWORK_CONF" >&2

say "hosts up"
"$REPO_DIR/test-network.sh" hosts up

say "building meter-sim (the tests run it as a separate process)"
flock /tmp/build.lock npx tsc -b meter-sim

say "network up (NETWORK_HOME=$NETWORK_HOME)"
network_started=true
"$REPO_DIR/test-network.sh" up

say "jest: multihost tests"
mkdir -p "$(dirname "$REPORT")"
npx jest --selectProjects multihost --runInBand --json --outputFile="$REPORT"
