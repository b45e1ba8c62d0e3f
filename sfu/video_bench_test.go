package sfu

import (
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// benchAU is an Annex B access unit: SPS, PPS and an IDR of idr bytes (FU-A
// fragments beyond 1200), or a single slice.
func benchAU(key bool, size int) []byte {
	var au []byte
	if key {
		au = append(au, 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10)
		au = append(au, 0, 0, 0, 1, 0x68, 0xcb, 0x83, 0xcb, 0x20)
	}
	hdr := byte(0x41)
	if key {
		hdr = 0x65
	}
	au = append(au, 0, 0, 0, 1, hdr)
	for i := 1; i < size; i++ {
		au = append(au, byte(1+i%255)) // no zero bytes: no start code inside
	}
	return au
}

// warmFrames warms the subscribers up: every buffer that holds a frame or
// packet (frame queue slots, NACK ring, depacketizers) grows once to the
// largest it is given, and with a keyframe every 30 frames each of the 32
// frame queue slots has held one after about a thousand frames.
const warmFrames = 1024

// BenchmarkBotVideo50 is a room system's camera in a room of 50: a bot's
// H.264 writer packetizes access units (a 12 kB IDR every 30 frames, 3 kB
// deltas, 15 packets a second at 30 fps on average) and forwards each
// packet to 50 subscribers, WebRTC down tracks or bots that depacketize.
// One op is one access unit; ns/packet divides the writer's time by the
// packets it made. allocs/op must be 0.
func BenchmarkBotVideo50(b *testing.B) {
	const subs = 50
	key, delta := benchAU(true, 12000), benchAU(false, 3000)
	for _, bots := range []bool{false, true} {
		name := "webrtc"
		if bots {
			name = "bots"
		}
		b.Run(name, func(b *testing.B) {
			t, readers, peers := benchTrack(b, room.TrackKindVideo, codecInfo{MimeType: "video/H264", ClockRate: 90000}, subs, bots)
			w := newVideoWriter(t)
			var packets uint64 // made by the writer so far
			write := func(i int) {
				au := delta
				if i%30 == 0 {
					au = key
				}
				before := w.hdr.SequenceNumber
				if err := w.WriteVideo(au, 33*time.Millisecond); err != nil {
					b.Fatal(err)
				}
				packets += uint64(w.hdr.SequenceNumber - before)
			}
			// Subscribers catch up after each frame, as they do between
			// frames 33 ms apart.
			catchUp := func() {
				if bots {
					for _, r := range readers {
						r.q.Discard()
					}
					return
				}
				waitSent(peers, packets*subs)
			}
			for i := range warmFrames {
				write(i)
				catchUp()
			}
			b.ReportAllocs()
			var fwd time.Duration
			p0 := packets
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				write(i)
				fwd += time.Since(start)
				catchUp()
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			n := float64(packets - p0)
			b.ReportMetric(float64(fwd.Nanoseconds())/n, "ns/packet")
			b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/packet")
			b.ReportMetric(n/float64(b.N), "packets/frame")
		})
	}
}

// TestVideoForwardZeroAllocs: once warm, a bot's H.264 writer forwarding
// to 50 WebRTC subscribers or 50 bots allocates nothing per access unit.
func TestVideoForwardZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	key, delta := benchAU(true, 12000), benchAU(false, 3000)
	for _, bots := range []bool{false, true} {
		tr, readers, peers := benchTrack(t, room.TrackKindVideo, codecInfo{MimeType: "video/H264", ClockRate: 90000}, 50, bots)
		w := newVideoWriter(tr)
		var packets uint64
		i := 0
		frame := func() {
			au := delta
			if i%30 == 0 {
				au = key
			}
			i++
			before := w.hdr.SequenceNumber
			_ = w.WriteVideo(au, 33*time.Millisecond)
			packets += uint64(w.hdr.SequenceNumber - before)
			for _, r := range readers {
				r.q.Discard()
			}
			if !bots {
				waitSent(peers, packets*50)
			}
		}
		for range warmFrames {
			frame()
		}
		if n := testing.AllocsPerRun(200, frame); n != 0 {
			t.Errorf("bots=%v: %v allocations per access unit, want 0", bots, n)
		}
	}
}
