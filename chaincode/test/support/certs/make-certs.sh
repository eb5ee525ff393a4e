#!/usr/bin/env bash
# Makes the public test certificates the in-memory unit tests present as callers (the chaincode binds records
# to a certificate's public key). The private keys are thrown away: nothing here can sign.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make_cert() {
  local name=$1 attrs=${2:-}
  local -a extension=()
  if [ -n "$attrs" ]; then
    # Fabric CA writes the attributes JSON itself as the extension value.
    printf "[ext]\n1.2.3.4.5.6.7.8.1=DER:%s\n" "$(printf %s "$attrs" | od -An -tx1 | tr -d " \n")" >"$work/ext.cnf"
    extension=(-extfile "$work/ext.cnf" -extensions ext)
  fi
  openssl ecparam -name prime256v1 -genkey -noout -out "$work/key.pem"
  openssl req -new -key "$work/key.pem" -subj "/CN=$name" -out "$work/req.csr"
  openssl x509 -req -in "$work/req.csr" -signkey "$work/key.pem" -days 36500 "${extension[@]}" -out "$name.pem" 2>/dev/null
}
for name in key-a key-b key-c key-d; do make_cert "$name"; done
make_cert subscriber-hh-001 '{"attrs":{"role":"subscriber","subscriberId":"hh-001"}}'
make_cert meter-MTR-001 '{"attrs":{"role":"meter","meterId":"MTR-001"}}'
