package ivr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/ivr"
	"github.com/roombridge/roombridge/ivr/ivrtest"
)

// checkGoroutines fails t if, shortly after the test, goroutines run that
// did not when it started (goleak).
func checkGoroutines(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func found(context.Context, string) (ivr.Result, error) { return ivr.Result{Room: "r1"}, nil }

// TestCloseStopsEverything closes sessions in every state, with nobody
// reading Actions: Close returns, stops the timers and the lookup, closes
// Actions, and leaves no goroutine behind.
func TestCloseStopsEverything(t *testing.T) {
	checkGoroutines(t)
	blocked := func(ctx context.Context, _ string) (ivr.Result, error) {
		<-ctx.Done()
		return ivr.Result{}, ctx.Err()
	}
	for _, c := range []struct {
		name   string
		lookup ivr.LookupFunc
		drive  func(s *ivr.Session, clk *ivrtest.Clock)
		timers int
	}{
		{"unread welcome", found, func(*ivr.Session, *ivrtest.Clock) {}, 0},
		{"collecting", found, func(s *ivr.Session, _ *ivrtest.Clock) { s.Digit('1') }, 1},
		{"looking up", blocked, func(s *ivr.Session, _ *ivrtest.Clock) { s.Digit('1'); s.Digit('#') }, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := ivrtest.NewClock(time.Unix(0, 0))
			s, err := ivr.New(ivr.Config{}, c.lookup, ivr.WithClock(clk))
			if err != nil {
				t.Fatal(err)
			}
			c.drive(s, clk)
			if got := clk.Pending(); got != c.timers {
				t.Fatalf("%d timers before Close, want %d", got, c.timers)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil { // idempotent
				t.Fatal(err)
			}
			if got := clk.Pending(); got != 0 {
				t.Errorf("%d timers after Close", got)
			}
			for range s.Actions() { // drains what is left, then closed
			}
			if s.Outcome() != ivr.OutcomeHungUp || s.State() != ivr.StateEnded {
				t.Errorf("after Close: %v, %v", s.Outcome(), s.State())
			}
			// Inputs after Close are ignored.
			s.Digit('1')
			s.PromptDone(1)
			s.HostJoined()
			s.RoomCount(0)
			s.Hangup()
			clk.Advance(time.Hour)
		})
	}
}

// TestCloseKeepsOutcome: Close after the IVR has finished does not change
// the outcome.
func TestCloseKeepsOutcome(t *testing.T) {
	checkGoroutines(t)
	clk := ivrtest.NewClock(time.Unix(0, 0))
	s, err := ivr.New(ivr.Config{MaxAttempts: 1}, found, ivr.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	next := func() ivr.Action {
		a := <-s.Actions()
		if p, ok := a.(ivr.Play); ok {
			ids = append(ids, p.ID)
		}
		return a
	}
	next()
	s.PromptDone(ids[0])
	next()
	s.PromptDone(ids[1])
	clk.Advance(10 * time.Second)
	if a := next(); a.(ivr.Play).Prompt != "goodbye" {
		t.Fatalf("got %v", a)
	}
	_ = s.Close()
	if s.Outcome() != ivr.OutcomeTimeout {
		t.Errorf("outcome %v, want timeout", s.Outcome())
	}
}

// TestConcurrentInputs feeds one session from many goroutines under the
// race detector; the session must stay consistent and end.
func TestConcurrentInputs(t *testing.T) {
	checkGoroutines(t)
	for range 20 {
		log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
		s, err := ivr.New(ivr.Config{FirstDigitTimeout: time.Millisecond, InterDigitTimeout: time.Millisecond}, found, ivr.WithLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the gateway: finishes every prompt at once
			defer wg.Done()
			for a := range s.Actions() {
				if p, ok := a.(ivr.Play); ok && !p.Loop {
					s.PromptDone(p.ID)
				}
			}
		}()
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					s.Digit(rune("0123456789*#"[(g+i)%12]))
					s.HostJoined()
					s.RoomCount(i % 3)
					_ = s.State()
					_ = s.Outcome()
				}
			}()
		}
		time.Sleep(time.Millisecond)
		s.Hangup()
		_ = s.Close()
		wg.Wait()
		if s.State() != ivr.StateEnded || s.Outcome() == ivr.OutcomeUnknown {
			t.Fatalf("state %v outcome %v", s.State(), s.Outcome())
		}
	}
}

