#!/usr/bin/env bash
# `npm test`: every check and test of the project, in order, ending with one line "N passed, N failed".
#   1. npm dependencies (installed when missing), TypeScript build, lint
#   2. unit tests (jest, and go test of the peer auth filter plug-in)
#   3. ./test-network.sh up (unless a network is already running, which is then reused and left running)
#   4. integration tests against the network
#   5. the fault campaign (test/faults: nodes killed under load) on that network
#   6. teardown test (./test-network.sh down and its checks) when this run started the network
#   7. the multi-host tests: each organization on a host of its own (network namespaces), on a second network
#      started after the first one is down (network/scripts/multihost-tests.sh)
# `npm run test:faults` (--faults) runs only the build, 3, 5, 6 and 7.
# The network this run started is always taken down, also on failure or interruption.
set -uo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO_DIR" || exit 2
RESULTS="$REPO_DIR/.test-results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

passed=0
failed=0
skipped=0
started_network=false

say() { printf '\n=== %s\n' "$*"; }

# A step that is not a test runner (build, lint, network up) counts as one check.
check() {
  local name=$1
  shift
  say "$name"
  if "$@"; then
    passed=$((passed + 1))
    return 0
  fi
  printf 'FAILED: %s\n' "$name"
  failed=$((failed + 1))
  return 1
}

# Runs one jest project and adds its counts from the JSON report.
jest_project() {
  local project=$1 report="$RESULTS/$1.json"
  say "jest: $project tests"
  npx jest --selectProjects "$project" --runInBand --json --outputFile="$report"
  count_jest_report "$project" "$report"
}

# Adds the counts of one jest JSON report; a missing report is one failure.
count_jest_report() {
  local project=$1 report=$2 counts
  if [ ! -s "$report" ]; then
    printf 'FAILED: jest wrote no report for %s\n' "$project"
    failed=$((failed + 1))
    return 1
  fi
  counts=$(node -e '
    const r = require(process.argv[1]);
    // Suites that failed to run at all (syntax errors, failing hooks) count as failures too.
    const broken = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + broken, r.numPendingTests + r.numTodoTests);' "$report")
  read -r p f s <<<"$counts"
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
}

