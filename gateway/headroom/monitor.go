package headroom

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxCPU = 0.8
	// DefaultMaxMachineCPU: a machine whose cores are 90 % busy, whoever
	// keeps them busy, has runnable threads waiting for a core in bursts,
	// and the room clocks are among them.
	DefaultMaxMachineCPU = 0.9
	DefaultMaxLate       = 0.01
	DefaultWindow        = 5 * time.Second
	DefaultInterval      = 500 * time.Millisecond
	DefaultHold          = 5 * time.Second
	// LateTick is how late a room clock tick must start to count against
	// admission: three frames, past what phones' jitter buffers (40 to
	// 60 ms) absorb. Ticks a frame or two late are common on a busy
	// machine whose calls sound fine (measured: 5 % of ticks 20 ms late,
	// no frame lost, at 100 legs on the shared development machine); once
	// the machine is really short of CPU, lateness grows without bound
	// and crosses this at once.
	LateTick = 60 * time.Millisecond
)

// Reason says why the monitor refuses new work.
type Reason uint8

// Reasons, from the cheapest check to the last.
const (
	// None: there is headroom.
	None Reason = iota
	// Legs: Config.MaxLegs legs are up.
	Legs
	// CPU: the process uses Config.MaxCPU of its cores.
	CPU
	// Clock: room clocks start late (Config.MaxLate of their ticks).
	Clock
	// Machine: the machine's cores are Config.MaxMachineCPU busy, this
	// process and every other one together.
	Machine
)

// Reasons lists every refusal reason, for metric labels.
func Reasons() []Reason { return []Reason{Legs, CPU, Clock, Machine} }

// String names the reason as metrics label it.
func (r Reason) String() string {
	switch r {
	case None:
		return "none"
	case Legs:
		return "max_legs"
	case CPU:
		return "cpu"
	case Clock:
		return "late_ticks"
	case Machine:
		return "machine_cpu"
	}
	return "unknown"
}

// Config sets the ceilings. Zero fields take the defaults above.
type Config struct {
	// MaxLegs refuses new calls while this many legs are up; 0 sets no
	// fixed ceiling.
	MaxLegs int
	// MaxCPU is the process CPU ceiling as a share (0..1] of Cores.
	MaxCPU float64
	// MaxMachineCPU is the ceiling on the machine's busy CPU time (all
	// processes) as a share (0..1] of all its cores; 1 turns it off.
	MaxMachineCPU float64
	// MaxLate is the share of room clock ticks, over Window, that may
	// start LateTick or more late.
	MaxLate float64
	// Window is how far back CPU and lateness are measured; Interval how
	// often they are sampled; Hold how long every measurement must stay
	// below its recovery mark before calls are taken again.
	Window, Interval, Hold time.Duration
	// Legs returns the legs up now; nil counts none.
	Legs func() int
	// CPU returns the process's CPU time so far (user and system); nil
	// reads it from the operating system.
	CPU func() time.Duration
	// Cores is how many cores the process may use; 0 means GOMAXPROCS.
	Cores int
	// Machine returns the machine's busy and total CPU time so far, all
	// cores together, and false where they are not known; nil reads
	// them from the operating system (MachineCPU).
	Machine func() (busy, total time.Duration, ok bool)
}

// State is what the monitor last measured.
type State struct {
	// Refusing is why new calls are refused now, None when they are not.
	Refusing Reason
	// CPU is the process's CPU time over the window as a share of Cores.
	CPU float64
	// MachineCPU is the machine's busy time over the window as a share
	// of all its cores' time (0 where it is not known).
	MachineCPU float64
	// Late is the share of room clock ticks over the window that started
	// a frame or more late; Ticks is how many ran.
	Late  float64
	Ticks uint64
	// Legs is the legs up at the last sample.
	Legs int
	// Headroom is how much is left below the nearest ceiling, 1 (idle) to
	// 0 (at or past it): 1 − max(CPU/MaxCPU, MachineCPU/MaxMachineCPU,
	// Late/MaxLate, Legs/MaxLegs).
	Headroom float64
}

// sample is one reading of the cumulative counters.
type sample struct {
	at          time.Time
	cpu         time.Duration
	busy, total time.Duration // the machine's; zero when not known
	ticks, late uint64
}

