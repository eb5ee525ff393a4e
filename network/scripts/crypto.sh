#!/usr/bin/env bash
# Identities: every node and user is enrolled from its organization's Fabric CA (no cryptogen). Sourced by
# test-network.sh after lib.sh and nodes.sh.
#
# Layout under $NETWORK_HOME/orgs/<org>/:
#   msp/                      the org MSP for channel configuration: cacerts, tlscacerts, NodeOUs config.yaml
#   secrets/<identity>        enrollment secrets (0600), kept so identities can be re-enrolled
#   nodes/<node>/{msp,tls}    a node's signing MSP and its TLS cert.pem, key.pem, ca.pem
#   users/<name>/msp          a user's MSP; users/admin/tls for the orderer org admin (osnadmin mutual TLS)

ca_of() { org_node ca "$1"; }

# Secrets travel in the environment (FABRIC_CA_CLIENT_URL for the -u flag, FABRIC_CA_CLIENT_ID_SECRET for
# --id.secret), never on a command line, which every local user sees in ps.
ca_client() {
  local org=$1 ca
  shift
  ca=$(ca_of "$org")
  fabric-ca-client "$@" --caname "ca-$org" --tls.certfiles "$(org_ca_cert "$org")" \
    -H "$(org_dir "$org")/ca-client"
}

new_secret() {
  od -An -tx1 -N18 /dev/urandom | tr -d ' \n'
}

# Creates (once) and prints the enrollment secret of an identity.
secret_of() {
  local org=$1 name=$2 file
  file="$(org_dir "$org")/secrets/$name"
  if [ ! -f "$file" ]; then
    mkdir -p "$(dirname "$file")"
    (umask 077 && new_secret >"$file")
  fi
  cat "$file"
}

write_node_ous() {
  local msp=$1 ou
  {
    printf 'NodeOUs:\n  Enable: true\n'
    for ou in Client:client Peer:peer Admin:admin Orderer:orderer; do
      printf '  %sOUIdentifier:\n    Certificate: cacerts/ca.pem\n    OrganizationalUnitIdentifier: %s\n' \
        "${ou%%:*}" "${ou#*:}"
    done
  } >"$msp/config.yaml"
}

# The CA writes its self-signed root on first start; the org MSP is built from it.
create_org_msp() {
  local org=$1 msp
  msp="$(org_dir "$org")/msp"
  mkdir -p "$msp/cacerts" "$msp/tlscacerts"
  cp "$(node_data_dir "$(ca_of "$org")")/ca-cert.pem" "$msp/cacerts/ca.pem"
  # One CA per org signs both enrollment and TLS certificates (its `tls` profile), so it is also the TLS root.
  cp "$msp/cacerts/ca.pem" "$msp/tlscacerts/ca.pem"
  write_node_ous "$msp"
}

enroll_registrar() {
  local org=$1 ca
  ca=$(ca_of "$org")
  FABRIC_CA_CLIENT_URL="https://registrar:$(secret_of "$org" registrar)@$(endpoint "$ca")" \
    ca_client "$org" enroll -M "$(user_dir "$org" registrar)/msp" >/dev/null 2>&1 ||
    die "could not enroll the registrar of $org (see $(log_file "$ca"))"
  normalize_msp "$(user_dir "$org" registrar)/msp"
}

# register_identity <org> <name> <type> [attributes]
register_identity() {
  local org=$1 name=$2 type=$3 attrs=${4:-} output
  local -a args=(register --id.name "$name" --id.type "$type"
    -u "https://$(endpoint "$(ca_of "$org")")" -M "$(user_dir "$org" registrar)/msp")
  [ -z "$attrs" ] || args+=(--id.attrs "$attrs")
  output=$(FABRIC_CA_CLIENT_ID_SECRET="$(secret_of "$org" "$name")" ca_client "$org" "${args[@]}" 2>&1) || {
    printf '%s\n' "$output" >&2
    die "could not register $name with the CA of $org"
  }
}

