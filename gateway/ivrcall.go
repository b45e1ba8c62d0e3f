package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/ivr"
	"github.com/roombridge/roombridge/ivr/prompts"
)

// ivrRun is a call's PIN IVR session and what the gateway keeps about it.
type ivrRun struct {
	c      *call
	sess   *ivr.Session
	waiter *hostWaiter
	room   string // the room waited for
	locked atomic.Bool
	// node is the SIP address of the node hosting the room the PIN
	// opened, when that is another node (nodeleg.go).
	node atomic.Pointer[string]
	done bool
}

// serveIVR runs an answered call through the PIN IVR: the leg gets its own
// clock (prompts out, digits in), the session's actions are carried out
// by serve, and on Join the leg moves to its room's hub and the call goes
// on as any other.
func (c *call) serveIVR(dest destination) error {
	s := &ivrRun{c: c}
	sess, err := ivr.New(c.g.cfg.IVR.Session, c.lookup(dest, s), ivr.WithLogger(c.log))
	if err != nil {
		return err
	}
	s.sess = sess
	defer s.finish()
	c.leg.Load().StartClock()
	return c.serve(s)
}

// lookup is the session's LookupFunc: the store finds the room of a PIN
// (comparing in constant time); a wrong one counts against the caller's
// address and number, and the lockout ends the call. PINs are never logged.
func (c *call) lookup(dest destination, s *ivrRun) ivr.LookupFunc {
	g, log, keys := c.g, c.log, c.lockKeys
	return func(ctx context.Context, pin string) (ivr.Result, error) {
		if key, locked := g.lock.Locked(keys...); locked {
			s.locked.Store(true)
			log.Info("PIN refused: locked out", "key", g.logKey(key))
			return ivr.Result{}, ErrLockedOut
		}
		r, host, err := g.cfg.Store.FindByPIN(ctx, pin)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return ivr.Result{}, fmt.Errorf("%w: store: %w", ErrBackend, err)
		}
		if err != nil || dest.only != "" && r.Name != dest.only {
			g.m.pinChecks.WithLabelValues(pinRejected).Inc()
			lockedNow := g.lock.Fail(keys...)
			log.Info("wrong PIN", "attempt", s.sess.Attempts()+1, "source", c.ic.Source().Addr(), "locked_out", lockedNow)
			if lockedNow {
				s.locked.Store(true)
				return ivr.Result{}, ErrLockedOut
			}
			return ivr.Result{}, ivr.ErrNotFound
		}
		g.m.pinChecks.WithLabelValues(pinAccepted).Inc()
		log.Info("PIN accepted", "room", r.Name, "host", host)
		res := ivr.Result{Room: r.Name, Host: host, WaitForHost: r.WaitForHost}
		if addr, ok := c.roomElsewhere(ctx, r.Name); ok {
			// The room's node holds guests until its host is in.
			s.node.Store(&addr)
			res.WaitForHost = false
		}
		return res, nil
	}
}

// act carries out one IVR action; done is true when the call is to end.
func (c *call) act(s *ivrRun, a ivr.Action) (done bool, err error) {
	l := c.leg.Load()
	switch a := a.(type) {
	case ivr.Play:
		pcm, err := c.prompts.PCM(a.Prompt, l.Rate())
		if err != nil {
			c.log.Warn("IVR prompt not played", "prompt", a.Prompt, "err", err)
			if !a.Loop {
				s.sess.PromptDone(a.ID)
			}
			return false, nil
		}
		l.Play(a.ID, a.Loop, pcm)
	case ivr.StopPlayback:
		l.StopPrompt()
	case ivr.Wait:
		c.log.Info("waiting for the host", "room", a.Room)
		s.waitHost(a.Room)
	case ivr.Join:
		s.stopWaiting()
		if addr := s.node.Load(); addr != nil {
			bridged, err := c.bridgeToNode(a, *addr)
			if err != nil {
				return true, err
			}
			if bridged {
				s.finish()
				return false, nil
			}
		}
		if err := c.joinFromIVR(s, a); err != nil {
			return true, err
		}
	case ivr.Hangup:
		c.log.Info("IVR hangs up", "outcome", s.outcome(), "attempts", s.sess.Attempts(), "err", a.Err)
		return true, fmt.Errorf("%w: %s", ErrIVRHangup, s.outcome())
	}
	return false, nil
}

// joinFromIVR puts the caller into the room the PIN opened and hands the
// leg from its own clock to the room hub's.
func (c *call) joinFromIVR(s *ivrRun, a ivr.Join) error {
	c.hostPIN = a.Host
	if err := c.joinRoom(a.Room); err != nil {
		return err
	}
	// c.log stays as it is: the SIP goroutines (re-INVITE, INFO) read it.
	if err := c.enterHub(); err != nil {
		return err
	}
	if a.Host {
		c.host = true
		c.g.hostJoined(a.Room)
	}
	others := c.roomCount() - 1
	c.log.Info("joined from the IVR", "room", a.Room, "host", a.Host, "others", others)
	s.sess.RoomCount(max(others, 0))
	return nil
}