// Monitor measures headroom; its methods are safe for concurrent use. One
// goroutine samples every Interval until Close.
type Monitor struct {
	cfg Config

	ticks, late atomic.Uint64 // cumulative, from Tick
	refusing    atomic.Uint32 // a Reason: CPU or Clock (MaxLegs is checked live)

	mu      sync.Mutex
	samples []sample // the window, oldest first
	state   State
	calmAt  time.Time // since when every measurement is below its recovery mark

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New checks cfg and starts sampling.
func New(cfg Config) (*Monitor, error) {
	if cfg.MaxCPU == 0 {
		cfg.MaxCPU = DefaultMaxCPU
	}
	if cfg.MaxLate == 0 {
		cfg.MaxLate = DefaultMaxLate
	}
	if cfg.MaxMachineCPU == 0 {
		cfg.MaxMachineCPU = DefaultMaxMachineCPU
	}
	if cfg.Machine == nil {
		cfg.Machine = MachineCPU
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Hold <= 0 {
		cfg.Hold = DefaultHold
	}
	if cfg.Legs == nil {
		cfg.Legs = func() int { return 0 }
	}
	if cfg.CPU == nil {
		cfg.CPU = ProcessCPU
	}
	if cfg.Cores <= 0 {
		cfg.Cores = runtime.GOMAXPROCS(0)
	}
	switch {
	case cfg.MaxLegs < 0:
		return nil, fmt.Errorf("%w: MaxLegs %d", ErrInvalidConfig, cfg.MaxLegs)
	case cfg.MaxCPU < 0 || cfg.MaxCPU > 1:
		return nil, fmt.Errorf("%w: MaxCPU %g, want (0, 1]", ErrInvalidConfig, cfg.MaxCPU)
	case cfg.MaxMachineCPU < 0 || cfg.MaxMachineCPU > 1:
		return nil, fmt.Errorf("%w: MaxMachineCPU %g, want (0, 1]", ErrInvalidConfig, cfg.MaxMachineCPU)
	case cfg.MaxLate < 0 || cfg.MaxLate > 1:
		return nil, fmt.Errorf("%w: MaxLate %g, want (0, 1]", ErrInvalidConfig, cfg.MaxLate)
	}
	m := &Monitor{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	m.state.Headroom = 1
	m.sample(time.Now())
	go m.run()
	return m, nil
}

// Tick counts one room clock tick (it implements bridge.Observer): how late
// it started. It is called on every hub's clock goroutine and only adds to
// two counters.
func (m *Monitor) Tick(lateness, _ time.Duration) {
	m.ticks.Add(1)
	if lateness >= LateTick {
		m.late.Add(1)
	}
}

// Admit says whether a new call may come in, and if not, why.
func (m *Monitor) Admit() Reason {
	if m.cfg.MaxLegs > 0 && m.cfg.Legs() >= m.cfg.MaxLegs {
		return Legs
	}
	return Reason(m.refusing.Load())
}

// State returns the last measurement.
func (m *Monitor) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state
	if r := m.Admit(); r == Legs {
		s.Refusing = r
	}
	return s
}

// Close stops sampling; it is idempotent.
func (m *Monitor) Close() {
	m.once.Do(func() { close(m.stop) })
	<-m.done
}

func (m *Monitor) run() {
	defer close(m.done)
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.sample(now)
		}
	}
}

// sample reads the counters, measures over the window and decides whether
// to refuse.
func (m *Monitor) sample(now time.Time) {
	cur := sample{at: now, cpu: m.cfg.CPU(), ticks: m.ticks.Load(), late: m.late.Load()}
	if m.cfg.MaxMachineCPU < 1 {
		if busy, total, ok := m.cfg.Machine(); ok {
			cur.busy, cur.total = busy, total
		}
	}
	legs := m.cfg.Legs()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, cur)
	// Keep the newest sample at least Window old as the base.
	for len(m.samples) > 2 && now.Sub(m.samples[1].at) >= m.cfg.Window {
		m.samples = m.samples[1:]
	}
	base := m.samples[0]
	s := State{Legs: legs}
	if wall := now.Sub(base.at); wall > 0 {
		s.CPU = float64(cur.cpu-base.cpu) / float64(wall) / float64(m.cfg.Cores)
	}
	if total := cur.total - base.total; total > 0 && base.total > 0 {
		s.MachineCPU = float64(cur.busy-base.busy) / float64(total)
	}
	if s.Ticks = cur.ticks - base.ticks; s.Ticks > 0 {
		s.Late = float64(cur.late-base.late) / float64(s.Ticks)
	}
	use := max(s.CPU/m.cfg.MaxCPU, s.Late/m.cfg.MaxLate)
	if m.cfg.MaxMachineCPU < 1 {
		use = max(use, s.MachineCPU/m.cfg.MaxMachineCPU)
	}
	if m.cfg.MaxLegs > 0 {
		use = max(use, float64(legs)/float64(m.cfg.MaxLegs))
	}
	s.Headroom = min(max(1-use, 0), 1)

	r := Reason(m.refusing.Load())
	switch {
	case s.CPU >= m.cfg.MaxCPU:
		r, m.calmAt = CPU, time.Time{}
	case s.Late >= m.cfg.MaxLate:
		r, m.calmAt = Clock, time.Time{}
	case m.cfg.MaxMachineCPU < 1 && s.MachineCPU >= m.cfg.MaxMachineCPU:
		r, m.calmAt = Machine, time.Time{}
	case r != None:
		// Refusing: wait until all are well below their ceilings for
		// Hold before taking calls again.
		if s.CPU >= 0.9*m.cfg.MaxCPU || s.Late >= m.cfg.MaxLate/2 ||
			(m.cfg.MaxMachineCPU < 1 && s.MachineCPU >= 0.9*m.cfg.MaxMachineCPU) {
			m.calmAt = time.Time{}
		} else if m.calmAt.IsZero() {
			m.calmAt = now
		} else if now.Sub(m.calmAt) >= m.cfg.Hold {
			r, m.calmAt = None, time.Time{}
		}
	}
	m.refusing.Store(uint32(r))
	s.Refusing = r
	m.state = s
}
