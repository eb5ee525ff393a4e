// Command timewindow is a peer auth filter plug-in (core.yaml peer.handlers.authFilters, loaded with Go's
// plugin package): it refuses a proposal whose header timestamp lies further than peer.authentication.timewindow
// from the endorsing peer's clock, before the proposal reaches any chaincode.
//
// The Fabric revision this network runs predates upstream's own check (CVE-2024-45244), so without this filter a
// client can choose its transaction's time: the chaincode reads time only from the proposal, and a meter could
// store readings for periods that have not happened yet, or an operator back-date a tariff.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hyperledger/fabric-protos-go/peer"
	"github.com/hyperledger/fabric/core/handlers/auth"
	"github.com/hyperledger/fabric/protoutil"
	"github.com/spf13/viper"
)

// defaultWindow is the peer's own default for peer.authentication.timewindow.
const defaultWindow = 15 * time.Minute

type timeWindowFilter struct {
	next   peer.EndorserServer
	window time.Duration
	now    func() time.Time
}

// NewFilter is the constructor the peer looks up in the plug-in.
func NewFilter() auth.Filter {
	return newFilter(configuredWindow(), time.Now)
}

func newFilter(window time.Duration, now func() time.Time) *timeWindowFilter {
	return &timeWindowFilter{window: window, now: now}
}

// configuredWindow reads the same setting the peer uses for deliver and discovery requests; the plug-in shares
// the peer's configuration because it shares its viper package.
func configuredWindow() time.Duration {
	if window := viper.GetDuration("peer.authentication.timewindow"); window > 0 {
		return window
	}
	return defaultWindow
}

func (f *timeWindowFilter) Init(next peer.EndorserServer) {
	f.next = next
}

func (f *timeWindowFilter) ProcessProposal(ctx context.Context, signed *peer.SignedProposal) (*peer.ProposalResponse, error) {
	if err := f.check(signed); err != nil {
		return nil, err
	}
	return f.next.ProcessProposal(ctx, signed)
}

func (f *timeWindowFilter) check(signed *peer.SignedProposal) error {
	proposal, err := protoutil.UnmarshalProposal(signed.GetProposalBytes())
	if err != nil {
		return fmt.Errorf("failed parsing proposal: %w", err)
	}
	header, err := protoutil.UnmarshalHeader(proposal.GetHeader())
	if err != nil {
		return fmt.Errorf("failed parsing header: %w", err)
	}
	channelHeader, err := protoutil.UnmarshalChannelHeader(header.GetChannelHeader())
	if err != nil {
		return fmt.Errorf("failed parsing channel header: %w", err)
	}
	stamp := channelHeader.GetTimestamp()
	if stamp == nil {
		return fmt.Errorf("proposal has no timestamp")
	}
	proposed := stamp.AsTime()
	now := f.now()
	skew := proposed.Sub(now)
	if skew > f.window || skew < -f.window {
		return fmt.Errorf(
			"proposal timestamp %s is %s from the peer's clock (%s); the allowed window is %s (peer.authentication.timewindow)",
			proposed.UTC().Format(time.RFC3339), skew.Round(time.Second), now.UTC().Format(time.RFC3339), f.window,
		)
	}
	return nil
}

// main is never run: the peer opens this package as a plug-in.
func main() {}
