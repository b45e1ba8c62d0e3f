package vad

import (
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

func TestLevel(t *testing.T) {
	sine := func(amp float64) []int16 {
		pcm := make([]int16, 320)
		tone.NewGenerator(1000, 16000, amp).Fill(pcm)
		return pcm
	}
	square := make([]int16, 320)
	for i := range square {
		square[i] = 32767
		if i%2 == 1 {
			square[i] = -32768
		}
	}
	for _, tc := range []struct {
		name  string
		pcm   []int16
		dBov  float64
		level uint8
	}{
		{"full-scale sine", sine(32767), -3.01, 3},
		{"-20 dB sine", sine(3276.7), -23.01, 23},
		{"full-scale square", square, 0, 0},
		{"silence", make([]int16, 320), Silence, 127},
		{"empty", nil, Silence, 127},
		{"one LSB", []int16{1, -1, 1, -1}, -90.31, 90},
	} {
		got := Level(tc.pcm)
		if math.Abs(got-tc.dBov) > 0.05 {
			t.Errorf("%s: %.2f dBov, want %.2f", tc.name, got, tc.dBov)
		}
		if al := AudioLevel(got); al != tc.level {
			t.Errorf("%s: audio level %d, want %d", tc.name, al, tc.level)
		}
	}
	if AudioLevel(5) != 0 || AudioLevel(-300) != 127 || LevelOf(200) != -127 || LevelOf(30) != -30 {
		t.Error("clamping")
	}
}

type frameGen struct {
	r     *rand.Rand
	tone  *tone.Generator
	noise float64 // noise RMS, fraction of full scale
}

func (g *frameGen) frame(voice bool) []int16 {
	pcm := make([]int16, 320)
	if voice {
		g.tone.Fill(pcm)
	}
	for i := range pcm {
		v := float64(pcm[i]) + g.r.NormFloat64()*g.noise*32768
		pcm[i] = int16(max(min(v, 32767), -32768))
	}
	return pcm
}

func TestDetector(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noise  float64 // RMS of background noise (fraction of full scale)
		voice  float64 // tone amplitude
		settle int     // frames of noise before the talk spurt
	}{
		{"quiet room", 0.001, 8000, 50},      // −60 dBov noise, −15 dBov voice
		{"noisy line", 0.01, 8000, 250},      // −40 dBov noise
		{"soft talker", 0.0005, 800, 50},     // −35 dBov voice
		{"loud noise", 0.03, 16000, 500},     // −30 dBov noise, −9 dBov voice
		{"first frame loud", 0.001, 8000, 0}, // starts mid-sentence
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &frameGen{r: rand.New(rand.NewSource(1)), tone: tone.NewGenerator(300, 16000, tc.voice), noise: tc.noise}
			d := NewDetector(Config{})
			if tc.settle == 0 {
				// Talking from the first frame: the floor starts high,
				// so pause, then talk again.
				for range 20 {
					d.Frame(g.frame(true))
				}
				for range 50 {
					d.Frame(g.frame(false))
				}
			}
			falseAlarms := 0
			for i := range tc.settle {
				if d.Frame(g.frame(false)).Active && i > tc.settle/2 {
					falseAlarms++
				}
			}
			if falseAlarms > 0 {
				t.Errorf("%d noise frames gated open after settling", falseAlarms)
			}
			for i := range 25 { // 500 ms of voice
				if dec := d.Frame(g.frame(true)); !dec.Active {
					t.Fatalf("voice frame %d not active: %+v", i, dec)
				}
			}
			// Hangover: 200 ms (10 frames) stay open, then it closes.
			for i := range 15 {
				dec := d.Frame(g.frame(false))
				if want := i < 10; dec.Active != want {
					t.Fatalf("frame %d after voice: active %v, want %v (%+v)", i, dec.Active, want, dec)
				}
			}
		})
	}
}

func TestLongSpeechStaysActive(t *testing.T) {
	g := &frameGen{r: rand.New(rand.NewSource(2)), tone: tone.NewGenerator(200, 16000, 6000), noise: 0.001}
	d := NewDetector(Config{})
	for range 50 {
		d.Frame(g.frame(false))
	}
	for i := range 1500 { // 30 s monologue
		if !d.Frame(g.frame(true)).Active {
			t.Fatalf("dropped out after %v of speech", time.Duration(i)*20*time.Millisecond)
		}
	}
	d.Reset()
	if dec := d.Update(-50); dec.Active || dec.Floor != -50 {
		t.Errorf("after Reset: %+v", dec)
	}
}

func BenchmarkDetector(b *testing.B) {
	g := &frameGen{r: rand.New(rand.NewSource(1)), tone: tone.NewGenerator(300, 16000, 8000), noise: 0.01}
	frame := g.frame(true)
	d := NewDetector(Config{})
	b.ReportAllocs()
	for b.Loop() {
		d.Frame(frame)
	}
}
