#!/usr/bin/env bash
# One parameterised launcher for every kind of node (CA, orderer, peer, chaincode server, reporting database,
# MQTT broker, aggregator, IPFS node), readiness checks and stopping by recorded PID. Sourced by
# test-network.sh after lib.sh.

# --- small network probes without extra tools ------------------------------------------------------------
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Prints the body of GET http://host:port/path, or nothing if it cannot connect.
http_body() {
  local host=$1 port=$2 path=$3 fd
  { exec {fd}<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$host" >&"$fd"
  timeout 5 cat <&"$fd" | sed '1,/^\r\{0,1\}$/d'
  exec {fd}>&-
}

# Prints the HTTP status code of GET (or $4: POST, with an empty body) http://host:port/path, or nothing if it
# cannot connect.
http_status() {
  local host=$1 port=$2 path=$3 method=${4:-GET} credentials=${5:-} fd line body='' auth=''
  { exec {fd}<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
  [ "$method" = GET ] || body=$'Content-Length: 0\r\n'
  [ -z "$credentials" ] || auth="Authorization: Basic $(printf '%s' "$credentials" | base64 -w0)"$'\r\n'
  printf '%s %s HTTP/1.0\r\nHost: %s\r\n%s%s\r\n' "$method" "$path" "$host" "$auth" "$body" >&"$fd"
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
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -F -- "$(node_program "$1")" >/dev/null
}

node_program() {
  case "${NODE_KIND[$1]}" in
    ca) printf 'fabric-ca-server' ;;
    orderer) printf 'orderer' ;;
    peer) printf 'peer node start' ;;
    ccaas) printf -- '--chaincode-address %s' "$(endpoint "$1")" ;;
    reportdb) printf 'pouchdb-server' ;;
    broker) printf 'aggregator/dist/bin.js broker' ;;
    aggregator) printf -- '--state-dir %s' "$(node_data_dir "$1")/state" ;;
    ipfs) printf -- '--repo-dir %s daemon' "$(ipfs_repo_dir "$1")" ;;
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
  local secret_env=''
  node_env "$node"
  node_command "$node"
  in_node_netns "$node"
  log "starting $node on $(endpoint "$node")${NODE_NETNS[$node]:+ in network namespace ${NODE_NETNS[$node]}}"
  # A secret goes into the environment of the subshell (readable only by its owner in /proc/<pid>/environ),
  # never onto a command line, which every local user sees in ps.
  (
    cd "$(node_data_dir "$node")" || exit 1
    [ -z "$secret_env" ] || export "${secret_env?}"
    exec env "${env_vars[@]}" setsid "${command[@]}"
  ) >>"$(log_file "$node")" 2>&1 &
  printf '%s\n' "$!" >"$(pid_file "$node")"
}

# A node whose host is a network namespace (the multi-host demo, network/scripts/hosts.sh) runs inside it.
# `ip netns exec` switches namespace and execs the command without forking, so the PID recorded for the node
# stays the node's own process (node_running, stop_nodes).
in_node_netns() {
  local netns=${NODE_NETNS[$1]}
  [ -n "$netns" ] || return 0
  ip netns list 2>/dev/null | awk '{print $1}' | grep -Fx -- "$netns" >/dev/null ||
    die "$1 runs on a host in network namespace $netns, which does not exist: run ./test-network.sh hosts up first"
  command=(ip netns exec "$netns" "${command[@]}")
}

