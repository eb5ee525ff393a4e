#!/usr/bin/env bash
# Channels: render configtx.yaml, generate each channel's genesis block, join the orderers (channel
# participation API) and the member peers. Sourced by test-network.sh.

# The ordering mode chosen at `up` (bft or raft), remembered for later commands.
ordering_mode() { cat "$NETWORK_HOME/ordering-mode" 2>/dev/null || printf 'bft'; }

# The orderers that run in the current mode: all of them for BFT, the first one for single-node Raft.
active_orderers() {
  if [ "$(ordering_mode)" = raft ]; then
    nodes_of orderer | sed -n 1p
  else
    nodes_of orderer
  fi
}

render_configtx() {
  local out node
  out="$(fabric_config_dir)/configtx.yaml"
  local -a expressions=(-e "s|{{NETWORK_HOME}}|$NETWORK_HOME|g")
  for node in "${NODES[@]}"; do
    expressions+=(-e "s|{{host:$node}}|${NODE_HOST[$node]}|g" -e "s|{{port:$node}}|${NODE_PORT[$node]}|g")
  done
  mkdir -p "$(dirname "$out")"
  sed "${expressions[@]}" "$REPO_DIR/configtx.yaml" >"$out"
  if grep -q '{{' "$out"; then
    die "configtx.yaml refers to nodes missing from $NETWORK_CONF: $(grep -o '{{[^}]*}}' "$out" | sort -u | tr '\n' ' ')"
  fi
}

genesis_block() { printf '%s/channels/%s.block' "$NETWORK_HOME" "$1"; }

create_genesis_block() {
  local channel=$1 output
  mkdir -p "$NETWORK_HOME/channels"
  output=$(configtxgen -configPath "$(fabric_config_dir)" -profile "$channel-$(ordering_mode)" \
    -channelID "$channel" -outputBlock "$(genesis_block "$channel")" 2>&1) || {
    printf '%s\n' "$output" >&2
    die "configtxgen could not create the genesis block of $channel"
  }
}

join_orderer() {
  local orderer=$1 channel=$2 output
  output=$(osnadmin_as_admin "$orderer" channel join --channelID "$channel" \
    --config-block "$(genesis_block "$channel")" 2>&1) || {
    printf '%s\n' "$output" >&2
    die "$orderer could not join $channel"
  }
}

# A consenter that joined with the wrong certificates becomes a follower and ordering never starts.
wait_orderer_active() {
  local orderer=$1 channel=$2 waited=0 info
  while :; do
    info=$(osnadmin_as_admin "$orderer" channel list --channelID "$channel" 2>/dev/null || true)
    case "$info" in
      *'"status": "active"'*'"consensusRelation": "consenter"'* | *'"consensusRelation": "consenter"'*'"status": "active"'*) return 0 ;;
    esac
    [ "$waited" -lt "$READY_TIMEOUT" ] || show_failure "$orderer" "is not an active consenter of $channel: $info"
    sleep 1
    waited=$((waited + 1))
  done
}

join_peer() {
  local org=$1 channel=$2 output
  output=$(peer_as_admin "$org" peer channel join -b "$(genesis_block "$channel")" 2>&1) || {
    printf '%s\n' "$output" >&2
    die "the peer of $org could not join $channel"
  }
}

create_channels() {
  local channel orderer org
  render_configtx
  for channel in "${CHANNELS[@]}"; do
    create_genesis_block "$channel"
    for orderer in $(active_orderers); do join_orderer "$orderer" "$channel"; done
    for orderer in $(active_orderers); do wait_orderer_active "$orderer" "$channel"; done
    for org in $(channel_peer_orgs "$channel"); do join_peer "$org" "$channel"; done
    log "channel $channel: $(active_orderers | wc -l) orderers, members ${CHANNEL_ORGS[$channel]// /, }"
  done
}

# Peers gossip with the other members' peers of a channel; the gateway can only plan endorsements across
# organizations once each peer knows them. Waits until every peer's gossip_membership_total_peers_known
# metric for the channel counts all other member peers.
wait_channel_membership() {
  local channel=$1 org peer expected known waited
  expected=$(($(for org in $(channel_peer_orgs "$channel"); do nodes_of peer "$org"; done | wc -l) - 1))
  for org in $(channel_peer_orgs "$channel"); do
    for peer in $(nodes_of peer "$org"); do
      waited=0
      while :; do
        known=$(http_body "${NODE_HOST[$peer]}" "${NODE_OPS[$peer]}" /metrics 2>/dev/null |
          sed -n "s/^gossip_membership_total_peers_known{channel=\"$channel\"} \([0-9]*\).*/\1/p")
        [ "${known:-0}" -ge "$expected" ] && break
        [ "$waited" -lt "$READY_TIMEOUT" ] ||
          show_failure "$peer" "knows ${known:-0} of the $expected other peers of $channel after ${READY_TIMEOUT}s"
        sleep 1
        waited=$((waited + 1))
      done
    done
  done
  log "channel $channel: every peer sees the other $expected member peer(s)"
}
