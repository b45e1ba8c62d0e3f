package sip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// newRequest builds a request inside the dialog (RFC 3261 §12.2.1.1):
// Request-URI the remote target, Route from the route set, From/To/Call-ID
// of the dialog, the next local CSeq (ACK reuses the INVITE's, cseq != 0).
func (c *IncomingCall) newRequest(method sip.RequestMethod, cseq uint32, contentType string, body []byte) *sip.Request {
	c.mu.Lock()
	if cseq == 0 {
		if c.localCSeq == 0 {
			c.localCSeq = 1
		} else {
			c.localCSeq++
		}
		cseq = c.localCSeq
	}
	target := c.remoteTarget
	routes := c.routeSet
	c.mu.Unlock()

	req := sip.NewRequest(method, target)
	via := &sip.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       c.transport,
		Host:            c.viaHost,
		Port:            c.viaPort,
		Params:          sip.NewParams(),
	}
	via.Params.Add("branch", sip.GenerateBranch())
	via.Params.Add("rport", "")
	req.AppendHeader(via)
	from := c.invite.To().AsFrom() // ours, with our tag
	to := c.invite.From().AsTo()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	callID := sip.CallIDHeader(c.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	for _, r := range routes {
		req.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
	}
	req.AppendHeader(sip.HeaderClone(&c.contact))
	req.AppendHeader(sip.NewHeader("User-Agent", c.srv.cfg.UserAgent))
	if len(body) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	}
	req.SetBody(body)
	req.SetTransport(c.transport)
	if dest := c.destination(target, len(routes) > 0); dest != "" {
		req.SetDestination(dest)
	}
	if c.laddr.IP != nil {
		req.Laddr = c.laddr
	}
	return req
}

// destination picks where a request inside the dialog goes: the first Route
// when there is a route set (sipgo follows it), the caller's open
// connection on reliable transports (RFC 5923 connection reuse), the
// source address with Config.RewriteContact, else the remote target.
func (c *IncomingCall) destination(target sip.Uri, routed bool) string {
	if routed {
		return ""
	}
	src := c.source.String()
	if sip.IsReliable(c.transport) {
		if conn, err := c.srv.ua.TransportLayer().GetConnection(c.transport, src); err == nil && conn != nil {
			_, _ = conn.TryClose() // GetConnection took a reference
			return src
		}
	}
	if c.srv.cfg.RewriteContact {
		return src
	}
	port := target.Port
	if port == 0 {
		port = sip.DefaultPort(c.transport)
	}
	return net.JoinHostPort(strings.Trim(target.Host, "[]"), strconv.Itoa(port))
}

// do sends a request inside the dialog and waits for its final response.
func (c *IncomingCall) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	tx, err := c.srv.client.TransactionRequest(ctx, req, noBuild)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, sip.ErrTransactionTerminated
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// noBuild keeps sipgo from adding headers: newRequest built them all.
func noBuild(*sipgo.Client, *sip.Request) error { return nil }

// sendAck sends the ACK for a 2xx to our re-INVITE (RFC 3261 §13.2.2.4),
// with the INVITE's CSeq number.
func (c *IncomingCall) sendAck(cseq uint32) error {
	ack := c.newRequest(sip.ACK, cseq, "", nil)
	return c.srv.client.WriteRequest(ack, noBuild)
}

// terminate ends an answered dialog with BYE (RFC 3261 §15.1.1) once, and
// cancels the call's context with cause.
func (c *IncomingCall) terminate(ctx context.Context, cause error) error {
	c.mu.Lock()
	if c.ended || c.final != finalAnswered {
		c.mu.Unlock()
		return nil
	}
	c.ended = true
	c.mu.Unlock()
	c.cancel(cause)
	res, err := c.do(ctx, c.newRequest(sip.BYE, 0, "", nil))
	if err != nil {
		return fmt.Errorf("sip: BYE: %w", err)
	}
	if !res.IsSuccess() {
		return &RequestFailedError{Method: "BYE", Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// Hangup ends the call: BYE once answered (after the ACK, RFC 3261 §15),
// or 480 Temporarily Unavailable before. The context is cancelled with
// [ErrLocalHangup].
func (c *IncomingCall) Hangup(ctx context.Context) error {
	c.mu.Lock()
	final, wait := c.final, c.answering
	c.mu.Unlock()
	switch final {
	case finalNone:
		return c.rejectErr(ErrNotAnswered, ErrLocalHangup)
	case finalRejected:
		return nil
	}
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.terminate(ctx, ErrLocalHangup)
}

// SendInfo sends a SIP INFO (RFC 6086) in the established dialog, such as
// application/media_control+xml picture_fast_update, and waits for a 2xx.
func (c *IncomingCall) SendInfo(ctx context.Context, contentType string, body []byte) error {
	if err := c.established(); err != nil {
		return err
	}
	res, err := c.do(ctx, c.newRequest(sip.INFO, 0, contentType, body))
	if err != nil {
		return fmt.Errorf("sip: INFO: %w", err)
	}
	if !res.IsSuccess() {
		return &RequestFailedError{Method: "INFO", Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// established reports an error unless the dialog is answered and not over.
func (c *IncomingCall) established() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ended:
		if cause := context.Cause(c.ctx); cause != nil {
			return cause
		}
		return ErrCallEnded
	case c.final != finalAnswered:
		return ErrNotEstablished
	}
	return nil
}
