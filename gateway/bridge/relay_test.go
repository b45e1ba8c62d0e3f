package bridge

import (
	"testing"

	pionrtp "github.com/pion/rtp"
)

// lastSender keeps the header of the last packet sent.
type lastSender struct {
	hdr pionrtp.Header
	n   int
}

func (s *lastSender) WriteRTPPacket(pkt *pionrtp.Packet) error {
	s.hdr, s.n = pkt.Header, s.n+1
	return nil
}

// A relay renumbers audio and telephone-event payload types, keeps
// sequence numbers, timestamps and markers, drops anything else (comfort
// noise) and allocates nothing per packet.
func TestRelay(t *testing.T) {
	to := &lastSender{}
	r := NewRelay(to, RelayConfig{FromMedia: 0, ToMedia: 0, FromTE: 101, ToTE: 96, TE: true})
	pkt := &pionrtp.Packet{Header: pionrtp.Header{PayloadType: 101, SequenceNumber: 7, Timestamp: 160, Marker: true}, Payload: make([]byte, 4)}
	r.HandleRTP(pkt)
	if to.hdr.PayloadType != 96 || to.hdr.SequenceNumber != 7 || to.hdr.Timestamp != 160 || !to.hdr.Marker {
		t.Errorf("event relayed as %+v", to.hdr)
	}
	r.HandleRTP(&pionrtp.Packet{Header: pionrtp.Header{PayloadType: 13}})
	if sent, _ := r.Stats(); sent != 1 || to.n != 1 {
		t.Errorf("comfort noise relayed: sent %d", sent)
	}
	audio := &pionrtp.Packet{Header: pionrtp.Header{PayloadType: 0}, Payload: make([]byte, 160)}
	if n := testing.AllocsPerRun(1000, func() {
		audio.SequenceNumber++
		r.HandleRTP(audio)
	}); n != 0 {
		t.Errorf("%v allocations per relayed packet", n)
	}
}
