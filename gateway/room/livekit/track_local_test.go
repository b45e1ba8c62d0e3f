package livekit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/room"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sink records what a local track's writer sends to the SDK; while held,
// every write blocks, as a write into a stalled PeerConnection does.
type sink struct {
	mu      sync.Mutex
	pkts    []rtp.Packet
	levels  []int // the level passed in the SDK's options, -1 for none
	entered chan struct{}
	hold    chan struct{}
	once    sync.Once
}

func newSink(held bool) *sink {
	s := &sink{entered: make(chan struct{}, 1)}
	if held {
		s.hold = make(chan struct{})
	}
	return s
}

func (s *sink) WriteRTP(p *rtp.Packet, opts *lksdk.SampleWriteOptions) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	if s.hold != nil {
		<-s.hold
	}
	level := -1
	if opts != nil && opts.AudioLevel != nil {
		level = int(*opts.AudioLevel)
	}
	s.mu.Lock()
	s.pkts = append(s.pkts, rtp.Packet{Header: p.Header.Clone(), Payload: bytes.Clone(p.Payload)})
	s.levels = append(s.levels, level)
	s.mu.Unlock()
	return nil
}

func (s *sink) release() {
	if s.hold != nil {
		s.once.Do(func() { close(s.hold) })
	}
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pkts)
}

// testLeg is a participant of a backend that never connected, with one
// audio track writing to snk: the writer path without LiveKit.
func testLeg(t *testing.T, b *Backend, id string, snk *sink) *audioWriter {
	p := newParticipant(b, "r", id, false, slog.New(slog.DiscardHandler))
	lt := newLocalTrack(p, room.TrackKindAudio, 48000, snk)
	if _, err := p.addWriter(lt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		snk.release()
		p.finish(nil)
		p.wait()
	})
	return (*audioWriter)(lt)
}

func testBackend(t *testing.T) *Backend {
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Backend{m: m, parts: map[partKey]*participant{}}
}

func dropped(t *testing.T, b *Backend) int {
	var m dto.Metric
	if err := b.m.packetsDropped.Write(&m); err != nil {
		t.Fatal(err)
	}
	return int(m.GetCounter().GetValue())
}

// TestWriterOffTheTick: one leg's PeerConnection stalls. The room tick,
// writing every leg's frame, never waits for it; the other leg's packets
// all reach LiveKit in order; the stalled leg loses its oldest packets,
// counted, and sends the newest once it moves again.
func TestWriterOffTheTick(t *testing.T) {
	b := testBackend(t)
	slowSink, fastSink := newSink(true), newSink(false)
	slow, fast := testLeg(t, b, "slow", slowSink), testLeg(t, b, "fast", fastSink)

	const frames = 4 * audioSendQueue
	frame := []byte{0xf8, 0xff, 0xfe, 0, 0}
	num := func(p []byte) int { return int(binary.BigEndian.Uint16(p[3:])) }
	errs := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i <= frames; i++ {
			binary.BigEndian.PutUint16(frame[3:], uint16(i))
			for _, w := range []*audioWriter{slow, fast} {
				if err := w.WriteAudioLevel(frame, 20*time.Millisecond, 40); err != nil {
					errs <- err.Error()
					return
				}
			}
			// The other leg's writer keeps up with the tick.
			for deadline := time.Now().Add(10 * time.Second); fastSink.count() < i+1; time.Sleep(50 * time.Microsecond) {
				if time.Now().After(deadline) {
					errs <- fmt.Sprintf("frame %d never reached LiveKit", i)
					return
				}
			}
			if i == 0 {
				select {
				case <-slowSink.entered: // stalled from now on
				case <-time.After(10 * time.Second):
					errs <- "the stalled leg's writer never wrote"
					return
				}
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the room tick is stuck behind a stalled PeerConnection")
	}
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}

	fastSink.mu.Lock()
	for i, p := range fastSink.pkts {
		if num(p.Payload) != i || p.SequenceNumber != fastSink.pkts[0].SequenceNumber+uint16(i) ||
			p.Timestamp != fastSink.pkts[0].Timestamp+uint32(960*i) || fastSink.levels[i] != 40 {
			t.Fatalf("packet %d: seq %d ts %d level %d payload %v", i, p.SequenceNumber, p.Timestamp, fastSink.levels[i], p.Payload)
		}
	}
	fastSink.mu.Unlock()
	if got := dropped(t, b); got != frames-audioSendQueue {
		t.Fatalf("%d packets dropped, want %d", got, frames-audioSendQueue)
	}

	slowSink.release()
	waitFor(t, "the stalled leg to drain", func() bool { return slowSink.count() == audioSendQueue+1 })
	slowSink.mu.Lock()
	last := slowSink.pkts[len(slowSink.pkts)-1]
	slowSink.mu.Unlock()
	if num(last.Payload) != frames {
		t.Fatalf("the stalled leg's last packet is frame %d, want the newest (%d)", num(last.Payload), frames)
	}
}

// Empty (DTX) frames send nothing and keep the timeline; once the audio
// level extension's id is known the writer sets the level itself.
func TestWriterDTXAndLevel(t *testing.T) {
	b := testBackend(t)
	snk := newSink(false)
	w := testLeg(t, b, "leg", snk)
	if err := w.WriteAudioLevel([]byte{1}, 20*time.Millisecond, 30); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := w.WriteAudio(nil, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the first packet", func() bool { return snk.count() == 1 })
	w.levelID.Store(5) // as when the track is bound
	if err := w.WriteAudioLevel([]byte{2}, 20*time.Millisecond, 200); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAudio(make([]byte, maxPayload+1), 20*time.Millisecond); err == nil {
		t.Fatal("an oversized frame was accepted")
	}
	waitFor(t, "two packets", func() bool { return snk.count() >= 2 })
	snk.mu.Lock()
	defer snk.mu.Unlock()
	if len(snk.pkts) != 2 {
		t.Fatalf("%d packets sent, want 2 (empty frames send nothing)", len(snk.pkts))
	}
	a, c := snk.pkts[0], snk.pkts[1]
	if c.SequenceNumber != a.SequenceNumber+1 || c.Timestamp != a.Timestamp+4*960 {
		t.Fatalf("seq %d→%d ts %d→%d: want the next number and 80 ms later", a.SequenceNumber, c.SequenceNumber, a.Timestamp, c.Timestamp)
	}
	if snk.levels[0] != 30 || len(a.Extensions) != 0 {
		t.Fatalf("first packet: level %d through the SDK, extensions %v", snk.levels[0], a.Extensions)
	}
	if lvl := c.GetExtension(5); snk.levels[1] != -1 || len(lvl) != 1 || lvl[0] != 200&0x7f {
		t.Fatalf("second packet: level %d through the SDK, extension %v", snk.levels[1], lvl)
	}
}
