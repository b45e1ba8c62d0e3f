package headroom

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// rig drives a monitor by hand: its own sampler never fires (a one-hour
// interval), the test advances a clock, the process CPU and the ticks.
type rig struct {
	t    *testing.T
	m    *Monitor
	now  time.Time
	cpu  time.Duration
	legs atomic.Int64
	// machine is the share of the machine's two cores busy while run
	// advances; busy and total its counters.
	machine     float64
	busy, total time.Duration
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, now: time.Now()}
	cfg.Interval = time.Hour
	cfg.Cores = 2
	cfg.CPU = func() time.Duration { return r.cpu }
	cfg.Legs = func() int { return int(r.legs.Load()) }
	cfg.Machine = func() (time.Duration, time.Duration, bool) { return r.busy, r.total, true }
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	r.m = m
	return r
}

// run advances by d in 500 ms samples, the process using busy cores and
// the room clocks ticking 50 times a second per room with the given share
// of late ticks.
func (r *rig) run(d time.Duration, busy float64, rooms int, late float64) {
	for step := 500 * time.Millisecond; d > 0; d -= step {
		r.now = r.now.Add(step)
		r.cpu += time.Duration(busy * float64(step))
		r.total += 2 * step
		r.busy += time.Duration(r.machine * float64(2*step))
		n := 25 * rooms
		for i := range n {
			lateness := time.Duration(0)
			if float64(i) < late*float64(n) {
				lateness = 70 * time.Millisecond
			} else if i%4 == 0 {
				lateness = 30 * time.Millisecond // a frame late: does not count
			}
			r.m.Tick(lateness, time.Millisecond)
		}
		r.m.sample(r.now)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// CPU past its ceiling refuses; calls are taken again only after both
// measurements stayed below their recovery marks for Hold.
func TestCPUCeilingWithHysteresis(t *testing.T) {
	r := newRig(t, Config{MaxCPU: 0.5, Window: time.Second, Hold: 3 * time.Second})
	r.run(2*time.Second, 0.6, 10, 0) // 30 % of 2 cores
	if s := r.m.State(); r.m.Admit() != None || s.CPU < 0.29 || s.CPU > 0.31 || s.Headroom < 0.35 {
		t.Fatalf("at 30 %% CPU: %v, %+v", r.m.Admit(), s)
	}
	r.run(2*time.Second, 1.2, 10, 0) // 60 %
	if got := r.m.Admit(); got != CPU {
		t.Fatalf("at 60 %% of cores against 50 %%: %v, want cpu", got)
	}
	if s := r.m.State(); s.Refusing != CPU || s.Headroom != 0 {
		t.Errorf("state while refusing: %+v", s)
	}
	r.run(5*time.Second, 0.94, 10, 0) // 47 %: below the ceiling, above 90 % of it
	if got := r.m.Admit(); got != CPU {
		t.Fatalf("at 47 %% (above the recovery mark): %v, want still cpu", got)
	}
	r.run(2*time.Second, 0.6, 10, 0)
	if got := r.m.Admit(); got != CPU {
		t.Fatalf("calm for less than Hold: %v, want still cpu", got)
	}
	r.run(2500*time.Millisecond, 0.6, 10, 0)
	if got := r.m.Admit(); got != None {
		t.Fatalf("calm for longer than Hold: %v, want none", got)
	}
}

// Late room clocks refuse whatever the process's own CPU (another process
// may be taking the cores); MaxLegs refuses at once and stops refusing as
// soon as legs end.
func TestLateTicksAndMaxLegs(t *testing.T) {
	r := newRig(t, Config{MaxLegs: 3, Hold: time.Second})
	r.run(6*time.Second, 0.2, 20, 0.05)
	if got := r.m.Admit(); got != Clock {
		t.Fatalf("5 %% late ticks: %v, want late_ticks", got)
	}
	if s := r.m.State(); s.Late < 0.049 || s.Late > 0.051 || s.Ticks != 20*50*5 {
		t.Errorf("late share %.3f of %d ticks", s.Late, s.Ticks)
	}
	r.run(8*time.Second, 0.2, 20, 0.002)
	if got := r.m.Admit(); got != None {
		t.Fatalf("0.2 %% late ticks for 8 s: %v, want none", got)
	}
	r.legs.Store(3)
	if got := r.m.Admit(); got != Legs {
		t.Fatalf("3 legs of 3: %v, want max_legs", got)
	}
	if s := r.m.State(); s.Refusing != Legs {
		t.Errorf("state at max legs: %+v", s)
	}
	r.legs.Store(2)
	if got := r.m.Admit(); got != None {
		t.Fatalf("2 legs of 3: %v", got)
	}
}

// A machine whose cores other processes keep busy refuses calls although
// the gateway itself uses little CPU and its clocks are still on time;
// MaxMachineCPU 1 turns the measure off.
func TestMachineCPU(t *testing.T) {
	r := newRig(t, Config{Window: time.Second, Hold: 2 * time.Second})
	r.machine = 0.5
	r.run(2*time.Second, 0.2, 10, 0)
	if s := r.m.State(); r.m.Admit() != None || s.MachineCPU < 0.49 || s.MachineCPU > 0.51 {
		t.Fatalf("machine 50 %% busy: %v, %+v", r.m.Admit(), s)
	}
	r.machine = 0.95
	r.run(2*time.Second, 0.2, 10, 0)
	if s := r.m.State(); s.Refusing != Machine || s.Headroom != 0 || Machine.String() != "machine_cpu" {
		t.Fatalf("machine 95 %% busy: %+v", s)
	}
	r.machine = 0.85 // below the ceiling, above the recovery mark (81 %)
	r.run(4*time.Second, 0.2, 10, 0)
	if got := r.m.Admit(); got != Machine {
		t.Fatalf("machine 85 %% busy after refusing: %v, want still machine_cpu", got)
	}
	r.machine = 0.6
	r.run(3500*time.Millisecond, 0.2, 10, 0)
	if got := r.m.Admit(); got != None {
		t.Fatalf("machine calm for longer than Hold: %v", got)
	}

	off := newRig(t, Config{MaxMachineCPU: 1})
	off.machine = 1
	off.run(6*time.Second, 0.2, 10, 0)
	if s := off.m.State(); s.Refusing != None || s.MachineCPU != 0 {
		t.Errorf("MaxMachineCPU 1 (off), machine 100 %% busy: %+v", s)
	}
}

func TestParseProcStat(t *testing.T) {
	busy, total, ok := parseProcStat([]byte("cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 1 2 3 4\n"))
	if !ok || busy != 1600*time.Millisecond || total != 10*time.Second {
		t.Errorf("busy %v total %v ok %v", busy, total, ok)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 x 4 5", "cpu 1 2"} {
		if _, _, ok := parseProcStat([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, total, ok := MachineCPU(); runtime.GOOS == "linux" && (!ok || total <= 0) {
		t.Errorf("this machine's /proc/stat: total %v ok %v", total, ok)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{MaxLegs: -1}, {MaxCPU: 1.5}, {MaxCPU: -0.1}, {MaxLate: 2}, {MaxMachineCPU: 1.1}} {
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if Legs.String() != "max_legs" || CPU.String() != "cpu" || Clock.String() != "late_ticks" || len(Reasons()) != 4 {
		t.Error("reason names")
	}
}

// The real sampler runs on its own and stops with Close; Tick does not
// allocate.
func TestSamplerRuns(t *testing.T) {
	m, err := New(Config{Interval: 10 * time.Millisecond, Window: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.State().Ticks == 0 {
		m.Tick(0, 0)
		if time.Now().After(deadline) {
			t.Fatal("the sampler never sampled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := testing.AllocsPerRun(100, func() { m.Tick(time.Millisecond, time.Millisecond) }); n != 0 {
		t.Errorf("Tick allocates %v", n)
	}
	m.Close()
	m.Close()
}
