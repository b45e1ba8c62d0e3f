package livekit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/pionlog"
)

// ICE and DTLS timings of the lean participants: the SDK's own
// (transport.go), so that a lean leg gives up on a dead path when an SDK
// one would.
const (
	leanICEDisconnected = 10 * time.Second
	leanICEFailed       = 5 * time.Second
	leanICEKeepalive    = 2 * time.Second
	leanDTLSRetransmit  = 100 * time.Millisecond
)

// leanMedia is what every lean participant of a backend shares: one
// webrtc.API (codecs, interceptors, settings) and one DTLS certificate,
// generated once instead of per PeerConnection.
//
// Each participant keeps a UDP socket of its own, one per local IPv4
// address (no IPv6, no loopback, no mDNS: one socket and one reading
// goroutine on a host with one interface, where the SDK had four and
// three more for mDNS). A UDP mux shared by all legs cannot work against
// LiveKit: every leg's media goes to the same LiveKit address (its
// rtc.udp_port, or the same node's port), and one 5-tuple carries one ICE
// session, one DTLS association and one SRTP context at both ends, so a
// second leg's packets would reach the first leg's session (pion's mux,
// and LiveKit's, route by remote address once a session has it).
type leanMedia struct {
	api *webrtc.API

	mu   sync.Mutex
	cert webrtc.Certificate
}

// certRenewal is how long before its expiry the shared certificate is
// replaced: pion's certificates are valid for a month, and pion refuses
// to make a PeerConnection with an expired one.
const certRenewal = 24 * time.Hour

// newLeanMedia builds the shared API and certificate.
func newLeanMedia(log *slog.Logger) (*leanMedia, error) {
	m, err := leanMediaEngine()
	if err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	// Sender reports (LiveKit's clients sync and measure with them) and
	// the NACK responder for video; nothing that receives (see
	// clientOptions.publishOnly).
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, fmt.Errorf("livekit: sender reports: %w", err)
	}
	resp, err := nack.NewResponderInterceptor(nack.ResponderSize(nackBuffer))
	if err != nil {
		return nil, fmt.Errorf("livekit: nack responder: %w", err)
	}
	reg.Add(sr)
	reg.Add(resp)

	var se webrtc.SettingEngine
	se.LoggerFactory = pionlog.New(log.With("component", "livekit-pion"))
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(leanICEDisconnected, leanICEFailed, leanICEKeepalive)
	se.SetDTLSRetransmissionInterval(leanDTLSRetransmit)
	// A phone leg talks to one LiveKit node: the first candidate pair that
	// works is as good as any, so it is nominated at once. pion's
	// controlling agent otherwise waits 1 s before nominating a
	// peer-reflexive pair (LiveKit answering from another address than it
	// announced: a NAT, a second interface) and 500 ms for a
	// server-reflexive one, hoping for a host pair.
	se.SetHostAcceptanceMinWait(0)
	se.SetSrflxAcceptanceMinWait(0)
	se.SetPrflxAcceptanceMinWait(0)
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)

	cert, err := newLeanCertificate()
	if err != nil {
		return nil, err
	}
	return &leanMedia{
		api:  webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg)),
		cert: cert,
	}, nil
}

// newLeanCertificate makes a DTLS certificate (ECDSA P-256, as pion's own).
func newLeanCertificate() (webrtc.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("livekit: DTLS key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("livekit: DTLS certificate: %w", err)
	}
	return *cert, nil
}

// certificate is the shared certificate, renewed when it nears expiry.
func (lm *leanMedia) certificate() (webrtc.Certificate, error) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if time.Until(lm.cert.Expires()) < certRenewal {
		cert, err := newLeanCertificate()
		if err != nil {
			return webrtc.Certificate{}, err
		}
		lm.cert = cert
	}
	return lm.cert, nil
}

// leanH264 are the H.264 formats a lean participant offers: pion's
// default list (payload types as pion numbers them), which covers the
// profiles a room system's video may come in (PublishVideo keeps the
// room system's fmtp, and pion matches H.264 by profile and
// packetization mode).
var leanH264 = []struct {
	pt   webrtc.PayloadType
	fmtp string
}{
	{102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"},
	{104, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"},
	{106, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
	{108, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"},
	{127, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"},
	{39, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f"},
	{112, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"},
}

// leanMediaEngine has only what a phone leg publishes: Opus as
// opusCapability offers it, H.264 and VP8 for video added by re-INVITE,
// and the audio level extension LiveKit finds active speakers with. The
// SDK's full codec list (and pion's fmtp parsing of every entry of
// LiveKit's answer against it) was a quarter of a join's CPU.
func leanMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("livekit: codec opus: %w", err)
	}
	video := []webrtc.RTPCodecParameters{{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
		PayloadType:        96,
	}}
	for _, h := range leanH264 {
		video = append(video, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h.fmtp, RTCPFeedback: fb},
			PayloadType:        h.pt,
		})
	}
	for _, c := range video {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("livekit: codec %s: %w", c.MimeType, err)
		}
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("livekit: audio level extension: %w", err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.SDESMidURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("livekit: mid extension: %w", err)
	}
	return m, nil
}

// newPeerConnection makes a lean participant's PeerConnection.
func (lm *leanMedia) newPeerConnection() (*webrtc.PeerConnection, error) {
	cert, err := lm.certificate()
	if err != nil {
		return nil, err
	}
	return lm.api.NewPeerConnection(webrtc.Configuration{
		Certificates: []webrtc.Certificate{cert},
		BundlePolicy: webrtc.BundlePolicyMaxBundle,
	})
}
