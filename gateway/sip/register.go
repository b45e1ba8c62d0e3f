package sip

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Binding is one contact of a registered address-of-record (RFC 3261 §10).
type Binding struct {
	AOR      string // "sip:alice@conf.example.com"
	Contact  string // the contact URI, without header parameters
	Username string // who authenticated the REGISTER
	// Transport and Source: how the REGISTER came, which for WebSocket and
	// other connection-oriented transports is the only way back.
	Transport  string // "udp", "tcp", "tls", "ws", "wss"
	Source     string // "ip:port"
	UserAgent  string
	CallID     string
	CSeq       uint32
	InstanceID string // the +sip.instance Contact parameter (RFC 5626 §4.1)
	Expires    time.Time
}

// Registrar keeps bindings. Its methods get a context bounded by the
// server; errors become 500.
type Registrar interface {
	// Bindings returns aor's bindings that have not expired.
	Bindings(ctx context.Context, aor string) ([]Binding, error)
	// Bind creates or refreshes the binding of b.AOR to b.Contact.
	Bind(ctx context.Context, b Binding) error
	// Unbind removes aor's binding to contact, or all of aor's when contact
	// is empty.
	Unbind(ctx context.Context, aor, contact string) error
}

// registrarTimeout bounds one REGISTER's work on the registrar.
const registrarTimeout = 5 * time.Second

// handleRegister is the registrar (RFC 3261 §10.3): it authenticates the
// user, checks that the address-of-record is theirs and in our domain,
// applies the Contact changes and answers 200 with every current binding.
func (s *Server) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	if s.cfg.Users == nil || s.cfg.Registrar == nil {
		s.handleNoRoute(req, tx)
		return
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		s.respondErr(req, tx, fmt.Errorf("%w: source %q", errBadRequest, req.Source()))
		return
	}
	to, cseq, callID := req.To(), req.CSeq(), req.CallID()
	if to == nil || cseq == nil || callID == nil || req.From() == nil {
		s.respondErr(req, tx, fmt.Errorf("%w: missing To, From, Call-ID or CSeq", errBadRequest))
		return
	}
	// Step 3: the address-of-record must be one of ours.
	if to.Address.User == "" || !strings.EqualFold(to.Address.Host, s.cfg.Domain) {
		s.respondErr(req, tx, fmt.Errorf("%w: %s", errUnknownAOR, to.Address.Addr()))
		return
	}
	trunk, ok := s.authorizeUser(req, tx, src.Addr())
	if !ok {
		return
	}
	// Step 6: a user registers their own address only.
	if to.Address.User != trunk.Username {
		s.respondErr(req, tx, fmt.Errorf("%w: %s may not register %s", ErrForbidden, trunk.Username, to.Address.User))
		return
	}
	aor := "sip:" + to.Address.User + "@" + strings.ToLower(s.cfg.Domain)
	changes, removeAll, err := s.registerChanges(req, aor, trunk.Username, src)
	if err != nil {
		var hdrs []sip.Header
		if code, _ := status(err, 500); code == 423 {
			hdrs = append(hdrs, sip.NewHeader("Min-Expires", strconv.Itoa(int(s.cfg.RegisterMinExpires/time.Second))))
		}
		s.respondErr(req, tx, err, hdrs...)
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, registrarTimeout)
	defer cancel()
	bindings, err := s.applyRegister(ctx, aor, callID.Value(), cseq.SeqNo, changes, removeAll)
	if err != nil {
		s.log.Warn("sip: REGISTER failed", "call_id", callIDOf(req), "aor", aor, "error", err)
		s.respondErr(req, tx, err)
		return
	}
	s.log.Info("sip: registered", "aor", aor, "source", src, "transport", req.Transport(), "bindings", len(bindings))
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	now := time.Now()
	for _, b := range bindings {
		var u sip.Uri
		if sip.ParseUri(b.Contact, &u) != nil {
			continue
		}
		ch := &sip.ContactHeader{Address: u, Params: sip.NewParams()}
		ch.Params.Add("expires", strconv.Itoa(int(max(0, b.Expires.Sub(now).Round(time.Second)/time.Second))))
		res.AppendHeader(ch)
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	s.send(req, tx, res)
}