# What peers and orderers log: info, without the lines every request writes (each gRPC call, each send of a
# transaction to each orderer, the broadcast stream a client closes, and this build's spurious certificate
# expiry warning between orderers), which cost CPU under load. FABRIC_LOGGING_SPEC overrides it.
fabric_logging_spec() {
  printf '%s' "${FABRIC_LOGGING_SPEC:-info:gateway,comm.grpc.server,endorser,orderer.consensus.smartbft.consensus=warning:orderer.common.broadcast,orderer.common.cluster.step=error}"
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
        FABRIC_LOGGING_SPEC="$(fabric_logging_spec)"
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
        FABRIC_LOGGING_SPEC="$(fabric_logging_spec)"
        CORE_PEER_ID="$node"
        CORE_PEER_LISTENADDRESS="$address"
        CORE_PEER_ADDRESS="$address"
        CORE_PEER_ADDRESSAUTODETECT=false
        CORE_PEER_CHAINCODELISTENADDRESS="${NODE_HOST[$node]}:${NODE_EXTRA[$node]}"
        CORE_PEER_CHAINCODEADDRESS="${NODE_HOST[$node]}:${NODE_EXTRA[$node]}"
        CORE_PEER_GOSSIP_BOOTSTRAP="$address"
        CORE_PEER_GOSSIP_ENDPOINT="$address"
        CORE_PEER_GOSSIP_EXTERNALENDPOINT="$address"
        # A peer that joins a channel before the other members' TLS roots are in place fails its first
        # contact with their anchor peers and retries after this interval (Fabric's default is 25s).
        CORE_PEER_GOSSIP_RECONNECTINTERVAL=5s
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
        # Proposals whose timestamp is further than this from the peer's clock are refused (our TimeWindowCheck
        # auth filter; Fabric itself uses the setting only for deliver and discovery requests).
        CORE_PEER_AUTHENTICATION_TIMEWINDOW="${PROPOSAL_TIME_WINDOW_SECONDS:-900}s"
        # Private data waiting in the transient store (e.g. personal data a household granted, on the peers
        # that endorsed but do not keep it) is dropped after this many blocks instead of Fabric's 1000.
        CORE_PEER_GOSSIP_PVTDATA_TRANSIENTSTOREMAXBLOCKRETENTION="${TRANSIENT_STORE_RETENTION_BLOCKS:-10}"
        CORE_CHAINCODE_EXTERNALBUILDERS="[{name: ccaas, path: $NETWORK_DIR/builders/ccaas, propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]}]"
        CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG="$(ccaas_builder_config "$org")"
      )
      state_db_env "$node"
      ;;
    ccaas)
      env_vars=(
        # The shim logs every invocation at info; warnings and errors are what an operator needs to see.
        CORE_CHAINCODE_LOGGING_LEVEL="${CHAINCODE_LOGGING_LEVEL:-warning}"
        SMARTMETER_TOPOLOGY="$(chaincode_topology_json)"
        # The chaincode's own guard against proposals whose time is far from the endorser's clock (the peer's
        # auth filter does not see proposals that the gateway endorses on its own peer).
        SMARTMETER_PROPOSAL_TIME_WINDOW_SECONDS="${PROPOSAL_TIME_WINDOW_SECONDS:-900}"
        # One line per Billing transaction naming the transient fields this endorser got (never their values).
        SMARTMETER_TRANSIENT_AUDIT=on
      )
      ;;
    reportdb)
      env_vars=(NODE_ENV=production)
      ;;
    broker | aggregator)
      env_vars=(NODE_ENV=production)
      ;;
    ipfs)
      # Kubo ships with no telemetry endpoint; off all the same, so that nothing leaves the machine.
      env_vars=(IPFS_PATH="$(ipfs_repo_dir "$node")" IPFS_TELEMETRY=off)
      ;;
  esac
}

# The one MQTT password of user "aggregator" on the embedded broker (0600), shared by the channels' aggregators.
mqtt_password_file() {
  local broker
  broker=$(nodes_of broker | sed -n 1p)
  [ -n "$broker" ] || die "no broker node in $NETWORK_CONF"
  secret_of "${NODE_ORG[$broker]}" mqtt-aggregator >/dev/null
  printf '%s/secrets/mqtt-aggregator' "$(org_dir "${NODE_ORG[$broker]}")"
}

# Where the aggregators reach the broker: MQTT_URL (e.g. an Eclipse Mosquitto), else the embedded one.
mqtt_url() {
  local broker
  if [ -n "${MQTT_URL:-}" ]; then
    printf '%s' "$MQTT_URL"
    return 0
  fi
  broker=$(nodes_of broker | sed -n 1p)
  printf 'mqtts://%s' "$(endpoint "$broker")"
}

# The CA the broker's TLS certificate chains to: MQTT_CA_FILE for another broker, else the broker org's CA.
mqtt_ca_file() {
  local broker
  if [ -n "${MQTT_CA_FILE:-}" ]; then
    printf '%s' "$MQTT_CA_FILE"
    return 0
  fi
  broker=$(nodes_of broker | sed -n 1p)
  org_ca_cert "${NODE_ORG[$broker]}"
}