# The Go tests of our peer plug-ins (network/tools/fabric), counted one by one.
go_tests() {
  local report="$RESULTS/go.json" counts
  say "go test: peer auth filter plug-in"
  (cd network/tools/fabric && GOFLAGS=-mod=readonly go test -json ./timewindow/) >"$report"
  counts=$(node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
    const tests = lines.filter((l) => l.Test && (l.Action === "pass" || l.Action === "fail"));
    const failedBuild = lines.some((l) => !l.Test && l.Action === "fail");
    console.log(tests.filter((l) => l.Action === "pass").length, tests.filter((l) => l.Action === "fail").length + (failedBuild ? 1 : 0));' "$report")
  read -r p f <<<"$counts"
  printf 'go tests: %s passed, %s failed\n' "$p" "$f"
  passed=$((passed + p))
  failed=$((failed + f))
}

# The Raspberry Pi bundle: built, then run from an empty folder so that only its files are available: `check`
# accepts the fixture bundle, and `enroll` builds its certificate request with jsrsasign.js (a file of its own)
# before it finds the CA unreachable (port 1).
pi_bundle() {
  local dir status
  npm run --silent build:pi || return 1
  dir=$(mktemp -d)
  cp meter-sim/dist-pi/meter-sim.js meter-sim/dist-pi/jsrsasign.js "$dir/"
  # git does not keep the 0600 mode meter-sim insists on for a file with private keys.
  install -m 0600 meter-sim/test/fixtures/pair-bundle.json "$dir/pair-bundle.json"
  (
    cd "$dir" &&
      node meter-sim.js check --bundle pair-bundle.json --state-dir "$dir/state" &&
      node -e 'const fs = require("fs"); const b = JSON.parse(fs.readFileSync("pair-bundle.json", "utf8"));
        delete b.identity; b.ca = { url: "https://127.0.0.1:1", caName: "ca-none", tlsRootCertPem: b.peer.tlsRootCertPem };
        fs.writeFileSync("enroll-bundle.json", JSON.stringify(b), { mode: 0o600 });' &&
      ! METER_SIM_ENROLLMENT_SECRET=x node meter-sim.js enroll --bundle enroll-bundle.json --state-dir "$dir/enroll" \
        2>"$dir/enroll.err" &&
      grep -q 'cannot reach the CA at https://127.0.0.1:1' "$dir/enroll.err"
  )
  status=$?
  [ "$status" = 0 ] || cat "$dir/enroll.err" 2>/dev/null
  rm -rf "$dir"
  return "$status"
}

network_running() {
  [ -d "$REPO_DIR/.network/pids" ] && ./test-network.sh status 2>/dev/null | grep ' yes ' >/dev/null
}

# meterctl's default keystore (METERCTL_HOME, else ~/.meterctl) is a fresh folder for each run: keys and report
# checkpoints that earlier runs or the user left in ~/.meterctl must not change what the tests see.
METERCTL_HOME=$(mktemp -d "${TMPDIR:-/tmp}/meterctl-tests.XXXXXX")
export METERCTL_HOME

cleanup() {
  if [ "$started_network" = true ] && [ -d "$REPO_DIR/.network" ]; then
    say "taking the network down"
    ./test-network.sh down || true
  fi
  rm -rf "$METERCTL_HOME"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install_dependencies() {
  [ -x node_modules/.bin/jest ] && [ -x node_modules/.bin/tsc ] && return 0
  npm ci --no-audit --no-fund
}

# The multi-host tests bring their own network up and down; they need root (network namespaces) and no other
# network running.
multihost_tests() {
  local report="$RESULTS/multihost.json"
  say "multi-host tests (network namespaces)"
  # Whatever is left of the first network (a failed up or teardown) goes first: never two networks at once.
  [ ! -d "$REPO_DIR/.network" ] || ./test-network.sh down >/dev/null 2>&1 || true
  bash network/scripts/multihost-tests.sh "$report"
  count_jest_report multihost "$report"
}

faults_only() {
  check "npm dependencies" install_dependencies || return 1
  check "build (tsc; the portal's pages too)" npm run --silent build
  if network_running; then
    printf 'FAILED: a network is already running; the fault campaign needs one it starts (./test-network.sh down)\n'
    failed=$((failed + 1))
    return 1
  fi
  started_network=true
  if check "./test-network.sh up" env AGGREGATOR_COLLECT_SECONDS="${AGGREGATOR_COLLECT_SECONDS:-45}" ./test-network.sh up; then
    jest_project faults
    jest_project teardown
  fi
  multihost_tests
}

main() {
  if [ "${1:-}" = --faults ]; then
    faults_only
    summary
    [ "$failed" -eq 0 ]
    return
  fi
  check "npm dependencies" install_dependencies || {
    summary
    exit 1
  }
  check "build (tsc; the portal's pages too)" npm run --silent build
  check "meter-sim Pi bundle builds and runs without node_modules" pi_bundle
  check "typecheck tests (tsc)" npx tsc -p tsconfig.json
  check "lint (eslint, prettier, shellcheck)" npm run --silent lint
  jest_project unit
  go_tests

  if network_running; then
    say "a network is already running: reusing it and leaving it up (the teardown test needs a network this run starts)"
    skipped=$((skipped + 1))
    jest_project integration
  else
    started_network=true
    # Rounds of the aggregate mode close 45 s after their first share instead of minutes: the tests replay
    # whole days of shares at once. A complete round closes as soon as its last share is in, so the window only
    # delays the rounds the tests fault on purpose; at 20 s a loaded 2-core machine faulted complete rounds.
    if check "./test-network.sh up" env AGGREGATOR_COLLECT_SECONDS="${AGGREGATOR_COLLECT_SECONDS:-45}" ./test-network.sh up; then
      jest_project integration
      jest_project faults
      jest_project teardown
    fi
    multihost_tests
  fi
  summary
  [ "$failed" -eq 0 ]
}

summary() {
  printf '\n'
  if [ "$skipped" -gt 0 ]; then
    printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  else
    printf '%d passed, %d failed\n' "$passed" "$failed"
  fi
}

main "$@"
