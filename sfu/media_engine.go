package sfu

import (
	"fmt"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Payload types offered on the server's side; browsers answer with the
// same numbers, and the forwarder rewrites them per subscriber anyway.
const (
	ptOpus = 111
	ptVP8  = 96
	ptH264 = 102
)

// h264Fmtp is the one H.264 profile the SFU negotiates: constrained baseline
// 3.1 with non-interleaved packetization, which every browser and room system
// decodes.
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

var (
	opusCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: ptOpus,
	}
	vp8Codec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}},
		},
		PayloadType: ptVP8,
	}
	h264Codec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}},
		},
		PayloadType: ptH264,
	}
)

// newAPI builds the pion API shared by every PeerConnection: codecs, the
// audio-level extension and the interceptors. NewPeerConnection copies the
// media engine, so sharing it is safe.
func newAPI(cfg Config) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	for _, c := range []struct {
		p webrtc.RTPCodecParameters
		t webrtc.RTPCodecType
	}{{opusCodec, webrtc.RTPCodecTypeAudio}, {vp8Codec, webrtc.RTPCodecTypeVideo}, {h264Codec, webrtc.RTPCodecTypeVideo}} {
		if err := me.RegisterCodec(c.p, c.t); err != nil {
			return nil, fmt.Errorf("sfu: register codec %s: %w", c.p.MimeType, err)
		}
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("sfu: register audio level: %w", err)
	}
	// The NACK generator (towards publishers), sender and receiver reports,
	// and transport-wide congestion control feedback for what publishers
	// send. NACKs from subscribers are answered by the SFU itself from one
	// buffer per track (retransmit.go), not by pion's per-subscriber
	// responder. The stats interceptor of the default set is left out: it
	// costs work per packet and nothing reads it.
	ir := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, fmt.Errorf("sfu: nack: %w", err)
	}
	ir.Add(gen)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	// REMB: subscribers' receive estimates for what the gateway's
	// participants publish (bitrate.go), and room systems' limits
	// towards publishing browsers.
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBGoogREMB}, webrtc.RTPCodecTypeVideo)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("sfu: rtcp reports: %w", err)
	}
	if err := webrtc.ConfigureTWCCSender(me, ir); err != nil {
		return nil, fmt.Errorf("sfu: twcc: %w", err)
	}

	se := webrtc.SettingEngine{LoggerFactory: cfg.PionLogger}
	if cfg.PortMin != 0 || cfg.PortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, fmt.Errorf("sfu: port range: %w", err)
		}
	}
	if len(cfg.ExternalIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.ExternalIPs, AsCandidateType: webrtc.ICECandidateTypeHost,
		}); err != nil {
			return nil, fmt.Errorf("sfu: external IPs: %w", err)
		}
	}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	if cfg.IncludeLoopback {
		// Loopback-only hosts (tests, the demo) have nothing to gain from
		// mDNS candidates, and browsers on other hosts never see them.
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}
