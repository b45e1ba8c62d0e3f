package sip

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

const pfuBody = `<?xml version="1.0" encoding="utf-8" ?>
<media_control>
  <vc_primitive>
    <to_encoder>
      <picture_fast_update/>
    </to_encoder>
  </vc_primitive>
</media_control>`

func TestParseDTMFRelay(t *testing.T) {
	tests := []struct {
		body  string
		digit rune
		dur   time.Duration
		ok    bool
	}{
		{"Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond, true},
		{"signal= *\nduration = 250", '*', 250 * time.Millisecond, true},
		{"Signal=#\r\n", '#', 0, true},
		{"Signal=11\r\nDuration=100", '#', 100 * time.Millisecond, true},
		{"Signal=a", 'A', 0, true},
		{"7", '7', 0, true},
		{" D \r\n", 'D', 0, true},
		{"Signal=E", 0, 0, false},
		{"Signal=16", 0, 0, false},
		{"Duration=100", 0, 0, false},
		{"Signal=1\r\nDuration=-5", 0, 0, false},
		{"", 0, 0, false},
		{"55", 0, 0, false},
	}
	for _, tt := range tests {
		d, dur, err := ParseDTMFRelay([]byte(tt.body))
		if (err == nil) != tt.ok || d != tt.digit || dur != tt.dur {
			t.Errorf("ParseDTMFRelay(%q) = %q, %v, %v; want %q, %v, ok=%v", tt.body, d, dur, err, tt.digit, tt.dur, tt.ok)
		}
	}
}

func TestIsPictureFastUpdate(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{pfuBody, true},
		{"<media_control><vc_primitive><to_encoder><picture_fast_update></picture_fast_update></to_encoder></vc_primitive></media_control>", true},
		{"<media_control><vc_primitive><picture_fast_update/></vc_primitive></media_control>", false},
		{"<other><vc_primitive><to_encoder><picture_fast_update/></to_encoder></vc_primitive></other>", false},
		{"picture_fast_update", false},
		{"<media_control><vc_primitive><to_encoder><picture_fast_update", false},
	}
	for _, tt := range tests {
		if got := IsPictureFastUpdate([]byte(tt.body)); got != tt.want {
			t.Errorf("IsPictureFastUpdate(%q) = %v", tt.body, got)
		}
	}
}

func FuzzParseDTMFRelay(f *testing.F) {
	addSeeds(f, "dtmf")
	f.Add([]byte("Signal=5\r\nDuration=160\r\n"))
	f.Add([]byte("#"))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, dur, err := ParseDTMFRelay(body)
		if err == nil && (d == 0 || dur < 0) {
			t.Fatalf("accepted %q as %q %v", body, d, dur)
		}
	})
}

func FuzzIsPictureFastUpdate(f *testing.F) {
	addSeeds(f, "media_control")
	f.Add([]byte(pfuBody))
	f.Fuzz(func(_ *testing.T, body []byte) {
		IsPictureFastUpdate(body)
	})
}

// addSeeds adds the files of testdata/seeds/dir to the fuzz corpus.
func addSeeds(f *testing.F, dir string) {
	for _, b := range seedFiles(dir) {
		f.Add(b)
	}
}

// seedFiles reads the seed corpus in testdata/seeds/dir.
func seedFiles(dir string) [][]byte {
	files, _ := filepath.Glob(filepath.Join("testdata", "seeds", dir, "*"))
	var out [][]byte
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			out = append(out, b)
		}
	}
	return out
}
