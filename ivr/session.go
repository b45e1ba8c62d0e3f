package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/roombridge/roombridge/ivr/prompts"
)

// Result is what a PIN opens.
type Result struct {
	Room string
	// Host is true for the room's host PIN.
	Host bool
	// WaitForHost holds guests until a host is in the room.
	WaitForHost bool
}

// LookupFunc resolves a PIN. It returns an error wrapping ErrNotFound for a
// PIN that opens no room, and must return when ctx is done.
type LookupFunc func(ctx context.Context, pin string) (Result, error)

// Option configures a Session.
type Option func(*Session)

// WithClock sets the clock that drives the timeouts (default SystemClock).
func WithClock(c Clock) Option { return func(s *Session) { s.clock = c } }

// WithLogger sets the logger for state changes, at debug level (default:
// none).
func WithLogger(l *slog.Logger) Option { return func(s *Session) { s.log = l } }

// Session is the PIN IVR of one call. Its inputs (Digit, PromptDone,
// HostJoined, RoomCount, Hangup) may be called from any goroutine; each is
// applied under one mutex, in the order the calls take it, and returns at
// once. Its output is the Actions channel, fed by one goroutine that the
// session owns; Close stops it.
type Session struct {
	cfg    Config
	lookup LookupFunc
	clock  Clock
	log    *slog.Logger

	ctx    context.Context // cancelled when the session ends: stops a lookup
	cancel context.CancelFunc

	out     chan Action
	notify  chan struct{} // cap 1: the queue has grown or the session ended
	closing chan struct{} // closed by Close: the pump drops what is left
	wg      sync.WaitGroup
	once    sync.Once

	mu         sync.Mutex
	state      State
	outcome    Outcome
	queue      []Action
	entry      []rune
	attempts   int
	result     Result
	hangupWhy  Outcome
	hangupErr  error
	timer      Timer
	timerGen   uint64
	lookupGen  uint64
	nextID     uint64
	playing    uint64   // ID of the prompt playing, 0 if none
	playlist   []string // prompts still to play after it
	playBarge  bool     // the playlist may be interrupted by a key
	playLoop   bool     // the prompt playing loops
	countAfter int      // RoomCount, or -1 before it
}

// New starts the IVR for one call: its first action, Play(welcome), is
// already waiting on Actions.
func New(cfg Config, lookup LookupFunc, opts ...Option) (*Session, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if lookup == nil {
		return nil, fmt.Errorf("%w: nil LookupFunc", ErrConfig)
	}
	s := &Session{
		cfg:        cfg,
		lookup:     lookup,
		clock:      SystemClock{},
		out:        make(chan Action),
		notify:     make(chan struct{}, 1),
		closing:    make(chan struct{}),
		countAfter: -1,
	}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	s.setState(StatePrompting, "start")
	s.play(true, prompts.Welcome, prompts.EnterPIN)
	s.mu.Unlock()
	s.wg.Add(1)
	go s.pump()
	return s, nil
}

// Actions is the stream of actions for the gateway to carry out, in order.
// It is closed when the session has ended (after Hangup, after the
// post-join announcement, after the caller hung up) or is closed.
func (s *Session) Actions() <-chan Action { return s.out }

// Outcome is how the call left the IVR; OutcomeUnknown while it is in it.
func (s *Session) Outcome() Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outcome
}

// State is the session's current state.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Attempts is how many wrong PINs and timeouts the caller has had.
func (s *Session) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Close ends the session: it stops its timer, cancels a lookup under way,
// drops the actions not yet received, closes Actions and waits for the
// session's goroutines. A session closed before it has an outcome records
// OutcomeHungUp. Close is idempotent and always returns nil.
func (s *Session) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		if s.outcome == OutcomeUnknown {
			s.outcome = OutcomeHungUp
		}
		s.end("close")
		s.mu.Unlock()
		close(s.closing)
		s.wg.Wait()
	})
	return nil
}

// Digit feeds one key: 0–9, * (clear the entry) or # (end the entry).
// Other runes (A–D) are ignored.
func (s *Session) Digit(r rune) {
	if !isKey(r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case StatePrompting:
		// Barge-in: every prompt of this state is interruptible.
		s.stop()
		s.setState(StateCollecting, "barge-in")
		s.collect(r)
	case StateCollecting:
		s.collect(r)
	}
}

