package test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/test/internal/chrome"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// Tones of TestBrowserHearsPhones: each party sends its own, and bpUnrelated
// is a frequency nobody sends, the floor the others are compared with.
const (
	bpToneA       = 440.0
	bpToneB       = 1000.0
	bpToneBrowser = 2000.0
	bpUnrelated   = 3100.0
)

// Thresholds of TestBrowserHearsPhones.
const (
	// bpMinBinRise is how far (dB) a phone's bin in the browser's spectrum
	// must stand above the median bin of the telephone band.
	bpMinBinRise = 20.0
	// bpMinPowerRatio is how much more power a phone must hear at a tone
	// that was sent than at bpUnrelated, and at each tone it should hear
	// than at its own.
	bpMinPowerRatio = 100.0
	// bpCallDuration is how long each phone stays in the room.
	bpCallDuration = 12 * time.Second
)

// TestBrowserHearsPhones puts a Chromium room page, whose microphone sends
// a steady 2000 Hz tone, into room demo with two phones sending 440 Hz (A)
// and 1000 Hz (B). The page must hear both phones (a WebAudio analyser on
// its remote audio shows both tones well above the rest of the band) and
// not itself, and each phone must hear the browser and the other phone but
// not itself.
func TestBrowserHearsPhones(t *testing.T) {
	wav := filepath.Join(t.TempDir(), "mic-2000hz.wav")
	bpWriteTone(t, wav, bpToneBrowser, 48000, 30*time.Second)
	// Chromium loops the file unless its path ends in %noloop.
	b := bpLaunchBrowser(t, "--use-file-for-fake-audio-capture="+wav)
	srv := startSIPGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	page := openRoomPIN(ctx, t, b, srv.URL, "demo", "browser", harness.DemoPIN)
	mustEval(ctx, t, page, bpAnalyserJS)
	// The phones should hear the browser from their first second on.
	wait(ctx, t, page, `window.roombridge.pub.getSenders().some(s => s.track && s.track.kind === 'audio') &&
		window.roombridge.pub.connectionState === 'connected'`)

	target := "sip:demo@" + srv.SIPAddr
	phoneA := sipStartCaller(t, caller.Options{
		Target: target, Transport: uac.TransportUDP,
		Codec: caller.CodecPCMU, Tone: bpToneA, Duration: bpCallDuration,
	})
	phoneB := sipStartCaller(t, caller.Options{
		Target: target, Transport: uac.TransportUDP,
		Codec: caller.CodecPCMU, Tone: bpToneB, Duration: bpCallDuration,
	})

	spec := bpWaitHearsPhones(ctx, t, page)
	t.Logf("browser hears: %s", spec)
	// The SFU must not send the browser its own microphone back.
	if own := spec.Levels[2]; own > min(spec.Levels[0], spec.Levels[1])-bpMinBinRise {
		t.Errorf("the browser hears its own %.0f Hz at %.1f dB, within %.0f dB of the phones: %s", bpToneBrowser, own, bpMinBinRise, spec)
	}

	repA := phoneA.wait(t, bpCallDuration+20*time.Second)
	repB := phoneB.wait(t, bpCallDuration+20*time.Second)
	bpCheckPhone(t, "phone A", repA, bpToneA, []float64{bpToneBrowser, bpToneB})
	bpCheckPhone(t, "phone B", repB, bpToneB, []float64{bpToneBrowser, bpToneA})
}

// bpWriteTone writes d of a sine of freq Hz at -6 dBFS to a mono 16-bit
// WAV file at path.
func bpWriteTone(t *testing.T, path string, freq float64, rate int, d time.Duration) {
	t.Helper()
	pcm := make([]int16, int(d.Seconds()*float64(rate)))
	tone.NewGenerator(freq, rate, 16384).Fill(pcm)
	if err := caller.SaveWAV(path, rate, pcm); err != nil {
		t.Fatal(err)
	}
}

// bpLaunchBrowser is launchBrowser with extra Chromium flags.
func bpLaunchBrowser(t *testing.T, args ...string) *chrome.Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end browser test; skipped with -short")
	}
	path := chrome.DefaultPath
	if p := os.Getenv("CHROME_PATH"); p != "" {
		path = p
	}
	harness.RequireTool(t, path)
	return chrome.Launch(t, chrome.Options{Args: args})
}

