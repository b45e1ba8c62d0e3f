package sfu

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	dto "github.com/prometheus/client_model/go"

	"github.com/roombridge/roombridge/gateway/room"
)

// heldWriter stands in for a subscriber's PeerConnection whose writes block
// (a full socket, a stuck SRTP session): the first WriteRTP blocks until
// release, and so does every one after it until then.
type heldWriter struct {
	entered chan struct{}
	hold    chan struct{}
	once    sync.Once
	rec     recordWriter
}

func newHeldWriter() *heldWriter {
	return &heldWriter{entered: make(chan struct{}, 1), hold: make(chan struct{})}
}

func (w *heldWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.hold
	return w.rec.WriteRTP(h, payload)
}

func (w *heldWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *heldWriter) release() { w.once.Do(func() { close(w.hold) }) }

// subscribeWriters subscribes a WebRTC peer (no PeerConnection, its sender
// running) per writer to src: ssrc 100 for the slow one, 101 for the fast
// one, audio level in extension 1.
func subscribeWriters(t *testing.T, s *SFU, src *pubTrack, slow *heldWriter, fast *recordWriter) {
	for i, w := range []webrtc.TrackLocalWriter{slow, fast} {
		d := newDownTrack(src, testPeer(t, s.m))
		d.bound.Store(&binding{ssrc: uint32(100 + i), pt: 111, levelID: 1, w: w})
		if !src.addSubscriber(d) {
			t.Fatal("track ended")
		}
	}
	// Registered after the peers' cleanups, so run before them: they wait
	// for their senders, and the slow one is stuck until released.
	t.Cleanup(slow.release)
}

