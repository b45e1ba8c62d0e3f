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

// clientOptions are the SDK options the backend's participants join with.
// A participant is a bot carrying one audio track (a room system adds one
// video track), so it takes a lighter client than the SDK's default.
//
// The SDK makes a webrtc.API and SettingEngine per PeerConnection and has no
// option to share one, to use a UDP mux, to leave out its two data channels
// or to change pion's ICE timings, so each participant still has sockets,
// data channels and an ICE agent of its own.
type clientOptions struct {
	// full is for participants that may subscribe: the SDK's two
	// PeerConnections, with only the interceptors a bot uses (sender and
	// receiver reports, NACKs for video both ways; no transport-wide
	// congestion control feedback nor RTT probes, which a bot has nothing
	// to adapt with). (Restricting their codecs to Opus, H.264 and VP8 with
	// WithCodecs saved about 10 KiB per participant but made joins time out
	// now and then against livekit-server 1.13.5, at a time when every
	// participant joined with one PeerConnection: most likely the lost
	// answer connect now starts over. Not tried again.)
	full []lksdk.ConnectOption
	// publishOnly is for participants that publish only (phone legs, see
	// singlePC): one PeerConnection, sender reports and the NACK
	// responder (for the video a call may add by re-INVITE) as the only
	// interceptors, nothing that receives. Their audio track goes with
	// the join request (keepJoinTrack). They keep the SDK's codec list:
	// Opus and VP8 alone cut the SDP that LiveKit answers and pion parses,
	// matches and keeps (a phone leg's heap fell by a fifth and its join
	// CPU by a third), but a call that adds video later publishes H.264
	// in the room system's profile, which needs pion's list of H.264
	// profiles, and WithCodecs can name only three.
	publishOnly []lksdk.ConnectOption
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
		publishOnly: []lksdk.ConnectOption{
			lksdk.WithAutoSubscribe(false),
			lksdk.WithInterceptors([]interceptor.Factory{sr, resp}),
			lksdk.WithIncludeDefaultInterceptors(false),
			singlePC,
		},
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