# enroll_msp <org> <name> <msp dir>
enroll_msp() {
  local org=$1 name=$2 msp=$3
  FABRIC_CA_CLIENT_URL="https://$name:$(secret_of "$org" "$name")@$(endpoint "$(ca_of "$org")")" \
    ca_client "$org" enroll -M "$msp" >/dev/null 2>&1 || die "could not enroll $name at the CA of $org"
  normalize_msp "$msp"
}

# enroll_tls <org> <name> <dir> <hosts>: TLS certificate from the CA's tls profile (server+client auth).
enroll_tls() {
  local org=$1 name=$2 dir=$3 hosts=$4 tmp
  tmp="$dir/tls-enrollment"
  FABRIC_CA_CLIENT_URL="https://$name:$(secret_of "$org" "$name")@$(endpoint "$(ca_of "$org")")" \
    ca_client "$org" enroll -M "$tmp" --enrollment.profile tls --csr.hosts "$hosts" >/dev/null 2>&1 ||
    die "could not enroll a TLS certificate for $name at the CA of $org"
  mkdir -p "$dir/tls"
  cp "$tmp/signcerts/cert.pem" "$dir/tls/cert.pem"
  cp "$(org_ca_cert "$org")" "$dir/tls/ca.pem"
  (umask 077 && cp "$tmp"/keystore/*_sk "$dir/tls/key.pem")
  rm -rf "$tmp"
}

# A local MSP with a predictable CA file name (NodeOUs config refers to it) and private keys at 0600.
normalize_msp() {
  local msp=$1
  local -a cas=("$msp"/cacerts/*.pem)
  [ "${cas[0]}" = "$msp/cacerts/ca.pem" ] || mv "${cas[0]}" "$msp/cacerts/ca.pem"
  chmod 600 "$msp"/keystore/*
  write_node_ous "$msp"
  rm -rf "$msp/IssuerPublicKey" "$msp/IssuerRevocationPublicKey" "$msp/user"
}

# Path of the private key file of an enrolled MSP.
msp_key() {
  local -a keys=("$1"/keystore/*_sk)
  printf '%s' "${keys[0]}"
}

# The names a node's TLS certificate is valid for: the node, its host's name and address (the same when the
# host column is an address), and loopback for clients on the same machine.
tls_hosts() { node_host_names "$1"; }

enroll_node() {
  local node=$1 org=${NODE_ORG[$1]} type=$2 dir
  dir=$(node_crypto_dir "$node")
  register_identity "$org" "$node" "$type"
  enroll_msp "$org" "$node" "$dir/msp"
  enroll_tls "$org" "$node" "$dir" "$(tls_hosts "$node")"
}

enroll_user() {
  local org=$1 name=$2 type=$3 attrs=${4:-}
  register_identity "$org" "$name" "$type" "$attrs"
  enroll_msp "$org" "$name" "$(user_dir "$org" "$name")/msp"
}

# Everything an organization needs, according to its role.
enroll_org() {
  local org=$1 node
  create_org_msp "$org"
  enroll_registrar "$org"
  case "${ORG_ROLE[$org]}" in
    orderer)
      enroll_user "$org" admin admin
      # The org admin drives osnadmin, whose admin endpoint requires a client TLS certificate.
      enroll_tls "$org" admin "$(user_dir "$org" admin)" "admin.$org"
      for node in $(nodes_of orderer "$org"); do enroll_node "$node" orderer; done
      ;;
    distributor | authority)
      enroll_user "$org" admin admin
      for node in $(nodes_of peer "$org"); do enroll_node "$node" peer; done
      for node in $(nodes_of ccaas "$org"); do
        register_identity "$org" "$node" client
        enroll_tls "$org" "$node" "$(node_crypto_dir "$node")" "$(tls_hosts "$node")"
      done
      for node in $(nodes_of broker "$org"); do
        register_identity "$org" "$node" client
        enroll_tls "$org" "$node" "$(node_crypto_dir "$node")" "$(tls_hosts "$node")"
      done
      if [ "${ORG_ROLE[$org]}" = distributor ]; then
        enroll_user "$org" operator client 'role=operator:ecert'
        # Device configurations are published by their own identity, not an operator's (issue 19): its
        # profile name is config-admin, so meterctl -i config-admin acts as it.
        enroll_user "$org" config-admin client 'role=config-admin:ecert'
        # The aggregate mode's aggregator submits shares and closes rounds; the ledger trusts it for nothing.
        [ -z "$(nodes_of aggregator "$org")" ] || enroll_user "$org" aggregator client 'role=aggregator:ecert'
      else
        enroll_user "$org" auditor client 'role=auditor:ecert'
      fi
      ;;
    households)
      # Households and meters are registered later, one by one, by their distributor (whose profile holds
      # this CA's registrar); the org has no admin and no nodes of its own.
      [ -n "${ORG_MSP[${ORG_PARENT[$org]:-}]:-}" ] ||
        die "households organization $org must name its distributor in $NETWORK_CONF"
      ;;
    *) die "organization $org has unknown role '${ORG_ROLE[$org]}'" ;;
  esac
  log "enrolled the identities of $org"
}

# --- connection profiles ---------------------------------------------------------------------------------
profile_path() { printf '%s/profiles/%s.json' "$NETWORK_HOME" "$1"; }

identity_json() {
  local name=$1 msp=$2
  printf '"%s":{"certPath":"%s","keyPath":"%s"}' "$name" "$msp/signcerts/cert.pem" "$(msp_key "$msp")"
}

# The identities enrolled into an org's users/ folder, as profile JSON entries; households orgs list their
# test users but not the registrar, which belongs to the distributor's profile.
user_identities_json() {
  local org=$1 msp name identities=''
  for msp in "$(org_dir "$org")"/users/*/msp; do
    [ -d "$msp" ] || continue
    name=$(basename "$(dirname "$msp")")
    [ "${ORG_ROLE[$org]}" = households ] && [ "$name" = registrar ] && continue
    identities+="${identities:+,}$(identity_json "$name" "$msp")"
  done
  printf '%s' "$identities"
}

authority_msp() {
  local org
  for org in "${ORGS[@]}"; do [ "${ORG_ROLE[$org]}" = authority ] && printf '%s' "${ORG_MSP[$org]}"; done
  return 0
}

ca_json() {
  local org=$1 ca
  ca=$(ca_of "$org")
  printf '{"url":"https://%s","caName":"ca-%s","tlsCertPath":"%s"}' "$(endpoint "$ca")" "$org" "$(org_ca_cert "$org")"
}

# One JSON profile per application org: what a client needs to reach its peer and CA, and its identities. A
# households org's clients use their distributor's peer; a distributor's profile names its households' CA and
# carries that CA's registrar, since the distributor registers its households and meters.
write_profile() {
  local org=$1 peer_org=$1 peer default channels='' channel identities households extra=''
  [ "${ORG_ROLE[$org]}" = households ] && peer_org=${ORG_PARENT[$org]}
  peer=$(org_node peer "$peer_org")
  for channel in $(channels_of_org "$org"); do channels+="${channels:+,}\"$channel\""; done
  identities=$(user_identities_json "$org")
  case "${ORG_ROLE[$org]}" in
    authority) default=auditor ;;
    households)
      default=''
      extra=$(printf '\n  "distributorMspId": "%s",' "${ORG_MSP[$peer_org]}")
      ;;
    *) default=operator ;;
  esac
  households=$(households_of "$org")
  if [ -n "$households" ]; then
    extra=$(printf '\n  "households": {"mspId": "%s", "ca": %s},' "${ORG_MSP[$households]}" "$(ca_json "$households")")
    identities+="${identities:+,}$(identity_json households-registrar "$(user_dir "$households" registrar)/msp")"
  fi
  mkdir -p "$NETWORK_HOME/profiles"
  (umask 077 && cat >"$(profile_path "$org")") <<JSON
{
  "org": "$org",
  "mspId": "${ORG_MSP[$org]}",
  "authorityMspId": "$(authority_msp)",
  "chaincodeName": "$CHAINCODE_NAME",$extra
  "channels": [$channels],
  "peer": {
    "endpoint": "$(endpoint "$peer")",
    "hostAlias": "$peer",
    "tlsRootCertPath": "$(org_ca_cert "$peer_org")"
  },
  "ca": $(ca_json "$org"),
  "defaultIdentity": "$default",$(report_db_json "$org")$(ipfs_api_json "$org")
  "identities": {$identities}
}
JSON
  chmod 600 "$(profile_path "$org")"
}

