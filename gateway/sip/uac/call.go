package uac

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Call is an established call: the client side of one INVITE dialog
// (RFC 3261 §12). Its methods are safe for concurrent use; requests we send
// inside the dialog go out one at a time, in CSeq order.
//
// Hangup must be called once the call is over, even after the peer hung up:
// it frees the call's socket and goroutines.
type Call struct {
	cfg   *settings
	log   *slog.Logger
	stack *stack
	dua   *sipgo.DialogUA

	ctx    context.Context
	cancel context.CancelCauseFunc

	// Set by invite before Dial returns, read-only afterwards.
	setupTime   time.Duration
	response    *sip.Response
	allowUpdate bool

	reqMu sync.Mutex // serialises the requests we send in the dialog

	mu        sync.Mutex
	sess      *sipgo.DialogClientSession
	localSDP  []byte
	remoteSDP []byte
	timer     sessionTimer
	refreshes int
	// timerRunning: the session-timer goroutine was started.
	timerRunning bool
	closing      bool
	hwg          sync.WaitGroup // running request handlers
	timerReset   chan struct{}

	wg         sync.WaitGroup // the session-timer goroutine
	ended      atomic.Bool    // BYE sent or received
	hangupOnce sync.Once
	hangupErr  error
}

// Answer is the SDP body of the 2xx: the peer's answer to our offer, or its
// offer when we sent none (then LocalSDP is our answer).
func (c *Call) Answer() []byte { return c.response.Body() }

// LocalSDP is our current SDP in the dialog.
func (c *Call) LocalSDP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.localSDP
}

// RemoteSDP is the peer's current SDP: the 2xx's, or that of the last
// re-INVITE or UPDATE exchange.
func (c *Call) RemoteSDP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteSDP
}

// SetupTime is the time from sending the INVITE to the 2xx.
func (c *Call) SetupTime() time.Duration { return c.setupTime }

// CallID is the dialog's Call-ID.
func (c *Call) CallID() string { return c.sess.InviteRequest.CallID().Value() }

// Context is cancelled when the call ends; context.Cause says why:
// ErrRemoteHangup, ErrHangup or ErrSessionExpired.
func (c *Call) Context() context.Context { return c.ctx }

// SessionTimer returns the negotiated session interval (0 without a
// session timer), whether we are the refresher, and how many refreshes we
// have sent (RFC 4028).
func (c *Call) SessionTimer() (interval time.Duration, weRefresh bool, refreshes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timer.interval, c.timer.weRefresh, c.refreshes
}

// Hangup ends the call with BYE (RFC 3261 §15.1.1) unless it has ended
// already, then closes the user agent and waits for its goroutines. ctx
// bounds the wait for the BYE's response. It is idempotent; later calls
// return the first result.
func (c *Call) Hangup(ctx context.Context) error {
	c.hangupOnce.Do(func() {
		var err error
		if !c.ended.Swap(true) {
			err = c.bye(ctx)
		}
		c.release()
		c.hangupErr = err
	})
	return c.hangupErr
}

// release stops everything the call runs and closes its sockets.
func (c *Call) release() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.cancel(ErrHangup) // a no-op when the call ended for another reason
	c.wg.Wait()
	c.stack.close()
	c.hwg.Wait()
}

// bye sends BYE and waits for its response.
func (c *Call) bye(ctx context.Context) error {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	req := c.newRequest(sip.BYE, "", nil)
	if err := c.sess.WriteBye(ctx, req); err != nil {
		return fmt.Errorf("uac: BYE: %w", err)
	}
	return nil
}

// SendInfo sends an INFO request (RFC 6086), e.g. DTMF relay
// ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), and waits for
// its final response; a non-2xx one is a *StatusError.
func (c *Call) SendInfo(ctx context.Context, contentType string, body []byte) error {
	if c.ctx.Err() != nil {
		return ErrEnded
	}
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	res, err := c.do(ctx, c.newRequest(sip.INFO, contentType, body))
	if err != nil {
		return fmt.Errorf("uac: INFO: %w", err)
	}
	if !res.IsSuccess() {
		return &StatusError{Method: "INFO", Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// ReInvite sends a re-INVITE with sdp as the new offer (hold, resume, a new
// address; RFC 3264 §8) and returns the peer's answer. A non-2xx response is
// a *StatusError and leaves the session as it was (491 means the peer's
// own re-INVITE crossed ours; retry later, RFC 3261 §14.1).
func (c *Call) ReInvite(ctx context.Context, sdp []byte) ([]byte, error) {
	if c.ctx.Err() != nil {
		return nil, ErrEnded
	}
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	req := c.newRequest(sip.INVITE, "application/sdp", sdp)
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	res, err := c.do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("uac: re-INVITE: %w", err)
	}
	if !res.IsSuccess() {
		return nil, &StatusError{Method: "INVITE", Code: res.StatusCode, Reason: res.Reason}
	}
	if err := c.ackReInvite(); err != nil {
		return nil, fmt.Errorf("uac: ACK: %w", err)
	}
	answer := res.Body()
	c.mu.Lock()
	c.localSDP, c.remoteSDP = sdp, answer
	c.mu.Unlock()
	c.resetTimer() // a successful re-INVITE refreshes the session (RFC 4028 §10)
	return answer, nil
}

// ackReInvite ACKs the 2xx of the re-INVITE just sent; reqMu is held, so
// the dialog's last CSeq is the re-INVITE's.
func (c *Call) ackReInvite() error {
	return c.sess.WriteRequest(c.newRequest(sip.ACK, "", nil))
}

// newRequest builds a request inside the dialog, to the peer's Contact;
// sipgo adds From, To, Call-ID, CSeq, Route and our Contact.
func (c *Call) newRequest(method sip.RequestMethod, contentType string, body []byte) *sip.Request {
	inv := c.sess.InviteRequest
	recipient := inv.Recipient
	if c.response != nil {
		if ct := c.response.Contact(); ct != nil {
			recipient = ct.Address
		}
	}
	req := sip.NewRequest(method, *recipient.Clone())
	req.SipVersion = inv.SipVersion
	if method != sip.ACK {
		req.AppendHeader(sip.NewHeader("User-Agent", c.cfg.UserAgent))
	}
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	}
	req.SetBody(body)
	req.SetTransport(inv.Transport())
	req.Laddr = inv.Laddr
	return req
}

// do sends a request inside the dialog and waits for its final response.
func (c *Call) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	tx, err := c.sess.TransactionRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	return finalResponse(ctx, tx)
}
