package uac

import (
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// handle wraps a request handler so that Hangup can wait for it, and so
// that nothing runs once the call is closing.
func (c *Call) handle(f sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
			return
		}
		c.hwg.Add(1)
		c.mu.Unlock()
		defer c.hwg.Done()
		f(req, tx)
	}
}

// inDialog reports whether req belongs to our dialog (RFC 3261 §12.2.2);
// each Call has its own user agent, so the Call-ID decides.
func (c *Call) inDialog(req *sip.Request) bool {
	c.mu.Lock()
	sess := c.sess
	c.mu.Unlock()
	if sess == nil || req.CallID() == nil {
		return false
	}
	return req.CallID().Value() == sess.InviteRequest.CallID().Value()
}

func (c *Call) noDialog(req *sip.Request, tx sip.ServerTransaction) {
	respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
}

// onBye ends the call from the peer's side (RFC 3261 §15.1.2).
func (c *Call) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if !c.inDialog(req) {
		c.noDialog(req, tx)
		return
	}
	respond(tx, req, 200, "OK", nil)
	c.ended.Store(true)
	c.log.Debug("uac: remote hung up")
	c.cancel(ErrRemoteHangup)
}

// onInfo answers INFO with 200 and passes it on (RFC 6086 §4.2.2).
func (c *Call) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	if !c.inDialog(req) {
		c.noDialog(req, tx)
		return
	}
	respond(tx, req, 200, "OK", nil)
	if c.cfg.OnInfo != nil {
		ct := ""
		if h := req.ContentType(); h != nil {
			ct = h.Value()
		}
		c.cfg.OnInfo(ct, req.Body())
	}
}

func (c *Call) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	respond(tx, req, 200, "OK", nil, sip.NewHeader("Allow", allowMethods), sip.NewHeader("Supported", "timer"))
}

// onReInvite answers the peer's re-INVITE: hold, resume, a new address or a
// session refresh (RFC 3261 §14.2, RFC 4028 §10). An INVITE without SDP is
// answered with our SDP as the offer; its answer in the ACK is not used.
func (c *Call) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	if !c.inDialog(req) {
		c.noDialog(req, tx)
		return
	}
	c.answerOffer(req, tx, true)
}

// onUpdate answers UPDATE (RFC 3311): a session refresh, with or without a
// new offer.
func (c *Call) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if !c.inDialog(req) {
		c.noDialog(req, tx)
		return
	}
	c.answerOffer(req, tx, false)
}

func (c *Call) answerOffer(req *sip.Request, tx sip.ServerTransaction, invite bool) {
	c.mu.Lock()
	local := c.localSDP
	c.mu.Unlock()
	var body []byte
	if offer := sdpBody(req); offer != nil {
		answer := local
		if c.cfg.OnReOffer != nil {
			a, err := c.cfg.OnReOffer(offer)
			if err != nil {
				c.log.Info("uac: re-offer rejected", "error", err)
				respond(tx, req, 488, "Not Acceptable Here", nil)
				return
			}
			answer = a
		}
		c.mu.Lock()
		c.localSDP, c.remoteSDP = answer, offer
		c.mu.Unlock()
		body = answer
	} else if invite {
		body = local
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	if ct := c.sess.InviteRequest.Contact(); ct != nil {
		res.AppendHeader(sip.HeaderClone(ct))
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Supported", "timer"))
	if d, r, ok := parseSessionExpires(sessionExpires(req)); ok {
		// The request's UAC is the peer: refresher=uas means us. Without
		// a refresher the choice is ours, and we leave it to the peer.
		if r == "" {
			r = "uac"
		}
		res.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(d/time.Second), r)))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
		c.startTimer(sessionTimer{interval: d, weRefresh: r == "uas"})
	}
	_ = tx.Respond(res)
	c.resetTimer()
}