// TestSystemClock runs the first-digit timeout on the real clock.
func TestSystemClock(t *testing.T) {
	checkGoroutines(t)
	s, err := ivr.New(ivr.Config{FirstDigitTimeout: 20 * time.Millisecond, MaxAttempts: 1}, found)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	for a := range s.Actions() {
		got = append(got, a.String())
		if p, ok := a.(ivr.Play); ok {
			s.PromptDone(p.ID)
		}
	}
	want := "Play(welcome id=1 interruptible) Play(enter_pin id=2 interruptible) Play(goodbye id=3) Hangup(timeout)"
	if strings.Join(got, " ") != want {
		t.Errorf("got %s\nwant %s", strings.Join(got, " "), want)
	}
	if s.Outcome() != ivr.OutcomeTimeout {
		t.Errorf("outcome %v", s.Outcome())
	}
}

// TestLookupTimeout: a lookup that outlives LookupTimeout is a lookup
// error.
func TestLookupTimeout(t *testing.T) {
	checkGoroutines(t)
	slow := func(ctx context.Context, _ string) (ivr.Result, error) {
		<-ctx.Done()
		return ivr.Result{}, ctx.Err()
	}
	s, err := ivr.New(ivr.Config{LookupTimeout: 10 * time.Millisecond}, slow)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Digit('1')
	s.Digit('#')
	for a := range s.Actions() {
		if p, ok := a.(ivr.Play); ok && p.Prompt == "goodbye" {
			s.PromptDone(p.ID)
		}
		if h, ok := a.(ivr.Hangup); ok {
			if h.Reason != ivr.OutcomeError || !errors.Is(h.Err, context.DeadlineExceeded) {
				t.Errorf("hangup %v", h)
			}
		}
	}
	if s.Outcome() != ivr.OutcomeError {
		t.Errorf("outcome %v", s.Outcome())
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []ivr.Config{
		{FirstDigitTimeout: -1},
		{InterDigitTimeout: -1},
		{LookupTimeout: -1},
		{HostWaitTimeout: -1},
		{MaxAttempts: -1},
		{PINMaxLen: -1},
	} {
		if err := c.Validate(); !errors.Is(err, ivr.ErrConfig) {
			t.Errorf("%+v: Validate() = %v", c, err)
		}
		if _, err := ivr.New(c, found); !errors.Is(err, ivr.ErrConfig) {
			t.Errorf("%+v: New() = %v", c, err)
		}
	}
	if err := (ivr.Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	if _, err := ivr.New(ivr.Config{}, nil); !errors.Is(err, ivr.ErrConfig) {
		t.Errorf("nil lookup: %v", err)
	}
}

func TestStrings(t *testing.T) {
	for a, want := range map[ivr.Action]string{
		ivr.Play{ID: 3, Prompt: "hold_music", Loop: true}: "Play(hold_music id=3 loop)",
		ivr.StopPlayback{}:              "StopPlayback",
		ivr.Join{Room: "r", Host: true}: "Join(r host)",
		ivr.Join{Room: "r"}:             "Join(r)",
		ivr.Wait{Room: "r"}:             "Wait(r)",
		ivr.Hangup{Reason: ivr.OutcomeError, Err: errors.New("x")}: "Hangup(error: x)",
	} {
		if a.String() != want {
			t.Errorf("%#v: %q, want %q", a, a.String(), want)
		}
	}
	var labels []string
	for _, o := range ivr.Outcomes() {
		labels = append(labels, o.String())
	}
	if got := strings.Join(labels, " "); got != "joined wrong_pin timeout hung_up_in_ivr error" {
		t.Errorf("outcome labels %s", got)
	}
	if ivr.OutcomeUnknown.String() != "unknown" || ivr.StateUnknown.String() != "unknown" {
		t.Error("unknown strings")
	}
	var states []string
	for st := ivr.StatePrompting; st <= ivr.StateEnded; st++ {
		states = append(states, st.String())
	}
	if got := fmt.Sprint(states); got != "[prompting collecting looking_up joining waiting joined announcing goodbye ended]" {
		t.Errorf("states %s", got)
	}
}
