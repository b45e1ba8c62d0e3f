package prompts

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// riff builds a WAVE file from raw chunks.
func riff(chunks ...[]byte) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVE")
	for _, c := range chunks {
		b = append(b, c...)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func chunk(id string, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func fmtBody(tag, channels uint16, rate uint32, bits uint16) []byte {
	b := make([]byte, 16)
	align := channels * bits / 8
	binary.LittleEndian.PutUint16(b[0:], tag)
	binary.LittleEndian.PutUint16(b[2:], channels)
	binary.LittleEndian.PutUint32(b[4:], rate)
	binary.LittleEndian.PutUint32(b[8:], rate*uint32(align))
	binary.LittleEndian.PutUint16(b[12:], align)
	binary.LittleEndian.PutUint16(b[14:], bits)
	return b
}

func extensible(sub uint16) []byte {
	b := fmtBody(0xfffe, 1, 16000, 16)
	ext := make([]byte, 24)
	binary.LittleEndian.PutUint16(ext[0:], 22)
	binary.LittleEndian.PutUint16(ext[2:], 16)
	binary.LittleEndian.PutUint16(ext[8:], sub)
	copy(ext[10:], "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
	return append(b, ext...)
}

func TestDecodeWAV(t *testing.T) {
	pcm := []byte{1, 0, 0xff, 0xff, 0, 0x80}
	want := []int16{1, -1, -32768}
	tests := []struct {
		name string
		in   []byte
		rate int
		want []int16
		ok   bool
	}{
		{"plain", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16)), chunk("data", pcm)), 8000, want, true},
		{"LIST and odd chunk skipped", riff(chunk("LIST", []byte("abc")), chunk("fmt ", fmtBody(1, 1, 16000, 16)), chunk("data", pcm)), 16000, want, true},
		{"extensible PCM", riff(chunk("fmt ", extensible(1)), chunk("data", pcm)), 16000, want, true},
		{"48 kHz", riff(chunk("fmt ", fmtBody(1, 1, 48000, 16)), chunk("data", pcm)), 48000, want, true},
		{"streaming data size", append(riff(chunk("fmt ", fmtBody(1, 1, 8000, 16))), "data\xff\xff\xff\xff\x01\x00\x02\x00\x03"...), 8000, []int16{1, 2}, true},
		{"extensible float", riff(chunk("fmt ", extensible(3)), chunk("data", pcm)), 0, nil, false},
		{"stereo", riff(chunk("fmt ", fmtBody(1, 2, 8000, 16)), chunk("data", pcm)), 0, nil, false},
		{"8-bit", riff(chunk("fmt ", fmtBody(1, 1, 8000, 8)), chunk("data", pcm)), 0, nil, false},
		{"a-law", riff(chunk("fmt ", fmtBody(6, 1, 8000, 8)), chunk("data", pcm)), 0, nil, false},
		{"44.1 kHz", riff(chunk("fmt ", fmtBody(1, 1, 44100, 16)), chunk("data", pcm)), 0, nil, false},
		{"data before fmt", riff(chunk("data", pcm), chunk("fmt ", fmtBody(1, 1, 8000, 16))), 0, nil, false},
		{"no data", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16))), 0, nil, false},
		{"no fmt", riff(chunk("LIST", nil)), 0, nil, false},
		{"short fmt", riff(chunk("fmt ", make([]byte, 10)), chunk("data", pcm)), 0, nil, false},
		{"truncated fmt", []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00"), 0, nil, false},
		{"not RIFF", []byte("RIFX\x00\x00\x00\x00WAVE"), 0, nil, false},
		{"empty", nil, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rate, err := DecodeWAV(tt.in)
			if !tt.ok {
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("err = %v, want ErrFormat", err)
				}
				return
			}
			if err != nil || rate != tt.rate || !slices.Equal(got, tt.want) {
				t.Fatalf("= %v, %d, %v; want %v, %d", got, rate, err, tt.want, tt.rate)
			}
		})
	}
}

func TestDecodeWAVFiles(t *testing.T) {
	b, err := os.ReadFile("testdata/tone8k.wav") // written by sox
	if err != nil {
		t.Fatal(err)
	}
	pcm, rate, err := DecodeWAV(b)
	if err != nil || rate != 8000 || len(pcm) != 160 {
		t.Fatalf("tone8k.wav: %d samples at %d Hz, %v; want 160 at 8000", len(pcm), rate, err)
	}
	for _, f := range []string{"stereo16k.wav", "u8.wav"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := DecodeWAV(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", f, err)
		}
	}
}

func TestEncodeWAVRoundTrip(t *testing.T) {
	in := []int16{0, 1, -1, 32767, -32768, 1234}
	out, rate, err := DecodeWAV(EncodeWAV(in, 16000))
	if err != nil || rate != 16000 || !slices.Equal(in, out) {
		t.Fatalf("round trip = %v, %d, %v", out, rate, err)
	}
}

// FuzzDecodeWAV checks that no input makes DecodeWAV panic, and that what
// it accepts re-encodes to the same samples.
func FuzzDecodeWAV(f *testing.F) {
	f.Add(EncodeWAV([]int16{1, 2, 3}, 8000))
	f.Add(riff(chunk("LIST", []byte("abc")), chunk("fmt ", extensible(1)), chunk("data", []byte{1, 2, 3})))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff"))
	files, _ := filepath.Glob("testdata/*.wav")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, rate, err := DecodeWAV(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if (rate != 8000 && rate != 16000 && rate != 48000) || 2*len(pcm) > len(b) {
			t.Fatalf("accepted %d samples at %d Hz from %d bytes", len(pcm), rate, len(b))
		}
		again, rate2, err := DecodeWAV(EncodeWAV(pcm, rate))
		if err != nil || rate2 != rate || !slices.Equal(again, pcm) {
			t.Fatalf("re-encode: %v", err)
		}
	})
}
