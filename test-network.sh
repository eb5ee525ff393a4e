#!/usr/bin/env bash
# The smart-meter test network: Fabric CAs, a BFT ordering service, one peer per organization, two channels
# and the chaincode as a service, all as native processes on this machine. `./test-network.sh help`.
set -Eeuo pipefail
# Any unexpected failure names the command and where it happened instead of exiting silently.
trap 'printf "ERROR: %s failed (exit %s) at %s:%s\n" "$BASH_COMMAND" "$?" "${BASH_SOURCE[0]}" "$LINENO" >&2' ERR

# shellcheck source=network/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/network/scripts/lib.sh"
# shellcheck source=network/scripts/nodes.sh
source "$NETWORK_DIR/scripts/nodes.sh"
# shellcheck source=network/scripts/crypto.sh
source "$NETWORK_DIR/scripts/crypto.sh"
# shellcheck source=network/scripts/channels.sh
source "$NETWORK_DIR/scripts/channels.sh"
# shellcheck source=network/scripts/chaincode.sh
source "$NETWORK_DIR/scripts/chaincode.sh"

usage() {
  cat <<'TEXT'
Usage: ./test-network.sh <command> [options]

Commands:
  up [--raft] [-s goleveldb|couchdb]
                 Build the Fabric binaries if needed, install npm dependencies if needed, start the CAs,
                 enroll every identity, start the orderers and peers, create the channels northgrid and
                 southgrid, deploy the chaincode, start the authority's reporting database
                 (pouchdb-server on 127.0.0.1:5990, or REPORT_DB_URL) and the IPFS node (Kubo, offline,
                 RPC API on 127.0.0.1:5991, or IPFS_API_URL) and write connection profiles to
                 .network/profiles/.
                 --raft   one etcdraft orderer instead of four SmartBFT orderers (for small machines)
                 -s couchdb  peers use CouchDB 3.x instances from COUCHDB_URL: one URL per peer, comma-
                          separated, in peer order (e.g. http://user:pw@127.0.0.1:5984,...)
  down           Stop every process the network started and remove all generated state. Idempotent.
  deployCC       Build, package, install, approve and commit the chaincode on both channels; after a code
                 change this upgrades it to the next sequence without restarting the network.
  status         Table of the network's processes: PID, alive, port listening, health.
  logs <node>    Follow the log of one node (names: see status or network/network.conf).
  stop <node>    Stop one node (for fault tests); start <node> starts it again with its existing state.
  enroll <org> <name> [--type client|admin] [--attrs 'role=subscriber:ecert,subscriberId=hh-1:ecert']
                 Register and enroll a user at the org's Fabric CA, add it to the org's connection profile,
                 and print its certificate and key paths as JSON. Households and meters (role=subscriber or
                 meter) belong to a households org: ./test-network.sh enroll households1 hh-1 --attrs ...
  hosts <up|down|cut <host>|heal <host>|conf>
                 Hosts of their own for the organizations on this machine (root, iproute2): conf prints a
                 multi-host network.conf derived from network/network.conf (one host per organization);
                 up makes a network namespace per host line with a netns, joined by a bridge (smhosts0,
                 10.77.0.254/24) to this namespace; down removes them; cut/heal take one host's link
                 down and up (a partition). up, down, cut and heal read NETWORK_CONF (or a last argument).
                 Then: NETWORK_CONF=<conf> NETWORK_HOME=<dir> ./test-network.sh up. See docs/multi-host.md.
  help [command] This text.

Environment:
  NETWORK_HOME      where generated state goes (default: .network in the repository)
  FABRIC_BIN_CACHE  where built Fabric binaries and Kubo are cached (default: ~/.cache/smartmeter-fabric)
  READY_TIMEOUT     seconds each node gets to become ready (default: 90)
  REPORT_DB_URL     a CouchDB for the authority's reporting database instead of the local pouchdb-server
  IPFS_API_URL      the RPC API of another Kubo node (e.g. http://127.0.0.1:5001) instead of the local one;
                    it goes into every profile's ipfsApiUrl. Kubo is built the first time either way.
TEXT
}

# --- up ------------------------------------------------------------------------------------------------
parse_up_options() {
  ORDERING=bft
  STATE_DB=goleveldb
  while [ $# -gt 0 ]; do
    case "$1" in
      --raft) ORDERING=raft ;;
      -s | --state-db)
        [ $# -ge 2 ] || die "$1 needs a value: goleveldb or couchdb"
        STATE_DB=$2
        shift
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) die "unknown option for up: $1 (see ./test-network.sh help)" ;;
    esac
    shift
  done
  case "$STATE_DB" in
    goleveldb) ;;
    couchdb) check_couchdb_urls ;;
    *) die "unknown state database '$STATE_DB': use goleveldb or couchdb" ;;
  esac
  export STATE_DB
  if [ -n "${IPFS_API_URL:-}" ] && ! [[ $IPFS_API_URL =~ ^https?://[^[:space:]\"]+$ ]]; then
    die "IPFS_API_URL must be an http:// or https:// URL (Kubo's RPC API), not '$IPFS_API_URL'"
  fi
}

ensure_npm_dependencies() {
  if [ ! -x "$REPO_DIR/node_modules/.bin/tsc" ] || [ ! -f "$REPO_DIR/node_modules/fabric-shim/cli.js" ] ||
    [ ! -f "$REPO_DIR/node_modules/pouchdb-server/bin/pouchdb-server" ]; then
    log "installing npm dependencies"
    (cd "$REPO_DIR" && npm ci --no-audit --no-fund) || die "npm ci failed"
  fi
}

refuse_if_running() {
  local node
  for node in "${NODES[@]}"; do
    if node_running "$node"; then
      die "the network is already running ($node is up). Use ./test-network.sh down first, or deployCC to upgrade the chaincode."
    fi
  done
  if [ -d "$NETWORK_HOME/orgs" ]; then
    die "$NETWORK_HOME holds state from an earlier network. Run ./test-network.sh down first."
  fi
}

start_cas() {
  local org ca
  for org in "${ORGS[@]}"; do secret_of "$org" registrar >/dev/null; done
  for ca in $(nodes_of ca); do start_node "$ca"; done
  for ca in $(nodes_of ca); do wait_ready "$ca"; done
}

start_orderers() {
  local orderer
  for orderer in $(active_orderers); do start_node "$orderer"; done
  for orderer in $(active_orderers); do wait_ready "$orderer"; done
}

start_peers() {
  local peer
  for peer in $(nodes_of peer); do start_node "$peer"; done
  for peer in $(nodes_of peer); do wait_ready "$peer"; done
}

# The authority's off-chain reporting database: pouchdb-server here, or the CouchDB that REPORT_DB_URL names.
start_report_db() {
  local node
  if [ -n "${REPORT_DB_URL:-}" ]; then
    log "reporting database: $REPORT_DB_URL (REPORT_DB_URL; not starting pouchdb-server)"
    return 0
  fi
  for node in $(nodes_of reportdb); do start_node "$node"; done
  for node in $(nodes_of reportdb); do wait_ready "$node"; done
}

# The IPFS node (Kubo) where reports are stored and pinned, or the one IPFS_API_URL names. Ours is private:
# `ipfs daemon --offline`, no bootstrap peers, API on loopback (network/scripts/nodes.sh, init_ipfs_repo).
start_ipfs() {
  local node
  if [ -n "${IPFS_API_URL:-}" ]; then
    log "IPFS node: $IPFS_API_URL (IPFS_API_URL; not starting Kubo)"
    printf '%s\n' "$IPFS_API_URL" >"$(ipfs_api_url_file)"
    return 0
  fi
  for node in $(nodes_of ipfs); do start_node "$node"; done
  for node in $(nodes_of ipfs); do wait_ready "$node"; done
}

# The aggregate mode: the embedded MQTT broker (unless MQTT_URL names another) and each channel's aggregator,
# which need the connection profiles, so they start last.
start_grid() {
  local node
  # The aggregator, and beside it meterctl and its web app (meterctl serve), so that both work once the network is up.
  log "building the aggregator, meterctl and the portal"
  (cd "$REPO_DIR" && npx tsc -b aggregator portal && npx tsc -p portal/tsconfig.web.json) ||
    die "the aggregator, meterctl or the portal does not compile"
  if [ -n "${MQTT_URL:-}" ]; then
    log "MQTT broker: $MQTT_URL (MQTT_URL; not starting the embedded broker)"
  else
    for node in $(nodes_of broker); do start_node "$node"; done
    for node in $(nodes_of broker); do wait_ready "$node"; done
  fi
  for node in $(nodes_of aggregator); do start_node "$node"; done
  for node in $(nodes_of aggregator); do wait_ready "$node"; done
}

network_up() {
  parse_up_options "$@"
  local started=$SECONDS org channel
  refuse_if_running
  trap '[ $? -eq 0 ] || printf "Run ./test-network.sh down to stop what this attempt started.\n" >&2' EXIT
  ensure_binaries
  ensure_npm_dependencies
  mkdir -p "$NETWORK_HOME"
  printf '%s\n' "$ORDERING" >"$NETWORK_HOME/ordering-mode"
  printf '%s\n' "$STATE_DB" >"$NETWORK_HOME/state-db"
  prepare_fabric_config
  start_cas
  for org in "${ORGS[@]}"; do enroll_org "$org"; done
  start_orderers
  start_peers
  create_channels
  deploy_chaincode
  start_report_db
  start_ipfs
  for channel in "${CHANNELS[@]}"; do wait_channel_membership "$channel"; done
  for org in $(profiled_orgs); do write_profile "$org"; done
  start_grid
  log "network is up in $((SECONDS - started))s ($ORDERING ordering, $STATE_DB state database)"
  log "connection profiles: $NETWORK_HOME/profiles/{$(profiled_orgs | paste -sd, -)}.json"
}

# --- down ----------------------------------------------------------------------------------------------
network_down() {
  local kind
  # Reverse start order, one kind at a time: chaincode servers, peers, orderers, CAs.
  for kind in aggregator broker ipfs reportdb ccaas peer orderer ca; do
    # shellcheck disable=SC2046 # node names never contain blanks
    stop_nodes $(nodes_of "$kind")
  done
  rm -rf "$NETWORK_HOME"
  log "network is down; removed $NETWORK_HOME"
}

# --- status ----------------------------------------------------------------------------------------------
node_health() {
  local node=$1
  if [ "${NODE_KIND[$node]}" = orderer ] && ! active_orderers | grep -x "$node" >/dev/null; then
    printf 'not used (%s ordering)' "$(ordering_mode)"
    return
  fi
  node_running "$node" || {
    printf 'stopped'
    return
  }
  case "${NODE_KIND[$node]}" in
    ccaas) port_open "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" && printf 'serving' || printf 'not serving' ;;
    reportdb)
      [ "$(http_status "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" / || true)" = 200 ] && printf 'serving' || printf 'not serving'
      ;;
    broker) port_open "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" && printf 'serving' || printf 'not serving' ;;
    ipfs)
      [ "$(http_status "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" /api/v0/id POST || true)" = 200 ] &&
        printf 'serving' || printf 'not serving'
      ;;
    aggregator) printf 'running' ;;
    *)
      local code
      code=$(http_status "${NODE_HOST[$node]}" "${NODE_OPS[$node]}" /healthz || true)
      [ "$code" = 200 ] && printf 'healthy' || printf 'unhealthy (%s)' "${code:-no answer}"
      ;;
  esac
}

