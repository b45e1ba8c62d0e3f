package roomtest

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/room"
)

// Timeouts of the suite. They are generous because a real LiveKit server
// takes about a second per join (signalling, ICE, DTLS) and CI machines are
// slow.
const (
	waitLong  = 20 * time.Second
	waitShort = 10 * time.Second
	frameDur  = 20 * time.Millisecond
	// quiet is how long a listener must hear nothing of a muted speaker.
	quiet = 800 * time.Millisecond
)

// opusCodec is what every bot of the suite publishes.
var opusCodec = room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: frameDur}

// roomName makes a room name no other test uses, so that tests against a
// shared server do not see each other.
func roomName(t *testing.T) string {
	return "rt-" + rand.Text()[:10]
}

// join joins and leaves at the end of the test.
func join(t *testing.T, b room.Backend, roomName string, info room.ParticipantInfo) room.Participant {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	defer cancel()
	p, err := b.Join(ctx, roomName, info)
	if err != nil {
		t.Fatalf("Join %q into %s: %v", info.Name, roomName, err)
	}
	t.Cleanup(func() { _ = p.Leave("test over") })
	return p
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// tracks collects the remote tracks a participant is given.
type tracks struct {
	ch chan room.RemoteTrack
}

func watchTracks(p room.Participant) *tracks {
	ts := &tracks{ch: make(chan room.RemoteTrack, 64)}
	p.OnTrack(func(rt room.RemoteTrack) {
		select {
		case ts.ch <- rt:
		default:
		}
	})
	return ts
}

// next waits for a track of kind from publisher (any publisher when "").
func (ts *tracks) next(t *testing.T, kind room.TrackKind, publisher string) room.RemoteTrack {
	t.Helper()
	deadline := time.After(waitLong)
	for {
		select {
		case rt := <-ts.ch:
			if rt.Kind() == kind && (publisher == "" || rt.ParticipantID() == publisher) {
				return rt
			}
		case <-deadline:
			t.Fatalf("no %v track from %q", kind, publisher)
			return nil
		}
	}
}

// events reads a participant's events in the background so that the test
// can wait for one type while the rest are kept.
type events struct {
	mu     sync.Mutex
	seen   []room.Event
	closed bool
	signal chan struct{}
}

func watchEvents(p room.Participant) *events {
	e := &events{signal: make(chan struct{}, 1)}
	go func() {
		for ev := range p.Events() {
			e.mu.Lock()
			e.seen = append(e.seen, ev)
			e.mu.Unlock()
			e.wake()
		}
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		e.wake()
	}()
	return e
}

func (e *events) wake() {
	select {
	case e.signal <- struct{}{}:
	default:
	}
}

// wait returns the first event not yet taken that matches, removing it.
func (e *events) wait(t *testing.T, what string, match func(room.Event) bool) room.Event {
	t.Helper()
	deadline := time.After(waitLong)
	for {
		e.mu.Lock()
		for i, ev := range e.seen {
			if match(ev) {
				e.seen = append(e.seen[:i], e.seen[i+1:]...)
				e.mu.Unlock()
				return ev
			}
		}
		closed := e.closed
		e.mu.Unlock()
		if closed {
			t.Fatalf("events closed while waiting for %s", what)
		}
		select {
		case <-e.signal:
		case <-deadline:
			t.Fatalf("no event: %s", what)
		}
	}
}

// waitClosed waits until the events channel is closed.
func (e *events) waitClosed(t *testing.T) {
	t.Helper()
	waitFor(t, waitShort, "events channel closed", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.closed
	})
}

// any reports whether an event matching has been seen (and not taken).
func (e *events) any(match func(room.Event) bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.seen {
		if match(ev) {
			return true
		}
	}
	return false
}

func isType(typ room.EventType, id string) func(room.Event) bool {
	return func(ev room.Event) bool { return ev.Type == typ && (id == "" || ev.Participant.ID == id) }
}

// tonePublisher writes a tone as 20 ms Opus frames, paced in real time,
// until stopped. Between pause and resume it writes empty frames
// (discontinuous transmission).
type tonePublisher struct {
	w      room.AudioWriter
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	silent int // empty frames still to write
	err    error
}