# The authority's profile names its reporting database: REPORT_DB_URL, or the local pouchdb-server.
report_db_json() {
  local org=$1 node url=${REPORT_DB_URL:-}
  [ "${ORG_ROLE[$org]}" = authority ] || return 0
  if [ -z "$url" ]; then
    node=$(nodes_of reportdb | sed -n 1p)
    [ -n "$node" ] || return 0
    url="http://$(endpoint "$node")"
  fi
  printf '\n  "reportDbUrl": "%s",' "$url"
}

# Every application org's profile (distributors, the authority, households, who fetch their reports) names
# the IPFS node's RPC API: IPFS_API_URL, else the one `up` was given (a profile rewritten by a later enroll
# keeps it), else the network's Kubo node with the org's credentials in the URL: distributors as its writer,
# the authority and households as its reader (cat only). The profile is therefore written 0600.
ipfs_api_json() {
  local org=$1 node url=${IPFS_API_URL:-} who=reader
  [ -n "$url" ] || url=$(cat "$(ipfs_api_url_file)" 2>/dev/null || true)
  if [ -z "$url" ]; then
    node=$(nodes_of ipfs | sed -n 1p)
    [ -n "$node" ] || return 0
    [ "${ORG_ROLE[$org]}" != distributor ] || who=writer
    url="http://$who:$(ipfs_password "$node" "$who")@$(endpoint "$node")"
  fi
  printf '\n  "ipfsApiUrl": "%s",' "$url"
}

