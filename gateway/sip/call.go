package sip

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// Party is the address of a caller or callee (From or To, RFC 3261 §20.20).
type Party struct {
	DisplayName string
	User        string
	Host        string
	URI         string // the full URI, without header parameters
}

// finalKind records which final response the INVITE got.
type finalKind int

const (
	finalNone     finalKind = iota
	finalAnswered           // 2xx: a dialog exists
	finalRejected           // 3xx-6xx, including the 487 sipgo sends on CANCEL
)

// IncomingCall is one call offered by an INVITE, from admission until the
// handler returns. Its methods are safe for concurrent use.
type IncomingCall struct {
	srv   *Server
	log   *slog.Logger
	trunk *Trunk

	invite    *sip.Request // the INVITE, To tag added; read only
	tx        sip.ServerTransaction
	id        string // dialog ID
	callID    string
	source    netip.AddrPort
	transport string // sipgo's upper-case network: UDP, TCP, TLS
	offer     []byte
	contact   sip.ContactHeader // ours
	viaHost   string
	viaPort   int
	laddr     sip.Addr // local socket for UDP requests we send

	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup // goroutines the call starts (session timer)

	mu           sync.Mutex
	final        finalKind
	acked        bool
	ended        bool // dialog over: rejected, BYE sent or received
	answering    chan struct{}
	remoteTarget sip.Uri   // RFC 3261 §12.1.1, updated by target refreshes
	routeSet     []sip.Uri // from Record-Route
	localCSeq    uint32
	remoteCSeq   uint32
	localSDP     []byte
	ackSDP       []byte
	timer        sessionTimer
	timerReset   chan struct{}
	pendingAcks  map[uint32]chan *sip.Request
	offerPending bool // an offer/answer exchange is under way (RFC 3261 §14.1)
	onReInvite   func(offer []byte) ([]byte, error)
	onInfo       func(contentType string, body []byte) int
	onAnswer     func(sdp []byte)
}

// newCall builds the call state for an admitted INVITE; it picks our To tag
// (RFC 3261 §8.2.6.2) so every response carries the same one.
func (s *Server) newCall(req *sip.Request, tx sip.ServerTransaction, trunk *Trunk, src netip.AddrPort, st sessionTimer) *IncomingCall {
	inv := req.Clone()
	tag := sip.GenerateTagN(16)
	inv.To().Params.Add("tag", tag)
	fromTag, _ := inv.From().Params.Get("tag")
	callID := inv.CallID().Value()
	c := &IncomingCall{
		srv:          s,
		trunk:        trunk,
		invite:       inv,
		tx:           tx,
		id:           sip.DialogIDMake(callID, tag, fromTag),
		callID:       callID,
		source:       src,
		transport:    req.Transport(),
		offer:        req.Body(),
		remoteTarget: *req.Contact().Address.Clone(),
		routeSet:     recordRoutes(req),
		remoteCSeq:   req.CSeq().SeqNo,
		timer:        st,
		timerReset:   make(chan struct{}, 1),
		pendingAcks:  make(map[uint32]chan *sip.Request),
	}
	if len(c.offer) == 0 {
		c.offer = nil
	}
	c.log = s.log.With("call_id", callID, "trunk", trunk.Name, "source", src.String())
	host, port, laddr := s.localHostPort(tx, req)
	c.viaHost, c.viaPort = host, port
	c.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: port}}
	if to := req.To(); to != nil && to.Address.User != "" {
		c.contact.Address.User = to.Address.User
	}
	if tp := uriTransport(c.transport); tp != "udp" {
		c.contact.Address.UriParams = sip.HeaderParams{{K: "transport", V: tp}}
	}
	if ua, ok := laddr.(*net.UDPAddr); ok {
		c.laddr = sip.Addr{IP: ua.IP, Port: ua.Port}
	}
	c.ctx, c.cancel = context.WithCancelCause(s.ctx)
	return c
}

// uriTransport is the transport URI parameter for a sipgo network name:
// RFC 7118 §5.2 has "ws" for WebSocket whether it runs over TLS or not.
func uriTransport(network string) string {
	if tp := strings.ToLower(network); tp != "wss" {
		return tp
	}
	return "ws"
}

// run watches the INVITE transaction for CANCEL, runs the handler, then
// hangs up and frees the call.
func (c *IncomingCall) run() {
	defer c.srv.unregister(c)
	// RFC 3261 §9.2: sipgo answers CANCEL with 200 and the INVITE with 487;
	// we end the call. The callbacks run under the transaction's lock and
	// must not call it.
	onCancel := func(*sip.Request) { c.endEarly(ErrCanceled) }
	if !c.tx.OnCancel(onCancel) || !c.tx.OnTerminate(func(string, error) { c.endEarly(ErrCanceled) }) {
		c.endEarly(ErrCanceled)
	}
	c.log.Info("sip: call offered", "from", c.LogFrom(), "to", c.To().URI, "transport", c.Transport())
	c.srv.cfg.Handler.HandleCall(c)
	c.finish()
}

// endEarly ends a call that has no final response yet: the caller cancelled
// or the INVITE transaction died.
func (c *IncomingCall) endEarly(cause error) {
	c.mu.Lock()
	if c.final != finalNone {
		c.mu.Unlock()
		return
	}
	c.final, c.ended = finalRejected, true
	c.mu.Unlock()
	c.srv.stats.canceled.Add(1)
	c.cancel(cause)
}