// bpAnalyserJS installs window.bpSpectrum in the page: it feeds every live
// remote audio track of the "sub" PeerConnection (or window.bpPC()) (those that arrive later
// too) into one AnalyserNode and returns a bpSpectrum. The page plays the
// same tracks through its tiles' audio elements, which Chromium needs
// before it hands remote audio to WebAudio.
const bpAnalyserJS = `(() => {
	if (window.bpSpectrum) return;
	const ctx = new AudioContext();
	const an = ctx.createAnalyser();
	an.fftSize = 8192;
	an.smoothingTimeConstant = 0.5;
	// A silent path to the destination keeps the graph pulled.
	const mute = ctx.createGain();
	mute.gain.value = 0;
	an.connect(mute).connect(ctx.destination);
	const seen = new Map();
	const data = new Float32Array(an.frequencyBinCount);
	window.bpSpectrum = (freqs, lo, hi) => {
		if (ctx.state !== 'running') ctx.resume();
		// window.bpPC, when a page sets it, names another PeerConnection
		// (the /call page's JsSIP session).
		const pc = window.bpPC ? window.bpPC() : window.roombridge.sub;
		for (const r of pc ? pc.getReceivers() : []) {
			const tr = r.track;
			if (!tr || tr.kind !== 'audio' || tr.readyState !== 'live' || seen.has(tr.id)) continue;
			const src = ctx.createMediaStreamSource(new MediaStream([tr]));
			src.connect(an);
			seen.set(tr.id, src);
		}
		an.getFloatFrequencyData(data);
		const hz = ctx.sampleRate / an.fftSize;
		const db = (v) => Number.isFinite(v) ? v : -999;
		// A tone's level is the loudest of its bin and the two beside it.
		const level = (f) => {
			const k = Math.round(f / hz);
			return Math.max(db(data[k - 1]), db(data[k]), db(data[k + 1]));
		};
		const band = [];
		for (let k = Math.ceil(lo / hz); k <= Math.floor(hi / hz); k++) band.push(db(data[k]));
		band.sort((a, b) => a - b);
		const peaks = [];
		for (let k = Math.ceil(lo / hz); k <= Math.floor(hi / hz); k++) {
			if (data[k] > data[k - 1] && data[k] >= data[k + 1]) peaks.push([Math.round(k * hz), Math.round(db(data[k]))]);
		}
		peaks.sort((a, b) => b[1] - a[1]);
		return {
			state: ctx.state, rate: ctx.sampleRate, tracks: seen.size,
			levels: freqs.map(level), median: band[band.length >> 1], top: peaks.slice(0, 6),
		};
	};
})()`

// bpSpectrum is what window.bpSpectrum returns: Levels in dB for the
// frequencies asked for, the median bin of the band and its strongest
// peaks as [Hz, dB].
type bpSpectrum struct {
	State  string       `json:"state"`
	Rate   float64      `json:"rate"`
	Tracks int          `json:"tracks"`
	Levels []float64    `json:"levels"`
	Median float64      `json:"median"`
	Top    [][2]float64 `json:"top"`
}

// bpFreqs are the frequencies the analyser reports, in Levels' order.
var bpFreqs = []float64{bpToneA, bpToneB, bpToneBrowser, bpUnrelated}

func (s bpSpectrum) String() string {
	var levels []string
	for i, f := range bpFreqs {
		if i < len(s.Levels) {
			levels = append(levels, fmt.Sprintf("%.0f Hz %.1f dB (%+.1f)", f, s.Levels[i], s.Levels[i]-s.Median))
		}
	}
	return fmt.Sprintf("%s at %.0f Hz, %d tracks; median of 100–3900 Hz %.1f dB; %s; top %v",
		s.State, s.Rate, s.Tracks, s.Median, strings.Join(levels, ", "), s.Top)
}

// hears reports whether both phones' bins stand bpMinBinRise above the
// median.
func (s bpSpectrum) hears() bool {
	return len(s.Levels) == len(bpFreqs) &&
		s.Levels[0]-s.Median >= bpMinBinRise && s.Levels[1]-s.Median >= bpMinBinRise
}

// bpWaitHearsPhones polls the page's analyser until it hears both phones
// and returns that spectrum; it fails t with the last one at the deadline.
func bpWaitHearsPhones(ctx context.Context, t *testing.T, page *chrome.Page) bpSpectrum {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, bpCallDuration)
	defer cancel()
	js := fmt.Sprintf("window.bpSpectrum([%g, %g, %g, %g], 100, 3900)", bpFreqs[0], bpFreqs[1], bpFreqs[2], bpFreqs[3])
	var last bpSpectrum
	for {
		var s bpSpectrum
		err := page.EvalInto(ctx, js, &s)
		if err == nil {
			last = s
			if s.hears() {
				return s
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the browser does not hear both phones (%v, last error %v): %s", ctx.Err(), err, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// bpCheckPhone checks that a phone heard each of want at least
// bpMinPowerRatio times more strongly than bpUnrelated and than its own
// tone.
func bpCheckPhone(t *testing.T, who string, r *caller.Report, own float64, want []float64) {
	t.Helper()
	floor, self := r.PowerAt(bpUnrelated), r.PowerAt(own)
	var figures []string
	for _, f := range want {
		p := r.PowerAt(f)
		figures = append(figures, fmt.Sprintf("%.0f Hz %.1f dB: %.0f× %.0f Hz, %.0f× own", f, bpDB(p), p/floor, bpUnrelated, p/self))
		if p < bpMinPowerRatio*floor || p < bpMinPowerRatio*self {
			t.Errorf("%s: %.0f Hz power %.3g, want ≥ %.0f× %.0f Hz (%.3g) and own %.0f Hz (%.3g); peaks %v, %s",
				who, f, p, bpMinPowerRatio, bpUnrelated, floor, own, self, r.Peaks, sipDescribe(r.Heard))
		}
	}
	t.Logf("%s heard %s; own %.0f Hz %.1f dB, %.0f Hz %.1f dB; peaks %v; %d packets received, loss %.1f%%",
		who, strings.Join(figures, ", "), own, bpDB(self), bpUnrelated, bpDB(floor), r.Peaks, r.PacketsReceived, 100*r.LossFraction)
}

// bpDB is a Goertzel power in dB relative to a full-scale sine.
func bpDB(p float64) float64 { return 10 * math.Log10(p/0.25) }
