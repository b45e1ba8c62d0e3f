package sfu

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/roombridge/roombridge/gateway/room"
)

// recordWriter keeps what a down track writes.
type recordWriter struct {
	mu   sync.Mutex
	hdrs []rtp.Header
	pays [][]byte
}

func (w *recordWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hdrs = append(w.hdrs, h.Clone())
	w.pays = append(w.pays, bytes.Clone(payload))
	return len(payload), nil
}
func (w *recordWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *recordWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.hdrs)
}

// TestDownTrackRewrite: SSRC, payload type and audio level id are the
// subscriber's; a mute leaves no sequence gap; NACKs are answered from the
// track's buffer with the subscriber's numbering.
func TestDownTrackRewrite(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, kind := range []room.TrackKind{room.TrackKindAudio, room.TrackKindVideo} {
		tr := newPubTrack("TR", kind, codecInfo{MimeType: "video/VP8"}, &member{id: "PA"}, s.m, func() {})
		w := &recordWriter{}
		d := newDownTrack(tr, testPeer(t, s.m))
		d.bound.Store(&binding{ssrc: 7, pt: 100, levelID: 3, w: w})
		tr.addSubscriber(d)
		hdr := &rtp.Header{Version: 2, SSRC: 1, PayloadType: 96, SequenceNumber: 65534, Timestamp: 10}
		send := func(n int) {
			for range n {
				tr.forward(&fwdPacket{hdr: hdr, payload: []byte{byte(hdr.SequenceNumber)}, level: 9, hasLevel: true})
				hdr.SequenceNumber++
				hdr.Timestamp += 960
			}
		}
		send(3)
		tr.setMuted(true)
		send(5) // dropped
		tr.setMuted(false)
		send(2)
		// Five packets were queued (the muted ones never are); the
		// subscriber's writer sends them on its own goroutine.
		waitFor(t, 5*time.Second, "five packets written", func() bool { return w.count() >= 5 })
		if n := w.count(); n != 5 {
			t.Fatalf("%v: %d packets written, want 5", kind, n)
		}
		for i, h := range w.hdrs {
			if h.SSRC != 7 || h.PayloadType != 100 || h.SequenceNumber != uint16(65534+i) {
				t.Fatalf("%v: packet %d header %+v", kind, i, h)
			}
			if lvl := h.GetExtension(3); len(lvl) != 1 || lvl[0] != 9 {
				t.Fatalf("%v: packet %d audio level %v", kind, i, lvl)
			}
		}
		if kind != room.TrackKindVideo {
			continue
		}
		// The subscriber lost its 4th packet (out seq 1, source seq 9).
		d.onNack(&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 1}}})
		if len(w.hdrs) != 6 {
			t.Fatalf("NACK answered with %d packets", len(w.hdrs)-5)
		}
		if h, p := w.hdrs[5], w.pays[5]; h.SequenceNumber != 1 || h.SSRC != 7 || p[0] != w.pays[3][0] {
			t.Fatalf("retransmission %+v payload %v, want seq 1 payload %v", h, p, w.pays[3])
		}
		// Packets from before the mute are not resent under new numbers.
		d.onNack(&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 65534}}})
		if len(w.hdrs) != 6 {
			t.Fatalf("stale NACK answered")
		}
	}
}
