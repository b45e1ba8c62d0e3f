package sipws

import (
	"fmt"
	"log/slog"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// Payload types of the WebRTC SIP leg's media engine. The answer keeps the
// offer's numbers (RFC 3264 §6.1), so these only matter to peers that
// offer the same formats under other numbers.
const (
	ptOpus      = 111
	ptEvent8k   = 126
	eventFormat = "0-15"
)

// opusFmtp is what the leg asks of the browser: 20 ms frames (the room
// clock's) and in-band FEC, which the bridge decodes after a loss.
const opusFmtp = "minptime=10;useinbandfec=1"

// MediaConfig configures the WebRTC media of browser SIP legs.
type MediaConfig struct {
	// Logger gets the legs' logs; nil discards them.
	Logger *slog.Logger
	// PionLogger receives pion's logs (ICE, DTLS, SRTP); nil silences them.
	PionLogger logging.LoggerFactory
	// PortMin and PortMax bound the UDP ports ICE gathers host candidates
	// on (webrtc.port_min, webrtc.port_max); 0 and 0 mean any.
	PortMin, PortMax uint16
	// ExternalIPs are advertised instead of the host addresses (1:1 NAT,
	// rtp.external_ip).
	ExternalIPs []string
	// IncludeLoopback gathers 127.0.0.1 candidates (webrtc.include_loopback).
	IncludeLoopback bool
}

// Media makes the PeerConnections of browser SIP legs, all from one
// webrtc.API: one media engine (Opus and telephone-event only), one set
// of interceptors and one SettingEngine.
type Media struct {
	api *webrtc.API
	log *slog.Logger
}

// NewMedia builds the shared API from cfg.
func NewMedia(cfg MediaConfig) (*Media, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PortMin > cfg.PortMax {
		return nil, fmt.Errorf("%w: port range %d-%d", ErrInvalidConfig, cfg.PortMin, cfg.PortMax)
	}
	me := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp}, PayloadType: ptOpus},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 8000, SDPFmtpLine: eventFormat}, PayloadType: ptEvent8k},
	} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("sipws: register %s: %w", c.MimeType, err)
		}
	}
	// telephone-event at 8 kHz only: Chromium sends its RFC 4733 events
	// at 8 kHz even when it offered 48 kHz too, and one event format in
	// the answer leaves the browser no other choice.
	// Sender and receiver reports only: audio has no NACK or PLI, and
	// nothing reads pion's stats interceptor.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("sipws: rtcp reports: %w", err)
	}
	se := webrtc.SettingEngine{LoggerFactory: cfg.PionLogger}
	if cfg.PionLogger == nil {
		se.LoggerFactory = logging.NewDefaultLoggerFactory()
		se.LoggerFactory.(*logging.DefaultLoggerFactory).DefaultLogLevel = logging.LogLevelDisabled
	}
	if cfg.PortMin != 0 || cfg.PortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, fmt.Errorf("sipws: port range: %w", err)
		}
	}
	if len(cfg.ExternalIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.ExternalIPs, AsCandidateType: webrtc.ICECandidateTypeHost,
		}); err != nil {
			return nil, fmt.Errorf("sipws: external IPs: %w", err)
		}
	}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// A SIP answer carries every candidate at once (no trickle over SIP),
	// and mDNS names in it would be unresolvable for SIP clients that
	// are not browsers.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Only UDP: the gateway does not listen for ICE-TCP.
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return &Media{api: api, log: cfg.Logger}, nil
}

const mimeTelephoneEvent = "audio/telephone-event"
