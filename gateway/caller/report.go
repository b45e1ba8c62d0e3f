package caller

import (
	"math"
	"time"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

// Report is what a call did and what the caller heard.
type Report struct {
	Target    string
	Transport string
	Codec     string
	SRTP      bool

	// Answered is true once a 2xx arrived. Status is the final status of
	// the INVITE (200, 486, ...; 0 when none arrived) and Reason its
	// reason phrase.
	Answered bool
	Status   int
	Reason   string
	// SetupTime is from sending the INVITE to the 2xx.
	SetupTime time.Duration

	// Rate is the sample rate of Heard; Heard is what the caller played
	// out, one 20 ms frame per tick of its clock from the first frame on:
	// decoded from the jitter buffer, or silence for frames that were lost
	// or did not come (the stream stalled or stopped).
	Rate  int
	Heard []int16 `json:"-"`
	// LateTicks counts the caller's own clock waking more than a frame
	// late (its process short of CPU): it then sent and played out the
	// frames it had missed. SkippedFrames are frames of stalls too long
	// to catch up on: not sent, and silence in Heard. Both say the
	// caller, not the far end, was at fault.
	LateTicks     int
	SkippedFrames int
	// HeardRMS is the level of the second half of Heard in dBFS (RMS
	// relative to a full-scale square wave; a full-scale sine reads -3).
	// Peaks are its dominant frequencies, strongest first. The second
	// half skips the jitter buffer's start and the first echo.
	HeardRMS float64
	Peaks    []float64

	// RTP counters from our session (RFC 3550 Appendix A): what we sent,
	// what we received, and loss and jitter of what we received. RTT is
	// from RTCP, zero until a report with LSR arrived. MOS is the E-model
	// estimate of what we heard.
	PacketsSent     uint64
	PacketsReceived uint64
	Lost            int64
	LossFraction    float64
	Jitter          time.Duration
	RTT             time.Duration
	MOS             float64

	// DTMFSent are the digits sent; DTMFReceived those that came back as
	// RFC 4733 events or INFO.
	DTMFSent     string
	DTMFReceived string

	// RemoteHangup is true when the far end sent BYE; MediaTimeout when
	// the caller hung up because nothing arrived for Options.RTPTimeout.
	// Duration is from the answer to the end of the call.
	RemoteHangup bool
	MediaTimeout bool
	Duration     time.Duration
}

// analysisWindow is the part of Heard that levels and peaks are measured
// on: its second half.
func (r *Report) analysisWindow() []int16 {
	return r.Heard[len(r.Heard)/2:]
}

// PowerAt is the Goertzel power of freq in the second half of what was
// heard, normalised so that a full-scale sine gives about 0.25 (see
// gateway/media/tone). Compare it with other frequencies, or with
// tone.Power of the sent signal, rather than with a fixed number.
func (r *Report) PowerAt(freq float64) float64 {
	if r.Rate == 0 {
		return 0
	}
	return tone.Power(r.analysisWindow(), r.Rate, freq)
}

// HeardFrequency reports whether freq is among the dominant frequencies,
// within tol Hz.
func (r *Report) HeardFrequency(freq, tol float64) bool {
	for _, p := range r.Peaks {
		if math.Abs(p-freq) <= tol {
			return true
		}
	}
	return false
}

// silenceDBFS is the level reported for digital silence.
const silenceDBFS = -120.0

// peakWindow bounds the audio Peaks scans, in seconds: the scan costs
// bins × samples.
const peakWindow = 1

// analyse fills HeardRMS and Peaks from Heard.
func (r *Report) analyse() {
	w := r.analysisWindow()
	r.HeardRMS = silenceDBFS
	if rms := tone.RMS(w); rms > 0 {
		r.HeardRMS = max(20*math.Log10(rms), silenceDBFS)
	}
	if r.HeardRMS <= -70 {
		r.Peaks = nil // nothing but noise: no meaningful peaks
		return
	}
	w = loudestSpan(w, peakWindow*r.Rate)
	// Keep the peaks within peakRange of the strongest: the others are
	// window side lobes and codec noise, not tones.
	peaks := tone.Peaks(w, r.Rate, 3)
	r.Peaks = peaks[:0]
	top := 0.0
	for i, f := range peaks {
		p := tone.Power(w, r.Rate, f)
		if i == 0 {
			top = p
		}
		if p >= top*peakRange {
			r.Peaks = append(r.Peaks, f)
		}
	}
}

// peakRange is how much weaker than the strongest a peak may be: 30 dB.
const peakRange = 1e-3

// loudestSpan returns the n-sample span of w (stepping by n/4) with the
// most energy, so that the peaks describe what was heard rather than the
// silence after the other side left.
func loudestSpan(w []int16, n int) []int16 {
	if len(w) <= n || n <= 0 {
		return w
	}
	best, bestAt := -1.0, 0
	for at := 0; at+n <= len(w); at += max(n/4, 1) {
		if e := tone.RMS(w[at : at+n]); e > best {
			best, bestAt = e, at
		}
	}
	return w[bestAt : bestAt+n]
}
