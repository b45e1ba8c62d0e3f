package rtp

import (
	"net/netip"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// Fixed keys, so the seed corpus in testdata holds packets that pass
// authentication and reach the parser behind it.
var fuzzKeys = SRTPKeys{
	Profile:    srtp.ProtectionProfileAes128CmHmacSha1_80,
	LocalKey:   []byte("0123456789abcdef"),
	LocalSalt:  []byte("0123456789abcd"),
	RemoteKey:  []byte("fedcba9876543210"),
	RemoteSalt: []byte("fedcba98765432"),
}

// fuzzSeeds are valid datagrams of each kind a peer sends: plain RTP (with
// CSRCs, an extension, padding), RTCP, and their SRTP/SRTCP forms under
// fuzzKeys' remote key.
func fuzzSeeds(tb testing.TB) (plain, secure [][]byte) {
	tx, err := srtp.CreateContext(fuzzKeys.RemoteKey, fuzzKeys.RemoteSalt, fuzzKeys.Profile)
	if err != nil {
		tb.Fatal(err)
	}
	pkt := Packet{Payload: []byte("payload")}
	pkt.Version, pkt.PayloadType, pkt.SequenceNumber, pkt.Timestamp, pkt.SSRC = 2, 0, 1, 160, 0xabc
	withExt := pkt
	withExt.CSRC = []uint32{1, 2}
	if err := withExt.SetExtension(1, []byte{0xaa}); err != nil {
		tb.Fatal(err)
	}
	withPad := pkt
	withPad.Padding, withPad.Header.PaddingSize = true, 4
	for i, p := range []Packet{pkt, withExt, withPad} {
		p.SequenceNumber = uint16(i + 1)
		b, err := p.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		plain = append(plain, b)
		enc, err := tx.EncryptRTP(nil, b, nil)
		if err != nil {
			tb.Fatal(err)
		}
		secure = append(secure, enc)
	}
	rc, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.SenderReport{SSRC: 0xabc, NTPTime: 1 << 40, Reports: []rtcp.ReceptionReport{{SSRC: 1, LastSenderReport: 5, Delay: 1}}},
		rtcp.NewCNAMESourceDescription(0xabc, "peer"),
		&rtcp.PictureLossIndication{SenderSSRC: 0xabc, MediaSSRC: 1},
		&rtcp.Goodbye{Sources: []uint32{0xabc}, Reason: "bye"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	plain = append(plain, rc)
	enc, err := tx.EncryptRTCP(nil, rc, nil)
	if err != nil {
		tb.Fatal(err)
	}
	secure = append(secure, enc)
	return plain, secure
}

// FuzzReceive feeds arbitrary datagrams to the receive path of a plain and
// an SRTP session, both with rtcp-mux so RTP and RTCP parsing are reached
// from one socket, and to the RTCP socket path of a non-muxed session.
func FuzzReceive(f *testing.F) {
	plain, secure := fuzzSeeds(f)
	for _, b := range plain {
		f.Add(uint8(0), b)
		f.Add(uint8(2), b)
	}
	for _, b := range secure {
		f.Add(uint8(1), b)
	}

	pool := testPool(f, 4)
	sink := listenUDP(f)
	var touched int
	handler := HandlerFunc(func(p *Packet) {
		for _, c := range p.Payload { // the payload must be readable
			touched += int(c)
		}
	})
	keys := fuzzKeys
	sessions := [4]*Session{
		newTestSession(f, pool, func(c *SessionConfig) { c.RTCPMux, c.Handler = true, handler }),
		newTestSession(f, pool, func(c *SessionConfig) { c.RTCPMux, c.Handler, c.SRTP = true, handler, &keys }),
		newTestSession(f, pool, func(c *SessionConfig) { c.Handler = handler }),
		rekeyedSession(f, pool, handler),
	}
	src := addrOf(sink) // latching sends reports here, not onto a network
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		s := sessions[int(which)%len(sessions)]
		buf := make([]byte, len(data))
		copy(buf, data)
		var pkt Packet
		if int(which)%len(sessions) == 2 {
			s.receiveRTCP(buf, src)
			copy(buf, data)
		}
		s.receiveRTPPort(buf, src, &pkt)
		_ = s.Stats()
		_ = s.MOS()
	})
}

// rekeyedSession is an SRTP session just re-keyed to fuzzKeys from other
// keys, its grace held open: packets are decrypted out of place and, when
// the new key fails, tried with the old one.
func rekeyedSession(f *testing.F, pool *PortPool, h Handler) *Session {
	old := fuzzKeys
	old.RemoteKey, old.RemoteSalt = []byte("0123456789abcdef"), []byte("fedcba98765432")
	s := newTestSession(f, pool, func(c *SessionConfig) { c.RTCPMux, c.Handler, c.SRTP = true, h, &old })
	keys := fuzzKeys
	if err := s.Rekey(&keys); err != nil {
		f.Fatal(err)
	}
	// No packet reaches the session's own reader (nothing sends to it), so
	// only the fuzz goroutine reads this.
	s.srtp.Load().prevUntil = 1 << 62
	return s
}

func TestFuzzSeedsReachHandler(t *testing.T) {
	plain, secure := fuzzSeeds(t)
	pool := testPool(t, 2)
	keys := fuzzKeys
	rec := newRecorder()
	s := newTestSession(t, pool, func(c *SessionConfig) { c.RTCPMux, c.Handler, c.SRTP = true, rec, &keys })
	var rtcpSeen int
	s.OnRTCP(func(rtcp.Packet) { rtcpSeen++ })
	var pkt Packet
	for _, b := range secure {
		s.receiveRTPPort(b, netip.MustParseAddrPort("127.0.0.1:9"), &pkt)
	}
	if rec.count() != len(plain)-1 || rtcpSeen != 4 || s.Stats().DecryptErrors != 0 {
		t.Errorf("delivered %d RTP, %d RTCP; decrypt errors %d", rec.count(), rtcpSeen, s.Stats().DecryptErrors)
	}
	snap := rec.snapshot()
	for i, p := range snap {
		if string(p) != "payload" {
			t.Errorf("packet %d payload %q", i, p)
		}
	}
}