# What the chaincode must know of the topology, from network.conf: which MSP is the authority, and which
# households MSP belongs to which distributor. Every chaincode server gets the same JSON, so endorsers agree.
chaincode_topology_json() {
  local org distributors='' authority=''
  for org in "${ORGS[@]}"; do
    case "${ORG_ROLE[$org]}" in
      authority) authority=${ORG_MSP[$org]} ;;
      distributor)
        distributors+="${distributors:+,}{\"mspId\":\"${ORG_MSP[$org]}\",\"householdsMspId\":\"$(households_msp_of "$org")\"}"
        ;;
    esac
  done
  printf '{"authorityMspId":"%s","distributors":[%s]}' "$authority" "$distributors"
}

households_msp_of() {
  local households
  households=$(households_of "$1")
  [ -n "$households" ] || die "distributor $1 has no households organization in $NETWORK_CONF"
  printf '%s' "${ORG_MSP[$households]}"
}

# Where the org's peer reaches its chaincode server, and the CA its TLS certificate chains to. The ccaas
# builder fills the package's connection.json templates from this JSON.
ccaas_builder_config() {
  local org=$1 server ca_pem
  server=$(org_node ccaas "$org")
  ca_pem=$(awk '{printf "%s\\n", $0}' "$(org_ca_cert "$org")")
  printf '{"address":"%s","root_cert":"%s"}' "$(endpoint "$server")" "$ca_pem"
}

# COUCHDB_URL names one CouchDB instance per peer, comma-separated, in peer order: a peer refuses an
# instance that already holds another peer's databases.
check_couchdb_urls() {
  local -a urls peers
  [ -n "${COUCHDB_URL:-}" ] || die "-s couchdb needs COUCHDB_URL, the URLs of one CouchDB 3.x instance per peer"
  IFS=, read -r -a urls <<<"$COUCHDB_URL"
  mapfile -t peers < <(nodes_of peer)
  [ "${#urls[@]}" -eq "${#peers[@]}" ] ||
    die "COUCHDB_URL names ${#urls[@]} CouchDB instance(s); give one per peer (${#peers[@]}: ${peers[*]})"
}

state_db_env() {
  [ "${STATE_DB:-goleveldb}" = couchdb ] || return 0
  check_couchdb_urls
  local -a urls peers
  IFS=, read -r -a urls <<<"$COUCHDB_URL"
  mapfile -t peers < <(nodes_of peer)
  local index chosen userinfo=''
  for index in "${!peers[@]}"; do [ "${peers[$index]}" = "$1" ] && break; done
  chosen=${urls[$index]#http://}
  if [[ $chosen == *@* ]]; then
    userinfo=${chosen%%@*}
    chosen=${chosen#*@}
  fi
  env_vars+=(
    CORE_LEDGER_STATE_STATEDATABASE=CouchDB
    CORE_LEDGER_STATE_COUCHDBCONFIG_COUCHDBADDRESS="${chosen%%/*}"
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
      # The registrar's user:secret (fabric-ca-server reads FABRIC_CA_SERVER_BOOT like its --boot flag).
      secret_env="FABRIC_CA_SERVER_BOOT=registrar:$(cat "$(org_dir "$org")/secrets/registrar")"
      command=(fabric-ca-server start
        --home "$(node_data_dir "$node")"
        --address "${NODE_HOST[$node]}" --port "${NODE_PORT[$node]}"
        --ca.name "ca-$org" --csr.cn "ca.$org"
        --csr.hosts "$(node_host_names "$node")"
        --tls.enabled)
      ;;
    orderer) command=(orderer) ;;
    peer) command=(peer node start) ;;
    ccaas)
      local package_id
      package_id=$(cat "$NETWORK_HOME/chaincode/package-id.$org" 2>/dev/null) ||
        die "no chaincode package installed for $org yet: run ./test-network.sh deployCC"
      command=(node "$REPO_DIR/chaincode/dist/server.js"
        --chaincode-address "$(endpoint "$node")"
        --chaincode-id "$package_id"
        --chaincode-tls-cert-file "$crypto/tls/cert.pem"
        --chaincode-tls-key-file "$crypto/tls/key.pem")
      ;;
    reportdb)
      # Data in the node's folder (LevelDB); config.json and log.txt land there too (it is the working dir).
      command=(node "$REPO_DIR/node_modules/pouchdb-server/bin/pouchdb-server"
        --host "${NODE_HOST[$node]}" --port "${NODE_PORT[$node]}" --dir "$(node_data_dir "$node")/db")
      ;;
    broker)
      command=(node "$REPO_DIR/aggregator/dist/bin.js" broker
        --host "${NODE_HOST[$node]}" --port "${NODE_PORT[$node]}"
        --cert "$crypto/tls/cert.pem" --key "$crypto/tls/key.pem" --password-file "$(mqtt_password_file)")
      ;;
    ipfs)
      [[ ${NODE_HOST[$node]} =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] ||
        die "$node: Kubo's API listens on an IPv4 address, and $NETWORK_CONF gives the host '${NODE_HOST[$node]}'"
      init_ipfs_repo "$(ipfs_repo_dir "$node")" "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" \
        "$(ipfs_password "$node" writer)" "$(ipfs_password "$node" reader)" >>"$(log_file "$node")" 2>&1 ||
        die "could not initialize the IPFS repository of $node; see $(log_file "$node")"
      # --offline: no libp2p host at all (no swarm, no DHT, no bitswap), so the node stores and serves only
      # what is added through its API, and nothing stored leaves the machine.
      command=(ipfs --repo-dir "$(ipfs_repo_dir "$node")" daemon --offline)
      ;;
    aggregator)
      # AGGREGATOR_COLLECT_SECONDS (the aggregator reads it itself) shortens rounds for tests.
      command=(node "$REPO_DIR/aggregator/dist/bin.js" run
        --mqtt-url "$(mqtt_url)" --mqtt-ca "$(mqtt_ca_file)" --password-file "$(mqtt_password_file)"
        --name "${node//./-}" --state-dir "$(node_data_dir "$node")/state"
        --profile "$(profile_path "$org")" --identity aggregator
        --channel "$(channels_of_org "$org" | sed -n 1p)" --regions "${NODE_EXTRA[$node]}")
      ;;
  esac
}

