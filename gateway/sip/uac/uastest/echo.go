package uastest

import (
	"sync/atomic"

	"github.com/pion/srtp/v3"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
)

// startEcho starts the RTP session of a call. remote is nil until the
// peer's SDP is known.
func (s *Server) startEcho(c *call, ports *rtp.PortPair, local, remote *sdp.Session, lm, rm *sdp.Media) error {
	codec := lm.Codecs[0]
	cfg := rtp.SessionConfig{
		Ports:        ports,
		PayloadType:  codec.PT,
		ClockRate:    codec.ClockRate,
		Timeout:      rtp.NoTimeout,
		RTCPInterval: s.cfg.RTCPInterval,
	}
	if remote != nil {
		cfg.Remote, cfg.RemoteRTCP = remote.RTPAddr(rm), remote.RTCPAddr(rm)
		if lm.Secure() {
			keys, err := srtpKeys(rm, lm)
			if err != nil {
				return err
			}
			cfg.SRTP = keys
		}
	}
	var sess atomic.Pointer[rtp.Session]
	onRTP := s.cfg.OnRTP
	cfg.Handler = rtp.HandlerFunc(func(pkt *rtp.Packet) {
		if onRTP != nil {
			onRTP(pkt)
		}
		if m := sess.Load(); m != nil {
			_ = m.WriteRTP(pkt.Payload, pkt.PayloadType, pkt.Timestamp, pkt.Marker)
		}
	})
	m, err := rtp.NewSession(cfg)
	if err != nil {
		return err
	}
	sess.Store(m)
	s.mu.Lock()
	if s.closed || s.calls[c.dlg.InviteRequest.CallID().Value()] != c && c.offer != nil {
		// The call ended (or the server closed) while we started.
		s.mu.Unlock()
		_ = m.Close()
		return nil
	}
	c.media = m
	s.mu.Unlock()
	return nil
}

// srtpKeys pairs the SDES keys: the offer's line encrypts what the
// offerer sends (RFC 4568 §6.1).
func srtpKeys(offer, answer *sdp.Media) (*rtp.SRTPKeys, error) {
	ok, ak, found := sdp.MatchCrypto(offer, answer)
	if !found {
		return nil, sdp.ErrNoCommonCrypto
	}
	return &rtp.SRTPKeys{
		Profile:  srtp.ProtectionProfile(ak.Suite.ProfileID()),
		LocalKey: ak.MasterKey(), LocalSalt: ak.MasterSalt(),
		RemoteKey: ok.MasterKey(), RemoteSalt: ok.MasterSalt(),
	}, nil
}
