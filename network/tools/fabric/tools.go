//go:build tools

// Package tools pins the Fabric commands that network/scripts/install-fabric.sh builds. The build tag keeps
// it out of every normal build; it exists so that go.mod and go.sum record the exact module versions.
package tools

import (
	_ "github.com/hyperledger/fabric/cmd/configtxgen"
	_ "github.com/hyperledger/fabric/cmd/configtxlator"
	_ "github.com/hyperledger/fabric/cmd/orderer"
	_ "github.com/hyperledger/fabric/cmd/osnadmin"
	_ "github.com/hyperledger/fabric/cmd/peer"
)
