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

// joinOptions are the SDK options every participant of the backend joins
// with. A participant is a bot carrying one audio track (a room system adds
// one video track), so it takes a lighter client than the SDK's default:
//
//   - only the interceptors a bot uses: sender and receiver reports, and
//     NACKs for video both ways; no transport-wide congestion control
//     feedback nor RTT probes, which a bot has nothing to adapt with.
//
// The SDK makes a webrtc.API and SettingEngine per PeerConnection and has no
// option to share one or to use a UDP mux, so each participant still has
// sockets of its own. (Restricting the codecs to Opus, H.264 and VP8 with
// WithCodecs saved about 10 KiB per participant but made joins time out
// now and then against livekit-server 1.13.5, so the SDK's list stays.)
func joinOptions() ([]lksdk.ConnectOption, error) {
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, fmt.Errorf("livekit: sender reports: %w", err)
	}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, fmt.Errorf("livekit: receiver reports: %w", err)
	}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, fmt.Errorf("livekit: nack generator: %w", err)
	}
	resp, err := nack.NewResponderInterceptor(nack.ResponderSize(nackBuffer))
	if err != nil {
		return nil, fmt.Errorf("livekit: nack responder: %w", err)
	}
	return []lksdk.ConnectOption{
		lksdk.WithAutoSubscribe(false),
		lksdk.WithInterceptors([]interceptor.Factory{sr, rr, gen, resp}),
		lksdk.WithIncludeDefaultInterceptors(false),
	}, nil
}

// singlePC is the extra option of a publish-only participant: one
// PeerConnection that publishes, rather than the SDK's two (half the ICE
// agents, DTLS and SCTP associations, SRTP sessions, data channels and
// goroutines; most of the gateway's participants are phone legs that only
// publish).
//
// Participants that subscribe keep two PeerConnections: in single
// PeerConnection mode LiveKit may send a subscribed track's RTP before the
// renegotiation that declares its SSRC has been applied, and pion v4.2.20
// (up to v4.2.26 at least) then reads that SRTP stream from two goroutines
// at once, its undeclared-SSRC probe and the declared track's receiver: a
// data race inside pion that the race detector reports in the conformance
// suite.
var singlePC = lksdk.WithSinglePeerConnection()