// PromptDone reports that the prompt started by Play with this ID has
// played to its end. Reports for a prompt that is no longer current are
// ignored.
func (s *Session) PromptDone(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == 0 || id != s.playing || s.state == StateEnded {
		return
	}
	if len(s.playlist) > 0 {
		next := s.playlist[0]
		s.playlist = s.playlist[1:]
		s.start(next, s.playBarge, false)
		return
	}
	s.playing = 0
	if s.playLoop {
		// A looped prompt that "ends" could not be played: stay silent
		// rather than restart it.
		return
	}
	switch s.state {
	case StatePrompting:
		s.setState(StateCollecting, "prompt done")
		s.arm(s.cfg.FirstDigitTimeout)
	case StateJoining:
		s.outcome = OutcomeJoined
		s.emit(Join{Room: s.result.Room, Host: s.result.Host})
		s.setState(StateJoined, "joining done")
	case StateWaiting:
		s.start(prompts.HoldMusic, false, true)
	case StateAnnouncing:
		s.end("announced")
	case StateGoodbye:
		s.emit(Hangup{Reason: s.hangupWhy, Err: s.hangupErr})
		s.end("goodbye done")
	}
}

// HostJoined tells a waiting session that a host is in its room; the
// caller is then joined. It is ignored in any other state, so the gateway
// must call it on Wait if the host is already there.
func (s *Session) HostJoined() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateWaiting {
		return
	}
	s.stopTimer()
	s.stop()
	s.setState(StateJoining, "host joined")
	s.play(false, prompts.Joining)
}

// RoomCount tells a joined session how many others were in the room when
// the caller joined: with none, it plays "you are the first participant";
// with some and Config.AnnounceCount, "there are N people in this meeting".
// Only the first call counts.
func (s *Session) RoomCount(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.countAfter >= 0 || s.state != StateJoined {
		return
	}
	s.countAfter = max(n, 0)
	s.announce()
}

// Hangup reports that the caller has hung up. The session ends without
// further actions; before a Join the outcome is OutcomeHungUp.
func (s *Session) Hangup() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateEnded {
		return
	}
	if s.outcome == OutcomeUnknown {
		s.outcome = OutcomeHungUp
	}
	s.end("caller hung up")
}

// isKey reports whether r is one of the keys the IVR uses: 0–9, * and #.
func isKey(r rune) bool {
	return r >= '0' && r <= '9' || r == '*' || r == '#'
}

// collect applies one key in StateCollecting.
func (s *Session) collect(r rune) {
	switch {
	case r == '*':
		s.entry = s.entry[:0]
		s.arm(s.cfg.FirstDigitTimeout)
	case r == '#' && len(s.entry) == 0:
		if s.timer == nil {
			s.arm(s.cfg.FirstDigitTimeout)
		}
	case r == '#':
		s.stopTimer()
		pin := string(s.entry)
		s.entry = s.entry[:0]
		s.setState(StateLookingUp, "#")
		s.startLookup(pin)
	case len(s.entry) >= s.cfg.PINMaxLen:
		s.entry = s.entry[:0]
		s.fail(OutcomeWrongPIN, nil, "PIN too long")
	default:
		s.entry = append(s.entry, r)
		s.arm(s.cfg.InterDigitTimeout)
	}
}

// fail counts a wrong PIN or a timeout, and re-prompts or says goodbye.
func (s *Session) fail(why Outcome, err error, event string) {
	s.stopTimer()
	s.attempts++
	if why == OutcomeError || s.attempts >= s.cfg.MaxAttempts {
		s.goodbye(why, err, event)
		return
	}
	s.setState(StatePrompting, event)
	if why == OutcomeWrongPIN {
		s.play(true, prompts.InvalidPIN, prompts.EnterPIN)
	} else {
		s.play(true, prompts.EnterPIN)
	}
}

// goodbye records the outcome and plays goodbye, after which Hangup.
func (s *Session) goodbye(why Outcome, err error, event string) {
	s.stopTimer()
	s.stop()
	s.outcome, s.hangupWhy, s.hangupErr = why, why, err
	s.setState(StateGoodbye, event)
	s.play(false, prompts.Goodbye)
}

