package prompts

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func rms(pcm []int16) float64 {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(max(len(pcm), 1)))
}

func sine(freq float64, rate int, d time.Duration) []int16 {
	n := int(d * time.Duration(rate) / time.Second)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return pcm
}

func TestEmbeddedLanguages(t *testing.T) {
	if got := Languages(); !slices.Equal(got, []string{"de", "en"}) {
		t.Fatalf("Languages() = %v, want [de en]", got)
	}
}

// TestEmbeddedPrompts loads every embedded prompt at both rates and checks
// that it is audible and of a sane length.
func TestEmbeddedPrompts(t *testing.T) {
	for _, lang := range Languages() {
		s, err := Load("", lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range Names() {
			lo, hi := 150*time.Millisecond, 7*time.Second
			switch name {
			case HoldMusic:
				lo, hi = 8*time.Second, 12*time.Second
			case JoinTone, LeaveTone:
				lo, hi = 200*time.Millisecond, time.Second
			}
			var lens []int
			for _, rate := range []int{8000, 16000} {
				pcm, err := s.PCM(name, rate)
				if err != nil {
					t.Fatalf("%s/%s at %d Hz: %v", lang, name, rate, err)
				}
				d := time.Duration(len(pcm)) * time.Second / time.Duration(rate)
				if d < lo || d > hi {
					t.Errorf("%s/%s at %d Hz lasts %v, want %v–%v", lang, name, rate, d, lo, hi)
				}
				if r := rms(pcm); r < 300 {
					t.Errorf("%s/%s at %d Hz: RMS %.0f, nearly silent", lang, name, rate, r)
				}
				again, _ := s.PCM(name, rate)
				if &again[0] != &pcm[0] {
					t.Errorf("%s/%s at %d Hz: not cached", lang, name, rate)
				}
				lens = append(lens, len(pcm))
			}
			if lens[1] != 2*lens[0] && lens[1] != 2*lens[0]+1 {
				t.Errorf("%s/%s: %d samples at 8 kHz, %d at 16 kHz", lang, name, lens[0], lens[1])
			}
		}
	}
}

// TestEmbeddedSize keeps the binary's prompt payload under 2 MB.
func TestEmbeddedSize(t *testing.T) {
	var total int64
	err := fs.WalkDir(embedded, "audio", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		total += fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded prompts: %d bytes", total)
	if total > 2<<20 {
		t.Errorf("embedded prompts take %d bytes, more than 2 MiB", total)
	}
}

// TestConvertAligned checks that rate conversion keeps a tone's level and
// timing: the output lines up with the ideal tone at the new rate.
func TestConvertAligned(t *testing.T) {
	// The 48 → 16 kHz filter delays by 24⅓ output samples, of which the
	// ⅓ sample (21 µs) is left: 0.13 rad at 1 kHz, hence its bound.
	for _, c := range []struct {
		from, to int
		bound    float64
	}{{16000, 8000, 300}, {8000, 16000, 300}, {48000, 8000, 900}, {48000, 16000, 900}} {
		src := sine(1000, c.from, 200*time.Millisecond)
		got, err := convert(src, c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		want := sine(1000, c.to, 200*time.Millisecond)
		if len(got) != len(want) {
			t.Fatalf("%d→%d: %d samples, want %d", c.from, c.to, len(got), len(want))
		}
		// Away from the edges the error is small compared with the tone.
		var diff []int16
		for i := len(want) / 4; i < 3*len(want)/4; i++ {
			diff = append(diff, got[i]-want[i])
		}
		if e := rms(diff); e > c.bound {
			t.Errorf("%d→%d: error RMS %.0f against an ideal tone of RMS 5657", c.from, c.to, e)
		}
	}
}

func writeWAV(t *testing.T, p string, pcm []int16, rate int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, EncodeWAV(pcm, rate), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOverride(t *testing.T) {
	dir := t.TempDir()
	writeWAV(t, filepath.Join(dir, "welcome.wav"), sine(500, 8000, time.Second), 8000)
	writeWAV(t, filepath.Join(dir, "en", "goodbye.wav"), sine(500, 16000, 2*time.Second), 16000)
	writeWAV(t, filepath.Join(dir, "goodbye.wav"), sine(500, 8000, 3*time.Second), 8000) // shadowed by en/
	writeWAV(t, filepath.Join(dir, "hold_music.wav"), sine(300, 48000, time.Second), 48000)
	writeWAV(t, filepath.Join(dir, "de", "welcome.wav"), sine(500, 8000, 4*time.Second), 8000) // another language
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a prompt"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir, "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, source string
		d            time.Duration
	}{
		{Welcome, filepath.Join(dir, "welcome.wav"), time.Second},
		{Goodbye, filepath.Join(dir, "en", "goodbye.wav"), 2 * time.Second},
		{HoldMusic, filepath.Join(dir, "hold_music.wav"), time.Second},
		{EnterPIN, "embedded:audio/en/enter_pin.wav", 0},
		{JoinTone, "embedded:audio/common/join_tone.wav", 0},
	} {
		src, err := s.Source(c.name)
		if err != nil || src != c.source {
			t.Errorf("Source(%s) = %q, %v; want %q", c.name, src, err, c.source)
		}
		if c.d != 0 {
			if d, _ := s.Duration(c.name); d != c.d {
				t.Errorf("Duration(%s) = %v, want %v", c.name, d, c.d)
			}
			for _, rate := range []int{8000, 16000} {
				pcm, err := s.PCM(c.name, rate)
				if err != nil || len(pcm) != int(c.d.Seconds()*float64(rate)) {
					t.Errorf("PCM(%s, %d): %d samples, %v", c.name, rate, len(pcm), err)
				}
			}
		}
	}
	if s.Lang() != "en" {
		t.Errorf("Lang() = %q", s.Lang())
	}
}

func TestLoadErrors(t *testing.T) {
	bad, err := os.ReadFile("testdata/stereo16k.wav")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files map[string][]byte
		lang  string
		want  error
		names string // in the error text
	}{
		{"stereo", map[string][]byte{"enter_pin.wav": bad}, "en", ErrFormat, "enter_pin.wav"},
		{"stereo in lang folder", map[string][]byte{"de/muted.wav": bad}, "de", ErrFormat, filepath.Join("de", "muted.wav")},
		{"not a WAV", map[string][]byte{"goodbye.wav": []byte("hello")}, "en", ErrFormat, "goodbye.wav"},
		{"empty WAV", map[string][]byte{"goodbye.wav": EncodeWAV(nil, 8000)}, "en", ErrFormat, "goodbye.wav"},
		{"misspelt name", map[string][]byte{"welcom.wav": EncodeWAV(sine(1, 8000, time.Second), 8000)}, "en", ErrUnknownPrompt, "welcom.wav"},
		{"unknown language", nil, "fr", ErrUnknownLanguage, "enter_pin.wav"},
		{"bad language tag", nil, "../en", ErrUnknownLanguage, "../en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, b := range tt.files {
				p = filepath.Join(dir, p)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir, tt.lang)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.names) {
				t.Fatalf("err = %v, want %v naming %q", err, tt.want, tt.names)
			}
		})
	}
	if _, err := Load("", "fr"); !errors.Is(err, ErrUnknownLanguage) {
		t.Errorf("Load(\"\", fr) err = %v", err)
	}
}