# --- configuration files ---------------------------------------------------------------------------------
fabric_config_dir() { printf '%s/config' "$NETWORK_HOME"; }

# The password of the IPFS node's writer or reader (init_ipfs_repo), made once and kept 0600 with the owning
# org's other secrets.
ipfs_password() {
  secret_of "${NODE_ORG[$1]}" "ipfs-$2"
}

# The Kubo repository (IPFS_PATH) of an ipfs node: its config, keys, blocks and pins.
ipfs_repo_dir() { printf '%s/repo' "$(node_data_dir "$1")"; }

# Creates a Kubo repository at $1 once (`ipfs init --profile=test`: loopback addresses, no bootstrap peers,
# no MDNS, no AutoConf), then, on every start, sets what keeps the node private and local: its RPC API on
# host $2 (an IPv4 address), port $3 (0: any free port; Kubo writes the one it got to $1/api), no gateway, no
# swarm addresses, no bootstrap peers, no local discovery, no routing, no announcing, no telemetry. Idempotent.
# With $4 and $5 (the writer's and the reader's passwords), the RPC API takes only authenticated calls (Kubo's
# API.Authorizations, HTTP basic auth): the writer (distributors) everything under /api/v0, the reader (the
# authority and households) only cat and id — no add, pin, gc, config or shutdown. Without them, no
# authorization is set (the client's unit tests).
# Needs ipfs on PATH. The IPFS client's unit tests (client/test/ipfs.test.ts) call it too.
init_ipfs_repo() {
  local repo=$1 host=$2 port=$3 writer=${4:-} reader=${5:-} key value authorizations='{}'
  if [ -n "$writer" ] && [ -n "$reader" ]; then
    authorizations=$(printf '{"writer":{"AuthSecret":"basic:writer:%s","AllowedPaths":["/api/v0"]},"reader":{"AuthSecret":"basic:reader:%s","AllowedPaths":["/api/v0/cat","/api/v0/id"]}}' "$writer" "$reader")
  fi
  if [ ! -f "$repo/config" ]; then
    mkdir -p "$repo"
    IPFS_PATH=$repo ipfs init --profile=test || return 1
  fi
  local -a settings=(
    Addresses.API "\"/ip4/$host/tcp/$port\""
    Addresses.Gateway '[]'
    Addresses.Swarm '[]'
    Addresses.Announce '[]'
    Addresses.AppendAnnounce '[]'
    Bootstrap '[]'
    Peering.Peers '[]'
    Discovery.MDNS.Enabled false
    AutoConf.Enabled false
    AutoTLS.Enabled false
    Routing.Type '"none"'
    Provide.Enabled false
    Plugins.Plugins.telemetry.Disabled true
  )
  while [ "${#settings[@]}" -gt 0 ]; do
    key=${settings[0]} value=${settings[1]}
    settings=("${settings[@]:2}")
    IPFS_PATH=$repo IPFS_TELEMETRY=off ipfs config --json "$key" "$value" || return 1
  done
  # Not through `ipfs config`, whose arguments every user on the host can read in the process list: the
  # passwords go by environment into Kubo's config file (0600, like the rest of the repository).
  IPFS_AUTHORIZATIONS=$authorizations node -e '
    const fs = require("node:fs");
    const file = process.argv[1];
    const config = JSON.parse(fs.readFileSync(file, "utf8"));
    config.API = { ...config.API, Authorizations: JSON.parse(process.env.IPFS_AUTHORIZATIONS) };
    fs.writeFileSync(file, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  ' "$repo/config" || return 1
}

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
  sed 's|^\( *endpoint:\) unix:///var/run/docker.sock|\1 ""|' "$FABRIC_HOME/config/core.yaml" |
    add_time_window_filter >"$dir/core.yaml"
  grep -q '^ *endpoint: ""' "$dir/core.yaml" || die "could not clear vm.endpoint in core.yaml"
  grep -q "library: $FABRIC_HOME/lib/timewindow.so\$" "$dir/core.yaml" ||
    die "could not add the time-window auth filter to core.yaml"
  sed "s|^Consensus:\$|Consensus:\\n    Type: $consensus_type|" "$FABRIC_HOME/config/orderer.yaml" >"$dir/orderer.yaml"
  grep -q "^    Type: $consensus_type\$" "$dir/orderer.yaml" || die "could not set Consensus.Type in orderer.yaml"
}