// waitHost holds the caller until a host is in room (at once if one is).
func (s *ivrRun) waitHost(roomName string) {
	s.stopWaiting()
	s.room = roomName
	s.waiter = s.c.g.waitForHost(roomName, s.sess.HostJoined)
}

func (s *ivrRun) stopWaiting() {
	if s.waiter != nil {
		s.c.g.stopWaiting(s.room, s.waiter)
		s.waiter = nil
	}
}

// outcome is the session's outcome as the metric labels it.
func (s *ivrRun) outcome() string {
	if s.locked.Load() {
		return outcomeLockedOut
	}
	return s.sess.Outcome().String()
}

// end is the cause of a call whose IVR ended without a join.
func (s *ivrRun) end() error {
	s.finish()
	if err := context.Cause(s.c.ctx); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", ErrIVRHangup, s.outcome())
}

// finish closes the session, once, and counts its outcome.
func (s *ivrRun) finish() {
	if s.done {
		return
	}
	s.done = true
	s.stopWaiting()
	_ = s.sess.Close()
	o := s.outcome()
	s.c.g.m.ivrOutcomes.WithLabelValues(o).Inc()
	s.c.log.Info("IVR ended", "outcome", o, "attempts", s.sess.Attempts())
}

// hostWaiter is a call waiting in the IVR for its room's host.
type hostWaiter struct {
	notify func()
}

// waitForHost registers notify to be called once a SIP participant joins
// roomName with its host PIN; it is called at once (on this goroutine)
// when one is already there.
func (g *Gateway) waitForHost(roomName string, notify func()) *hostWaiter {
	w := &hostWaiter{notify: notify}
	g.mu.Lock()
	here := g.hosts[roomName] > 0
	if !here {
		ws := g.waiters[roomName]
		if ws == nil {
			ws = map[*hostWaiter]struct{}{}
			g.waiters[roomName] = ws
		}
		ws[w] = struct{}{}
	}
	g.mu.Unlock()
	if here {
		notify()
	}
	return w
}

func (g *Gateway) stopWaiting(roomName string, w *hostWaiter) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ws := g.waiters[roomName]; ws != nil {
		delete(ws, w)
		if len(ws) == 0 {
			delete(g.waiters, roomName)
		}
	}
}

// hostJoined counts a host in roomName and releases its waiting guests.
func (g *Gateway) hostJoined(roomName string) {
	g.mu.Lock()
	g.hosts[roomName]++
	ws := g.waiters[roomName]
	delete(g.waiters, roomName)
	g.mu.Unlock()
	for w := range ws {
		w.notify()
	}
	if len(ws) > 0 {
		g.log.Info("host joined: guests released", "room", roomName, "guests", len(ws))
	}
}

// hostLeft takes a host out of roomName's count.
func (g *Gateway) hostLeft(roomName string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hosts[roomName]--; g.hosts[roomName] <= 0 {
		delete(g.hosts, roomName)
	}
}

// holdPromptID is the id of the waiting prompt of a guest who dialled a
// wait_for_host room directly.
const holdPromptID = 1

// holdForHost holds a guest who dialled a wait_for_host room directly:
// the leg, on its own clock, plays "waiting for the host" then hold music
// until a host has joined, and the caller then joins the room. Keys
// pressed meanwhile are dropped.
func (c *call) holdForHost(roomName string) error {
	l := c.leg.Load()
	wait, err := c.prompts.PCM(prompts.WaitingForHost, l.Rate())
	if err != nil {
		return err
	}
	music, err := c.prompts.PCM(prompts.HoldMusic, l.Rate())
	if err != nil {
		return err
	}
	released := make(chan struct{})
	var once sync.Once
	w := c.g.waitForHost(roomName, func() { once.Do(func() { close(released) }) })
	defer c.g.stopWaiting(roomName, w)
	select {
	case <-released:
	default:
		c.log.Info("guest waits for the host")
		l.Play(holdPromptID, false, wait)
		l.StartClock()
	}
	for {
		select {
		case <-c.ctx.Done():
			return context.Cause(c.ctx)
		case <-c.digits:
		case id := <-c.promptEnded:
			if id == holdPromptID {
				l.Play(holdPromptID+1, true, music)
			}
		case <-released:
			l.StopPrompt()
			if err := c.joinRoom(roomName); err != nil {
				return err
			}
			c.log.Info("host is in: guest joins")
			return nil
		}
	}
}
