package uac

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// allowMethods is what we accept inside the dialog (RFC 3261 §20.5).
const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"

// Dial places a call and returns once it is answered and ACKed.
//
// ctx bounds the setup only: when it ends before a final response the
// INVITE is cancelled (RFC 3261 §9.1) and Dial returns an error wrapping
// ErrCanceled and the context's error. A non-2xx final response returns a
// *StatusError. The Call outlives ctx; Hangup ends it.
func Dial(ctx context.Context, cfg Config) (*Call, error) {
	if cfg.Offer == nil && cfg.OnOffer == nil {
		return nil, ErrNoOfferHandler
	}
	s, err := cfg.validate(ctx)
	if err != nil {
		return nil, err
	}
	c, err := newCall(s)
	if err != nil {
		return nil, err
	}
	if err := c.invite(ctx); err != nil {
		c.release()
		return nil, err
	}
	return c, nil
}

// newCall builds the call's user agent, SIP socket and request handlers.
func newCall(s *settings) (*Call, error) {
	st, err := newStack(s)
	if err != nil {
		return nil, err
	}
	c := &Call{
		cfg:        s,
		log:        s.log,
		stack:      st,
		timerReset: make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	c.dua = &sipgo.DialogUA{Client: st.cli, ContactHDR: st.contact}

	srv := st.srv
	srv.OnBye(c.handle(c.onBye))
	srv.OnInfo(c.handle(c.onInfo))
	srv.OnInvite(c.handle(c.onReInvite))
	srv.OnUpdate(c.handle(c.onUpdate))
	srv.OnOptions(c.handle(c.onOptions))
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnNoRoute(c.handle(func(req *sip.Request, tx sip.ServerTransaction) {
		respond(tx, req, 405, "Method Not Allowed", nil, sip.NewHeader("Allow", allowMethods))
	}))
	return c, nil
}

// invite sends the INVITE and waits for the answer (RFC 3261 §13.2).
func (c *Call) invite(ctx context.Context) error {
	s := c.cfg
	req := sip.NewRequest(sip.INVITE, *s.target.Clone())
	req.SetTransport(strings.ToUpper(s.transport.String()))
	from := &sip.FromHeader{
		DisplayName: s.FromDisplay,
		Address:     sip.Uri{Scheme: "sip", User: s.FromUser, Host: s.FromHost},
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := &sip.ToHeader{Address: sip.Uri{Scheme: s.target.Scheme, User: s.target.User, Host: s.target.Host, Port: s.target.Port}}
	callID := sip.CallIDHeader(newCallID())
	c.log = c.log.With("call_id", string(callID))
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(sip.NewHeader("User-Agent", s.UserAgent))
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	if s.SessionExpires > 0 {
		req.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d", int(s.SessionExpires/time.Second))))
	}
	for _, h := range s.Headers {
		req.AppendHeader(sip.NewHeader(h.Name, h.Value))
	}
	if s.Offer != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(s.Offer)
	}
	if s.Destination != "" {
		req.SetDestination(s.Destination)
	}

	// waitCtx is ctx, plus the abandonment of an INVITE nobody answers.
	waitCtx, stopWait := context.WithCancelCause(ctx)
	defer stopWait(nil)
	var responded atomic.Bool
	if s.ResponseTimeout > 0 {
		t := time.AfterFunc(s.ResponseTimeout, func() {
			if !responded.Load() {
				// Nothing to CANCEL yet: sipgo then drops the transaction.
				stopWait(sipgo.WaitAnswerForceCancelErr)
			}
		})
		defer t.Stop()
	}

	start := time.Now()
	sess, err := c.dua.WriteInvite(ctx, req)
	if err != nil {
		return fmt.Errorf("%w: INVITE: %w", ErrTransport, err)
	}
	c.mu.Lock()
	c.sess = sess
	c.mu.Unlock()

	challenges := 0
	err = sess.WaitAnswer(waitCtx, sipgo.AnswerOptions{
		Username: s.Username,
		Password: s.Password,
		OnResponse: func(res *sip.Response) error {
			responded.Store(true)
			switch {
			case res.IsProvisional():
				if s.OnProgress != nil {
					s.OnProgress(res.StatusCode, res.Reason, sdpBody(res))
				}
			case res.StatusCode == 401 || res.StatusCode == 407:
				challenges++
				if challenges > 1 || s.Password == "" {
					// Answered once already (or nothing to answer with).
					return &StatusError{Method: "INVITE", Code: res.StatusCode, Reason: res.Reason}
				}
				if err := s.checkRealm(challengeRealm(res)); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		if errors.Is(context.Cause(waitCtx), sipgo.WaitAnswerForceCancelErr) && ctx.Err() == nil {
			return fmt.Errorf("%w within %v", ErrNoResponse, s.ResponseTimeout)
		}
		if ctx.Err() != nil {
			// A 2xx may have crossed our CANCEL (RFC 3261 §9.1): confirm
			// and end the dialog.
			if r := sess.InviteResponse; r != nil && r.IsSuccess() {
				c.ackAndBye(sess)
			}
			return fmt.Errorf("%w: %w", ErrCanceled, context.Cause(ctx))
		}
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			return &StatusError{Method: "INVITE", Code: de.Res.StatusCode, Reason: de.Res.Reason}
		}
		var se *StatusError
		if errors.As(err, &se) {
			return err
		}
		// The transaction died: Timer B, or the transport failed.
		return fmt.Errorf("%w: INVITE: %w", ErrNoResponse, err)
	}
	c.setupTime = time.Since(start)
	res := sess.InviteResponse
	c.response = res
	remote := res.Body()

	var ackBody []byte
	var offerErr error
	if s.Offer == nil {
		ackBody, offerErr = s.OnOffer(remote)
		if offerErr != nil {
			ackBody = nil
		}
	}
	c.mu.Lock()
	c.localSDP, c.remoteSDP = s.Offer, remote
	if s.Offer == nil {
		c.localSDP = ackBody
	}
	c.mu.Unlock()
	if err := c.ack(ctx, ackBody); err != nil {
		return fmt.Errorf("uac: ACK: %w", err)
	}
	if offerErr != nil {
		// RFC 3261 §13.2.2.4: ACK the 2xx, then end the session.
		c.ended.Store(true)
		bctx, cancel := context.WithTimeout(context.Background(), 32*sip.T1)
		_ = c.bye(bctx)
		cancel()
		return fmt.Errorf("uac: answering the offer in the 2xx: %w", offerErr)
	}
	c.allowUpdate = hasToken(res, "Allow", "update")
	if st, ok := timerFromResponse(res); ok {
		c.startTimer(st)
	}
	c.log.Debug("uac: call answered", "status", res.StatusCode, "setup", c.setupTime)
	return nil
}

// ack sends the ACK for the initial 2xx, with body for a delayed offer.
func (c *Call) ack(ctx context.Context, body []byte) error {
	sess := c.sess
	if body == nil {
		return sess.Ack(ctx)
	}
	ack := newAck(sess.InviteRequest, sess.InviteResponse, body)
	return sess.WriteAck(ctx, ack)
}

// ackAndBye confirms a 2xx we no longer want and ends it at once.
func (c *Call) ackAndBye(sess *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 32*sip.T1)
	defer cancel()
	c.response = sess.InviteResponse
	c.ended.Store(true)
	if err := sess.Ack(ctx); err == nil {
		_ = c.bye(ctx)
	}
}

// newAck builds the ACK for a 2xx (RFC 3261 §13.2.2.4) carrying body; sipgo's
// own builder cannot carry one.
func newAck(inv *sip.Request, res *sip.Response, body []byte) *sip.Request {
	recipient := inv.Recipient
	if ct := res.Contact(); ct != nil {
		recipient = ct.Address
	}
	ack := sip.NewRequest(sip.ACK, *recipient.Clone())
	ack.SipVersion = inv.SipVersion
	ack.AppendHeader(sip.HeaderClone(inv.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(inv.CallID()))
	cseq := sip.HeaderClone(inv.CSeq()).(*sip.CSeqHeader)
	cseq.MethodName = sip.ACK
	ack.AppendHeader(cseq)
	mf := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	if ct := inv.Contact(); ct != nil {
		ack.AppendHeader(sip.HeaderClone(ct))
	}
	if body != nil {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	ack.SetBody(body)
	ack.SetTransport(inv.Transport())
	ack.SetSource(inv.Source())
	ack.Laddr = inv.Laddr
	return ack
}

// challengeRealm is the realm of a 401's or 407's digest challenge.
func challengeRealm(res *sip.Response) string {
	name := "WWW-Authenticate"
	if res.StatusCode == 407 {
		name = "Proxy-Authenticate"
	}
	if h := res.GetHeader(name); h != nil {
		if chal, err := digest.ParseChallenge(h.Value()); err == nil {
			return chal.Realm
		}
	}
	return ""
}

// sdpBody returns m's body when it is SDP, else nil.
func sdpBody(m interface {
	ContentType() *sip.ContentTypeHeader
	Body() []byte
},
) []byte {
	ct := m.ContentType()
	if ct == nil || len(m.Body()) == 0 {
		return nil
	}
	if !strings.HasPrefix(strings.ToLower(ct.Value()), "application/sdp") {
		return nil
	}
	return m.Body()
}

// hasToken reports whether a comma-separated header (Allow, Supported,
// Require) lists tok, case-insensitively.
func hasToken(m interface{ GetHeaders(string) []sip.Header }, name, tok string) bool {
	for _, h := range m.GetHeaders(name) {
		for v := range strings.SplitSeq(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(v), tok) {
				return true
			}
		}
	}
	return false
}

// respond answers a server transaction, logging nothing on failure: the
// peer retransmits or gives up.
func respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, body []byte, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
}