# Where `up` records the IPFS_API_URL it was given.
ipfs_api_url_file() { printf '%s/ipfs-api-url' "$NETWORK_HOME"; }

# Registers (unless already registered) and enrolls a user identity for an application org, then adds it to
# the org's connection profile. Attributes such as 'role=subscriber:ecert,subscriberId=hh-1:ecert' go into
# the certificate, where the chaincode reads them.
enroll_user_identity() {
  local org=$1 name=$2 type=$3 attrs=${4:-} msp output
  [ -n "${ORG_MSP[$org]:-}" ] || die "unknown organization '$org' (one of: ${ORGS[*]})"
  [ "${ORG_ROLE[$org]}" != orderer ] || die "users are enrolled at application organizations, not $org"
  case "$attrs" in
    *role=subscriber* | *role=meter*)
      [ "${ORG_ROLE[$org]}" = households ] ||
        die "households and meters belong to a households organization (one of: $(profiled_households)), not $org"
      ;;
  esac
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || die "identity name must be 1-64 letters, digits, '.', '_' or '-'"
  case "$type" in client | admin) ;; *) die "identity type must be client or admin" ;; esac
  msp="$(user_dir "$org" "$name")/msp"
  [ ! -d "$msp" ] || die "$org already has an identity named $name ($msp)"
  if ! output=$(register_identity "$org" "$name" "$type" "$attrs" 2>&1); then
    printf '%s\n' "$output" >&2
    die "could not register $name at the CA of $org"
  fi
  enroll_msp "$org" "$name" "$msp"
  write_profile "$org"
  printf '{"org":"%s","identity":"%s","certPath":"%s","keyPath":"%s","profile":"%s"}\n' "$org" "$name" \
    "$msp/signcerts/cert.pem" "$(msp_key "$msp")" "$(profile_path "$org")"
}

profiled_households() {
  local org list=''
  for org in "${ORGS[@]}"; do [ "${ORG_ROLE[$org]}" = households ] && list+="${list:+, }$org"; done
  printf '%s' "$list"
}