// finish runs after the handler returns: it sends the final response the
// handler did not, or hangs up an answered call, stops the call's
// goroutines and leaves the dialog table.
func (c *IncomingCall) finish() {
	cause := context.Cause(c.ctx)
	c.cancel(ErrHandlerDone)
	c.mu.Lock()
	wait := c.answering
	c.mu.Unlock()
	if wait != nil {
		<-wait // Answer returns promptly once the context is done
	}
	c.mu.Lock()
	final, ended := c.final, c.ended
	c.mu.Unlock()
	switch {
	case final == finalNone:
		if cause == nil || errors.Is(cause, ErrHandlerDone) {
			cause = ErrNotAnswered
		}
		_ = c.rejectErr(cause, cause)
	case final == finalAnswered && !ended:
		ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
		if err := c.terminate(ctx, ErrHandlerDone); err != nil {
			c.log.Debug("sip: BYE failed", "error", err)
		}
		cancel()
	}
	c.wg.Wait()
	c.log.Info("sip: call ended", "cause", context.Cause(c.ctx))
}

// Context is cancelled when the call ends: the caller cancels (ErrCanceled)
// or hangs up (ErrRemoteHangup), the session timer expires
// (ErrSessionExpired), no ACK comes (ErrNoAck), the handler hangs up or
// rejects, or the server closes (ErrServerClosed). context.Cause says which.
func (c *IncomingCall) Context() context.Context { return c.ctx }

// Trunk is the trunk the call came in on; treat it as read only.
func (c *IncomingCall) Trunk() *Trunk { return c.trunk }

// From is the caller (From header).
func (c *IncomingCall) From() Party {
	f := c.invite.From()
	return party(f.DisplayName, f.Address)
}

// LogFrom is the caller's From URI as logs may show it: its user (the
// caller's number) masked by Config.LogMask.
func (c *IncomingCall) LogFrom() string {
	u := c.invite.From().Address
	u.Headers = nil
	if m := c.srv.cfg.LogMask; m != nil {
		u.User = m(u.User)
	}
	return u.String()
}

// To is the callee as the caller addressed it (To header).
func (c *IncomingCall) To() Party {
	t := c.invite.To()
	return party(t.DisplayName, t.Address)
}

func party(name string, u sip.Uri) Party {
	uri := u
	uri.Headers = nil
	return Party{DisplayName: name, User: u.User, Host: u.Host, URI: uri.String()}
}

// RequestURIUser is the user part of the Request-URI (the called number or
// room), or of To when the Request-URI has none.
func (c *IncomingCall) RequestURIUser() string { return requestUser(c.invite) }

// RequestURIParam returns the value of a parameter of the Request-URI
// (";name=value", or "" for a bare ";name") and whether it is there.
func (c *IncomingCall) RequestURIParam(name string) (string, bool) {
	return c.invite.Recipient.UriParams.Get(name)
}

// CallID is the SIP Call-ID.
func (c *IncomingCall) CallID() string { return c.callID }

// Source is the address the INVITE came from.
func (c *IncomingCall) Source() netip.AddrPort { return c.source }

// Transport is "udp", "tcp" or "tls".
func (c *IncomingCall) Transport() string { return strings.ToLower(c.transport) }

// Offer is the SDP offer of the INVITE, nil for a delayed offer (RFC 3261
// §13.2.1): then [IncomingCall.Answer] sends our offer and the answer comes
// in the ACK.
func (c *IncomingCall) Offer() []byte { return c.offer }

// Header returns the first value of a header of the INVITE, "" if absent.
func (c *IncomingCall) Header(name string) string {
	if h := c.invite.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// AckSDP is the SDP answer the caller sent in the ACK for a delayed-offer
// call, nil before the ACK or when it had none.
func (c *IncomingCall) AckSDP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ackSDP
}

// OnReInvite sets the function that answers SDP offers in re-INVITEs and
// UPDATEs (hold, resume, address change; RFC 3264 §8). An error rejects the
// offer: [StatusCode] of the error when it wraps a sentinel of errors.go,
// else 488 Not Acceptable Here. For a re-INVITE without SDP (RFC 3261
// §14.2), offer is nil and f returns our current offer; the caller's
// answer then arrives in the ACK, see [IncomingCall.OnAckAnswer].
// Without f, offers are answered with our last SDP, which suits
// session-refresh re-INVITEs that repeat the previous offer.
func (c *IncomingCall) OnReInvite(f func(offer []byte) (answer []byte, err error)) {
	c.mu.Lock()
	c.onReInvite = f
	c.mu.Unlock()
}

// OnAckAnswer sets the function that receives the SDP answer the caller puts
// in the ACK after a re-INVITE without SDP.
func (c *IncomingCall) OnAckAnswer(f func(sdp []byte)) {
	c.mu.Lock()
	c.onAnswer = f
	c.mu.Unlock()
}

// OnInfo sets the function that handles SIP INFO requests (RFC 6086): DTMF
// relay, picture_fast_update. It returns the status code to answer with.
// Without f, INFO gets 200.
func (c *IncomingCall) OnInfo(f func(contentType string, body []byte) int) {
	c.mu.Lock()
	c.onInfo = f
	c.mu.Unlock()
}

// recordRoutes returns the route set of a dialog we are the UAS of: the
// Record-Route URIs in order (RFC 3261 §12.1.1).
func recordRoutes(req *sip.Request) []sip.Uri {
	var out []sip.Uri
	for _, h := range req.GetHeaders("Record-Route") {
		for _, v := range splitAddressList(h.Value()) {
			var u sip.Uri
			params := sip.NewParams()
			if _, err := sip.ParseAddressValue(v, &u, &params); err == nil {
				out = append(out, u)
			}
		}
	}
	return out
}

// splitAddressList splits a comma-separated list of name-addr values,
// ignoring commas inside <> and quotes.
func splitAddressList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '<':
			if !quoted {
				depth++
			}
		case '>':
			if !quoted && depth > 0 {
				depth--
			}
		case ',':
			if !quoted && depth == 0 {
				out = append(out, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}
