package sip

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Limits bound the requests one source may send, per second (a token
// bucket with a burst of twice the rate). The zero value limits nothing;
// the gateway's configuration turns them on (sip.limits).
type Limits struct {
	// InvitesPerSecond bounds new calls (INVITE outside a dialog) per
	// source address (IPv6: per /64). Sources inside the allow list of a
	// trunk with MaxCPS get that ceiling instead.
	InvitesPerSecond float64
	// RegistersPerSecond bounds REGISTER.
	RegistersPerSecond float64
	// OptionsPerSecond bounds OPTIONS and every other request outside a
	// known dialog.
	OptionsPerSecond float64
}

func (l Limits) rate(c requestClass) float64 {
	switch c {
	case classInvite:
		return l.InvitesPerSecond
	case classRegister:
		return l.RegistersPerSecond
	}
	return l.OptionsPerSecond
}

// guard runs the checks every request passes before its handler, in this
// order: scanners are dropped; requests over their source's rate are
// refused (503, once a second) or dropped; then RFC 3261 §8.2 and §16.3
// checks answer what is malformed or exotic: Max-Forwards 0 → 483,
// Content-Length given twice with different values → 400, a Request-URI
// scheme other than sip/sips → 416, an option tag in Require we do not
// support → 420 with Unsupported. An ACK is never answered (§17.1.1.3)
// nor refused: it goes to its handler as it is.
func (s *Server) guard(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if s.blockedAgent(req) {
			s.stats.scanners.Add(1)
			return
		}
		if !s.withinRate(req, tx) {
			return
		}
		if err := checkRequest(req); err != nil && !req.IsAck() {
			s.stats.protocol.Add(1)
			s.respondErr(req, tx, err, rejectHeaders(req, err)...)
			return
		}
		h(req, tx)
	}
}

// blockedAgent reports whether the request's User-Agent is a scanner's.
func (s *Server) blockedAgent(req *sip.Request) bool {
	ua := strings.ToLower(headerValue(req, "User-Agent", ""))
	if ua == "" {
		return false
	}
	for _, b := range s.cfg.BlockUserAgents {
		if strings.Contains(ua, b) {
			return true
		}
	}
	return false
}

// withinRate applies the source's rate limit for the request's class and,
// over it, answers 503 with Retry-After once a second and drops the rest.
// Requests inside a known dialog and ACKs are not limited.
func (s *Server) withinRate(req *sip.Request, tx sip.ServerTransaction) bool {
	if req.IsAck() {
		return true
	}
	class := classOther
	switch {
	case req.Method == sip.INVITE && !hasToTag(req):
		class = classInvite
	case req.Method == sip.REGISTER:
		class = classRegister
	case hasToTag(req) && s.lookup(req) != nil:
		return true
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return true // answered 400 by the handler that needs the source
	}
	rate, trunk := s.sourceRate(class, src.Addr())
	if rate <= 0 {
		return true
	}
	ok, answer := s.limiter.allow(class, src.Addr(), rate, trunk, time.Now())
	if ok {
		return true
	}
	s.stats.rateLimited.Add(1)
	if answer {
		s.respondErr(req, tx, fmt.Errorf("%w: %s", errRateLimited, class), sip.NewHeader("Retry-After", "1"))
	}
	return false
}

// sourceRate is the rate a source gets for class: the highest MaxCPS of
// the trunks whose allow list holds it, else Config.Limits.
func (s *Server) sourceRate(class requestClass, src netip.Addr) (rate float64, trunk bool) {
	for i := range s.cfg.Trunks {
		t := &s.cfg.Trunks[i]
		if t.MaxCPS > 0 && t.allows(src) && t.MaxCPS > rate {
			rate, trunk = t.MaxCPS, true
		}
	}
	if trunk {
		return rate, true
	}
	return s.cfg.Limits.rate(class), false
}

func hasToTag(req *sip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

// checkRequest makes the checks of RFC 3261 that sipgo leaves to us and
// every request needs.
func checkRequest(req *sip.Request) error {
	if mf := req.MaxForwards(); mf != nil && *mf == 0 {
		return errTooManyHops
	}
	if cl := req.GetHeaders("Content-Length"); len(cl) > 1 {
		for _, h := range cl[1:] {
			if strings.TrimSpace(h.Value()) != strings.TrimSpace(cl[0].Value()) {
				return fmt.Errorf("%w: Content-Length %s and %s", errBadRequest, cl[0].Value(), h.Value())
			}
		}
	}
	if sc := strings.ToLower(req.Recipient.Scheme); sc != "sip" && sc != "sips" {
		return fmt.Errorf("%w: %q", errUnsupportedScheme, req.Recipient.Scheme)
	}
	// §8.2.2.3: Require is not checked for CANCEL, nor answered for ACK.
	if req.Method != sip.CANCEL {
		for _, t := range optionTags(req, "Require", "") {
			if !supportedTag(t) {
				return fmt.Errorf("%w: %s", errBadExtension, t)
			}
		}
	}
	return nil
}