// registerChanges reads the Contacts of a REGISTER (RFC 3261 §10.3 steps
// 6-7): each a binding to add or refresh, or to remove (expires 0), or the
// wildcard "*" that removes them all.
func (s *Server) registerChanges(req *sip.Request, aor, username string, src netip.AddrPort) (changes []Binding, removeAll bool, err error) {
	defaultExpires := s.cfg.RegisterMaxExpires
	if h := req.GetHeader("Expires"); h != nil {
		n, perr := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if perr != nil {
			return nil, false, fmt.Errorf("%w: Expires %q", errBadRequest, h.Value())
		}
		defaultExpires = time.Duration(n) * time.Second
	}
	contacts := req.GetHeaders("Contact")
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = h.Value()
	}
	now := time.Now()
	for _, h := range contacts {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			return nil, false, fmt.Errorf("%w: Contact %q", errBadRequest, h.Value())
		}
		if c.Address.Wildcard {
			if len(contacts) != 1 || defaultExpires != 0 {
				return nil, false, fmt.Errorf("%w: Contact * needs Expires: 0 and no other Contact", errBadRequest)
			}
			return nil, true, nil
		}
		if c.Address.Scheme != "sip" && c.Address.Scheme != "sips" {
			return nil, false, fmt.Errorf("%w: Contact scheme %q", errBadRequest, c.Address.Scheme)
		}
		expires := defaultExpires
		if v, ok := c.Params.Get("expires"); ok {
			n, perr := strconv.ParseUint(v, 10, 32)
			if perr != nil {
				return nil, false, fmt.Errorf("%w: Contact expires %q", errBadRequest, v)
			}
			expires = time.Duration(n) * time.Second
		}
		if expires > 0 && expires < s.cfg.RegisterMinExpires {
			return nil, false, fmt.Errorf("%w: %v", errIntervalTooBrief, expires)
		}
		expires = min(expires, s.cfg.RegisterMaxExpires)
		instance, _ := c.Params.Get("+sip.instance")
		b := Binding{
			AOR: aor, Contact: c.Address.String(), Username: username,
			Transport: strings.ToLower(req.Transport()), Source: src.String(), UserAgent: ua,
			CallID: req.CallID().Value(), CSeq: req.CSeq().SeqNo,
			InstanceID: strings.Trim(instance, `"`),
		}
		if expires > 0 {
			b.Expires = now.Add(expires)
		}
		changes = append(changes, b)
	}
	return changes, false, nil
}

// applyRegister checks the request's order against the stored bindings
// (RFC 3261 §10.3 step 7: the same Call-ID with a CSeq not higher is out of
// order, 500) and applies the changes. It returns the bindings now current.
func (s *Server) applyRegister(ctx context.Context, aor, callID string, cseq uint32, changes []Binding, removeAll bool) ([]Binding, error) {
	reg := s.cfg.Registrar
	current, err := reg.Bindings(ctx, aor)
	if err != nil {
		return nil, err
	}
	if removeAll {
		for _, b := range current {
			if b.CallID == callID && b.CSeq >= cseq {
				return nil, fmt.Errorf("%w: REGISTER CSeq %d after %d", errCSeqOrder, cseq, b.CSeq)
			}
		}
		return nil, reg.Unbind(ctx, aor, "")
	}
	for _, c := range changes {
		for _, b := range current {
			if b.Contact == c.Contact && b.CallID == callID && b.CSeq >= cseq {
				return nil, fmt.Errorf("%w: REGISTER CSeq %d after %d", errCSeqOrder, cseq, b.CSeq)
			}
		}
	}
	for _, c := range changes {
		if c.Expires.IsZero() {
			err = reg.Unbind(ctx, aor, c.Contact)
		} else {
			err = reg.Bind(ctx, c)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(changes) == 0 {
		return current, nil // a query (RFC 3261 §10.2.3)
	}
	return reg.Bindings(ctx, aor)
}