// TestLoadNewLanguage: a language that is not embedded works when the
// folder has every speech prompt; the common sounds stay embedded.
func TestLoadNewLanguage(t *testing.T) {
	dir := t.TempDir()
	for _, n := range SpeechNames() {
		writeWAV(t, filepath.Join(dir, "fr", n+".wav"), sine(440, 16000, 500*time.Millisecond), 16000)
	}
	s, err := Load(dir, "fr")
	if err != nil {
		t.Fatal(err)
	}
	if src, _ := s.Source(HoldMusic); src != "embedded:audio/common/hold_music.wav" {
		t.Errorf("hold music from %q", src)
	}
}

func TestPCMErrors(t *testing.T) {
	s, err := Load("", "en")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PCM(Welcome, 44100); !errors.Is(err, ErrRate) {
		t.Errorf("44100 Hz: err = %v", err)
	}
	if _, err := s.PCM("nope", 8000); !errors.Is(err, ErrUnknownPrompt) {
		t.Errorf("unknown name: err = %v", err)
	}
	if _, err := s.Duration("nope"); !errors.Is(err, ErrUnknownPrompt) {
		t.Errorf("Duration: err = %v", err)
	}
	if _, err := s.Source("nope"); !errors.Is(err, ErrUnknownPrompt) {
		t.Errorf("Source: err = %v", err)
	}
}

func TestCountSequence(t *testing.T) {
	tests := []struct {
		n    int
		want []string
	}{
		{-1, []string{ThereAre, "zero", PeopleInMeeting}},
		{0, []string{ThereAre, "zero", PeopleInMeeting}},
		{1, []string{ThereIs, "one", PersonInMeeting}},
		{2, []string{ThereAre, "two", PeopleInMeeting}},
		{20, []string{ThereAre, "twenty", PeopleInMeeting}},
		{21, []string{ThereAre, MoreThanTwenty, PeopleInMeeting}},
	}
	for _, tt := range tests {
		if got := CountSequence(tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("CountSequence(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	if _, ok := Number(21); ok {
		t.Error("Number(21) ok")
	}
	if n, ok := Number(7); !ok || n != "seven" {
		t.Errorf("Number(7) = %q, %v", n, ok)
	}
}