# Appends our proposal time-window filter (network/tools/fabric/timewindow) to peer.handlers.authFilters,
# after Fabric's own DefaultAuth and ExpirationCheck. A list in core.yaml cannot be extended from the
# environment, so the file is edited; the window itself is peer.authentication.timewindow.
add_time_window_filter() {
  awk -v library="$FABRIC_HOME/lib/timewindow.so" '
    { print }
    /^ *name: ExpirationCheck/ && !done {
      indent = $0; sub(/[^ ].*$/, "", indent); dash = substr(indent, 3)
      print dash "-"; print indent "name: TimeWindowCheck"; print indent "library: " library
      done = 1
    }'
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
    reportdb) [ "$(http_status "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" /)" = 200 ] ;;
    broker) port_open "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" ;;
    # Connected to the broker and subscribed (its JSON log says so).
    aggregator) grep -F '"mqtt.connected"' "$(log_file "$node")" >/dev/null 2>&1 ;;
    # Kubo's RPC API takes POST only (GET is 405); /api/v0/id answers the reader once the daemon is up.
    ipfs)
      [ "$(http_status "${NODE_HOST[$node]}" "${NODE_PORT[$node]}" /api/v0/id POST \
        "reader:$(ipfs_password "$node" reader)")" = 200 ]
      ;;
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
# Stops nodes by their recorded PIDs: SIGTERM to all of them at once, then SIGKILL to any that are still
# running after 15 seconds. Nodes that are not running just lose their stale PID file.
stop_nodes() {
  local node waited=0
  local -a stopping=()
  for node in "$@"; do
    if node_running "$node"; then
      kill -TERM "$(node_pid "$node")" 2>/dev/null || true
      stopping+=("$node")
    else
      rm -f "$(pid_file "$node")"
    fi
  done
  while [ "${#stopping[@]}" -gt 0 ]; do
    local -a still=()
    for node in "${stopping[@]}"; do
      if kill -0 "$(node_pid "$node")" 2>/dev/null; then
        still+=("$node")
      else
        log "stopped $node (pid $(node_pid "$node"))"
        rm -f "$(pid_file "$node")"
      fi
    done
    stopping=("${still[@]}")
    [ "${#stopping[@]}" -gt 0 ] || break
    if [ "$waited" -ge 150 ]; then
      for node in "${stopping[@]}"; do
        log "$node did not stop within 15s; killing it"
        kill -KILL "$(node_pid "$node")" 2>/dev/null || true
      done
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

stop_node() { stop_nodes "$1"; }

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
