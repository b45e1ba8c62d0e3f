package uac

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sessionTimer is the negotiated session timer (RFC 4028). A zero interval
// means none.
type sessionTimer struct {
	interval  time.Duration
	weRefresh bool
}

// wait is how long until we act: refresh at half the interval as the
// refresher (RFC 4028 §10), else give up at interval - min(32 s, interval/3)
// without a refresh from the peer.
func (t sessionTimer) wait() time.Duration {
	if t.weRefresh {
		return t.interval / 2
	}
	return t.interval - min(32*time.Second, t.interval/3)
}

// parseSessionExpires parses "delta-seconds *(;param)" and returns the
// interval and the refresher parameter ("uac", "uas" or "").
func parseSessionExpires(v string) (time.Duration, string, bool) {
	parts := strings.Split(v, ";")
	n, err := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 32)
	if err != nil || n == 0 {
		return 0, "", false
	}
	refresher := ""
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(val))
		}
	}
	return time.Duration(n) * time.Second, refresher, true
}

// sessionExpires returns the Session-Expires header value of m, by full or
// compact ("x") name.
func sessionExpires(m interface{ GetHeader(string) sip.Header }) string {
	for _, name := range []string{"Session-Expires", "x"} {
		if h := m.GetHeader(name); h != nil {
			return h.Value()
		}
	}
	return ""
}

// timerFromResponse reads the session timer our INVITE's 2xx set up. We
// sent Supported: timer, so a 2xx without a refresher parameter leaves the
// refresh to us (RFC 4028 §7.2, §9).
func timerFromResponse(res *sip.Response) (sessionTimer, bool) {
	d, refresher, ok := parseSessionExpires(sessionExpires(res))
	if !ok {
		return sessionTimer{}, false
	}
	return sessionTimer{interval: d, weRefresh: refresher != "uas"}, true
}

// startTimer sets the session timer and starts its goroutine if needed.
func (c *Call) startTimer(st sessionTimer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = st
	if c.timerRunning || c.closing {
		return
	}
	c.timerRunning = true
	c.wg.Add(1)
	go c.runTimer()
}

// resetTimer restarts the session timer after a refresh.
func (c *Call) resetTimer() {
	select {
	case c.timerReset <- struct{}{}:
	default:
	}
}

// runTimer is the session-timer goroutine, running until the call ends.
func (c *Call) runTimer() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		st := c.timer
		c.mu.Unlock()
		t := time.NewTimer(st.wait())
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-c.timerReset:
			t.Stop()
			continue
		case <-t.C:
		}
		if st.weRefresh {
			if err := c.refresh(); err == nil {
				continue
			} else if c.ctx.Err() == nil {
				c.log.Info("uac: session refresh failed", "error", err)
				c.expire(err)
			}
			return
		}
		c.log.Info("uac: session expired without a refresh from the peer")
		c.expire(nil)
		return
	}
}

// expire ends the session for the session timer: BYE, then the cause.
func (c *Call) expire(err error) {
	if !c.ended.Swap(true) {
		ctx, cancel := context.WithTimeout(c.ctx, 32*sip.T1)
		_ = c.bye(ctx)
		cancel()
	}
	c.cancel(errors.Join(ErrSessionExpired, err))
}

// refresh sends a session refresh as the refresher: UPDATE without a body
// when the peer allows it (RFC 4028 §9 prefers it), else a re-INVITE with
// our SDP unchanged (RFC 3264 §8). Errors end the session: a timeout, 408
// or 481 (RFC 4028 §10). A refused refresh leaves it running.
func (c *Call) refresh() error {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	c.mu.Lock()
	st, sdp := c.timer, c.localSDP
	c.mu.Unlock()
	method, ctype := sip.INVITE, "application/sdp"
	if c.allowUpdate {
		method, ctype, sdp = sip.UPDATE, "", nil
	}
	req := c.newRequest(method, ctype, sdp)
	req.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uac", int(st.interval/time.Second))))
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	ctx, cancel := context.WithTimeout(c.ctx, 64*sip.T1)
	defer cancel()
	res, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if method == sip.INVITE && res.IsSuccess() {
		if err := c.ackReInvite(); err != nil {
			c.log.Debug("uac: ACK for refresh failed", "error", err)
		}
	}
	switch {
	case res.StatusCode == 408 || res.StatusCode == 481:
		return &StatusError{Method: string(method), Code: res.StatusCode, Reason: res.Reason}
	case !res.IsSuccess():
		c.log.Info("uac: session refresh refused", "status", res.StatusCode)
		return nil
	}
	c.mu.Lock()
	c.refreshes++
	// The 2xx may change the interval or the refresher (RFC 4028 §7.4).
	if d, r, ok := parseSessionExpires(sessionExpires(res)); ok {
		c.timer.interval = d
		c.timer.weRefresh = r != "uas"
	}
	c.mu.Unlock()
	return nil
}
