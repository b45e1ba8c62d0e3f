package g722

import (
	"math"
	"testing"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

// roundTrip encodes and decodes pcm frame by frame through one encoder and
// one decoder, as a call would.
func roundTrip(t testing.TB, pcm []int16) []int16 {
	t.Helper()
	enc, dec := NewEncoder(), NewDecoder()
	out := make([]int16, len(pcm))
	var payload [FrameBytes]byte
	for off := 0; off+FrameSamples <= len(pcm); off += FrameSamples {
		if n := enc.Encode(payload[:], pcm[off:off+FrameSamples]); n != FrameBytes {
			t.Fatalf("encoded %d bytes", n)
		}
		if n := dec.Decode(out[off:off+FrameSamples], payload[:]); n != FrameSamples {
			t.Fatalf("decoded %d samples", n)
		}
	}
	return out
}

// snrAt is the SNR in dB of out against in delayed by lag samples,
// skipping the first skip samples while the adaptation settles.
func snrAt(in, out []int16, skip, lag int) float64 {
	var sig, noise float64
	for i := skip; i+lag < len(out); i++ {
		e := float64(out[i+lag]) - float64(in[i])
		sig += float64(in[i]) * float64(in[i])
		noise += e * e
	}
	return 10 * math.Log10(sig/max(noise, 1e-9))
}

// TestDelay finds the codec delay with white noise (no periodic
// ambiguity) and checks it is Delay.
func TestDelay(t *testing.T) {
	noise := goldenInput()[16000:32000]
	out := roundTrip(t, noise)
	best, lag := math.Inf(-1), -1
	for l := 0; l <= 64; l++ {
		if s := snrAt(noise, out, 1600, l); s > best {
			best, lag = s, l
		}
	}
	if lag != Delay || best < 10 {
		t.Errorf("best lag %d (SNR %.1f dB), want %d", lag, best, Delay)
	}
}

func TestToneRoundTrip(t *testing.T) {
	candidates := []float64{300, 440, 1000, 2000, 3000, 5000}
	for _, tc := range []struct {
		freq, amp, minSNR float64
	}{
		{1000, 10000, 20},
		{300, 10000, 20},
		{1000, 1000, 20},
		{300, 20000, 20},
		{5000, 8000, 15}, // upper sub-band: 2 bits per sample
	} {
		pcm := make([]int16, SampleRate/2)
		tone.NewGenerator(tc.freq, SampleRate, tc.amp).Fill(pcm)
		out := roundTrip(t, pcm)
		tail := out[len(out)/2:]
		if f, _ := tone.Dominant(tail, SampleRate, candidates); f != tc.freq {
			t.Errorf("%v Hz @%v: dominant %v", tc.freq, tc.amp, f)
		}
		snr := snrAt(pcm, out, 1600, Delay)
		t.Logf("%v Hz @%v: SNR %.1f dB", tc.freq, tc.amp, snr)
		if snr < tc.minSNR {
			t.Errorf("%v Hz @%v: SNR %.1f dB < %v", tc.freq, tc.amp, snr, tc.minSNR)
		}
	}
}

// TestFrameContinuity checks that the codec state runs across calls: coding
// a stream in 20 ms frames, in odd-sized chunks and in one go gives the
// same bytes and the same PCM.
func TestFrameContinuity(t *testing.T) {
	pcm := make([]int16, 16*FrameSamples)
	g1 := tone.NewGenerator(440, SampleRate, 9000)
	g1.Fill(pcm)
	extra := make([]int16, len(pcm))
	tone.NewGenerator(3100, SampleRate, 4000).Fill(extra)
	for i := range pcm {
		pcm[i] += extra[i]
	}

	whole := make([]byte, len(pcm)/2)
	NewEncoder().Encode(whole, pcm)

	for _, chunk := range []int{FrameSamples, 2, 46, 1000} {
		enc := NewEncoder()
		got := make([]byte, 0, len(whole))
		var buf [FrameBytes * 4]byte
		for off := 0; off < len(pcm); off += chunk {
			end := min(off+chunk, len(pcm))
			n := enc.Encode(buf[:], pcm[off:end])
			got = append(got, buf[:n]...)
		}
		if string(got) != string(whole) {
			t.Errorf("chunk %d: encoded stream differs", chunk)
		}
	}

	ref := make([]int16, len(pcm))
	NewDecoder().Decode(ref, whole)
	dec := NewDecoder()
	got := make([]int16, len(pcm))
	for off := 0; off < len(whole); off += FrameBytes {
		dec.Decode(got[2*off:], whole[off:off+FrameBytes])
	}
	for i := range ref {
		if got[i] != ref[i] {
			t.Fatalf("sample %d: framed %d whole %d", i, got[i], ref[i])
		}
	}
	// And the framed stream is clean audio, not just self-consistent.
	if snr := snrAt(pcm, got, 1600, Delay); snr < 20 {
		t.Errorf("framed SNR %.1f dB", snr)
	}
}

func TestSilenceAndReset(t *testing.T) {
	enc, dec := NewEncoder(), NewDecoder()
	silence := make([]int16, FrameSamples)
	payload := make([]byte, FrameBytes)
	out := make([]int16, FrameSamples)
	for range 10 {
		enc.Encode(payload, silence)
		dec.Decode(out, payload)
	}
	for i, s := range out {
		if s < -4 || s > 4 {
			t.Fatalf("silence decoded to %d at %d", s, i)
		}
	}

	loud := make([]int16, FrameSamples)
	tone.NewGenerator(700, SampleRate, 30000).Fill(loud)
	first := make([]byte, FrameBytes)
	NewEncoder().Encode(first, loud)
	enc.Encode(payload, loud)
	enc.Reset()
	enc.Encode(payload, loud)
	if string(payload) != string(first) {
		t.Error("Reset did not restore the initial state")
	}
}

func TestShortBuffers(t *testing.T) {
	enc, dec := NewEncoder(), NewDecoder()
	pcm := make([]int16, 7)
	dst := make([]byte, 10)
	if n := enc.Encode(dst, pcm); n != 3 {
		t.Errorf("odd pcm: %d bytes", n)
	}
	if n := enc.Encode(dst[:1], pcm); n != 1 {
		t.Errorf("short dst: %d bytes", n)
	}
	out := make([]int16, 5)
	if n := dec.Decode(out, dst); n != 4 {
		t.Errorf("short dst: %d samples", n)
	}
	if n := dec.Decode(out, nil); n != 0 {
		t.Errorf("empty: %d samples", n)
	}
}

func TestFullScale(t *testing.T) {
	// Square waves at full scale drive every limiter; output must stay
	// bounded and the codec must recover to a clean tone afterwards.
	pcm := make([]int16, 40*FrameSamples)
	for i := range pcm[:20*FrameSamples] {
		if (i/8)%2 == 0 {
			pcm[i] = math.MaxInt16
		} else {
			pcm[i] = math.MinInt16
		}
	}
	tone.NewGenerator(1000, SampleRate, 10000).Fill(pcm[20*FrameSamples:])
	out := roundTrip(t, pcm)
	tail := out[30*FrameSamples:]
	if f, _ := tone.Dominant(tail, SampleRate, []float64{500, 1000, 2000}); f != 1000 {
		t.Errorf("after overload: dominant %v", f)
	}
}

func BenchmarkEncode(b *testing.B) {
	pcm := make([]int16, FrameSamples)
	tone.NewGenerator(440, SampleRate, 10000).Fill(pcm)
	enc := NewEncoder()
	dst := make([]byte, FrameBytes)
	b.ReportAllocs()
	for b.Loop() {
		enc.Encode(dst, pcm)
	}
}

func BenchmarkDecode(b *testing.B) {
	pcm := make([]int16, FrameSamples)
	tone.NewGenerator(440, SampleRate, 10000).Fill(pcm)
	src := make([]byte, FrameBytes)
	NewEncoder().Encode(src, pcm)
	dec := NewDecoder()
	b.ReportAllocs()
	for b.Loop() {
		dec.Decode(pcm, src)
	}
}
