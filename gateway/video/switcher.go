package video

import "time"

// Defaults of a Switcher.
const (
	// DefaultKeyframeRetry is how often a switch that waits for the new
	// source's keyframe asks for it again.
	DefaultKeyframeRetry = 500 * time.Millisecond
	// DefaultSwitchTimeout is how long a switch waits for that keyframe
	// before it is given up and the old source stays.
	DefaultSwitchTimeout = 3 * time.Second
)

// SwitcherConfig tunes a Switcher; zero values take the defaults.
type SwitcherConfig struct {
	KeyframeRetry time.Duration
	SwitchTimeout time.Duration
}

// SwitcherStats counts what a Switcher did.
type SwitcherStats struct {
	// Switches counts completed switches (the first source included),
	// Abandoned those given up because no keyframe came in time.
	Switches, Abandoned uint64
	// Forwarded and Dropped count access units passed on or not.
	Forwarded, Dropped uint64
	// Undecodable counts keyframes of a pending source that could not be
	// switched to: no SPS/PPS known for them.
	Undecodable uint64
}

// SwitchedFrame is an access unit the room system is to receive.
type SwitchedFrame struct {
	// Data is valid until the next call to Frame.
	Data []byte
	// Timestamp is on the output's timeline (90 kHz), continuous across
	// switches.
	Timestamp uint32
	Keyframe  bool
	// Switched is set on the first access unit of a newly selected source
	// (always a keyframe).
	Switched bool
}

// Switcher picks, of several H.264 sources in a room, the one a room
// system receives on its single video stream: the active speaker, or a
// pinned participant. The room system's decoder must never notice a
// switch: so the Switcher
//
//   - keeps forwarding the old source after a switch is requested, until
//     the new source's next keyframe (an IDR whose SPS/PPS are known, put
//     in front if it came without them, [ParamSets.Prepare]); the first
//     access unit of the new source is that keyframe;
//   - asks for that keyframe at once ([Switcher.Select] says so), again
//     every KeyframeRetry ([Switcher.Poll]), and gives the switch up after
//     SwitchTimeout, keeping the old source;
//   - rewrites timestamps so that the output's time runs on across the
//     switch: the new source's keyframe is placed after the last access
//     unit sent by the wall-clock time between them.
//
// SSRC and sequence numbers stay continuous because one [Packetizer]
// packetizes everything the Switcher passes, whatever the source.
//
// Sources are named by the caller (track ids). A Switcher is used from one
// goroutine; it allocates only when it meets a source for the first time.
type Switcher struct {
	cfg     SwitcherConfig
	sources map[string]*switchSource
	scratch []byte

	cur, pending string
	pendingSince time.Time
	lastAsk      time.Time

	offset    uint32 // output timestamp − current source's timestamp
	lastOut   uint32
	lastOutAt time.Time
	haveOut   bool

	stats SwitcherStats
}

type switchSource struct {
	params ParamSets
	lastTS uint32
	seen   bool
}

// NewSwitcher returns a Switcher with no source selected.
func NewSwitcher(cfg SwitcherConfig) *Switcher {
	if cfg.KeyframeRetry <= 0 {
		cfg.KeyframeRetry = DefaultKeyframeRetry
	}
	if cfg.SwitchTimeout <= 0 {
		cfg.SwitchTimeout = DefaultSwitchTimeout
	}
	return &Switcher{cfg: cfg, sources: map[string]*switchSource{}}
}

// Current returns the source being forwarded, "" for none.
func (s *Switcher) Current() string { return s.cur }

// Pending returns the source waited for, "" for none.
func (s *Switcher) Pending() string { return s.pending }

// Stats returns the counters so far.
func (s *Switcher) Stats() SwitcherStats { return s.stats }

func (s *Switcher) source(id string) *switchSource {
	src := s.sources[id]
	if src == nil {
		src = &switchSource{}
		s.sources[id] = src
	}
	return src
}

// Select asks for id to become what the room system sees, and reports
// whether the caller should ask id for a keyframe now (through its
// [KeyframeLimiter]). Selecting the current source cancels a pending
// switch.
func (s *Switcher) Select(id string, now time.Time) (askKeyframe bool) {
	switch id {
	case s.cur:
		s.pending = ""
		return false
	case s.pending:
		return false
	}
	s.source(id)
	s.pending, s.pendingSince, s.lastAsk = id, now, now
	return true
}

// Remove forgets a source that ended. If it was being forwarded, the
// output pauses until the pending source (select one) sends a keyframe.
func (s *Switcher) Remove(id string) {
	delete(s.sources, id)
	if s.cur == id {
		s.cur = ""
	}
	if s.pending == id {
		s.pending = ""
	}
}

// Poll returns the source to ask for a keyframe again, if a switch has
// waited KeyframeRetry since the last ask. A switch that has waited
// SwitchTimeout while an old source is still forwarded is given up.
// Call it from the leg's timer, a few times a second.
func (s *Switcher) Poll(now time.Time) (ask string, ok bool) {
	if s.pending == "" {
		return "", false
	}
	if s.cur != "" && now.Sub(s.pendingSince) >= s.cfg.SwitchTimeout {
		s.pending = ""
		s.stats.Abandoned++
		return "", false
	}
	if now.Sub(s.lastAsk) >= s.cfg.KeyframeRetry {
		s.lastAsk = now
		return s.pending, true
	}
	return "", false
}

// Frame offers one access unit of source id (Annex B, RTP timestamp ts in
// the source's 90 kHz clock, arrived at now) and returns what to send to
// the room system, if anything.
func (s *Switcher) Frame(id string, au []byte, ts uint32, now time.Time) (SwitchedFrame, bool) {
	if id != s.cur && id != s.pending {
		s.stats.Dropped++
		return SwitchedFrame{}, false
	}
	src := s.source(id)
	data, key, decodable := src.params.Prepare(au, s.scratch)
	if len(data) > 0 && &data[0] != &au[0] {
		s.scratch = data[:0] // keep the grown buffer
	}
	f := SwitchedFrame{Data: data, Keyframe: key}
	switch {
	case id == s.pending && key && decodable:
		s.cur, s.pending = id, ""
		s.stats.Switches++
		f.Switched = true
		s.anchor(ts, now)
	case id == s.pending:
		if key {
			s.stats.Undecodable++
		}
		s.stats.Dropped++
		return SwitchedFrame{}, false
	case src.seen && int32(ts-src.lastTS) <= 0 || src.seen && ts-src.lastTS > 10*ClockRate:
		// The source's clock went back or jumped (it republished):
		// place it after what was sent, as at a switch.
		s.anchor(ts, now)
	}
	src.lastTS, src.seen = ts, true
	f.Timestamp = ts + s.offset
	s.lastOut, s.lastOutAt, s.haveOut = f.Timestamp, now, true
	s.stats.Forwarded++
	return f, true
}

// anchor sets the offset so that ts lands after the last timestamp sent,
// by the wall-clock time since (at least one tick).
func (s *Switcher) anchor(ts uint32, now time.Time) {
	if !s.haveOut {
		s.offset = 0
		return
	}
	gap := max(now.Sub(s.lastOutAt), 0)
	ticks := uint32(max(int64(gap)*ClockRate/int64(time.Second), 1))
	s.offset = s.lastOut + ticks - ts
}
