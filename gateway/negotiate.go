package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/pion/srtp/v3"

	"github.com/roombridge/roombridge/gateway/bridge"
	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
)

// legCodecs are the codecs we offer (delayed-offer answers, dial-outs), in
// our order of preference, when the trunk lists none (trunks[].codecs):
// G.711 first because every device has it and it costs nothing to
// transcode, then G.722 for wideband. Offers to trunks leave Opus out
// (codecs.go); answers take it.
var legCodecs = []sdp.Codec{sdp.PCMU, sdp.PCMA, sdp.G722}

// negotiated is the outcome of offer/answer for a leg's audio.
type negotiated struct {
	local, remote *sdp.Session
	codec         codec.ID
	sdpCodec      sdp.Codec // as we answered or offered it
	recvPT        uint8
	sendPT        uint8
	srtp          *rtp.SRTPKeys
	remoteRTP     netip.AddrPort
	remoteRTCP    netip.AddrPort
	rtcpMux       bool
	hold          bool
	// te is the telephone-event we receive (our SDP's number and clock),
	// nil when the peer has none.
	te *sdp.Codec
}

// policy is what we offer and accept on a call's leg.
func (g *Gateway) policy(ic *sip.IncomingCall, ports *rtp.PortPair) sdp.Policy {
	return sdp.Policy{
		Codecs:    g.trunkCodecs(ic.Trunk()),
		SRTP:      g.srtpMode(ic),
		Addr:      g.mediaAddr(ports, ic.Source()),
		AudioPort: int(ports.RTPAddr().Port()),
		RTCPMux:   true,
		Ptime:     sdp.DefaultPtime,
		Username:  "roombridge",
	}
}

// dtmfMode is the trunk's DTMF mode (trunks[].dtmf), auto when it has none
// or the call came from no trunk.
func (g *Gateway) dtmfMode(t *sip.Trunk) dtmf.Mode {
	if t == nil {
		return dtmf.ModeAuto
	}
	m, err := dtmf.ParseMode(t.DTMF)
	if err != nil || m == dtmf.ModeUnknown {
		return dtmf.ModeAuto
	}
	return m
}

// srtpMode is the call's SRTP policy: the trunk's (Config.TrunkSRTP by
// trunk name, else what the SIP layer's trunk says, else allow), turned to
// disable when the signalling is not TLS (sdesAllowed): SDES keys travel
// in the SDP, where anyone on a UDP or TCP path reads them.
func (g *Gateway) srtpMode(ic *sip.IncomingCall) sdp.SRTPMode {
	m := g.trunkSRTP(ic.Trunk())
	if !sdesAllowed(ic) {
		return sdp.SRTPDisable
	}
	return m
}

// sdesAllowed reports whether SDES keys may be offered and accepted on the
// call: its signalling is TLS, or its trunk sets srtp_over_plain (a lab).
func sdesAllowed(ic *sip.IncomingCall) bool {
	switch ic.Transport() {
	case "tls", "wss":
		return true
	}
	t := ic.Trunk()
	return t != nil && t.SRTPOverPlain
}

// trunkSRTP is the trunk's own SRTP policy: Config.TrunkSRTP by trunk
// name, else what the SIP layer's trunk says, else allow.
func (g *Gateway) trunkSRTP(t *sip.Trunk) sdp.SRTPMode {
	if t == nil {
		return sdp.SRTPAllow
	}
	if m, ok := g.cfg.TrunkSRTP[t.Name]; ok && m != sdp.SRTPUnknown {
		return m
	}
	if m, err := sdp.ParseSRTPMode(t.SRTP); err == nil && m != sdp.SRTPUnknown {
		return m
	}
	return sdp.SRTPAllow
}

// mediaAddr is the address we write in SDP: the external address when
// behind 1:1 NAT, else the RTP socket's; for a wildcard socket, the local
// address that routes to the caller.
func (g *Gateway) mediaAddr(ports *rtp.PortPair, peer netip.AddrPort) netip.Addr {
	if g.cfg.ExternalIP.IsValid() {
		return g.cfg.ExternalIP
	}
	a := ports.RTPAddr().Addr().Unmap()
	if !a.IsUnspecified() || !peer.IsValid() {
		return a
	}
	// Connecting a UDP socket sends nothing; it only makes the kernel pick
	// the route.
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(peer))
	if err != nil {
		return a
	}
	defer func() { _ = conn.Close() }()
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		if ip, ok := netip.AddrFromSlice(la.IP); ok {
			return ip.Unmap()
		}
	}
	return a
}

// answerOffer answers the caller's INVITE offer.
func answerOffer(offer []byte, p sdp.Policy) (*negotiated, error) {
	o, err := sdp.Parse(offer)
	if err != nil {
		return nil, sdpError(err)
	}
	a, err := sdp.Answer(o, p)
	if err != nil {
		return nil, sdpError(err)
	}
	return settle(a, o, o.Audio, a.Audio, false)
}

