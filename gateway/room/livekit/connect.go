package livekit

import (
	"fmt"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"
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
	// publishOnly is for participants that only publish audio (phone
	// legs, see singlePC): one PeerConnection; two codecs
	// (publishOnlyCodecs: the SDP LiveKit answers, which pion parses,
	// matches and keeps, is a fraction of what the 28 codecs of pion's
	// default list make); sender reports as the only interceptor (no
	// NACK: LiveKit asks for none on audio; no receiver reports: nothing
	// is received). Their audio track goes with the join request
	// (keepJoinTrack).
	publishOnly []lksdk.ConnectOption
}

// publishOnlyCodecs is the codec list of publish-only participants: Opus,
// and VP8 for the three receive-only video sections the SDK puts in every
// single-PeerConnection offer (pion cannot make an offer whose video
// sections have no codec: CreateOffer fails with "excessive retries").
var publishOnlyCodecs = []lkproto.Codec{
	{Mime: webrtc.MimeTypeOpus, FmtpLine: opusCapability.SDPFmtpLine},
	{Mime: webrtc.MimeTypeVP8},
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
			lksdk.WithInterceptors([]interceptor.Factory{sr}),
			lksdk.WithIncludeDefaultInterceptors(false),
			lksdk.WithCodecs(publishOnlyCodecs),
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
