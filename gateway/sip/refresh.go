package sip

import (
	"context"
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"
)

// startSessionTimer starts the session-timer goroutine of an answered call
// (RFC 4028 §10). It belongs to the call: finish waits for it.
func (c *IncomingCall) startSessionTimer() {
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	if ended || c.srv.cfg.SessionExpires < 0 {
		return
	}
	c.wg.Add(1)
	go c.sessionTimerLoop()
}

// sessionTimerLoop refreshes the session at half the interval when we are
// the refresher, and hangs up with BYE when we are not and no refresh came
// by the interval minus min(32 s, interval/3) (RFC 4028 §10). A refresh
// from the caller restarts the wait (timerReset).
func (c *IncomingCall) sessionTimerLoop() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		st := c.timer
		c.mu.Unlock()
		var fire <-chan time.Time
		var t *time.Timer
		if st.active() {
			t = time.NewTimer(st.nextDeadline())
			fire = t.C
		}
		select {
		case <-c.ctx.Done():
			if t != nil {
				t.Stop()
			}
			return
		case <-c.timerReset:
			if t != nil {
				t.Stop()
			}
			continue
		case <-fire:
		}
		if st.weRefresh() {
			if err := c.refresh(st); err != nil {
				c.log.Warn("sip: session refresh failed, hanging up", "error", err)
				c.expire()
				return
			}
			continue
		}
		c.log.Warn("sip: session expired without refresh", "interval", st.interval)
		c.expire()
		return
	}
}

// expire ends the call because the session timer ran out.
func (c *IncomingCall) expire() {
	c.srv.stats.sessionExpired.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
	defer cancel()
	if err := c.terminate(ctx, ErrSessionExpired); err != nil {
		c.log.Debug("sip: BYE failed", "error", err)
	}
}

// errRefreshFatal marks refresh outcomes that end the session: a timeout or
// 408/481 (RFC 4028 §10).
var errRefreshFatal = errors.New("sip: session refresh failed")

// refresh sends a session refresh as the refresher: UPDATE without a body
// when the caller allows UPDATE (RFC 4028 §9 prefers it), else a re-INVITE
// repeating our last SDP unchanged (RFC 3264 §8). Only outcomes that end
// the dialog are returned as errors; a refresh that is merely refused, or
// clashes with the caller's own re-INVITE, leaves the session running.
func (c *IncomingCall) refresh(st sessionTimer) error {
	if err := c.beginOffer(true); err != nil {
		if errors.Is(err, errNoDialog) {
			return err
		}
		return nil // the caller's exchange will refresh the session
	}
	defer c.endOffer()
	c.mu.Lock()
	sdp := c.localSDP
	c.mu.Unlock()
	method := sip.INVITE
	if hasOptionTag(c.invite, "Allow", "", "update") {
		method, sdp = sip.UPDATE, nil
	}
	ctype := ""
	if sdp != nil {
		ctype = "application/sdp"
	}
	req := c.newRequest(method, 0, ctype, sdp)
	req.AppendHeader(sip.NewHeader("Session-Expires", st.headerValue()))
	req.AppendHeader(sip.NewHeader("Supported", supportedTags))
	ctx, cancel := context.WithTimeout(c.ctx, 64*sip.T1)
	defer cancel()
	res, err := c.do(ctx, req)
	if err != nil {
		if c.ctx.Err() != nil {
			return nil // the call is ending anyway
		}
		return errors.Join(errRefreshFatal, err)
	}
	if method == sip.INVITE && res.IsSuccess() {
		if err := c.sendAck(req.CSeq().SeqNo); err != nil {
			c.log.Debug("sip: ACK for refresh failed", "error", err)
		}
	}
	switch {
	case res.StatusCode == 408 || res.StatusCode == 481:
		return errors.Join(errRefreshFatal, &RequestFailedError{Method: string(method), Code: res.StatusCode, Reason: res.Reason})
	case !res.IsSuccess():
		c.log.Info("sip: session refresh refused", "status", res.StatusCode)
		return nil
	}
	// The 2xx may change the interval or the refresher (RFC 4028 §7.4).
	if v := headerValue(res, "Session-Expires", "x"); v != "" {
		if d, r, err := parseSessionExpires(v); err == nil && d > 0 {
			c.mu.Lock()
			c.timer.interval = d
			if r != "" {
				c.timer.refresher = r
			}
			c.mu.Unlock()
		}
	}
	return nil
}
