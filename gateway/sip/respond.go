package sip

import (
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Capabilities we advertise (RFC 3261 §20.5 Allow, §20.1 Accept, §20.37
// Supported).
const (
	allowMethods  = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"
	acceptTypes   = "application/sdp, application/dtmf-relay, application/dtmf, application/media_control+xml"
	supportedTags = "timer"
)

// capabilityHeaders are Allow, Accept and Supported, for OPTIONS, 2xx to
// INVITE, 405 and 415.
func (s *Server) capabilityHeaders() []sip.Header {
	hs := []sip.Header{
		sip.NewHeader("Allow", s.allowed()),
		sip.NewHeader("Accept", acceptTypes),
	}
	if s.cfg.SessionExpires > 0 {
		hs = append(hs, sip.NewHeader("Supported", supportedTags))
	}
	return hs
}

// allowed is the Allow header value: REGISTER too when we are a registrar.
func (s *Server) allowed() string {
	if s.cfg.Users != nil && s.cfg.Registrar != nil {
		return allowMethods + ", REGISTER"
	}
	return allowMethods
}

// respond sends a response to req on tx, with our Server header.
func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, body []byte, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	s.send(req, tx, res, hdrs...)
}

// send adds the Server header and hdrs to res and sends it on tx.
func (s *Server) send(req *sip.Request, tx sip.ServerTransaction, res *sip.Response, hdrs ...sip.Header) {
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip: respond failed", "call_id", callIDOf(req), "method", req.Method, "status", res.StatusCode, "error", err)
	}
}

// respondErr answers req with the final response [status] picks for err.
func (s *Server) respondErr(req *sip.Request, tx sip.ServerTransaction, err error, hdrs ...sip.Header) {
	code, reason := status(err, 500)
	s.log.Debug("sip: rejecting request", "call_id", callIDOf(req), "method", req.Method, "status", code, "error", err)
	s.respond(req, tx, code, reason, nil, hdrs...)
}

func callIDOf(m sip.Message) string {
	if h := m.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

// localHostPort returns the host and port we put in Contact and Via for a
// request that arrived on tx: Config.ContactHost if set, else the local
// address of the connection, with a wildcard address replaced by the local
// address that routes to the request's source.
func (s *Server) localHostPort(tx sip.ServerTransaction, req *sip.Request) (string, int, net.Addr) {
	var laddr net.Addr
	if c, ok := tx.(interface{ Connection() sip.Connection }); ok && c.Connection() != nil {
		laddr = c.Connection().LocalAddr()
	}
	host, port := "", 0
	if laddr != nil {
		if h, p, err := net.SplitHostPort(laddr.String()); err == nil {
			host = h
			port, _ = strconv.Atoi(p)
		}
	}
	if s.cfg.ContactHost != "" {
		return s.cfg.ContactHost, port, laddr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if src, _, err := net.SplitHostPort(req.Source()); err == nil {
			if c, err := net.Dial("udp", net.JoinHostPort(src, "9")); err == nil {
				if ua, ok := c.LocalAddr().(*net.UDPAddr); ok {
					host = ua.IP.String()
				}
				_ = c.Close()
			}
		}
	}
	return host, port, laddr
}

// contentType returns the media type of a message body, lower-cased and
// without parameters; "" when there is none.
func contentType(m headerSource) string {
	v := headerValue(m, "Content-Type", "c")
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}
