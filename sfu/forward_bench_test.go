package sfu

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roombridge/roombridge/gateway/room"
)

// discardWriter stands in for pion's SRTP writer: it only counts.
type discardWriter struct{ bytes atomic.Int64 }

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.bytes.Add(int64(h.MarshalSize() + len(payload)))
	return len(payload), nil
}
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTrack is a published track with n subscribers of the given sort:
// bots, or WebRTC subscribers each with its own peer and sender goroutine.
func benchTrack(b testing.TB, kind room.TrackKind, codec codecInfo, n int, bots bool) (*pubTrack, []*botTrack, []*rtcPeer) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	owner := &member{id: "PA_pub"}
	t := newPubTrack("TR_bench", kind, codec, owner, s.m, func() {})
	var readers []*botTrack
	var peers []*rtcPeer
	for i := range n {
		if bots {
			bt := newBotTrack(t, newBot(s, &member{id: fmt.Sprint("PA_", i)}))
			t.addSubscriber(bt)
			readers = append(readers, bt)
			continue
		}
		p := testPeer(b, s.m)
		d := newDownTrack(t, p)
		d.bound.Store(&binding{ssrc: uint32(1000 + i), pt: 111, levelID: 1, w: &discardWriter{}})
		t.addSubscriber(d)
		peers = append(peers, p)
	}
	return t, readers, peers
}

// waitSent waits until the peers' senders have taken want packets in all
// out of their queues (written or dropped), as a room's 20 ms pacing lets
// them; it returns the number dropped. It sleeps rather than spins, so that
// the CPU time measured is the forwarder's and the senders'.
func waitSent(peers []*rtcPeer, want uint64) (dropped uint64) {
	for {
		var handled uint64
		dropped = 0
		for _, p := range peers {
			handled += p.downOut.handled.Load()
			dropped += p.downOut.q.Dropped()
		}
		if handled+dropped >= want {
			return dropped
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// BenchmarkForward50 fans one publisher's packets out to 50 subscribers:
// WebRTC down tracks (numbering on the forwarder's goroutine, a copy into
// each subscriber's send queue, the header built and written by each
// subscriber's sender goroutine, the pion writer stubbed out) and bot
// tracks (depacketize into the frame ring). One op is one packet forwarded
// to all 50, and every 16 packets the subscribers catch up, as they do
// between a room's 20 ms ticks. ns/packet is the forwarder's (the room
// tick's) time; cpu-ns/packet is the whole process's, senders included;
// allocs/op must be 0.
func BenchmarkForward50(b *testing.B) {
	const subs = 50
	cases := []struct {
		name  string
		kind  room.TrackKind
		codec codecInfo
		size  int
		bots  bool
	}{
		{"audio/webrtc", room.TrackKindAudio, codecInfo{MimeType: "audio/opus", ClockRate: 48000}, 80, false},
		{"video/webrtc", room.TrackKindVideo, codecInfo{MimeType: "video/H264", ClockRate: 90000}, 1200, false},
		{"audio/bots", room.TrackKindAudio, codecInfo{MimeType: "audio/opus", ClockRate: 48000}, 80, true},
		{"video/bots", room.TrackKindVideo, codecInfo{MimeType: "video/H264", ClockRate: 90000}, 1200, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			t, readers, peers := benchTrack(b, tc.kind, tc.codec, subs, tc.bots)
			payload := make([]byte, tc.size)
			payload[0] = 0x41 // H.264 non-IDR slice; harmless for Opus
			hdr := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 42}
			p := &fwdPacket{hdr: hdr, payload: payload, level: 30, hasLevel: tc.kind == room.TrackKindAudio}
			// Bot readers keep up, as a leg's reader goroutine would;
			// here they drain inline every few packets.
			drain := func() {
				for _, r := range readers {
					r.q.Discard()
				}
			}
			// Warm up: the send queues' buffers grow once to the depth
			// a 16-packet burst needs.
			for i := range 64 {
				hdr.SequenceNumber++
				t.forward(p)
				if !tc.bots && i%16 == 15 {
					waitSent(peers, uint64(i+1)*subs)
				}
			}
			drain()
			base := uint64(64 * subs)
			if !tc.bots {
				waitSent(peers, base)
			}
			b.ReportAllocs()
			var fwd time.Duration
			var dropped uint64
			cpu0 := cpuTime()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				hdr.SequenceNumber++
				hdr.Marker = tc.kind == room.TrackKindVideo && i%4 == 3
				if hdr.Marker {
					hdr.Timestamp += 3000
				}
				t.forward(p)
				if i%16 == 15 || i == b.N-1 {
					fwd += time.Since(start)
					if tc.bots {
						drain()
					} else {
						dropped = waitSent(peers, base+uint64(i+1)*subs)
					}
					start = time.Now()
				}
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(fwd.Nanoseconds())/float64(b.N), "ns/packet")
			b.ReportMetric(float64(fwd.Nanoseconds())/float64(b.N*subs), "ns/write")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/packet")
			b.ReportMetric(float64(dropped), "dropped")
		})
	}
}

// BenchmarkFanOutOnly is the bare copy-on-write fan-out with no-op
// subscribers: the floor under BenchmarkForward50.
func BenchmarkFanOutOnly(b *testing.B) {
	s, _ := New(Config{})
	t := newPubTrack("TR", room.TrackKindAudio, codecInfo{MimeType: "audio/opus"}, &member{}, s.m, nil)
	for range 50 {
		t.addSubscriber(nopSub{})
	}
	p := &fwdPacket{hdr: &rtp.Header{}, payload: make([]byte, 80)}
	b.ReportAllocs()
	for b.Loop() {
		t.forward(p)
	}
}

type nopSub struct{}

func (nopSub) writePacket(*fwdPacket) {}
func (nopSub) trackEnded()            {}
func (nopSub) listens() bool          { return true }

var _ webrtc.TrackLocalWriter = (*discardWriter)(nil)