func counterValue(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestSlowSubscriberDelaysNobody: one WebRTC subscriber's writes block. The
// bot writer's caller (the gateway's room tick) is never held up — every
// WriteAudio returns while that write is still blocked — the other WebRTC
// subscriber and a bot subscriber receive every packet in order, and the
// slow subscriber loses its oldest packets, counted in the metric, then
// gets the newest once it moves again.
func TestSlowSubscriberDelaysNobody(t *testing.T) {
	s, _ := newTestSFU(t, Config{})
	phone := joinBot(t, s, "slow", "phone", false)
	listener := joinBot(t, s, "slow", "listener", false)
	botTracks := trackCh(listener)
	w, err := phone.PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src := w.(*audioWriter).t
	botTrack := nextTrack(t, botTracks, room.TrackKindAudio)

	slow, fast := newHeldWriter(), &recordWriter{}
	subscribeWriters(t, s, src, slow, fast)

	lw := w.(room.AudioLevelWriter)
	// Opus DTX bytes and the frame's number.
	frame := []byte{0xf8, 0xff, 0xfe, 0, 0}
	num := func(p []byte) int { return int(binary.BigEndian.Uint16(p[3:])) }
	writeFrame := func(i int) {
		binary.BigEndian.PutUint16(frame[3:], uint16(i))
		if err := lw.WriteAudioLevel(frame, 20*time.Millisecond, 30); err != nil {
			t.Errorf("frame %d: %v", i, err)
		}
	}
	// The room tick: many more frames than the slow subscriber's queue
	// holds. Each tick the bot subscriber reads its frame and the fast
	// subscriber receives its packet before the next frame is written, as
	// they would on a 20 ms clock. Frame 0 gets the slow subscriber's
	// writer stuck; the rest are written while it is. The loop runs on
	// another goroutine only so that a regression fails the test instead
	// of hanging it.
	const frames = 2 * subscriberQueue
	buf := make([]byte, 1500)
	var progress atomic.Int32
	errs := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i <= frames; i++ {
			writeFrame(i)
			if n, _, err := botTrack.ReadFrame(buf); err != nil || n != len(frame) || num(buf) != i {
				errs <- fmt.Sprintf("bot subscriber frame %d: %v %v", i, buf[:n], err)
				return
			}
			for deadline := time.Now().Add(10 * time.Second); fast.count() < i+1; time.Sleep(50 * time.Microsecond) {
				if time.Now().After(deadline) {
					errs <- fmt.Sprintf("the fast subscriber never got frame %d", i)
					return
				}
			}
			if i == 0 {
				select {
				case <-slow.entered:
				case <-time.After(10 * time.Second):
					errs <- "the slow subscriber's writer never wrote"
					return
				}
			}
			progress.Add(1)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the room tick is stuck behind the slow subscriber after %d of %d frames", progress.Load(), frames)
	}
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
	select {
	case <-slow.hold:
		t.Fatal("the slow subscriber was released early; the test proves nothing")
	default:
	}

	// The fast subscriber got every packet, in order, with its own
	// numbering and the audio level, while the slow one was stuck.
	fast.mu.Lock()
	for i, h := range fast.hdrs {
		if p := fast.pays[i]; num(p) != i || h.SequenceNumber != fast.hdrs[0].SequenceNumber+uint16(i) || h.SSRC != 101 {
			t.Fatalf("fast subscriber packet %d: seq %d ssrc %d payload %v", i, h.SequenceNumber, h.SSRC, p)
		}
		if lvl := h.GetExtension(1); len(lvl) != 1 || lvl[0] != 30 {
			t.Fatalf("fast subscriber packet %d: audio level %v", i, lvl)
		}
	}
	fast.mu.Unlock()

	dropped := counterValue(t, s.m.packetsDropped)
	// Frame 0 is stuck in the write; frames 1… filled the queue, and each
	// one beyond its capacity pushed out the oldest.
	if dropped != frames-subscriberQueue {
		t.Fatalf("%v packets dropped, want %d (the slow subscriber's overflow, and nothing of the fast one's)", dropped, frames-subscriberQueue)
	}

	// Released, the slow subscriber catches up with the newest packets.
	slow.release()
	waitFor(t, 10*time.Second, "the slow subscriber to drain", func() bool {
		return slow.rec.count()+int(dropped) == frames+1
	})
	slow.rec.mu.Lock()
	last := slow.rec.pays[len(slow.rec.pays)-1]
	slow.rec.mu.Unlock()
	if num(last) != frames {
		t.Fatalf("the slow subscriber's last packet is frame %d, want the newest (%d)", num(last), frames)
	}
}

// TestSlowSubscriberDoesNotStallPublisher: a browser publisher's read loop
// fans out to a stuck WebRTC subscriber and a working one; the working one
// keeps receiving the browser's packets, and a bot keeps hearing its tone,
// while the stuck one's write is held.
func TestSlowSubscriberDoesNotStallPublisher(t *testing.T) {
	s, url := newTestSFU(t, Config{})
	listener := joinBot(t, s, "slowpub", "listener", false)
	botTracks := trackCh(listener)
	c, _ := dialClient(t, url, "slowpub", "web", "")
	c.publishTone(440)
	rt := nextTrack(t, botTracks, room.TrackKindAudio)
	src := s.room("slowpub").findTrack(rt.ID())
	if src == nil {
		t.Fatal("the browser's track is not in the room")
	}
	slow, fast := newHeldWriter(), &recordWriter{}
	subscribeWriters(t, s, src, slow, fast)
	select {
	case <-slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow subscriber's writer never wrote")
	}
	var sink pcmSink
	go readAudio(t, rt, &sink)
	// Two seconds of the browser's 20 ms packets reach the working one.
	base := fast.count()
	waitFor(t, 20*time.Second, "the working subscriber to receive 100 more packets", func() bool { return fast.count() >= base+100 })
	waitFor(t, 20*time.Second, "the bot hearing 440 Hz", func() bool {
		f, ok := sink.dominant()
		return ok && f == 440
	})
	select {
	case <-slow.hold:
		t.Fatal("the slow subscriber was released early; the test proves nothing")
	default:
	}
}
