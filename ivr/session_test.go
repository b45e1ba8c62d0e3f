package ivr_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/ivr"
	"github.com/roombridge/roombridge/ivr/ivrtest"
)

// PINs known to the fake lookup.
var rooms = map[string]ivr.Result{
	"1234":         {Room: "r1"},
	"9999":         {Room: "r1", Host: true},
	"5555":         {Room: "r2", WaitForHost: true},
	"6666":         {Room: "r2", Host: true, WaitForHost: true},
	"123456789012": {Room: "long"},
}

// harness runs one session on a fake clock and records its actions.
type harness struct {
	t       *testing.T
	s       *ivr.Session
	clk     *ivrtest.Clock
	mu      sync.Mutex
	got     []ivr.Action
	used    int // actions before this index are consumed by a step
	closed  chan struct{}
	lookups []string
	release chan struct{} // "slow" lookups block until this closes or ctx ends
}

func newHarness(t *testing.T, cfg ivr.Config) *harness {
	t.Helper()
	h := &harness{t: t, clk: ivrtest.NewClock(time.Unix(1e9, 0)), closed: make(chan struct{}), release: make(chan struct{})}
	lookup := func(ctx context.Context, pin string) (ivr.Result, error) {
		h.mu.Lock()
		h.lookups = append(h.lookups, pin)
		h.mu.Unlock()
		switch pin {
		case "666":
			return ivr.Result{}, errors.New("store down")
		case "777":
			return ivr.Result{}, nil
		case "888":
			select {
			case <-h.release:
				return rooms["1234"], nil
			case <-ctx.Done():
				return ivr.Result{}, ctx.Err()
			}
		}
		if r, ok := rooms[pin]; ok {
			return r, nil
		}
		return ivr.Result{}, fmt.Errorf("pin %s: %w", pin, ivr.ErrNotFound)
	}
	s, err := ivr.New(cfg, lookup, ivr.WithClock(h.clk))
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	go func() {
		defer close(h.closed)
		for a := range s.Actions() {
			h.mu.Lock()
			h.got = append(h.got, a)
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = s.Close() })
	return h
}

// waitFor waits until an action after the consumed ones satisfies ok,
// and consumes up to it.
func (h *harness) waitFor(what string, ok func(ivr.Action) bool) ivr.Action {
	return h.wait(what, ok, 1)
}

// peek waits like waitFor but leaves the action unconsumed.
func (h *harness) peek(what string, ok func(ivr.Action) bool) ivr.Action {
	return h.wait(what, ok, 0)
}

func (h *harness) wait(what string, ok func(ivr.Action) bool, consume int) ivr.Action {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for i := h.used; i < len(h.got); i++ {
			if ok(h.got[i]) {
				h.used = i + consume
				a := h.got[i]
				h.mu.Unlock()
				return a
			}
		}
		h.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("no %s; actions so far: %s", what, h.transcript())
	return nil
}

func (h *harness) transcript() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s []string
	for _, a := range h.got {
		s = append(s, short(a))
	}
	return strings.Join(s, " ")
}

// short writes an action without its ID: "welcome!" is an interruptible
// Play, "hold_music~" a looped one.
func short(a ivr.Action) string {
	switch a := a.(type) {
	case ivr.Play:
		switch {
		case a.Loop:
			return a.Prompt + "~"
		case a.Interruptible:
			return a.Prompt + "!"
		}
		return a.Prompt
	case ivr.StopPlayback:
		return "stop"
	case ivr.Join:
		if a.Host {
			return "join:" + a.Room + ":host"
		}
		return "join:" + a.Room
	case ivr.Wait:
		return "wait:" + a.Room
	case ivr.Hangup:
		return "hangup:" + a.Reason.String()
	}
	return fmt.Sprintf("%T", a)
}

type step func(h *harness)

// keys presses keys.
func keys(k string) step {
	return func(h *harness) {
		for _, r := range k {
			h.s.Digit(r)
		}
	}
}

// done waits for the next Play of prompt and reports it played.
func done(prompt string) step {
	return func(h *harness) {
		h.t.Helper()
		a := h.waitFor("Play("+prompt+")", func(a ivr.Action) bool {
			p, ok := a.(ivr.Play)
			return ok && p.Prompt == prompt
		})
		h.s.PromptDone(a.(ivr.Play).ID)
	}
}

