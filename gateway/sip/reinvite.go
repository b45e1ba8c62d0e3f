package sip

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// beginOffer marks an offer/answer exchange under way; a second one gets
// 491 Request Pending (RFC 3261 §14.2, RFC 3311 §5.2). needAck: the
// exchange needs the initial INVITE to be acknowledged first.
func (c *IncomingCall) beginOffer(needAck bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wait := c.answering; needAck && !c.acked && wait != nil {
		// The ACK for our 2xx may be on its way in another goroutine: the
		// caller sends it before any re-INVITE (RFC 3261 §13.2.2.4). Wait
		// for the 2xx exchange to end (at most 64*T1).
		c.mu.Unlock()
		select {
		case <-wait:
		case <-c.ctx.Done():
		}
		c.mu.Lock()
	}
	switch {
	case c.ended:
		return errNoDialog
	case c.offerPending, needAck && !c.acked:
		return errRequestPending
	}
	c.offerPending = true
	return nil
}

func (c *IncomingCall) endOffer() {
	c.mu.Lock()
	c.offerPending = false
	c.mu.Unlock()
}

// answerOffer runs the OnReInvite function on an offer (nil: the peer wants
// our offer). Without one, it repeats our last SDP.
func (c *IncomingCall) answerOffer(offer []byte) ([]byte, error) {
	c.mu.Lock()
	f, local := c.onReInvite, c.localSDP
	c.mu.Unlock()
	if f == nil {
		return local, nil
	}
	answer, err := f(offer)
	if err != nil {
		return nil, err
	}
	if len(answer) == 0 {
		return nil, fmt.Errorf("%w: OnReInvite returned no SDP", ErrNotAcceptable)
	}
	return answer, nil
}

// handleReInvite handles an INVITE inside a dialog (RFC 3261 §14.2): a
// target refresh, a session refresh (RFC 4028) and an offer (hold, resume,
// new address) or a request for our offer when it has no SDP. A failed
// re-INVITE leaves the session as it was.
func (s *Server) handleReInvite(req *sip.Request, tx sip.ServerTransaction) {
	c := s.inDialog(req, tx)
	if c == nil {
		return
	}
	if err := c.beginOffer(true); err != nil {
		s.respondErr(req, tx, err, sip.NewHeader("Retry-After", "1"))
		return
	}
	defer c.endOffer()
	offer := req.Body()
	if len(offer) > 0 && contentType(req) != "application/sdp" {
		s.respondErr(req, tx, errUnsupportedMedia, sip.NewHeader("Accept", "application/sdp"))
		return
	}
	timerHdrs, err := c.refreshTimer(req)
	if err != nil {
		s.respondErr(req, tx, err, timerHdrs...)
		return
	}
	c.updateTarget(req)
	if len(offer) == 0 {
		offer = nil
	}
	answer, err := c.answerOffer(offer)
	if err != nil {
		code, reason := status(err, 488)
		c.log.Info("sip: re-INVITE offer rejected", "status", code, "error", err)
		s.respond(req, tx, code, reason, nil)
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", answer)
	res.AppendHeader(sip.HeaderClone(&c.contact))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	for _, h := range append(s.capabilityHeaders(), timerHdrs...) {
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))

	cseq := req.CSeq().SeqNo
	ackCh := make(chan *sip.Request, 1)
	c.mu.Lock()
	c.localSDP = answer
	c.pendingAcks[cseq] = ackCh
	c.mu.Unlock()
	ack, err := c.send2xx(tx, res, ackCh)
	c.mu.Lock()
	delete(c.pendingAcks, cseq)
	f := c.onAnswer
	c.mu.Unlock()
	switch {
	case errors.Is(err, ErrNoAck):
		c.log.Warn("sip: no ACK for re-INVITE 200 OK, hanging up")
		ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
		_ = c.terminate(ctx, ErrNoAck)
		cancel()
	case err != nil:
		c.log.Debug("sip: re-INVITE 200 OK not acknowledged", "error", err)
	case offer == nil && f != nil && len(ack.Body()) > 0:
		f(ack.Body())
	}
}

// handleUpdate handles UPDATE (RFC 3311): a session refresh (RFC 4028 §9),
// a target refresh, and an offer when it has SDP, answered in the 200.
func (s *Server) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c := s.inDialog(req, tx)
	if c == nil {
		return
	}
	offer := req.Body()
	if len(offer) > 0 && contentType(req) != "application/sdp" {
		s.respondErr(req, tx, errUnsupportedMedia, sip.NewHeader("Accept", "application/sdp"))
		return
	}
	if len(offer) > 0 {
		if err := c.beginOffer(true); err != nil {
			s.respondErr(req, tx, err, sip.NewHeader("Retry-After", "1"))
			return
		}
		defer c.endOffer()
	}
	timerHdrs, err := c.refreshTimer(req)
	if err != nil {
		s.respondErr(req, tx, err, timerHdrs...)
		return
	}
	c.updateTarget(req)
	var answer []byte
	if len(offer) > 0 {
		if answer, err = c.answerOffer(offer); err != nil {
			code, reason := status(err, 488)
			s.respond(req, tx, code, reason, nil)
			return
		}
		c.mu.Lock()
		c.localSDP = answer
		c.mu.Unlock()
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", answer)
	res.AppendHeader(sip.HeaderClone(&c.contact))
	if len(answer) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	s.send(req, tx, res, timerHdrs...)
}
