#!/usr/bin/env bash
# One parameterised launcher for every kind of node (CA, orderer, peer, chaincode server), readiness checks
# and stopping by recorded PID. Sourced by test-network.sh after lib.sh.

# --- small network probes without extra tools ------------------------------------------------------------
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Prints the HTTP status code of GET http://host:port/path, or nothing if it cannot connect.
http_status() {
  local host=$1 port=$2 path=$3 fd line
  { exec {fd}<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$host" >&"$fd"
  IFS= read -r -t 5 line <&"$fd" || true
  exec {fd}>&-
  line=${line#HTTP/* }
  printf '%s' "${line%% *}"
}

# --- process bookkeeping -------------------------------------------------------------------------------
node_pid() {
  local file
  file=$(pid_file "$1")
  [ -f "$file" ] && cat "$file"
}

# True when the node's recorded PID is alive and still runs the program we started (PIDs get reused).
node_running() {
  local pid
  pid=$(node_pid "$1") || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(node_program "$1")"
}

node_program() {
  case "${NODE_KIND[$1]}" in
    ca) printf 'fabric-ca-server' ;;
    orderer) printf 'orderer' ;;
    peer) printf 'peer node start' ;;
    ccaas) printf 'fabric-shim/cli.js server' ;;
  esac
}

# Starts one node in the background, detached from this shell, logging to its log file.
start_node() {
  local node=$1
  if node_running "$node"; then
    log "$node is already running (pid $(node_pid "$node"))"
    return 0
  fi
  mkdir -p "$NETWORK_HOME/pids" "$NETWORK_HOME/logs" "$(node_data_dir "$node")"
  local -a env_vars command
  node_env "$node"
  node_command "$node"
  log "starting $node on $(endpoint "$node")"
  (cd "$(node_data_dir "$node")" && exec env "${env_vars[@]}" setsid "${command[@]}") >>"$(log_file "$node")" 2>&1 &
  printf '%s\n' "$!" >"$(pid_file "$node")"
}

# Fills env_vars with the node's configuration overrides (caller declares env_vars).
node_env() {
  local node=$1 org=${NODE_ORG[$1]} crypto data
  crypto=$(node_crypto_dir "$node")
  data=$(node_data_dir "$node")
  case "${NODE_KIND[$node]}" in
    ca)
      env_vars=(FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS="${NODE_HOST[$node]}:${NODE_OPS[$node]}")
      ;;
    orderer)
      env_vars=(
        FABRIC_CFG_PATH="$(fabric_config_dir)"
        ORDERER_GENERAL_LISTENADDRESS="${NODE_HOST[$node]}"
        ORDERER_GENERAL_LISTENPORT="${NODE_PORT[$node]}"
        ORDERER_GENERAL_LOCALMSPID="${ORG_MSP[$org]}"
        ORDERER_GENERAL_LOCALMSPDIR="$crypto/msp"
        ORDERER_GENERAL_BOOTSTRAPMETHOD=none
        ORDERER_GENERAL_TLS_ENABLED=true
        ORDERER_GENERAL_TLS_CERTIFICATE="$crypto/tls/cert.pem"
        ORDERER_GENERAL_TLS_PRIVATEKEY="$crypto/tls/key.pem"
        ORDERER_GENERAL_TLS_ROOTCAS="[$crypto/tls/ca.pem]"
        ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$crypto/tls/cert.pem"
        ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$crypto/tls/key.pem"
        ORDERER_FILELEDGER_LOCATION="$data/ledger"
        ORDERER_CONSENSUS_WALDIR="$data/wal"
        ORDERER_CONSENSUS_SNAPDIR="$data/snapshot"
        ORDERER_OPERATIONS_LISTENADDRESS="${NODE_HOST[$node]}:${NODE_OPS[$node]}"
        ORDERER_METRICS_PROVIDER=prometheus
        ORDERER_ADMIN_LISTENADDRESS="${NODE_HOST[$node]}:${NODE_EXTRA[$node]}"
        ORDERER_ADMIN_TLS_ENABLED=true
        ORDERER_ADMIN_TLS_CERTIFICATE="$crypto/tls/cert.pem"
        ORDERER_ADMIN_TLS_PRIVATEKEY="$crypto/tls/key.pem"
        ORDERER_ADMIN_TLS_ROOTCAS="[$crypto/tls/ca.pem]"
        ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true
        ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$crypto/tls/ca.pem]"
      )
      ;;
    peer)
      local address
      address=$(endpoint "$node")
      env_vars=(
        FABRIC_CFG_PATH="$(fabric_config_dir)"
        CORE_PEER_ID="$node"
        CORE_PEER_LISTENADDRESS="$address"
        CORE_PEER_ADDRESS="$address"
        CORE_PEER_ADDRESSAUTODETECT=false
        CORE_PEER_CHAINCODELISTENADDRESS="${NODE_HOST[$node]}:${NODE_EXTRA[$node]}"
        CORE_PEER_CHAINCODEADDRESS="${NODE_HOST[$node]}:${NODE_EXTRA[$node]}"
        CORE_PEER_GOSSIP_BOOTSTRAP="$address"
        CORE_PEER_GOSSIP_ENDPOINT="$address"
        CORE_PEER_GOSSIP_EXTERNALENDPOINT="$address"
        CORE_PEER_LOCALMSPID="${ORG_MSP[$org]}"
        CORE_PEER_MSPCONFIGPATH="$crypto/msp"
        CORE_PEER_TLS_ENABLED=true
        CORE_PEER_TLS_CERT_FILE="$crypto/tls/cert.pem"
        CORE_PEER_TLS_KEY_FILE="$crypto/tls/key.pem"
        CORE_PEER_TLS_ROOTCERT_FILE="$crypto/tls/ca.pem"
        CORE_PEER_FILESYSTEMPATH="$data/production"
        CORE_LEDGER_SNAPSHOTS_ROOTDIR="$data/snapshots"
        CORE_OPERATIONS_LISTENADDRESS="${NODE_HOST[$node]}:${NODE_OPS[$node]}"
        CORE_METRICS_PROVIDER=prometheus
        CORE_CHAINCODE_EXTERNALBUILDERS="[{name: ccaas, path: $NETWORK_DIR/builders/ccaas, propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]}]"
        CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG="$(ccaas_builder_config "$org")"
      )
      state_db_env "$node"
      ;;
    ccaas)
      env_vars=(CORE_CHAINCODE_LOGGING_LEVEL=info)
      ;;
  esac
}