network_status() {
  local node pid alive listening
  if [ ! -d "$NETWORK_HOME" ]; then
    printf 'The network is not up (no %s). Start it with ./test-network.sh up\n' "$NETWORK_HOME"
    return 0
  fi
  local rss total_kib=0
  printf '%-20s %-8s %-22s %-8s %-6s %-7s %-9s %s\n' NODE KIND ENDPOINT PID ALIVE LISTEN MEMORY HEALTH
  for node in "${NODES[@]}"; do
    pid=$(node_pid "$node" || printf '-')
    alive=no
    node_running "$node" && alive=yes
    listening=no
    port_open "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" && listening=yes
    rss=-
    if [ "$alive" = yes ]; then
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || printf 0)
      total_kib=$((total_kib + rss))
      rss="$((rss / 1024))MiB"
    fi
    printf '%-20s %-8s %-22s %-8s %-6s %-7s %-9s %s\n' "$node" "${NODE_KIND[$node]}" "$(endpoint "$node")" \
      "${pid:--}" "$alive" "$listening" "$rss" "$(node_health "$node")"
  done
  printf '\nmemory (resident) of all running nodes: %d MiB\n' "$((total_kib / 1024))"
  printf 'ordering: %s, state database: %s, state folder: %s\n' "$(ordering_mode)" \
    "$(cat "$NETWORK_HOME/state-db" 2>/dev/null || printf 'goleveldb')" "$NETWORK_HOME"
}

