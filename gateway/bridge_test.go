package gateway

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sdp"
)

// Two phones in one room hear each other and not themselves (N−1); a
// WebRTC-side participant (an SFU bot publishing Opus) is heard by both
// phones and hears both of them.
func TestTwoCallersNMinusOne(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	f := newFixture(t, nil)
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("A: %d", code)
	}
	b, code := ag.dial(f.uri("demo"), phoneOpts{freq: 1000})
	if code != 200 {
		t.Fatalf("B: %d", code)
	}
	a.waitHears(1000, 440)
	b.waitHears(440, 1000)

	if ps := f.sipParticipants("demo"); len(ps) != 2 || ps[0].Name != "+1555***0100" {
		t.Errorf("SIP participants: %+v", ps)
	}
	// Phones only: they hear each other through the PCM mix, and nobody
	// needs their Opus, so none is encoded.
	unheard := func() (n uint64) {
		for _, c := range f.gw.snapshotCalls() {
			if l := c.leg.Load(); l != nil {
				n += l.Stats().Unheard
			}
		}
		return n
	}
	waitUntil(t, 5*time.Second, "phone-only legs to skip Opus encoding", func() bool { return unheard() > 0 })

	// A third participant on the room side, publishing 2000 Hz in Opus.
	bot := joinToneBot(t, f, 2000)
	a.waitHears(2000, 440)
	b.waitHears(2000, 1000)
	waitUntil(t, 10*time.Second, "the bot hearing both phones", func() bool {
		return bot.hears(a, 440) && bot.hears(b, 1000)
	})
	// With a listener in the room the legs encode again.
	before, ticks := unheard(), f.metric("roombridge_hub_ticks_total", "")
	waitUntil(t, 5*time.Second, "20 more hub ticks", func() bool {
		return f.metric("roombridge_hub_ticks_total", "") >= ticks+20
	})
	if after := unheard(); after != before {
		t.Errorf("%d voice frames skipped while the bot listened", after-before)
	}

	q, ok := f.gw.Quality("demo", legIdentity(a.sess.InviteRequest.CallID().Value()))
	if !ok || q.Codec != "PCMU" || q.PacketsReceived == 0 || q.PacketsSent == 0 || q.MOS < 4 {
		t.Errorf("Quality = %+v, %v", q, ok)
	}
	if _, ok := f.gw.Quality("other", legIdentity(a.sess.InviteRequest.CallID().Value())); ok {
		t.Error("Quality found a leg in the wrong room")
	}

	a.hangup()
	b.hangup()
	bot.leave()
	f.waitIdle()
}

// toneBot is an in-process room participant (as a WebRTC client would be)
// that publishes a tone in Opus and records every audio track it receives.
type toneBot struct {
	t    *testing.T
	p    room.Participant
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	got  map[string]*syncBuf // by publisher id
}

func joinToneBot(t *testing.T, f *fixture, freq float64) *toneBot {
	t.Helper()
	p, err := f.sfu.Join(context.Background(), "demo", room.ParticipantInfo{Name: "web", Kind: room.ParticipantKindBot})
	if err != nil {
		t.Fatal(err)
	}
	b := &toneBot{t: t, p: p, stop: make(chan struct{}), got: map[string]*syncBuf{}}
	p.OnTrack(func(rt room.RemoteTrack) {
		if rt.Kind() != room.TrackKindAudio {
			return
		}
		buf := &syncBuf{max: 3 * 16000}
		b.mu.Lock()
		b.got[rt.ParticipantID()] = buf
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			dec, _ := opus.NewDecoder(16000, 1)
			frame := make([]byte, 1500)
			pcm := make([]int16, 1920)
			for {
				n, _, err := rt.ReadFrame(frame)
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					continue
				}
				k, err := dec.Decode(frame[:n], pcm)
				if err == nil {
					buf.append(pcm[:k])
				}
			}
		}()
	})
	w, err := p.PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		enc, _ := opus.NewEncoder(16000, 1, opus.EncoderConfig{})
		gen := tone.NewGenerator(freq, 16000, 10000)
		pcm := make([]int16, 320)
		out := make([]byte, 1500)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-b.stop:
				_ = w.Close()
				return
			case <-tk.C:
			}
			gen.Fill(pcm)
			if n, err := enc.Encode(pcm, out); err == nil {
				_ = w.WriteAudio(out[:n], 20*time.Millisecond)
			}
		}
	}()
	t.Cleanup(b.leave)
	return b
}

// hears reports whether the bot hears freq, clearly, on phone ph's track.
func (b *toneBot) hears(ph *phone, freq float64) bool {
	b.mu.Lock()
	buf := b.got[legIdentity(ph.sess.InviteRequest.CallID().Value())]
	b.mu.Unlock()
	if buf == nil {
		return false
	}
	pcm := buf.last(16000)
	if len(pcm) < 8000 {
		return false
	}
	f, p := tone.Dominant(pcm, 16000, []float64{440, 1000, 2000})
	return f == freq && p > 0.002
}

func (b *toneBot) leave() {
	select {
	case <-b.stop:
		return
	default:
		close(b.stop)
	}
	_ = b.p.Leave("test over")
	b.wg.Wait()
}

// PCMA and G.722 legs bridge like PCMU ones, and a PCMU phone hears a
// G.722 one (16 kHz into the mix, 8 kHz out).
func TestCodecs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	f := newFixture(t, nil)
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{codec: sdp.PCMA, freq: 440})
	if code != 200 {
		t.Fatalf("PCMA: %d", code)
	}
	b, code := ag.dial(f.uri("demo"), phoneOpts{codec: sdp.G722, freq: 1000})
	if code != 200 {
		t.Fatalf("G722: %d", code)
	}
	if c := b.answer.Audio.Codecs[0]; c.Name != "G722" {
		t.Fatalf("G.722 phone got %v", c)
	}
	a.waitHears(1000, 440)
	b.waitHears(440, 1000)
	a.hangup()
	b.hangup()
	f.waitIdle()
}
