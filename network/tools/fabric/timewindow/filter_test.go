package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go/common"
	"github.com/hyperledger/fabric-protos-go/peer"
	"github.com/hyperledger/fabric/protoutil"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type recordingEndorser struct{ calls int }

func (r *recordingEndorser) ProcessProposal(context.Context, *peer.SignedProposal) (*peer.ProposalResponse, error) {
	r.calls++
	return &peer.ProposalResponse{}, nil
}

func proposalAt(t *testing.T, at time.Time) *peer.SignedProposal {
	t.Helper()
	channelHeader := protoutil.MarshalOrPanic(&common.ChannelHeader{
		Type:      int32(common.HeaderType_ENDORSER_TRANSACTION),
		ChannelId: "northgrid",
		Timestamp: timestamppb.New(at),
	})
	header := protoutil.MarshalOrPanic(&common.Header{ChannelHeader: channelHeader, SignatureHeader: []byte{}})
	return &peer.SignedProposal{ProposalBytes: protoutil.MarshalOrPanic(&peer.Proposal{Header: header})}
}

func TestTimeWindow(t *testing.T) {
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		offset  time.Duration
		allowed bool
	}{
		{"when the proposal is on time then it passes", 0, true},
		{"when it is 14 minutes ahead then it passes", 14 * time.Minute, true},
		{"when it is exactly at the window's edge then it passes", 15 * time.Minute, true},
		{"when it is three days ahead then it is refused", 72 * time.Hour, false},
		{"when it is 16 minutes behind then it is refused", -16 * time.Minute, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next := &recordingEndorser{}
			filter := newFilter(15*time.Minute, func() time.Time { return clock })
			filter.Init(next)
			_, err := filter.ProcessProposal(context.Background(), proposalAt(t, clock.Add(c.offset)))
			if c.allowed && (err != nil || next.calls != 1) {
				t.Fatalf("expected the proposal to pass, got err=%v calls=%d", err, next.calls)
			}
			if !c.allowed {
				if err == nil || next.calls != 0 {
					t.Fatalf("expected a refusal before the endorser, got err=%v calls=%d", err, next.calls)
				}
				if !strings.Contains(err.Error(), "allowed window is 15m0s") {
					t.Fatalf("the refusal should name the window: %v", err)
				}
			}
		})
	}
}

func TestGarbageIsRefused(t *testing.T) {
	next := &recordingEndorser{}
	filter := newFilter(time.Minute, time.Now)
	filter.Init(next)
	if _, err := filter.ProcessProposal(context.Background(), &peer.SignedProposal{ProposalBytes: []byte{0xff, 0x01}}); err == nil || next.calls != 0 {
		t.Fatalf("a malformed proposal must be refused, got err=%v calls=%d", err, next.calls)
	}
}
