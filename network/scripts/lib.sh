#!/usr/bin/env bash
# Shared by the network scripts: paths, logging and the topology read from network/network.conf.
# shellcheck disable=SC2034 # the variables set here are used by the scripts that source this file

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NETWORK_DIR="$REPO_DIR/network"
NETWORK_CONF=${NETWORK_CONF:-$NETWORK_DIR/network.conf}
# All generated state (crypto, ledgers, logs, PID files, profiles) lives here and nowhere else.
NETWORK_HOME=${NETWORK_HOME:-$REPO_DIR/.network}
# Seconds a node gets to become ready before we give up and show its log.
READY_TIMEOUT=${READY_TIMEOUT:-90}

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# --- topology ------------------------------------------------------------------------------------------
declare -gA ORG_MSP=() ORG_ROLE=() ORG_PARENT=() NODE_KIND=() NODE_ORG=() NODE_HOST=() NODE_PORT=() NODE_OPS=() NODE_EXTRA=()
declare -gA CHANNEL_ORGS=()
# Declared hosts (`host` lines): their address and, for the namespace demo, the network namespace they are.
# NODE_HOST is always what a node listens on and is reached at (the host's address when its host column names
# a declared host); NODE_HOSTNAME keeps the column as written, NODE_NETNS the namespace the node runs in.
declare -gA HOST_ADDRESS=() HOST_NETNS=() NODE_HOSTNAME=() NODE_NETNS=()
declare -ga ORGS=() NODES=() CHANNELS=() HOSTS=()
CHAINCODE_NAME=

load_topology() {
  [ -f "$NETWORK_CONF" ] || die "network configuration $NETWORK_CONF not found"
  local kind a b c d e f g rest
  while read -r kind a b c d e f g rest; do
    case "$kind" in
      '' | '#'*) continue ;;
      org)
        ORGS+=("$a")
        ORG_MSP[$a]=$b
        ORG_ROLE[$a]=$c
        ORG_PARENT[$a]=$d
        ;;
      chaincode) CHAINCODE_NAME=$a ;;
      host)
        [[ $b =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "$NETWORK_CONF: host $a needs an IPv4 address, not '$b'"
        HOSTS+=("$a")
        HOST_ADDRESS[$a]=$b
        HOST_NETNS[$a]=$c
        ;;
      channel)
        CHANNELS+=("$a")
        CHANNEL_ORGS[$a]="$b${c:+ $c}${d:+ $d}${e:+ $e}${f:+ $f}${g:+ $g}${rest:+ $rest}"
        ;;
      node)
        NODES+=("$a")
        NODE_KIND[$a]=$b
        NODE_ORG[$a]=$c
        NODE_HOST[$a]=$d
        NODE_PORT[$a]=$e
        NODE_OPS[$a]=$f
        NODE_EXTRA[$a]=$g
        ;;
      *) die "$NETWORK_CONF: unknown line type '$kind'" ;;
    esac
  done <"$NETWORK_CONF"
  [ -n "$CHAINCODE_NAME" ] || die "$NETWORK_CONF names no chaincode (a line: chaincode <name>)"
  resolve_node_hosts
}

# A node's host column either names a declared host, whose address it then listens on and is reached at (and
# whose namespace it runs in), or is itself the address or name to use, as on a single machine.
resolve_node_hosts() {
  local node name
  for node in "${NODES[@]}"; do
    name=${NODE_HOST[$node]}
    NODE_HOSTNAME[$node]=$name
    NODE_NETNS[$node]=''
    if [ -n "${HOST_ADDRESS[$name]:-}" ]; then
      NODE_HOST[$node]=${HOST_ADDRESS[$name]}
      NODE_NETNS[$node]=${HOST_NETNS[$name]}
    fi
  done
}

# Nodes of one kind, optionally of one org, in file order.
nodes_of() {
  local kind=$1 org=${2:-} node
  for node in "${NODES[@]}"; do
    [ "${NODE_KIND[$node]}" = "$kind" ] || continue
    [ -z "$org" ] || [ "${NODE_ORG[$node]}" = "$org" ] || continue
    printf '%s\n' "$node"
  done
}

# The one node of a kind an org has (its CA, its peer, its chaincode server). `sed -n 1p` rather than
# `head -n 1` (and `grep ... >/dev/null` rather than `grep -q` after a pipe) throughout: those exit early, and
# under pipefail the writer's SIGPIPE fails the pipeline.
org_node() {
  local node
  node=$(nodes_of "$1" "$2" | sed -n 1p)
  [ -n "$node" ] || die "organization $2 has no $1 node in $NETWORK_CONF"
  printf '%s\n' "$node"
}

