package bridge

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/roombridge/roombridge/gateway/media/g711"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/vad"
	"github.com/roombridge/roombridge/gateway/media/wav"
)

// The quality check behind the Opus settings (opus.go): the same speech,
// encoded and decoded, compared with itself by spectrum, segmental SNR and
// level. A phone's narrowband voice is the speech fixture; the wideband
// mix an Opus leg hears is espeak-ng's speech at 16 kHz.
func TestOpusSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	// The setting until these measurements.
	before := opus.EncoderConfig{Complexity: 5}
	nb := speechFixture(t)
	got := checkSetting(t, "phone voice, 8 kHz", nb, narrowRate, PhoneOpus, before, 3, 0.5)
	gated := roundTrip(t, nb, narrowRate, PhoneOpus, true)
	t.Logf("VAD-gated: %v", gated)
	if math.Abs(gated.lsd-got.lsd) > 0.2 || gated.encoded >= got.encoded {
		t.Errorf("the voice gate changes the speech (%v against %v) or saves no frame", gated, got)
	}
	checkSetting(t, "mix, 16 kHz", widebandSpeech(t), wideRate, MixOpus, before, 4.5, 1)
}

// checkSetting scores cfg on speech at rate against complexity 10 at the
// same bitrate and against the setting before: its spectrum must stay
// within maxLSD of the original and within slack of complexity 10's, its
// level within 1 dB, and it must beat the setting before.
func checkSetting(t *testing.T, what string, speech []int16, rate int, cfg, before opus.EncoderConfig, maxLSD, slack float64) score {
	t.Helper()
	got := roundTrip(t, speech, rate, cfg, false)
	best := roundTrip(t, speech, rate, opus.EncoderConfig{Complexity: 10, Bitrate: cfg.Bitrate}, false)
	old := roundTrip(t, speech, rate, before, false)
	t.Logf("%s, %+v: %v; complexity 10: %v; before (%+v): %v", what, cfg, got, best, before, old)
	switch {
	case got.lsd > maxLSD || math.Abs(got.level) > 1:
		t.Errorf("%s coloured: %v", what, got)
	case got.lsd > best.lsd+slack || got.segSNR < best.segSNR-1:
		t.Errorf("%s: complexity 10 is clearly better: %v against %v", what, got, best)
	case got.lsd >= old.lsd:
		t.Errorf("%s: no better than before: %v against %v", what, got, old)
	}
	return got
}

// score is what roundTrip measured.
type score struct {
	lsd, segSNR, level float64
	encoded, frames    int
	kbps               float64
}

func (s score) String() string {
	return fmt.Sprintf("LSD %.2f dB, segSNR %.1f dB, level %+.2f dB, %d/%d frames at %.1f kbit/s",
		s.lsd, s.segSNR, s.level, s.encoded, s.frames, s.kbps)
}

// roundTrip encodes pcm (at rate) with cfg as a leg would, frames the
// voice detector calls silence skipped when gate is set (the receiver then
// hears silence), decodes it and scores the result.
func roundTrip(t *testing.T, pcm []int16, rate int, cfg opus.EncoderConfig, gate bool) score {
	t.Helper()
	enc, err := opus.NewEncoder(rate, 1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	det := vad.NewDetector(vad.Config{})
	det.Update(vadStartFloor)
	fs := samples(rate)
	pkt, frame := make([]byte, opus.MaxFrameBytes), make([]int16, fs)
	out := make([]int16, 0, len(pcm))
	var s score
	bytes := 0
	for i := 0; i+fs <= len(pcm); i += fs {
		s.frames++
		in := pcm[i : i+fs]
		if gate && !det.Frame(in).Active {
			out = append(out, make([]int16, fs)...)
			continue
		}
		n, err := enc.Encode(in, pkt)
		if err != nil {
			t.Fatal(err)
		}
		k, err := dec.Decode(pkt[:n], frame)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, frame[:k]...)
		s.encoded++
		bytes += n
	}
	s.lsd, s.segSNR, s.level = spectralScore(pcm, out, rate)
	s.kbps = float64(bytes*8) / float64(s.frames) / 20
	return s
}

// widebandSpeech is espeak-ng's speech at 16 kHz, made with sox as the
// fixtures are (test/fixtures/gen). Without the tools the test is skipped,
// except under CI=true, where they belong to the image.
func widebandSpeech(t *testing.T) []int16 {
	t.Helper()
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI: %v", tool, err)
			}
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	dir := t.TempDir()
	raw, out := filepath.Join(dir, "speech.wav"), filepath.Join(dir, "speech16k.wav")
	text := "This is the Roombridge speech test. A phone call joins the room, and everyone hears it. One, two, three."
	if b, err := exec.Command("espeak-ng", "-v", "en-us", "-s", "165", "-w", raw, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, b)
	}
	if b, err := exec.Command("sox", "-R", "-D", raw, "-r", "16000", "-c", "1", "-b", "16", out, "norm", "-3").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, rate, err := wav.Read(f)
	if err != nil || rate != wideRate {
		t.Fatalf("wideband speech: %d Hz, %v", rate, err)
	}
	return pcm
}

