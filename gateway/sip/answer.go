package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// inviteResponse builds a response to the INVITE with our To tag and, for
// 1xx and 2xx, our Contact (RFC 3261 §12.1.1).
func (c *IncomingCall) inviteResponse(code int, reason string, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(c.invite, code, reason, body)
	if code > 100 && code < 300 {
		res.AppendHeader(sip.HeaderClone(&c.contact))
	}
	if len(body) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return res
}

// Ringing sends 180 Ringing (RFC 3261 §21.1.2).
func (c *IncomingCall) Ringing() error {
	return c.provisional(180, "Ringing", nil)
}

// Progress sends 183 Session Progress (RFC 3261 §21.1.5), with early-media
// SDP when sdp is not nil (RFC 3960).
func (c *IncomingCall) Progress(sdp []byte) error {
	return c.provisional(183, "Session Progress", sdp)
}

func (c *IncomingCall) provisional(code int, reason string, sdp []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.earlyErr(); err != nil {
		return err
	}
	res := c.inviteResponse(code, reason, sdp)
	res.AppendHeader(sip.NewHeader("Server", c.srv.cfg.UserAgent))
	// Sent under the lock so it cannot overtake the final response.
	return c.tx.Respond(res)
}

// earlyErr reports why the INVITE can no longer get a response; c.mu held.
func (c *IncomingCall) earlyErr() error {
	if c.final == finalRejected || c.ended {
		if cause := context.Cause(c.ctx); cause != nil {
			return cause
		}
		return ErrCallEnded
	}
	if c.final != finalNone {
		return ErrAlreadyAnswered
	}
	if c.ctx.Err() != nil {
		return context.Cause(c.ctx)
	}
	return nil
}