func publishTone(t *testing.T, p room.Participant, freq float64) *tonePublisher {
	t.Helper()
	w, err := p.PublishAudio(opusCodec)
	if err != nil {
		t.Fatalf("PublishAudio: %v", err)
	}
	enc, err := opus.NewEncoder(48000, 1, opus.EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	gen := tone.NewGenerator(freq, 48000, 8000)
	pcm := make([]int16, 960)
	out := make([]byte, opus.MaxFrameBytes)
	ctx, cancel := context.WithCancel(context.Background())
	tp := &tonePublisher{w: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(tp.done)
		tick := time.NewTicker(frameDur)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			gen.Fill(pcm)
			tp.mu.Lock()
			frame := out[:0]
			if tp.silent > 0 {
				tp.silent--
			} else {
				n, err := enc.Encode(pcm, out)
				if err != nil {
					tp.err = err
					tp.mu.Unlock()
					return
				}
				frame = out[:n]
			}
			tp.mu.Unlock()
			var err error
			if lw, ok := w.(room.AudioLevelWriter); ok && len(frame) > 0 {
				err = lw.WriteAudioLevel(frame, frameDur, 20) // -20 dBov: speaking
			} else {
				err = w.WriteAudio(frame, frameDur)
			}
			if err != nil {
				tp.mu.Lock()
				tp.err = err
				tp.mu.Unlock()
				return
			}
		}
	}()
	t.Cleanup(tp.stop)
	return tp
}

// skip makes the publisher write n empty frames next.
func (tp *tonePublisher) skip(n int) {
	tp.mu.Lock()
	tp.silent = n
	tp.mu.Unlock()
}

// stop ends the publishing goroutine and waits for it.
func (tp *tonePublisher) stop() {
	tp.cancel()
	<-tp.done
}

// lastErr is the error that stopped the publisher, if any.
func (tp *tonePublisher) lastErr() error {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.err
}

// listener decodes a remote audio track in the background and remembers
// when it last heard the tone it listens for.
type listener struct {
	freq float64
	done chan struct{}

	mu        sync.Mutex
	frames    int
	heard     int // frames carrying the tone
	lastHeard time.Time
	lastFrame time.Time
	infos     []room.FrameInfo // the last few hundred, for timing checks
	err       error
}

// listen reads rt until it ends.
func listen(t *testing.T, rt room.RemoteTrack, freq float64) *listener {
	t.Helper()
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{freq: freq, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		buf := make([]byte, opus.MaxFrameBytes)
		pcm := make([]int16, 5760)
		for {
			n, info, err := rt.ReadFrame(buf)
			if err != nil {
				l.mu.Lock()
				l.err = err
				l.mu.Unlock()
				return
			}
			k, derr := dec.Decode(buf[:n], pcm)
			now := time.Now()
			l.mu.Lock()
			l.frames++
			l.lastFrame = now
			if len(l.infos) >= 500 {
				l.infos = append(l.infos[:0], l.infos[250:]...)
			}
			l.infos = append(l.infos, info)
			if derr == nil && k > 0 && hasTone(pcm[:k], freq) {
				l.heard++
				l.lastHeard = now
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// hasTone says whether freq is the strongest of a few candidates in pcm and
// loud enough to be the tone rather than codec noise.
func hasTone(pcm []int16, freq float64) bool {
	f, p := tone.Dominant(pcm, 48000, []float64{freq, 300, 700, 1000, 1500})
	return f == freq && p > 0.002
}

// heardAfter reports whether the tone arrived after since.
func (l *listener) heardAfter(since time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastHeard.After(since)
}

// heardCount is how many frames carried the tone so far.
func (l *listener) heardCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.heard
}

// quietFor reports whether the tone has not been heard for d.
func (l *listener) quietFor(d time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Since(l.lastHeard) >= d
}

// frameInfos copies the infos of the frames read so far (the last few
// hundred).
func (l *listener) frameInfos() []room.FrameInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]room.FrameInfo(nil), l.infos...)
}

// ended waits for ReadFrame to fail and returns its error.
func (l *listener) ended(t *testing.T) error {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(waitShort):
		t.Fatal("ReadFrame did not end")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// findState returns the listed participant with id.
func findState(ps []room.ParticipantState, id string) (room.ParticipantState, bool) {
	for _, p := range ps {
		if p.ID == id {
			return p, true
		}
	}
	return room.ParticipantState{}, false
}

// listed lists a room, failing the test on error.
func listed(t *testing.T, d room.Directory, roomName string) []room.ParticipantState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	defer cancel()
	ps, err := d.Participants(ctx, roomName)
	if err != nil {
		t.Fatalf("Participants(%s): %v", roomName, err)
	}
	return ps
}