// playing waits for the next Play of prompt without finishing it; a later
// done finishes it.
func playing(prompt string) step {
	return func(h *harness) {
		h.t.Helper()
		h.peek("Play("+prompt+")", func(a ivr.Action) bool {
			p, ok := a.(ivr.Play)
			return ok && p.Prompt == prompt
		})
	}
}

// state waits until the session is in st (for the lookup's goroutine).
// lookingUp waits until the lookup of pin has begun: the session's state
// says it is looking up before its lookup goroutine has run.
func lookingUp(pin string) step {
	return func(h *harness) {
		h.t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			h.mu.Lock()
			begun := slices.Contains(h.lookups, pin)
			h.mu.Unlock()
			if begun {
				return
			}
			if time.Now().After(deadline) {
				h.t.Fatalf("the lookup of %s never began; actions: %s", pin, h.transcript())
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func state(st ivr.State) step {
	return func(h *harness) {
		h.t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for h.s.State() != st {
			if time.Now().After(deadline) {
				h.t.Fatalf("state %v, want %v; actions: %s", h.s.State(), st, h.transcript())
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func advance(d time.Duration) step { return func(h *harness) { h.clk.Advance(d) } }
func hostJoined(h *harness)        { h.s.HostJoined() }
func roomCount(n int) step         { return func(h *harness) { h.s.RoomCount(n) } }
func hangup(h *harness)            { h.s.Hangup() }

// staleDone reports the first Play of prompt as done again.
func staleDone(prompt string) step {
	return func(h *harness) {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, a := range h.got {
			if p, ok := a.(ivr.Play); ok && p.Prompt == prompt {
				h.s.PromptDone(p.ID)
				return
			}
		}
		h.t.Fatalf("no Play(%s) yet", prompt)
	}
}

// Prefixes of transcripts.
var (
	greeting = []step{done("welcome"), done("enter_pin")}
	greeted  = "welcome! enter_pin!"
	retry    = []step{done("invalid_pin"), done("enter_pin")}
)

func seq(parts ...any) []step {
	var s []step
	for _, p := range parts {
		switch p := p.(type) {
		case step:
			s = append(s, p)
		case func(*harness):
			s = append(s, p)
		case []step:
			s = append(s, p...)
		default:
			panic(fmt.Sprintf("seq: %T", p))
		}
	}
	return s
}

// TestSession drives every transition of the state machine: each case is
// a script of inputs and the whole transcript of actions it must produce,
// the outcome, the attempts counted and the PINs looked up.
func TestSession(t *testing.T) {
	tests := []struct {
		name     string
		cfg      ivr.Config
		steps    []step
		want     string
		outcome  ivr.Outcome
		attempts int
		lookups  []string
	}{
		{
			name:    "right PIN, others in the room",
			steps:   seq(greeting, keys("1234#"), done("joining"), roomCount(2)),
			want:    greeted + " joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "right PIN, first participant",
			steps:   seq(greeting, keys("1234#"), done("joining"), roomCount(0), done("first_participant")),
			want:    greeted + " joining join:r1 first_participant",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "count announced",
			cfg:     ivr.Config{AnnounceCount: true},
			steps:   seq(greeting, keys("1234#"), done("joining"), roomCount(3), done("there_are"), done("three"), done("people_in_meeting")),
			want:    greeted + " joining join:r1 there_are three people_in_meeting",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "count of one",
			cfg:     ivr.Config{AnnounceCount: true},
			steps:   seq(greeting, keys("1234#"), done("joining"), roomCount(1), roomCount(0), done("there_is"), done("one"), done("person_in_meeting")),
			want:    greeted + " joining join:r1 there_is one person_in_meeting",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "wrong PIN three times",
			steps:   seq(greeting, keys("1#"), retry, keys("22#"), retry, keys("333#"), done("goodbye")),
			want:    greeted + " invalid_pin! enter_pin! invalid_pin! enter_pin! goodbye hangup:wrong_pin",
			outcome: ivr.OutcomeWrongPIN, attempts: 3, lookups: []string{"1", "22", "333"},
		},
		{
			name:    "wrong PIN then right",
			steps:   seq(greeting, keys("1#"), retry, keys("1234#"), done("joining"), roomCount(1)),
			want:    greeted + " invalid_pin! enter_pin! joining join:r1",
			outcome: ivr.OutcomeJoined, attempts: 1, lookups: []string{"1", "1234"},
		},
		{
			name:    "MaxAttempts 1",
			cfg:     ivr.Config{MaxAttempts: 1},
			steps:   seq(greeting, keys("1#"), done("goodbye")),
			want:    greeted + " goodbye hangup:wrong_pin",
			outcome: ivr.OutcomeWrongPIN, attempts: 1, lookups: []string{"1"},
		},
		{
			name: "first-digit timeout three times",
			steps: seq(greeting, advance(9999*time.Millisecond), advance(time.Millisecond), done("enter_pin"),
				advance(10*time.Second), done("enter_pin"), advance(10*time.Second), done("goodbye")),
			want:    greeted + " enter_pin! enter_pin! goodbye hangup:timeout",
			outcome: ivr.OutcomeTimeout, attempts: 3,
		},
		{
			name:    "no timer while the prompt plays",
			steps:   seq(done("welcome"), playing("enter_pin"), advance(time.Minute), hangup),
			want:    greeted,
			outcome: ivr.OutcomeHungUp,
		},
		{
			name:    "first-digit timeout then right PIN",
			steps:   seq(greeting, advance(10*time.Second), done("enter_pin"), keys("1234#"), done("joining"), roomCount(1)),
			want:    greeted + " enter_pin! joining join:r1",
			outcome: ivr.OutcomeJoined, attempts: 1, lookups: []string{"1234"},
		},
		{
			name: "inter-digit timeout",
			steps: seq(greeting, keys("12"), advance(4999*time.Millisecond), keys("3"), advance(4999*time.Millisecond),
				advance(time.Millisecond), done("enter_pin"), keys("4#"), retry, hangup),
			want:    greeted + " enter_pin! invalid_pin! enter_pin!",
			outcome: ivr.OutcomeHungUp, attempts: 2, lookups: []string{"4"},
		},
		{
			name:    "custom timeouts",
			cfg:     ivr.Config{FirstDigitTimeout: 2 * time.Second, InterDigitTimeout: time.Second, MaxAttempts: 2},
			steps:   seq(greeting, advance(2*time.Second), done("enter_pin"), keys("1"), advance(time.Second), done("goodbye")),
			want:    greeted + " enter_pin! goodbye hangup:timeout",
			outcome: ivr.OutcomeTimeout, attempts: 2,
		},
		{
			name:    "star clears the entry",
			steps:   seq(greeting, keys("99*1234#"), done("joining"), roomCount(1)),
			want:    greeted + " joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name: "star restarts the first-digit timer",
			steps: seq(greeting, keys("9"), advance(4*time.Second), keys("*"), advance(9*time.Second), keys("1234#"),
				done("joining"), roomCount(1)),
			want:    greeted + " joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "pound with no entry is ignored",
			steps:   seq(greeting, keys("#"), advance(5*time.Second), keys("#1234#"), done("joining"), roomCount(1)),
			want:    greeted + " joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "pound with no entry does not extend the first-digit timer",
			steps:   seq(greeting, advance(6*time.Second), keys("#"), advance(4*time.Second), done("enter_pin"), hangup),
			want:    greeted + " enter_pin!",
			outcome: ivr.OutcomeHungUp, attempts: 1,
		},
		{
			name:    "keys A-D are ignored",
			steps:   seq(playing("welcome"), keys("AbD"), done("welcome"), done("enter_pin"), keys("12A34#"), done("joining"), roomCount(1)),
			want:    greeted + " joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "barge-in during welcome",
			steps:   seq(playing("welcome"), keys("1"), staleDone("welcome"), keys("234#"), done("joining"), roomCount(1)),
			want:    "welcome! stop joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "barge-in during enter_pin",
			steps:   seq(done("welcome"), playing("enter_pin"), keys("1234"), staleDone("enter_pin"), keys("#"), done("joining"), roomCount(1)),
			want:    greeted + " stop joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "barge-in with pound starts the first-digit timer",
			steps:   seq(playing("welcome"), keys("#"), advance(10*time.Second), done("enter_pin"), hangup),
			want:    "welcome! stop enter_pin!",
			outcome: ivr.OutcomeHungUp, attempts: 1,
		},
		{
			name:    "barge-in with star",
			steps:   seq(playing("welcome"), keys("*1234#"), done("joining"), roomCount(1)),
			want:    "welcome! stop joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "barge-in during invalid_pin",
			steps:   seq(greeting, keys("1#"), playing("invalid_pin"), keys("1234#"), done("joining"), roomCount(1)),
			want:    greeted + " invalid_pin! stop joining join:r1",
			outcome: ivr.OutcomeJoined, attempts: 1, lookups: []string{"1", "1234"},
		},
		{
			name:    "over-long PIN is wrong without a lookup",
			steps:   seq(greeting, keys("1234567890123"), done("invalid_pin"), done("enter_pin"), hangup),
			want:    greeted + " invalid_pin! enter_pin!",
			outcome: ivr.OutcomeHungUp, attempts: 1,
		},
		{
			name:    "PIN of PINMaxLen digits",
			steps:   seq(greeting, keys("123456789012#"), done("joining"), roomCount(1)),
			want:    greeted + " joining join:long",
			outcome: ivr.OutcomeJoined, lookups: []string{"123456789012"},
		},
		{
			name:    "over-long with PINMaxLen 4, then the rest of the keys start afresh",
			cfg:     ivr.Config{PINMaxLen: 4},
			steps:   seq(greeting, keys("12345"), playing("invalid_pin"), keys("1234#"), done("joining"), roomCount(1)),
			want:    greeted + " invalid_pin! stop joining join:r1",
			outcome: ivr.OutcomeJoined, attempts: 1, lookups: []string{"1234"},
		},
		{
			name:    "host PIN",
			steps:   seq(greeting, keys("9999#"), done("joining"), roomCount(0), done("first_participant")),
			want:    greeted + " joining join:r1:host first_participant",
			outcome: ivr.OutcomeJoined, lookups: []string{"9999"},
		},
		{
			name:    "host PIN of a wait-for-host room joins at once",
			steps:   seq(greeting, keys("6666#"), done("joining"), roomCount(3)),
			want:    greeted + " joining join:r2:host",
			outcome: ivr.OutcomeJoined, lookups: []string{"6666"},
		},
		{
			name: "guest waits for the host",
			steps: seq(greeting, keys("5555#"), done("waiting_for_host"), playing("hold_music"), keys("1#"), advance(time.Hour),
				hostJoined, done("joining"), hostJoined, roomCount(1)),
			want:    greeted + " wait:r2 waiting_for_host hold_music~ stop joining join:r2",
			outcome: ivr.OutcomeJoined, lookups: []string{"5555"},
		},
		{
			name: "hold music that cannot play is not restarted",
			steps: seq(greeting, keys("5555#"), done("waiting_for_host"), done("hold_music"), hostJoined, done("joining"),
				roomCount(1)),
			want:    greeted + " wait:r2 waiting_for_host hold_music~ joining join:r2",
			outcome: ivr.OutcomeJoined, lookups: []string{"5555"},
		},
		{
			name:    "host joins during the waiting prompt",
			steps:   seq(greeting, keys("5555#"), playing("waiting_for_host"), hostJoined, done("joining"), roomCount(1)),
			want:    greeted + " wait:r2 waiting_for_host stop joining join:r2",
			outcome: ivr.OutcomeJoined, lookups: []string{"5555"},
		},
		{
			name:    "host joined before Wait is ignored",
			steps:   seq(hostJoined, greeting, keys("5555#"), done("waiting_for_host"), playing("hold_music"), hangup),
			want:    greeted + " wait:r2 waiting_for_host hold_music~",
			outcome: ivr.OutcomeHungUp, lookups: []string{"5555"},
		},
		{
			name: "host wait timeout",
			cfg:  ivr.Config{HostWaitTimeout: 5 * time.Minute},
			steps: seq(greeting, keys("5555#"), done("waiting_for_host"), playing("hold_music"), advance(5*time.Minute),
				done("goodbye")),
			want:    greeted + " wait:r2 waiting_for_host hold_music~ stop goodbye hangup:timeout",
			outcome: ivr.OutcomeTimeout, lookups: []string{"5555"},
		},
		{
			name:    "host joins before the host wait timeout",
			cfg:     ivr.Config{HostWaitTimeout: 5 * time.Minute},
			steps:   seq(greeting, keys("5555#"), done("waiting_for_host"), hostJoined, advance(time.Hour), done("joining"), roomCount(1)),
			want:    greeted + " wait:r2 waiting_for_host hold_music~ stop joining join:r2",
			outcome: ivr.OutcomeJoined, lookups: []string{"5555"},
		},
		{
			name:    "lookup error",
			steps:   seq(greeting, keys("666#"), done("goodbye")),
			want:    greeted + " goodbye hangup:error",
			outcome: ivr.OutcomeError, attempts: 1, lookups: []string{"666"},
		},
		{
			name:    "lookup with no room",
			steps:   seq(greeting, keys("777#"), done("goodbye")),
			want:    greeted + " goodbye hangup:error",
			outcome: ivr.OutcomeError, attempts: 1, lookups: []string{"777"},
		},
		{
			name:    "keys and timers during the lookup are ignored",
			steps:   seq(greeting, keys("888#"), state(ivr.StateLookingUp), keys("1234#"), advance(time.Minute), release, done("joining"), roomCount(1)),
			want:    greeted + " joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"888"},
		},
		{
			name:    "keys during joining and goodbye are ignored",
			cfg:     ivr.Config{MaxAttempts: 1},
			steps:   seq(greeting, keys("1#"), playing("goodbye"), keys("1234#"), staleDone("enter_pin"), done("goodbye")),
			want:    greeted + " goodbye hangup:wrong_pin",
			outcome: ivr.OutcomeWrongPIN, attempts: 1, lookups: []string{"1"},
		},
		{
			name:    "RoomCount before Join is ignored",
			steps:   seq(greeting, keys("1234#"), playing("joining"), roomCount(0), keys("5"), done("joining"), roomCount(4)),
			want:    greeted + " joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{name: "hang up during welcome", steps: seq(playing("welcome"), hangup), want: "welcome!", outcome: ivr.OutcomeHungUp},
		{
			name:    "hang up while collecting",
			steps:   seq(greeting, keys("12"), hangup, keys("34#"), advance(time.Minute)),
			want:    greeted,
			outcome: ivr.OutcomeHungUp,
		},
		{
			name:    "hang up during the lookup",
			steps:   seq(greeting, keys("888#"), state(ivr.StateLookingUp), lookingUp("888"), hangup, release),
			want:    greeted,
			outcome: ivr.OutcomeHungUp, lookups: []string{"888"},
		},
		{
			name:    "hang up while joining",
			steps:   seq(greeting, keys("1234#"), playing("joining"), hangup),
			want:    greeted + " joining",
			outcome: ivr.OutcomeHungUp, lookups: []string{"1234"},
		},
		{
			name:    "hang up while waiting for the host",
			steps:   seq(greeting, keys("5555#"), done("waiting_for_host"), playing("hold_music"), hangup, hostJoined),
			want:    greeted + " wait:r2 waiting_for_host hold_music~",
			outcome: ivr.OutcomeHungUp, lookups: []string{"5555"},
		},
		{
			name:    "hang up during goodbye keeps the outcome",
			cfg:     ivr.Config{MaxAttempts: 1},
			steps:   seq(greeting, keys("1#"), playing("goodbye"), hangup),
			want:    greeted + " goodbye",
			outcome: ivr.OutcomeWrongPIN, attempts: 1, lookups: []string{"1"},
		},
		{
			name:    "hang up after the join keeps the outcome",
			steps:   seq(greeting, keys("1234#"), done("joining"), hangup),
			want:    greeted + " joining join:r1",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
		{
			name:    "hang up during the announcement keeps the outcome",
			steps:   seq(greeting, keys("1234#"), done("joining"), roomCount(0), playing("first_participant"), hangup),
			want:    greeted + " joining join:r1 first_participant",
			outcome: ivr.OutcomeJoined, lookups: []string{"1234"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			for _, st := range tt.steps {
				st(h)
			}
			select {
			case <-h.closed:
			case <-time.After(5 * time.Second):
				t.Fatalf("session did not end; state %v, actions: %s", h.s.State(), h.transcript())
			}
			if got := h.transcript(); got != tt.want {
				t.Errorf("actions:\n got %s\nwant %s", got, tt.want)
			}
			if got := h.s.Outcome(); got != tt.outcome {
				t.Errorf("outcome = %v, want %v", got, tt.outcome)
			}
			if got := h.s.Attempts(); got != tt.attempts {
				t.Errorf("attempts = %d, want %d", got, tt.attempts)
			}
			if h.s.State() != ivr.StateEnded {
				t.Errorf("state = %v, want ended", h.s.State())
			}
			h.mu.Lock()
			if !slices.Equal(h.lookups, tt.lookups) {
				t.Errorf("lookups = %q, want %q", h.lookups, tt.lookups)
			}
			h.mu.Unlock()
			if n := h.clk.Pending(); n != 0 {
				t.Errorf("%d timers left after the session ended", n)
			}
		})
	}
}

func release(h *harness) { close(h.release) }