require_node_name() {
  [ -n "${1:-}" ] || die "name a node (one of: ${NODES[*]})"
  [ -n "${NODE_KIND[$1]:-}" ] || die "unknown node '$1' (one of: ${NODES[*]})"
}

main() {
  # The hosts script reads the topology itself (conf always from network/network.conf).
  if [ "${1:-}" = hosts ]; then
    shift
    exec bash "$NETWORK_DIR/scripts/hosts.sh" "$@"
  fi
  load_topology
  local subcommand=${1:-help}
  shift || true
  case "$subcommand" in
    up) network_up "$@" ;;
    down) network_down ;;
    deployCC | deploycc)
      ensure_binaries
      [ -d "$NETWORK_HOME/orgs" ] || die "the network is not up: run ./test-network.sh up first"
      deploy_chaincode
      ;;
    status)
      find_binaries
      network_status
      ;;
    logs)
      require_node_name "${1:-}"
      exec tail -n 100 -F "$(log_file "$1")"
      ;;
    stop)
      require_node_name "${1:-}"
      stop_node "$1"
      ;;
    start)
      require_node_name "${1:-}"
      ensure_binaries
      export STATE_DB
      STATE_DB=$(cat "$NETWORK_HOME/state-db" 2>/dev/null || printf 'goleveldb')
      start_node "$1"
      wait_ready "$1"
      ;;
    enroll)
      [ $# -ge 2 ] || die "usage: ./test-network.sh enroll <org> <name> [--type client|admin] [--attrs ATTRS]"
      local org=$1 name=$2 type=client attrs=''
      shift 2
      while [ $# -gt 0 ]; do
        case "$1" in
          --type) type=${2:?--type needs a value}; shift ;;
          --attrs) attrs=${2:?--attrs needs a value}; shift ;;
          *) die "unknown option for enroll: $1" ;;
        esac
        shift
      done
      ensure_binaries
      [ -d "$NETWORK_HOME/orgs" ] || die "the network is not up: run ./test-network.sh up first"
      enroll_user_identity "$org" "$name" "$type" "$attrs"
      ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      die "unknown command '$subcommand'"
      ;;
  esac
}

main "$@"
