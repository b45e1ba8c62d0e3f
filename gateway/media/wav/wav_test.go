package wav

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestRoundTripAndErrors(t *testing.T) {
	in := []int16{0, 1, -1, 32767, -32768, 1234}
	b := Encode(in, 16000)
	got, rate, err := Decode(b)
	if err != nil || rate != 16000 || !slices.Equal(got, in) {
		t.Fatalf("round trip: %v %d %v", got, rate, err)
	}
	if got, _, err := Read(bytes.NewReader(b)); err != nil || !slices.Equal(got, in) {
		t.Fatalf("Read: %v %v", got, err)
	}
	// A streaming writer's data size runs past the end: keep what is there.
	if got, _, err := Decode(b[:len(b)-4]); err != nil || len(got) != len(in)-2 {
		t.Fatalf("truncated data: %d samples, %v", len(got), err)
	}
	stereo := bytes.Clone(b)
	stereo[22] = 2
	for name, bad := range map[string][]byte{
		"empty":  nil,
		"riff":   []byte("RIFX0000WAVE"),
		"stereo": stereo,
		"no fmt": append([]byte("RIFF\x00\x00\x00\x00WAVE"), b[36:]...),
	} {
		if _, _, err := Decode(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode([]int16{1, 2, 3}, 8000))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt "))
	f.Fuzz(func(t *testing.T, b []byte) {
		samples, rate, err := Decode(b)
		if err == nil && (rate <= 0 || 2*len(samples) > len(b)) {
			t.Fatalf("accepted %d samples at %d Hz from %d bytes", len(samples), rate, len(b))
		}
	})
}
