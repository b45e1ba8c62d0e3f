package vad

import "time"

// Config tunes a Detector. Zero fields take the defaults in brackets.
type Config struct {
	FrameDuration time.Duration // duration of each frame given to Frame [20 ms]
	Hangover      time.Duration // stay active this long after the last voiced frame [200 ms]
	MarginDB      float64       // voice must exceed the noise floor by this [9 dB]
	MinLevel      float64       // never voice below this, dBov [−60]
	// The noise floor drops to quieter frames at once and climbs towards
	// louder ones by at most FloorRiseDB per second while the gate is
	// closed [3 dB/s], and a tenth of that while it is open, so long
	// speech does not become the floor.
	FloorRiseDB float64
}

// Decision is the verdict on one frame.
type Decision struct {
	Active bool    // voice, or within the hangover after it
	Voiced bool    // this frame alone is above the threshold
	Level  float64 // frame level, dBov
	Floor  float64 // noise floor estimate, dBov
}

// Detector is an energy voice activity gate with an adaptive noise floor.
type Detector struct {
	cfg      Config
	floor    float64
	started  bool
	hangLeft time.Duration
	riseOff  float64 // floor rise per frame, gate closed
	riseOn   float64 // floor rise per frame, gate open
}

// NewDetector returns a detector; the noise floor starts at the level of
// the first frame.
func NewDetector(cfg Config) *Detector {
	if cfg.FrameDuration <= 0 {
		cfg.FrameDuration = 20 * time.Millisecond
	}
	if cfg.Hangover <= 0 {
		cfg.Hangover = 200 * time.Millisecond
	}
	if cfg.MarginDB <= 0 {
		cfg.MarginDB = 9
	}
	if cfg.MinLevel == 0 {
		cfg.MinLevel = -60
	}
	if cfg.FloorRiseDB <= 0 {
		cfg.FloorRiseDB = 3
	}
	perFrame := cfg.FrameDuration.Seconds()
	return &Detector{
		cfg:     cfg,
		riseOff: cfg.FloorRiseDB * perFrame,
		riseOn:  cfg.FloorRiseDB * perFrame / 10,
	}
}

// Frame measures pcm and decides.
func (d *Detector) Frame(pcm []int16) Decision { return d.Update(Level(pcm)) }

// Update decides on a frame whose level (dBov) is already known, for
// callers that measured it anyway.
func (d *Detector) Update(level float64) Decision {
	if !d.started {
		d.floor, d.started = max(level, d.cfg.MinLevel-d.cfg.MarginDB), true
	}
	voiced := level >= d.cfg.MinLevel && level > d.floor+d.cfg.MarginDB
	active := voiced || d.hangLeft > 0
	if voiced {
		d.hangLeft = d.cfg.Hangover
	} else if d.hangLeft > 0 {
		d.hangLeft -= d.cfg.FrameDuration
	}

	switch {
	case level < d.floor:
		d.floor = max(level, Silence)
	case active:
		d.floor = min(level, d.floor+d.riseOn)
	default:
		d.floor = min(level, d.floor+d.riseOff)
	}
	return Decision{Active: active, Voiced: voiced, Level: level, Floor: d.floor}
}

// Reset forgets the noise floor and the hangover.
func (d *Detector) Reset() {
	d.started, d.hangLeft = false, 0
}
