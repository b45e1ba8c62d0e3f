package mixer

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// Config fixes the hub's format. Zero fields take the defaults in brackets.
type Config struct {
	Rate         int     // PCM rate in Hz [16000]
	FrameSamples int     // samples per tick [Rate/50: 20 ms]
	MaxSpeakers  int     // speakers mixed per tick [4]
	StickyDB     float64 // head start of last tick's speakers [3 dB]; negative disables
}

// Hub is one room's audio hub.
type Hub struct {
	cfg    Config
	sticky float64 // energy factor for last tick's speakers

	mu        sync.Mutex // guards sources and listeners (membership only)
	sources   []*Source
	listeners []*Listener

	// Owned by the clock goroutine.
	selected []*Source // this tick's speakers, loudest first
	sum      []int32   // sum of the selected frames
	all      []int16   // saturate(sum)
	minus    [][]int16 // saturate(sum − selected[k])
	ticks    uint64
}

// New returns a hub with no sources or listeners.
func New(cfg Config) (*Hub, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 16000
	}
	if cfg.FrameSamples == 0 {
		cfg.FrameSamples = cfg.Rate / 50
	}
	if cfg.MaxSpeakers == 0 {
		cfg.MaxSpeakers = 4
	}
	if cfg.StickyDB == 0 {
		cfg.StickyDB = 3
	}
	if cfg.Rate < 0 || cfg.FrameSamples <= 0 || cfg.MaxSpeakers < 0 {
		return nil, fmt.Errorf("%w: rate %d, frame %d, speakers %d", ErrBadConfig, cfg.Rate, cfg.FrameSamples, cfg.MaxSpeakers)
	}
	h := &Hub{
		cfg:      cfg,
		sticky:   math.Pow(10, max(cfg.StickyDB, 0)/10),
		selected: make([]*Source, 0, cfg.MaxSpeakers),
		sum:      make([]int32, cfg.FrameSamples),
		all:      make([]int16, cfg.FrameSamples),
		minus:    make([][]int16, cfg.MaxSpeakers),
	}
	for k := range h.minus {
		h.minus[k] = make([]int16, cfg.FrameSamples)
	}
	return h, nil
}

// Config returns the hub's configuration with defaults filled in.
func (h *Hub) Config() Config { return h.cfg }

// AddSource adds a stream to the room; id is the caller's label for it
// (a participant or track id), reported by Speakers.
func (h *Hub) AddSource(id string) *Source {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &Source{id: id, slot: -1}
	s.resize(h.cfg.FrameSamples)
	h.sources = append(h.sources, s)
	return s
}

// SetRate changes the hub's sampling rate between two ticks, keeping the
// frame duration: a room of narrowband phones mixes at 8 kHz, and switches
// to 16 kHz when a wideband participant arrives. Frames written since the
// last tick are dropped, and Source.Write takes frames of the new size from
// now on. Call it from the clock goroutine; buffers are reused when they
// are large enough, so switching back and forth allocates once.
func (h *Hub) SetRate(rate int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.cfg.FrameSamples * rate / h.cfg.Rate
	if rate <= 0 || n <= 0 {
		return fmt.Errorf("%w: rate %d", ErrBadConfig, rate)
	}
	h.cfg.Rate, h.cfg.FrameSamples = rate, n
	h.sum = resize(h.sum, n)
	h.all = resize(h.all, n)
	for k := range h.minus {
		h.minus[k] = resize(h.minus[k], n)
	}
	for _, s := range h.sources {
		s.resize(n)
	}
	return nil
}

// resize returns s with length n, reusing its array when it is large
// enough.
func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// RemoveSource takes a source out of the room. Listeners that had it as
// their own source then hear the full mix.
func (h *Hub) RemoveSource(s *Source) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i := slices.Index(h.sources, s); i >= 0 {
		h.sources = slices.Delete(h.sources, i, i+1)
	}
}

// AddListener adds an output. own is the listener's own source, left out
// of what it hears; nil for a listen-only participant.
func (h *Hub) AddListener(own *Source) *Listener {
	l := &Listener{hub: h, own: own}
	h.mu.Lock()
	h.listeners = append(h.listeners, l)
	h.mu.Unlock()
	return l
}

// RemoveListener takes a listener out of the room.
func (h *Hub) RemoveListener(l *Listener) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i := slices.Index(h.listeners, l); i >= 0 {
		h.listeners = slices.Delete(h.listeners, i, i+1)
	}
}

// Tick closes the current 20 ms frame: it collects one frame per source
// (silence where none was written), selects the loudest MaxSpeakers and
// prepares every listener's output. Call it from the hub's clock goroutine,
// then Read each listener.
func (h *Hub) Tick() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ticks++

	// Collect, and select the loudest K by insertion into a tiny array.
	k := h.cfg.MaxSpeakers
	sel := h.selected[:0]
	// Last tick's speakers (including any removed since) lose their slot.
	for _, s := range h.selected {
		s.slot, s.wasSelected = -1, true
	}
	for _, s := range h.sources {
		wasSelected := s.wasSelected
		s.wasSelected = false
		if !s.collect() {
			continue
		}
		score := float64(s.curEnergy)
		if wasSelected {
			score *= h.sticky
		}
		s.score = score
		if k == 0 || len(sel) == k && score <= sel[k-1].score {
			continue
		}
		if len(sel) < k {
			sel = append(sel, s)
		} else {
			sel[k-1] = s
		}
		for i := len(sel) - 1; i > 0 && sel[i].score > sel[i-1].score; i-- {
			sel[i], sel[i-1] = sel[i-1], sel[i]
		}
	}
	h.selected = sel

	// Sum once, then the K+1 outputs.
	clear(h.sum)
	for i, s := range sel {
		s.slot = i
		for j, v := range s.cur {
			h.sum[j] += int32(v)
		}
	}
	for j, v := range h.sum {
		h.all[j] = sat16(v)
	}
	for i, s := range sel {
		m := h.minus[i]
		for j, v := range s.cur {
			m[j] = sat16(h.sum[j] - int32(v))
		}
	}
}

// Speakers returns the sources mixed in the last tick, loudest first. The
// slice is the hub's own and is valid until the next Tick.
func (h *Hub) Speakers() []*Source { return h.selected }

func sat16(v int32) int16 {
	return int16(min(max(v, math.MinInt16), math.MaxInt16))
}
