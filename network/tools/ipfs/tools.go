//go:build tools

// Package tools pins the Kubo command that network/scripts/install-kubo.sh builds (see
// network/tools/fabric/tools.go for why this file exists, and go.mod for why this module exists at all).
package tools

import (
	_ "github.com/ipfs/kubo/cmd/ipfs"
)
