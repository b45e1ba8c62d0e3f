package test

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/roombridge/roombridge/gateway/video"
	"github.com/roombridge/roombridge/test/internal/videouas"
)

// videoReceiver reads the video RTP a call receives and depacketizes it.
type videoReceiver struct {
	mu      sync.Mutex
	d       *video.Depacketizer
	frames  []rxFrame
	pkts    []rxPacket
	types   map[uint8]int
	big     int
	src     uint32
	padding int // padding-only packets
	start   time.Time
	done    chan struct{}
}

type rxFrame struct {
	at  time.Time
	key bool
}

type rxPacket struct {
	at   time.Duration
	data []byte
}

// maxRecorded bounds what record keeps: about four seconds of baresip.
const maxRecorded = 400

func newVideoReceiver() *videoReceiver {
	r := &videoReceiver{types: map[uint8]int{}, start: time.Now(), done: make(chan struct{})}
	r.d = video.NewDepacketizer(func(au video.AccessUnit) {
		r.frames = append(r.frames, rxFrame{at: time.Now(), key: au.Keyframe})
	}, 0)
	return r
}

// startVideoReceiver reads a call's video RTP socket until the test ends.
func startVideoReceiver(t *testing.T, c *videouas.Call) *videoReceiver {
	r := newVideoReceiver()
	conn := c.Video.RTP
	go func() {
		defer close(r.done)
		buf := make([]byte, 1500)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			r.add(buf[:n])
		}
	}()
	t.Cleanup(func() {
		_ = conn.SetReadDeadline(time.Now())
		<-r.done
	})
	return r
}

// add takes one RTP packet as it arrived.
func (r *videoReceiver) add(raw []byte) {
	var p rtp.Packet
	if p.Unmarshal(append([]byte(nil), raw...)) != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.src = p.SSRC
	if len(p.Payload) > 0 {
		r.types[p.Payload[0]&0x1f]++
	} else {
		r.padding++
	}
	r.big = max(r.big, len(p.Payload))
	if len(r.pkts) < maxRecorded {
		r.pkts = append(r.pkts, rxPacket{at: time.Since(r.start), data: append([]byte(nil), raw...)})
	}
	r.d.Push(&p)
}

func (r *videoReceiver) stats() video.DepacketizerStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.d.Stats()
}

// rxSummary is what arrived so far, by RTP payload structure.
type rxSummary struct {
	ssrc              uint32
	fua, stapa, whole int // FU-A, STAP-A and single NAL unit packets
	largest           int // payload bytes
	firstKey          bool
}

func (r *videoReceiver) summary() rxSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := rxSummary{ssrc: r.src, fua: r.types[28], stapa: r.types[24], largest: r.big}
	for t, c := range r.types {
		if t >= 1 && t <= 23 {
			s.whole += c
		}
	}
	s.firstKey = len(r.frames) > 0 && r.frames[0].key
	return s
}

// arrivalRate is the frames delivered per second of arrival time.
func (r *videoReceiver) arrivalRate() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) < 2 {
		return 0
	}
	return float64(len(r.frames)-1) / r.frames[len(r.frames)-1].at.Sub(r.frames[0].at).Seconds()
}

// waitFrames waits until n access units have been delivered.
func (r *videoReceiver) waitFrames(t *testing.T, n int, within time.Duration, peer interface{ Output() string }) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		got := len(r.frames)
		r.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d access units in %v, want %d; %+v\n%s", got, within, n, r.stats(), peer.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// keyframeAfter asks for a keyframe and waits for the next IDR, asking
// again through a video.KeyframeLimiter (every 500 ms) while none comes,
// as a leg does: a request can be lost (UDP; baresip 1.0 also drops one
// that lands while its encoder runs). baresip's GOP is 10 s and Chromium
// sends no IDR unasked, so one within 2 s answers the request.
func (r *videoReceiver) keyframeAfter(t *testing.T, what string, send func() error) {
	t.Helper()
	r.mu.Lock()
	from := len(r.frames)
	r.mu.Unlock()
	var lim video.KeyframeLimiter
	first := time.Now()
	for deadline := first.Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if lim.Request(time.Now()) {
			if err := send(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		r.mu.Lock()
		for _, f := range r.frames[from:] {
			if f.key {
				r.mu.Unlock()
				t.Logf("%s: IDR %v after the first request (%d sent)", what, f.at.Sub(first).Round(time.Millisecond), lim.Sent)
				return
			}
		}
		r.mu.Unlock()
	}
	t.Errorf("%s: no IDR within 2 s, %d requests (%+v)", what, lim.Sent, r.stats())
}

// record writes a peer's offer and the first packets received into dir,
// as testdata holds them: name-offer.sdp as it came, and name.pcap with
// the packets (LINKTYPE_RAW: IPv4, UDP, RTP).
func (r *videoReceiver) record(t *testing.T, dir, name string, offer []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+"-offer.sdp"), offer, 0o644); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	pkts := append([]rxPacket(nil), r.pkts...)
	r.mu.Unlock()
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0) // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0) // sigfigs
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 101) // LINKTYPE_RAW
	src, dst := net.IPv4(127, 0, 0, 1).To4(), net.IPv4(127, 0, 0, 1).To4()
	for _, p := range pkts {
		n := 20 + 8 + len(p.data)
		b = binary.LittleEndian.AppendUint32(b, uint32(p.at/time.Second))
		b = binary.LittleEndian.AppendUint32(b, uint32(p.at%time.Second/time.Microsecond))
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		ip := []byte{0x45, 0, byte(n >> 8), byte(n), 0, 0, 0, 0, 64, 17, 0, 0}
		ip = append(append(ip, src...), dst...)
		var sum uint32
		for i := 0; i < 20; i += 2 {
			sum += uint32(ip[i])<<8 | uint32(ip[i+1])
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		b = append(b, ip...)
		b = binary.BigEndian.AppendUint16(b, 16004)
		b = binary.BigEndian.AppendUint16(b, 44002)
		b = binary.BigEndian.AppendUint16(b, uint16(8+len(p.data)))
		b = binary.BigEndian.AppendUint16(b, 0) // no UDP checksum
		b = append(b, p.data...)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pcap"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d packets into %s", len(pkts), dir)
}