// Answer accepts the call with 200 OK carrying sdp: our answer to
// [IncomingCall.Offer], or our offer when the INVITE had none. It returns
// once the caller's ACK arrives (RFC 3261 §13.3.1.4): over UDP the 200 is
// retransmitted at T1, doubling up to T2, until then. Without an ACK within
// 64*T1 the call is hung up with BYE and Answer returns [ErrNoAck]. For a
// delayed offer the caller's answer is then in [IncomingCall.AckSDP].
func (c *IncomingCall) Answer(sdp []byte) error {
	if len(sdp) == 0 {
		return fmt.Errorf("%w: Answer needs SDP", ErrNotAcceptable)
	}
	c.mu.Lock()
	if err := c.earlyErr(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.final = finalAnswered
	done := make(chan struct{})
	c.answering = done
	c.localSDP = sdp
	cseq := c.invite.CSeq().SeqNo
	ackCh := make(chan *sip.Request, 1)
	c.pendingAcks[cseq] = ackCh
	st := c.timer
	c.mu.Unlock()
	defer close(done)

	res := c.okResponse(sdp, st)
	c.srv.stats.answered.Add(1)
	ack, err := c.send2xx(c.tx, res, ackCh)

	c.mu.Lock()
	delete(c.pendingAcks, cseq)
	c.answering = nil
	switch {
	case err == nil:
		c.acked = true
		if c.offer == nil {
			c.ackSDP = ack.Body()
		}
	case errors.Is(err, sip.ErrTransactionCanceled) || errors.Is(err, sip.ErrTransactionTerminated):
		// CANCEL won the race: sipgo has sent 487 (RFC 3261 §9.2).
		c.final, c.ended = finalRejected, true
	}
	c.mu.Unlock()

	switch {
	case err == nil:
	case errors.Is(err, ErrNoAck):
		// RFC 3261 §13.3.1.4: confirm the dialog, then end it with BYE.
		c.log.Warn("sip: no ACK for 200 OK, hanging up")
		ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
		_ = c.terminate(ctx, ErrNoAck)
		cancel()
		return ErrNoAck
	default:
		if cause := context.Cause(c.ctx); cause != nil {
			return cause
		}
		c.cancel(err)
		return err
	}
	if c.offer == nil && len(c.AckSDP()) == 0 {
		return fmt.Errorf("%w: ACK without the SDP answer", ErrNotAcceptable)
	}
	c.startSessionTimer()
	return nil
}

// okResponse is the 200 OK to the INVITE carrying sdp, with the session
// timer st.
func (c *IncomingCall) okResponse(sdp []byte, st sessionTimer) *sip.Response {
	res := c.inviteResponse(200, "OK", sdp)
	for _, h := range c.srv.capabilityHeaders() {
		res.AppendHeader(h)
	}
	if st.active() {
		res.AppendHeader(sip.NewHeader("Session-Expires", st.headerValue()))
		if st.peerSupports {
			res.AppendHeader(sip.NewHeader("Require", "timer"))
		}
	}
	res.AppendHeader(sip.NewHeader("Server", c.srv.cfg.UserAgent))
	return res
}

// AnswerFits reports whether a 200 OK carrying sdp can be sent on the
// call's transport: over UDP, sipgo refuses a message within 200 bytes
// of the 1500-byte MTU (RFC 3261 §18.1.1 would switch to TCP, which a
// response cannot); TCP and TLS take any size. It measures the response
// [IncomingCall.Answer] would send (a re-INVITE's 200 OK is about as
// large).
func (c *IncomingCall) AnswerFits(sdp []byte) bool {
	if c.Transport() != "udp" {
		return true
	}
	c.mu.Lock()
	st := c.timer
	c.mu.Unlock()
	return len(c.okResponse(sdp, st).String()) <= sip.UDPMTUSize-200
}

// send2xx sends a 2xx to an INVITE and waits for its ACK, which comes on
// ackCh (a new transaction, RFC 3261 §17.1.1.3) or, from UAs that reuse the
// INVITE branch, on the transaction. Over UDP the 2xx is retransmitted by
// us, not the transaction (RFC 6026 §7.1), from T1 doubling to T2; we give up
// after 64*T1 with ErrNoAck (RFC 3261 §13.3.1.4).
func (c *IncomingCall) send2xx(tx sip.ServerTransaction, res *sip.Response, ackCh <-chan *sip.Request) (*sip.Request, error) {
	if err := tx.Respond(res); err != nil {
		return nil, err
	}
	var retransmit <-chan time.Time
	interval := sip.T1
	var rt *time.Timer
	if !sip.IsReliable(c.transport) {
		rt = time.NewTimer(interval)
		defer rt.Stop()
		retransmit = rt.C
	}
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	for {
		select {
		case ack := <-ackCh:
			return ack, nil
		case ack := <-tx.Acks():
			return ack, nil
		case <-retransmit:
			if err := tx.Respond(res); err != nil {
				c.log.Debug("sip: 2xx retransmission failed", "error", err)
			}
			interval = min(2*interval, sip.T2)
			rt.Reset(interval)
		case <-deadline.C:
			return nil, ErrNoAck
		case <-c.ctx.Done():
			return nil, context.Cause(c.ctx)
		}
	}
}

// Reject declines the call with a final response (RFC 3261 §13.3.1.3), such
// as 486 Busy Here. Prefer [IncomingCall.RejectErr], which picks the code.
func (c *IncomingCall) Reject(code int, reason string) error {
	if code < 300 || code > 699 {
		return fmt.Errorf("%w: Reject with %d", ErrInvalidConfig, code)
	}
	return c.reject(code, reason, ErrRejected)
}

// RejectErr declines the call with the final response [StatusCode] maps err
// to: ErrNoSuchRoom 404, ErrNoCommonCodec and ErrSRTPRequired 488,
// ErrOverloaded 503, ErrForbidden 403, and so on; 500 for other errors.
func (c *IncomingCall) RejectErr(err error) error {
	return c.rejectErr(err, fmt.Errorf("%w: %w", ErrRejected, err))
}

func (c *IncomingCall) rejectErr(err, cause error) error {
	code, reason := status(err, 500)
	hdrs := c.srv.warning(err)
	if mv, ok := errors.AsType[*MovedError](err); ok {
		hdrs = append(hdrs, sip.NewHeader("Contact", "<"+mv.Contact+">"))
	}
	return c.reject(code, reason, cause, hdrs...)
}

func (c *IncomingCall) reject(code int, reason string, cause error, hdrs ...sip.Header) error {
	c.mu.Lock()
	// The context may be done (server closing, handler returned): the INVITE
	// still needs its final response.
	if c.final != finalNone || c.ended {
		err := c.earlyErr()
		c.mu.Unlock()
		return err
	}
	c.final, c.ended = finalRejected, true
	res := c.inviteResponse(code, reason, nil)
	res.AppendHeader(sip.NewHeader("Server", c.srv.cfg.UserAgent))
	if code == 503 {
		res.AppendHeader(sip.NewHeader("Retry-After", "5"))
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	err := c.tx.Respond(res)
	c.mu.Unlock()
	c.srv.stats.rejected.Add(1)
	c.log.Info("sip: call rejected", "status", code, "reason", reason)
	c.cancel(cause)
	return err
}