// speechFixture is the speech of test/fixtures/speech.pcap (espeak-ng,
// 7.3 s of G.711 µ-law RTP) as 8 kHz PCM.
func speechFixture(tb testing.TB) []int16 {
	tb.Helper()
	speechOnce.Do(func() { speech, errReadSpeech = readSpeech() })
	if errReadSpeech != nil {
		tb.Fatal(errReadSpeech)
	}
	return speech
}

var (
	speechOnce    sync.Once
	speech        []int16
	errReadSpeech error
)

func readSpeech() ([]int16, error) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "test", "fixtures", "speech.pcap"))
	if err != nil {
		return nil, err
	}
	// pcap: a 24-byte file header, then records of a 16-byte header
	// (captured length at offset 8) and an Ethernet/IPv4/UDP/RTP frame.
	const hdrs = 14 + 20 + 8 + 12
	var pcm []int16
	for off := 24; off+16 <= len(raw); {
		n := int(binary.LittleEndian.Uint32(raw[off+8:]))
		frame := raw[off+16 : off+16+n]
		off += 16 + n
		if len(frame) <= hdrs {
			continue
		}
		payload := frame[hdrs:]
		buf := make([]int16, len(payload))
		g711.DecodeUlaw(buf, payload)
		pcm = append(pcm, buf...)
	}
	return pcm, nil
}

// spectralScore compares what came out of a codec with what went in, both
// at rate: it finds the codec's delay (the lag of the highest
// cross-correlation, up to 40 ms) and returns, over the frames where the
// input speaks (within 40 dB of its loudest frame), the mean log-spectral
// distance in dB from 100 Hz to 95 % of the band (3.8 kHz at 8 kHz; 0 is
// identical, about 1 dB is transparent, above 3 dB audibly coloured), the
// segmental SNR in dB, and the output's level relative to the input's.
func spectralScore(in, out []int16, rate int) (lsd, segSNR, level float64) {
	lag := bestLag(in, out, rate*40/1000)
	out = out[lag:]
	n := min(len(in), len(out))
	in, out = in[:n], out[:n]
	const win = spectrumN
	fs := rate / 50
	var peak float64
	for i := 0; i+fs <= n; i += fs {
		peak = max(peak, energy(in[i:i+fs]))
	}
	lo, hi := 100*win/rate, win*19/40 // 100 Hz to 0.95 of the band edge
	var frames int
	var eIn, eOut float64
	for i := 0; i+win <= n; i += fs {
		e := energy(in[i : i+fs])
		if e < peak*1e-4 || e == 0 {
			continue
		}
		pa, pb := spectrum(in[i:i+win]), spectrum(out[i:i+win])
		// Bins more than 50 dB below the input's strongest are noise
		// floor, on either side: clamp them there.
		var top float64
		for k := lo; k <= hi; k++ {
			top = max(top, pa[k])
		}
		if top == 0 {
			continue
		}
		floor := top * 1e-5
		var d float64
		for k := lo; k <= hi; k++ {
			r := 10 * math.Log10(max(pa[k], floor)/max(pb[k], floor))
			d += r * r
		}
		lsd += math.Sqrt(d / float64(hi-lo+1))
		var noise float64
		for j := i; j < i+fs; j++ {
			diff := float64(in[j]) - float64(out[j])
			noise += diff * diff
		}
		segSNR += min(max(10*math.Log10(e/(noise+1)), -10), 35)
		eIn += e
		eOut += energy(out[i : i+fs])
		frames++
	}
	return lsd / float64(frames), segSNR / float64(frames), 10 * math.Log10(eOut/eIn)
}

func energy(pcm []int16) float64 {
	var e float64
	for _, v := range pcm {
		e += float64(v) * float64(v)
	}
	return e
}

// bestLag is the delay of b behind a, 0..maxLag samples, with the highest
// normalised cross-correlation.
func bestLag(a, b []int16, maxLag int) int {
	best, bestC := 0, math.Inf(-1)
	for lag := 0; lag <= maxLag; lag++ {
		var c, eb float64
		for i := 0; i+lag < len(b) && i < len(a); i++ {
			c += float64(a[i]) * float64(b[i+lag])
			eb += float64(b[i+lag]) * float64(b[i+lag])
		}
		if c /= math.Sqrt(eb + 1); c > bestC {
			best, bestC = lag, c
		}
	}
	return best
}

// spectrum is the power spectrum of a Hann-windowed block of spectrumN
// samples.
func spectrum(x []int16) []float64 {
	twiddleOnce.Do(func() {
		for i := range spectrumN {
			hann[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/(spectrumN-1))
			cosT[i] = math.Cos(2 * math.Pi * float64(i) / spectrumN)
			sinT[i] = math.Sin(2 * math.Pi * float64(i) / spectrumN)
		}
	})
	p := make([]float64, spectrumN/2+1)
	for k := range p {
		var re, im float64
		for i, v := range x[:spectrumN] {
			w := float64(v) * hann[i]
			j := k * i % spectrumN
			re += w * cosT[j]
			im -= w * sinT[j]
		}
		p[k] = re*re + im*im
	}
	return p
}

const spectrumN = 256

var (
	twiddleOnce      sync.Once
	hann, cosT, sinT [spectrumN]float64
)