// acceptAnswer checks the caller's answer (in the ACK) to the offer we made
// in our 200 OK for a delayed-offer INVITE.
func acceptAnswer(ours *sdp.Session, answer []byte) (*negotiated, error) {
	if len(answer) == 0 {
		return nil, fmt.Errorf("%w: no SDP answer in the ACK", sip.ErrNotAcceptable)
	}
	a, err := sdp.Parse(answer)
	if err != nil {
		return nil, sdpError(err)
	}
	if err := sdp.AcceptAnswer(ours, a); err != nil {
		return nil, sdpError(err)
	}
	return settle(ours, a, ours.Audio, a.Audio, true)
}

// settle derives the leg's media parameters from a negotiated pair.
// Payload types follow RFC 3264 §5.1: we receive with the numbers of our
// SDP and send with the peer's.
func settle(local, remote *sdp.Session, offerM, answerM *sdp.Media, weOffered bool) (*negotiated, error) {
	if remote.Audio == nil || local.Audio == nil || answerM.Rejected() || len(answerM.Codecs) == 0 {
		return nil, fmt.Errorf("%w: no audio", sip.ErrNoCommonCodec)
	}
	chosen := answerM.Codecs[0]
	n := &negotiated{local: local, remote: remote, codec: chosen.ID()}
	if !bridge.Supports(n.codec) {
		return nil, fmt.Errorf("%w: %v", sip.ErrNoCommonCodec, chosen)
	}
	lc, ok1 := findCodec(local.Audio, chosen)
	rc, ok2 := findCodec(remote.Audio, chosen)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: %v not on both sides", sip.ErrNotAcceptable, chosen)
	}
	n.sdpCodec, n.recvPT, n.sendPT = lc, lc.PT, rc.PT
	if local.Audio.TelephoneEvent != nil && remote.Audio.TelephoneEvent != nil {
		te := *local.Audio.TelephoneEvent
		n.te = &te
	}
	n.remoteRTP = remote.RTPAddr(remote.Audio)
	n.remoteRTCP = remote.RTCPAddr(remote.Audio)
	n.rtcpMux = local.Audio.RTCPMux && remote.Audio.RTCPMux
	n.hold = remote.OnHold(remote.Audio)
	var err error
	if n.srtp, err = srtpKeys(offerM, answerM, weOffered); err != nil {
		return nil, err
	}
	return n, nil
}

// srtpKeys are the SDES keys an offer/answer pair agreed on (RFC 4568
// §6.1), nil for plain RTP.
func srtpKeys(offerM, answerM *sdp.Media, weOffered bool) (*rtp.SRTPKeys, error) {
	if !answerM.Secure() {
		return nil, nil
	}
	offerKey, answerKey, ok := sdp.MatchCrypto(offerM, answerM)
	if !ok {
		return nil, fmt.Errorf("%w: no matching crypto", sip.ErrNotAcceptable)
	}
	localKey, remoteKey := answerKey, offerKey
	if weOffered {
		localKey, remoteKey = offerKey, answerKey
	}
	return &rtp.SRTPKeys{
		Profile:    srtp.ProtectionProfile(localKey.Suite.ProfileID()),
		LocalKey:   localKey.MasterKey(),
		LocalSalt:  localKey.MasterSalt(),
		RemoteKey:  remoteKey.MasterKey(),
		RemoteSalt: remoteKey.MasterSalt(),
	}, nil
}

// sameSRTP reports whether a and b hold the same keys.
func sameSRTP(a, b *rtp.SRTPKeys) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Profile == b.Profile && bytes.Equal(a.LocalKey, b.LocalKey) && bytes.Equal(a.LocalSalt, b.LocalSalt) &&
		bytes.Equal(a.RemoteKey, b.RemoteKey) && bytes.Equal(a.RemoteSalt, b.RemoteSalt)
}

// dropTelephoneEvent takes telephone-event out of our answer, for trunks
// whose DTMF comes another way (trunks[].dtmf info or inband): the peer
// then has no RFC 4733 to send and keeps its keys in-band or in INFO.
func (n *negotiated) dropTelephoneEvent() {
	n.local.Audio.TelephoneEvent, n.local.Audio.TelephoneEvents = nil, nil
	n.te = nil
}

func findCodec(m *sdp.Media, c sdp.Codec) (sdp.Codec, bool) {
	for _, x := range m.Codecs {
		if x.Same(c) {
			return x, true
		}
	}
	return sdp.Codec{}, false
}

// sdpError maps an SDP failure to the SIP sentinel that decides the status
// code: 488 for everything the peer's SDP is to blame for, and a plain
// error (500) for our own configuration.
func sdpError(err error) error {
	switch {
	case errors.Is(err, sdp.ErrSRTPRequired):
		return fmt.Errorf("%w: %w", sip.ErrSRTPRequired, err)
	case errors.Is(err, sdp.ErrNoCommonCodec), errors.Is(err, sdp.ErrNoAudio):
		return fmt.Errorf("%w: %w", sip.ErrNoCommonCodec, err)
	case errors.Is(err, sdp.ErrUnsupportedTransport):
		// A WebRTC offer (DTLS-SRTP) until the WebRTC leg answers those.
		return fmt.Errorf("%w: %w", sip.ErrUnsupportedTransport, err)
	case errors.Is(err, sdp.ErrInvalidPolicy):
		return err
	}
	return fmt.Errorf("%w: %w", sip.ErrNotAcceptable, err)
}
