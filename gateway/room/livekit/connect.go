package livekit

import (
	"fmt"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
)

// nackBuffer is how many sent video packets a participant keeps to answer
// NACKs: about a quarter of a second of 2 Mbit/s video.
const nackBuffer = 256

// clientOptions are the SDK options the backend's participants that
// subscribe join with (the room hub, room systems, companions). Such a
// participant is a bot, so it takes a lighter client than the SDK's
// default.
//
// They keep two PeerConnections: in single PeerConnection mode LiveKit
// may send a subscribed track's RTP before the renegotiation that
// declares its SSRC has been applied, and pion v4.2.20 (up to v4.2.26 at
// least) then reads that SRTP stream from two goroutines at once, its
// undeclared-SSRC probe and the declared track's receiver: a data race
// inside pion that the race detector reports in the conformance suite.
//
// The SDK makes a webrtc.API and SettingEngine per PeerConnection and has no
// option to share one, to leave out its two data channels or to change
// pion's ICE timings, which is why phone legs, the most numerous
// participants, join with the adapter's own lean client instead.
type clientOptions struct {
	// full: the SDK's two PeerConnections, with only the interceptors a
	// bot uses (sender and receiver reports, NACKs for video both ways;
	// no transport-wide congestion control feedback nor RTT probes, which
	// a bot has nothing to adapt with). (Restricting their codecs to
	// Opus, H.264 and VP8 with WithCodecs saved about 10 KiB per
	// participant but made joins time out now and then against
	// livekit-server 1.13.5 when every participant joined with one
	// PeerConnection, most likely an SDP answer the SDK lost. Not tried
	// again.)
	full []lksdk.ConnectOption
}

func newClientOptions() (clientOptions, error) {
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return clientOptions{}, fmt.Errorf("livekit: sender reports: %w", err)
	}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return clientOptions{}, fmt.Errorf("livekit: receiver reports: %w", err)
	}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return clientOptions{}, fmt.Errorf("livekit: nack generator: %w", err)
	}
	resp, err := nack.NewResponderInterceptor(nack.ResponderSize(nackBuffer))
	if err != nil {
		return clientOptions{}, fmt.Errorf("livekit: nack responder: %w", err)
	}
	return clientOptions{
		full: []lksdk.ConnectOption{
			lksdk.WithAutoSubscribe(false),
			lksdk.WithInterceptors([]interceptor.Factory{sr, rr, gen, resp}),
			lksdk.WithIncludeDefaultInterceptors(false),
		},
	}, nil
}
