package loadgen

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/media/tone"
)

// ProbeStats is what the probe's listener heard in the steady window.
type ProbeStats struct {
	// Placed is false when the run had no probe; Answered when both
	// probe calls were answered.
	Placed   bool `json:"placed"`
	Answered bool `json:"answered"`
	// Frames is how many 20 ms frames the listener played out in the
	// window, Bad how many of them were quiet: the probe tone more than
	// probeQuietDB below its median frame, which is what a lost, late or
	// concealed frame sounds like after the listener's jitter buffer.
	Frames     int     `json:"frames"`
	Bad        int     `json:"bad"`
	BadPercent float64 `json:"bad_percent"`
	// LongestBadMS is the longest run of bad frames.
	LongestBadMS float64 `json:"longest_bad_ms"`
	// LateTicks counts the probe calls' own clocks (talker and listener,
	// in this process) waking more than a frame late, SkippedFrames the
	// frames they lost to stalls too long to catch up on: a bad frame
	// with skipped frames is the load generator's fault, not the
	// gateway's.
	LateTicks     int `json:"late_ticks"`
	SkippedFrames int `json:"skipped_frames"`
}

// probeQuietDB is how far below its median a frame's tone power must fall
// to count as a bad frame: 20 dB is far below any codec's or mixer's
// variation on a steady tone, and far above the floor of a silent frame.
const probeQuietDB = 20

// probeTail is how many frames at the end of the listener's recording are
// left out: they follow the end of the window (the hang-up).
const probeTail = 10

// probe is the two probe calls of a run.
type probe struct {
	wg               sync.WaitGroup
	tone             float64
	talker, listener legResult
}

// startProbe places the probe's talker and listener with base options;
// they run until ctx ends.
func startProbe(ctx context.Context, base caller.Options, cfg Config) *probe {
	p := &probe{tone: cfg.ProbeTone}
	uri := "sip:" + cfg.probeRoom() + "@" + cfg.Target
	talk := base
	talk.Target, talk.Tone, talk.Play, talk.Loop = uri, cfg.ProbeTone, nil, false
	listen := base
	listen.Target, listen.Tone, listen.Play, listen.Loop = uri, 0, nil, false
	for _, c := range []struct {
		o   caller.Options
		res *legResult
	}{{talk, &p.talker}, {listen, &p.listener}} {
		c.res.start = time.Now()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			c.res.rep, c.res.err = caller.Run(ctx, c.o)
		}()
	}
	return p
}

// stats analyses the listener's last window of frames; call it after the
// probe calls ended.
func (p *probe) stats(window time.Duration) ProbeStats {
	p.wg.Wait()
	s := ProbeStats{Placed: true}
	t, l := p.talker.rep, p.listener.rep
	if t == nil || l == nil || !t.Answered || !l.Answered || l.Rate == 0 {
		return s
	}
	s.Answered = true
	s.LateTicks = t.LateTicks + l.LateTicks
	s.SkippedFrames = t.SkippedFrames + l.SkippedFrames
	fs := l.Rate / 50
	frames := len(l.Heard)/fs - probeTail
	n := min(int(window/(20*time.Millisecond)), frames)
	if n <= 0 {
		return s
	}
	power := make([]float64, n)
	for i := range n {
		k := frames - n + i
		power[i] = tone.Power(l.Heard[k*fs:(k+1)*fs], l.Rate, p.tone)
	}
	sorted := slices.Clone(power)
	slices.Sort(sorted)
	floor := sorted[n/2] * math.Pow(10, -probeQuietDB/10)
	run := 0
	for _, pw := range power {
		if pw < floor || pw == 0 {
			s.Bad++
			run++
			s.LongestBadMS = max(s.LongestBadMS, float64(run*20))
		} else {
			run = 0
		}
	}
	s.Frames = n
	s.BadPercent = 100 * float64(s.Bad) / float64(n)
	return s
}
