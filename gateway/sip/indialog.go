package sip

import (
	"fmt"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// inDialog finds the call of a request inside a dialog and checks its CSeq
// (RFC 3261 §12.2.2: lower than the last one gets 500). It answers the
// request itself and returns nil when the request goes no further.
func (s *Server) inDialog(req *sip.Request, tx sip.ServerTransaction) *IncomingCall {
	c := s.lookup(req)
	if c == nil {
		s.respondErr(req, tx, errNoDialog)
		return nil
	}
	if err := c.checkCSeq(req); err != nil {
		s.respondErr(req, tx, err, sip.NewHeader("Retry-After", "1"))
		return nil
	}
	return c
}

func (c *IncomingCall) checkCSeq(req *sip.Request) error {
	n := req.CSeq().SeqNo
	c.mu.Lock()
	defer c.mu.Unlock()
	if n <= c.remoteCSeq {
		return fmt.Errorf("%w: %d after %d", errCSeqOrder, n, c.remoteCSeq)
	}
	c.remoteCSeq = n
	return nil
}

// handleAck passes an ACK for one of our 2xx to whoever waits for it. ACKs
// get no response (RFC 3261 §17.1.1.3); stray ones are dropped.
func (s *Server) handleAck(req *sip.Request, _ sip.ServerTransaction) {
	c := s.lookup(req)
	if c == nil {
		s.log.Debug("sip: ACK outside a dialog dropped", "call_id", callIDOf(req))
		return
	}
	c.mu.Lock()
	ch := c.pendingAcks[req.CSeq().SeqNo]
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- req:
		default: // a retransmitted ACK
		}
	}
}

// handleBye answers BYE with 200 and ends the call (RFC 3261 §15.1.2). A BYE
// before our final response ends the call too; the INVITE then gets 487.
func (s *Server) handleBye(req *sip.Request, tx sip.ServerTransaction) {
	c := s.inDialog(req, tx)
	if c == nil {
		return
	}
	s.respond(req, tx, 200, "OK", nil)
	c.mu.Lock()
	wasEnded := c.ended
	if c.final == finalAnswered {
		c.ended = true
	}
	c.mu.Unlock()
	if !wasEnded {
		c.log.Info("sip: remote hangup")
	}
	c.cancel(ErrRemoteHangup)
}

// handleCancel answers a CANCEL that matched no INVITE transaction (sipgo
// handles those that do) with 481 (RFC 3261 §9.2).
func (s *Server) handleCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.respondErr(req, tx, errNoDialog)
}

// handleOptions answers OPTIONS with our capabilities (RFC 3261 §11.2),
// inside a known dialog or outside any; 481 for an unknown dialog.
func (s *Server) handleOptions(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") && s.lookup(req) == nil {
		s.respondErr(req, tx, errNoDialog)
		return
	}
	s.respond(req, tx, 200, "OK", nil, s.capabilityHeaders()...)
}

// handleNoRoute answers methods we do not implement with 405 and Allow
// (RFC 3261 §8.2.1).
func (s *Server) handleNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	s.respondErr(req, tx, errMethodNotAllowed, sip.NewHeader("Allow", s.allowed()))
}

// handleStrayResponse re-ACKs retransmitted 2xx to our re-INVITEs (RFC 3261
// §13.2.2.4) and drops other responses that match no transaction.
func (s *Server) handleStrayResponse(res *sip.Response) {
	cseq := res.CSeq()
	if cseq == nil || cseq.MethodName != sip.INVITE || !res.IsSuccess() {
		return
	}
	from, to, callID := res.From(), res.To(), res.CallID()
	if from == nil || to == nil || callID == nil {
		return
	}
	// We sent the request: our tag is in From, the caller's in To.
	ours, _ := from.Params.Get("tag")
	theirs, _ := to.Params.Get("tag")
	s.mu.Lock()
	c := s.calls[sip.DialogIDMake(callID.Value(), ours, theirs)]
	s.mu.Unlock()
	if c != nil {
		_ = c.sendAck(cseq.SeqNo)
	}
}

// handleInfo passes INFO to the call's OnInfo function (RFC 6086 §4.2.2);
// 200 without one.
func (s *Server) handleInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := s.inDialog(req, tx)
	if c == nil {
		return
	}
	c.mu.Lock()
	f := c.onInfo
	c.mu.Unlock()
	code := 200
	if f != nil {
		code = f(contentType(req), req.Body())
	}
	if code < 200 || code > 699 {
		code = 500
	}
	s.respond(req, tx, code, reasonPhrase(code), nil)
}

// reasonPhrase returns the RFC 3261 §21 reason phrase for codes a handler
// may pick.
func reasonPhrase(code int) string {
	switch code {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 415:
		return "Unsupported Media Type"
	case 469:
		return "Bad Info Package"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	}
	return "Status " + strconv.Itoa(code)
}

// refreshTimer renegotiates the session timer for a re-INVITE or UPDATE
// (RFC 4028 §9 applies to refreshes too) and restarts it. It returns the
// headers for our 2xx.
func (c *IncomingCall) refreshTimer(req *sip.Request) ([]sip.Header, error) {
	st, err := negotiateTimer(req, c.srv.cfg.SessionExpires, c.srv.cfg.MinSE)
	if err != nil {
		return []sip.Header{sip.NewHeader("Min-SE", strconv.Itoa(int(c.srv.cfg.MinSE/time.Second)))}, err
	}
	c.mu.Lock()
	c.timer = st
	c.mu.Unlock()
	select {
	case c.timerReset <- struct{}{}:
	default:
	}
	var hs []sip.Header
	if st.active() {
		hs = append(hs, sip.NewHeader("Session-Expires", st.headerValue()))
		if st.peerSupports {
			hs = append(hs, sip.NewHeader("Require", "timer"))
		}
	}
	return hs, nil
}

// updateTarget applies a target refresh: a Contact in a re-INVITE or UPDATE
// replaces the remote target (RFC 3261 §12.2.2).
func (c *IncomingCall) updateTarget(req *sip.Request) {
	if ct := req.Contact(); ct != nil && (ct.Address.Scheme == "sip" || ct.Address.Scheme == "sips") {
		c.mu.Lock()
		c.remoteTarget = *ct.Address.Clone()
		c.mu.Unlock()
	}
}
