#!/usr/bin/env bash
# Chaincode as a service: package, install on every peer, approve per org, commit on every channel, and run
# one chaincode server per organization. Re-running it after a code change upgrades to the next sequence.
# Sourced by test-network.sh.

CHAINCODE_DIR="$REPO_DIR/chaincode"
# Blocks after which a peer purges personal data delivered through a private data collection.
PERSONAL_DATA_BLOCK_TO_LIVE=${PERSONAL_DATA_BLOCK_TO_LIVE:-20}

chaincode_version() {
  node -p "require('$CHAINCODE_DIR/package.json').version"
}

build_chaincode() {
  log "building the chaincode"
  (cd "$REPO_DIR" && npx tsc -b crypto domain chaincode) || die "the chaincode does not compile"
}

# The label carries a digest of the built code so that a changed chaincode gets a new package id.
chaincode_label() {
  local digest
  digest=$(cd "$REPO_DIR" && find chaincode/dist chaincode/package.json chaincode/META-INF crypto/dist \
    crypto/package.json domain/dist domain/package.json -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-12)
  printf '%s_%s_%s' "$CHAINCODE_NAME" "$(chaincode_version)" "$digest"
}

package_chaincode() {
  local label=$1 work out="$NETWORK_HOME/chaincode/$1.tar.gz"
  work=$(mktemp -d)
  mkdir -p "$work/code" "$(dirname "$out")"
  # Templates filled per peer by the ccaas builder from CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG.
  printf '{"address":"{{.address}}","dial_timeout":"10s","tls_required":true,"root_cert":"{{.root_cert}}"}\n' \
    >"$work/code/connection.json"
  cp -r "$CHAINCODE_DIR/META-INF" "$work/code/META-INF"
  tar -C "$work/code" -czf "$work/code.tar.gz" connection.json META-INF
  printf '{"type":"ccaas","label":"%s"}\n' "$label" >"$work/metadata.json"
  tar -C "$work" -czf "$out" metadata.json code.tar.gz
  rm -rf "$work"
  printf '%s' "$out"
}

install_on_peer() {
  local org=$1 package=$2 package_id output
  package_id=$(peer_as_admin "$org" peer lifecycle chaincode calculatepackageid "$package")
  if ! peer_as_admin "$org" peer lifecycle chaincode queryinstalled 2>/dev/null | grep -F "$package_id" >/dev/null; then
    output=$(peer_as_admin "$org" peer lifecycle chaincode install "$package" 2>&1) || {
      printf '%s\n' "$output" >&2
      die "could not install the chaincode on the peer of $org"
    }
  fi
  printf '%s\n' "$package_id" >"$NETWORK_HOME/chaincode/package-id.$org"
}

# The sequence of the definition committed on a channel; 0 when there is none yet.
committed_sequence() {
  local channel=$1 org json
  org=$(channel_peer_orgs "$channel" | sed -n 1p)
  json=$(peer_as_admin "$org" peer lifecycle chaincode querycommitted -C "$channel" -n "$CHAINCODE_NAME" \
    -O json 2>/dev/null) || json='{}'
  node -e 'let d = {};
    try { d = JSON.parse(process.argv[1]); } catch { /* no definition yet: the peer printed an error */ }
    console.log(Number.isInteger(d.sequence) ? d.sequence : 0);' "$json"
}

# AND of the peers of every member: the channel's distributor and the authority must both endorse.
endorsement_policy() {
  local channel=$1 org policy=''
  for org in $(channel_peer_orgs "$channel"); do policy+="${policy:+,}'${ORG_MSP[$org]}.peer'"; done
  printf 'AND(%s)' "$policy"
}

# One private data collection per member organization, through which it receives personal data that a
# household chose to give it: only that organization's peers keep it, and they purge it after
# PERSONAL_DATA_BLOCK_TO_LIVE blocks. The chaincode names them personalDataFor<MSP id>.
collections_config() {
  local channel=$1 file org entries='' msp
  file="$NETWORK_HOME/chaincode/collections-$channel.json"
  for org in $(channel_peer_orgs "$channel"); do
    msp=${ORG_MSP[$org]}
    entries+="${entries:+,}{\"name\":\"personalDataFor$msp\",\"policy\":\"OR('$msp.member')\",\"requiredPeerCount\":0,\"maxPeerCount\":1,\"blockToLive\":$PERSONAL_DATA_BLOCK_TO_LIVE,\"memberOnlyRead\":true,\"memberOnlyWrite\":false}"
  done
  printf '[%s]\n' "$entries" >"$file"
  printf '%s' "$file"
}

definition_flags() {
  local channel=$1 sequence=$2
  printf '%s\n' --channelID "$channel" --name "$CHAINCODE_NAME" --version "$(chaincode_version)" \
    --sequence "$sequence" --signature-policy "$(endorsement_policy "$channel")" \
    --collections-config "$(collections_config "$channel")"
}

approve_and_commit() {
  local channel=$1 sequence org output orderer
  sequence=$(($(committed_sequence "$channel") + 1))
  orderer=$(active_orderers | sed -n 1p)
  local -a definition orderer_args peer_args=()
  mapfile -t definition < <(definition_flags "$channel" "$sequence")
  mapfile -t orderer_args < <(orderer_flags "$orderer")
  for org in $(channel_peer_orgs "$channel"); do
    output=$(peer_as_admin "$org" peer lifecycle chaincode approveformyorg "${orderer_args[@]}" \
      "${definition[@]}" --package-id "$(cat "$NETWORK_HOME/chaincode/package-id.$org")" \
      --waitForEvent 2>&1) || {
      printf '%s\n' "$output" >&2
      die "$org could not approve $CHAINCODE_NAME sequence $sequence on $channel"
    }
    peer_args+=(--peerAddresses "$(endpoint "$(org_node peer "$org")")" --tlsRootCertFiles "$(org_ca_cert "$org")")
  done
  org=$(channel_peer_orgs "$channel" | sed -n 1p)
  output=$(peer_as_admin "$org" peer lifecycle chaincode commit "${orderer_args[@]}" "${definition[@]}" \
    "${peer_args[@]}" 2>&1) || {
    printf '%s\n' "$output" >&2
    die "could not commit $CHAINCODE_NAME sequence $sequence on $channel"
  }
  log "committed $CHAINCODE_NAME sequence $sequence on $channel (policy $(endorsement_policy "$channel"))"
}

restart_chaincode_server() {
  local org=$1 server
  server=$(org_node ccaas "$org")
  stop_node "$server"
  start_node "$server"
  wait_ready "$server"
}

# A real call through each member peer: the peer must reach its chaincode server and run a transaction.
verify_chaincode() {
  local channel=$1 org result
  for org in $(channel_peer_orgs "$channel"); do
    result=$(peer_as_admin "$org" peer chaincode query -C "$channel" -n "$CHAINCODE_NAME" \
      -c '{"Args":["System:Version"]}' 2>&1) || {
      printf '%s\n' "$result" >&2
      die "the chaincode does not answer on $channel through the peer of $org"
    }
  done
  log "chaincode answers on $channel: $result"
}

deploy_chaincode() {
  local label package org channel
  build_chaincode
  label=$(chaincode_label)
  package=$(package_chaincode "$label")
  for org in $(application_orgs); do install_on_peer "$org" "$package"; done
  log "installed package $label on every peer"
  for org in $(application_orgs); do restart_chaincode_server "$org"; done
  for channel in "${CHANNELS[@]}"; do approve_and_commit "$channel"; done
  for channel in "${CHANNELS[@]}"; do verify_chaincode "$channel"; done
}