func (s *Session) startLookup(pin string) {
	s.lookupGen++
	gen := s.lookupGen
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.LookupTimeout)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		res, err := s.lookup(ctx, pin)
		s.mu.Lock()
		defer s.mu.Unlock()
		if gen != s.lookupGen || s.state != StateLookingUp {
			return
		}
		s.looked(res, err)
	}()
}

// looked applies a lookup's result.
func (s *Session) looked(res Result, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		s.fail(OutcomeWrongPIN, nil, "PIN not found")
	case err != nil:
		s.fail(OutcomeError, err, "lookup failed")
	case res.Room == "":
		s.fail(OutcomeError, errors.New("ivr: lookup returned no room"), "lookup failed")
	case res.WaitForHost && !res.Host:
		s.result = res
		s.emit(Wait{Room: res.Room})
		s.setState(StateWaiting, "guest waits for host")
		s.play(false, prompts.WaitingForHost)
		if s.cfg.HostWaitTimeout > 0 {
			s.arm(s.cfg.HostWaitTimeout)
		}
	default:
		s.result = res
		s.setState(StateJoining, "PIN found")
		s.play(false, prompts.Joining)
	}
}

// announce plays what follows a join, once both the join and the count
// are known.
func (s *Session) announce() {
	switch {
	case s.countAfter == 0:
		s.setState(StateAnnouncing, "first participant")
		s.play(false, prompts.FirstParticipant)
	case s.cfg.AnnounceCount:
		s.setState(StateAnnouncing, "count")
		s.play(false, prompts.CountSequence(s.countAfter)...)
	default:
		s.end("joined")
	}
}

// onTimer handles a timer that was not stopped or re-armed meanwhile.
func (s *Session) onTimer(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.timerGen {
		return
	}
	s.timer = nil
	switch s.state {
	case StateCollecting:
		s.entry = s.entry[:0]
		s.fail(OutcomeTimeout, nil, "digit timeout")
	case StateWaiting:
		s.goodbye(OutcomeTimeout, nil, "host wait timeout")
	}
}

// arm (re)starts the session's one timer.
func (s *Session) arm(d time.Duration) {
	s.stopTimer()
	gen := s.timerGen
	s.timer = s.clock.AfterFunc(d, func() { s.onTimer(gen) })
}

func (s *Session) stopTimer() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.timerGen++
}

// play starts a playlist: the first prompt now, the others one after
// another on PromptDone.
func (s *Session) play(interruptible bool, names ...string) {
	s.playlist = names[1:]
	s.playBarge = interruptible
	s.start(names[0], interruptible, false)
}

func (s *Session) start(name string, interruptible, loop bool) {
	s.nextID++
	s.playing, s.playLoop = s.nextID, loop
	s.emit(Play{ID: s.playing, Prompt: name, Interruptible: interruptible, Loop: loop})
}

// stop silences the prompt playing, if any.
func (s *Session) stop() {
	if s.playing != 0 {
		s.emit(StopPlayback{})
	}
	s.playing, s.playlist = 0, nil
}

// end moves to StateEnded: no timer, no lookup, and the pump closes
// Actions once it has delivered the queue.
func (s *Session) end(event string) {
	if s.state == StateEnded {
		return
	}
	s.stopTimer()
	s.lookupGen++
	s.playing, s.playlist = 0, nil
	s.setState(StateEnded, event)
	s.cancel()
	s.wake()
}

func (s *Session) setState(to State, event string) {
	s.log.Debug("ivr state", "from", s.state, "to", to, "event", event, "attempts", s.attempts)
	s.state = to
}

func (s *Session) emit(a Action) {
	s.queue = append(s.queue, a)
	s.wake()
}

func (s *Session) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// pump delivers the queued actions on s.out, in order, without holding
// the mutex while it waits for the reader.
func (s *Session) pump() {
	defer s.wg.Done()
	defer close(s.out)
	for {
		s.mu.Lock()
		q, ended := s.queue, s.state == StateEnded
		s.queue = nil
		s.mu.Unlock()
		for _, a := range q {
			select {
			case s.out <- a:
			case <-s.closing:
				return
			}
		}
		if ended {
			return
		}
		if len(q) == 0 {
			select {
			case <-s.notify:
			case <-s.closing:
				return
			}
		}
	}
}