# Where the org's peer reaches its chaincode server, and the CA its TLS certificate chains to. The ccaas
# builder fills the package's connection.json templates from this JSON.
ccaas_builder_config() {
  local org=$1 server ca_pem
  server=$(org_node ccaas "$org")
  ca_pem=$(awk '{printf "%s\\n", $0}' "$(org_ca_cert "$org")")
  printf '{"address":"%s","root_cert":"%s"}' "$(endpoint "$server")" "$ca_pem"
}

state_db_env() {
  [ "${STATE_DB:-goleveldb}" = couchdb ] || return 0
  local url=${COUCHDB_URL:?-s couchdb needs COUCHDB_URL}
  # COUCHDB_URL may name several instances separated by commas, one per peer in peer order.
  local -a urls
  IFS=, read -r -a urls <<<"$url"
  local index=0 peer
  for peer in $(nodes_of peer); do
    [ "$peer" = "$1" ] && break
    index=$((index + 1))
  done
  local chosen=${urls[$index]:-${urls[0]}} userinfo='' hostport
  chosen=${chosen#http://}
  if [[ $chosen == *@* ]]; then
    userinfo=${chosen%%@*}
    chosen=${chosen#*@}
  fi
  hostport=${chosen%%/*}
  env_vars+=(
    CORE_LEDGER_STATE_STATEDATABASE=CouchDB
    CORE_LEDGER_STATE_COUCHDBCONFIG_COUCHDBADDRESS="$hostport"
    CORE_LEDGER_STATE_COUCHDBCONFIG_USERNAME="${userinfo%%:*}"
    CORE_LEDGER_STATE_COUCHDBCONFIG_PASSWORD="${userinfo#*:}"
  )
}

# Fills command with the program and arguments that run the node (caller declares command).
node_command() {
  local node=$1 org=${NODE_ORG[$1]} crypto
  crypto=$(node_crypto_dir "$node")
  case "${NODE_KIND[$node]}" in
    ca)
      local registrar_secret
      registrar_secret=$(cat "$(org_dir "$org")/secrets/registrar")
      command=(fabric-ca-server start
        --boot "registrar:$registrar_secret"
        --home "$(node_data_dir "$node")"
        --address "${NODE_HOST[$node]}" --port "${NODE_PORT[$node]}"
        --ca.name "ca-$org" --csr.cn "ca.$org"
        --csr.hosts "$node,${NODE_HOST[$node]},localhost,127.0.0.1"
        --tls.enabled)
      ;;
    orderer) command=(orderer) ;;
    peer) command=(peer node start) ;;
    ccaas)
      local package_id
      package_id=$(cat "$NETWORK_HOME/chaincode/package-id.$org" 2>/dev/null) ||
        die "no chaincode package installed for $org yet: run ./test-network.sh deployCC"
      command=(node "$REPO_DIR/node_modules/fabric-shim/cli.js" server
        --chaincode-address "$(endpoint "$node")"
        --chaincode-id "$package_id"
        --chaincode-tls-cert-file "$crypto/tls/cert.pem"
        --chaincode-tls-key-file "$crypto/tls/key.pem"
        --module-path "$REPO_DIR/chaincode")
      ;;
  esac
}

# --- configuration files ---------------------------------------------------------------------------------
fabric_config_dir() { printf '%s/config' "$NETWORK_HOME"; }

# Fabric's default core.yaml and orderer.yaml, with the changes environment variables cannot make here:
# - core.yaml: an empty vm.endpoint (this Fabric ignores empty environment values). Otherwise the peer looks
#   for a Docker daemon, which these machines do not have, and reports itself unhealthy.
# - orderer.yaml: Consensus.Type, which this Fabric reads to decide which consenter the orderer runs
#   (BFT or etcdraft); Consensus is a free-form map, so only keys present in the file can be overridden.
prepare_fabric_config() {
  local dir consensus_type=BFT
  dir=$(fabric_config_dir)
  [ "$(ordering_mode)" = raft ] && consensus_type=etcdraft
  mkdir -p "$dir"
  sed 's|^\( *endpoint:\) unix:///var/run/docker.sock|\1 ""|' "$FABRIC_HOME/config/core.yaml" >"$dir/core.yaml"
  grep -q '^ *endpoint: ""' "$dir/core.yaml" || die "could not clear vm.endpoint in core.yaml"
  sed "s|^Consensus:\$|Consensus:\\n    Type: $consensus_type|" "$FABRIC_HOME/config/orderer.yaml" >"$dir/orderer.yaml"
  grep -q "^    Type: $consensus_type\$" "$dir/orderer.yaml" || die "could not set Consensus.Type in orderer.yaml"
}

# --- readiness -----------------------------------------------------------------------------------------
# Ready means the process is alive, its operations endpoint says healthy and a real call succeeds.
node_ready() {
  local node=$1
  node_running "$node" || return 1
  case "${NODE_KIND[$node]}" in
    ca)
      [ "$(http_status "${NODE_HOST[$node]}" "${NODE_OPS[$node]}" /healthz)" = 200 ] &&
        [ -f "$(node_data_dir "$node")/ca-cert.pem" ] &&
        fabric-ca-client getcainfo -u "https://$(endpoint "$node")" --caname "ca-${NODE_ORG[$node]}" \
          --tls.certfiles "$(node_data_dir "$node")/ca-cert.pem" -H "$(node_data_dir "$node")/probe" >/dev/null 2>&1
      ;;
    orderer)
      [ "$(http_status "${NODE_HOST[$node]}" "${NODE_OPS[$node]}" /healthz)" = 200 ] &&
        osnadmin_as_admin "$node" channel list >/dev/null 2>&1
      ;;
    peer)
      [ "$(http_status "${NODE_HOST[$node]}" "${NODE_OPS[$node]}" /healthz)" = 200 ] &&
        peer_as_admin "${NODE_ORG[$node]}" peer channel list >/dev/null 2>&1
      ;;
    ccaas) port_open "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" ;;
  esac
}

wait_ready() {
  local node=$1 waited=0
  until node_ready "$node"; do
    if ! node_running "$node"; then
      show_failure "$node" "exited during start-up"
    fi
    if [ "$waited" -ge "$READY_TIMEOUT" ]; then
      show_failure "$node" "was not ready after ${READY_TIMEOUT}s"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "$node is ready"
}

show_failure() {
  local node=$1 reason=$2
  printf 'ERROR: %s %s. Last lines of %s:\n' "$node" "$reason" "$(log_file "$node")" >&2
  tail -n 30 "$(log_file "$node")" >&2 2>/dev/null || true
  exit 1
}

# --- stopping ------------------------------------------------------------------------------------------
stop_node() {
  local node=$1 pid file waited=0
  file=$(pid_file "$node")
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if node_running "$node"; then
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 15 ]; do
      sleep 1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$node did not stop within 15s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $node (pid $pid)"
  fi
  rm -f "$file"
}

# --- acting as an organization's admin -------------------------------------------------------------------
# Runs a command with the peer CLI environment of the org's admin, pointed at the org's peer.
peer_as_admin() {
  local org=$1 peer
  shift
  peer=$(org_node peer "$org")
  env FABRIC_CFG_PATH="$(fabric_config_dir)" \
    CORE_PEER_LOCALMSPID="${ORG_MSP[$org]}" \
    CORE_PEER_MSPCONFIGPATH="$(user_dir "$org" admin)/msp" \
    CORE_PEER_ADDRESS="$(endpoint "$peer")" \
    CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_TLS_ROOTCERT_FILE="$(org_ca_cert "$org")" \
    "$@"
}

# osnadmin against one orderer's admin endpoint, authenticated with the orderer org admin's TLS certificate.
osnadmin_as_admin() {
  local orderer=$1 admin
  shift
  admin=$(user_dir "${NODE_ORG[$orderer]}" admin)
  osnadmin "$@" -o "${NODE_HOST[$orderer]}:${NODE_EXTRA[$orderer]}" \
    --ca-file "$admin/tls/ca.pem" --client-cert "$admin/tls/cert.pem" --client-key "$admin/tls/key.pem"
}

# Flags that point the peer CLI at an orderer over TLS.
orderer_flags() {
  local orderer=$1
  printf '%s\n' -o "$(endpoint "$orderer")" --tls --cafile "$(org_ca_cert "${NODE_ORG[$orderer]}")"
}