application_orgs() {
  local org
  for org in "${ORGS[@]}"; do [ -n "$(nodes_of peer "$org")" ] && printf '%s\n' "$org"; done
  # The last org may have no peer (a households org): the function still succeeded (and the ERR trap stays quiet).
  return 0
}

# The member orgs of a channel that run peers (households orgs have none).
channel_peer_orgs() {
  local org
  for org in ${CHANNEL_ORGS[$1]}; do [ -n "$(nodes_of peer "$org")" ] && printf '%s\n' "$org"; done
  return 0
}

# The households org whose identities a distributor registers (empty when it has none).
households_of() {
  local org
  for org in "${ORGS[@]}"; do
    [ "${ORG_ROLE[$org]}" = households ] && [ "${ORG_PARENT[$org]}" = "$1" ] && printf '%s\n' "$org"
  done
  return 0
}

# Orgs that get a connection profile: those with peers, and households orgs (whose clients use their
# distributor's peer).
profiled_orgs() {
  local org
  for org in "${ORGS[@]}"; do
    if [ -n "$(nodes_of peer "$org")" ] || [ "${ORG_ROLE[$org]}" = households ]; then printf '%s\n' "$org"; fi
  done
}

channels_of_org() {
  local channel
  for channel in "${CHANNELS[@]}"; do
    case " ${CHANNEL_ORGS[$channel]} " in *" $1 "*) printf '%s\n' "$channel" ;; esac
  done
}

endpoint() { printf '%s:%s' "${NODE_HOST[$1]}" "${NODE_PORT[$1]}"; }

# Comma-separated names for a node's TLS certificate (and a CA's own): node name, host name, host address,
# localhost and 127.0.0.1, each once.
node_host_names() {
  local node=$1 names
  names="$node,${NODE_HOSTNAME[$node]:-${NODE_HOST[$node]}}"
  [ "${NODE_HOST[$node]}" = "${NODE_HOSTNAME[$node]:-${NODE_HOST[$node]}}" ] || names+=",${NODE_HOST[$node]}"
  case ",$names," in *,localhost,*) ;; *) names+=',localhost' ;; esac
  case ",$names," in *,127.0.0.1,*) ;; *) names+=',127.0.0.1' ;; esac
  printf '%s' "$names"
}

# --- state folder layout -------------------------------------------------------------------------------
org_dir() { printf '%s/orgs/%s' "$NETWORK_HOME" "$1"; }
node_crypto_dir() { printf '%s/nodes/%s' "$(org_dir "${NODE_ORG[$1]}")" "$1"; }
user_dir() { printf '%s/users/%s' "$(org_dir "$1")" "$2"; }
org_ca_cert() { printf '%s/msp/cacerts/ca.pem' "$(org_dir "$1")"; }
node_data_dir() { printf '%s/data/%s' "$NETWORK_HOME" "$1"; }
pid_file() { printf '%s/pids/%s.pid' "$NETWORK_HOME" "$1"; }
log_file() { printf '%s/logs/%s.log' "$NETWORK_HOME" "$1"; }

# --- binaries ------------------------------------------------------------------------------------------
FABRIC_HOME=""
KUBO_HOME=""
# Makes the Fabric binaries and Kubo (the IPFS node's ipfs) available, building them the first time.
ensure_binaries() {
  [ -n "$FABRIC_HOME" ] && return 0
  FABRIC_HOME=$(bash "$NETWORK_DIR/scripts/install-fabric.sh") || die "could not install the Fabric binaries"
  KUBO_HOME=$(bash "$NETWORK_DIR/scripts/install-kubo.sh") || die "could not install Kubo (the IPFS node)"
  export PATH="$FABRIC_HOME/bin:$KUBO_HOME/bin:$PATH"
}

# Like ensure_binaries but never builds: for commands that only look at a running network.
find_binaries() {
  local dir
  dir=$(bash "$NETWORK_DIR/scripts/install-fabric.sh" --print-dir)
  if [ -x "$dir/bin/peer" ]; then
    FABRIC_HOME=$dir
    export PATH="$FABRIC_HOME/bin:$PATH"
  fi
  dir=$(bash "$NETWORK_DIR/scripts/install-kubo.sh" --print-dir)
  if [ -x "$dir/bin/ipfs" ]; then
    KUBO_HOME=$dir
    export PATH="$KUBO_HOME/bin:$PATH"
  fi
}
