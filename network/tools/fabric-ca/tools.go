//go:build tools

// Package tools pins the Fabric CA commands that network/scripts/install-fabric.sh builds (see
// network/tools/fabric/tools.go for why this file exists).
package tools

import (
	_ "github.com/hyperledger/fabric-ca/cmd/fabric-ca-client"
	_ "github.com/hyperledger/fabric-ca/cmd/fabric-ca-server"
)
