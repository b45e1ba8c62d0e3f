package uac

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Agent sends requests outside any dialog from one long-lived user agent
// and SIP socket: registrations (RFC 3261 §10) and OPTIONS pings (§11.1).
// Its methods are safe for concurrent use; Close frees it.
type Agent struct {
	cfg   *settings
	stack *stack

	mu     sync.Mutex
	callID string // one Call-ID for every REGISTER (RFC 3261 §10.2)
	cseq   uint32
	closed bool
}

// NewAgent builds an agent for cfg.Target (a registrar or a server to
// ping, e.g. "sip:carrier.example;transport=tls"). The fields about calls
// (Offer, On*, Headers, SessionExpires) are not used.
func NewAgent(ctx context.Context, cfg Config) (*Agent, error) {
	s, err := cfg.validate(ctx)
	if err != nil {
		return nil, err
	}
	st, err := newStack(s)
	if err != nil {
		return nil, err
	}
	// Requests that reach the agent's socket are not ours to serve.
	st.srv.OnNoRoute(func(req *sip.Request, tx sip.ServerTransaction) {
		respond(tx, req, 405, "Method Not Allowed", nil)
	})
	return &Agent{cfg: s, stack: st, callID: newCallID()}, nil
}

// Close stops the agent's socket and user agent. It is idempotent.
func (a *Agent) Close() error {
	a.mu.Lock()
	closed := a.closed
	a.closed = true
	a.mu.Unlock()
	if !closed {
		a.stack.close()
	}
	return nil
}

// Registration is one REGISTER of a binding (RFC 3261 §10.2).
type Registration struct {
	// AOR is the address of record, e.g. "sip:alice@carrier.example"
	// (To and From).
	AOR string
	// Contact is the URI bound to the AOR: where the registrar sends our
	// calls, e.g. "sip:+15550100@198.51.100.7:5060".
	Contact string
	// Expires is the lifetime asked for; zero removes the binding
	// (RFC 3261 §10.2.2).
	Expires time.Duration
	// Destination overrides where the request is sent ("ip:port"), as in
	// Config.Destination.
	Destination string
}

// Register sends REGISTER and returns the lifetime the registrar granted:
// the expires parameter of our Contact in the 2xx, else its Expires
// header, else the one asked for. It answers one digest challenge with
// Config.Username and Password (and only a challenge of Config.Realm when
// that is set), and retries once with the Min-Expires of a 423 (§10.2.8).
// A non-2xx final response is a *StatusError.
func (a *Agent) Register(ctx context.Context, r Registration) (time.Duration, error) {
	var aor, contact sip.Uri
	if err := sip.ParseUri(r.AOR, &aor); err != nil {
		return 0, fmt.Errorf("%w: AOR %q: %w", ErrInvalidConfig, r.AOR, err)
	}
	if err := sip.ParseUri(r.Contact, &contact); err != nil {
		return 0, fmt.Errorf("%w: Contact %q: %w", ErrInvalidConfig, r.Contact, err)
	}
	expires := r.Expires
	for range 2 {
		res, err := a.send(ctx, func() *sip.Request { return a.newRegister(aor, contact, expires, r.Destination) })
		if err != nil {
			return 0, err
		}
		if res.StatusCode == 423 {
			if minExp, ok := headerSeconds(res, "Min-Expires"); ok && minExp > expires {
				expires = minExp
				continue
			}
		}
		if !res.IsSuccess() {
			return 0, &StatusError{Method: "REGISTER", Code: res.StatusCode, Reason: res.Reason}
		}
		if expires == 0 {
			return 0, nil
		}
		return grantedExpires(res, contact, expires), nil
	}
	return 0, &StatusError{Method: "REGISTER", Code: 423, Reason: "Interval Too Brief"}
}

// Options sends OPTIONS to Config.Target (or destination, when set) and
// returns the final response's status code. An error means no response.
func (a *Agent) Options(ctx context.Context, destination string) (int, error) {
	res, err := a.send(ctx, func() *sip.Request {
		req := a.newRequest(sip.OPTIONS, a.cfg.target, destination)
		to := &sip.ToHeader{Address: a.toURI(a.cfg.target)}
		req.AppendHeader(to)
		req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
		return req
	})
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// newRegister builds a REGISTER: Request-URI the registrar's domain
// without a user part, To and From the AOR (RFC 3261 §10.2).
func (a *Agent) newRegister(aor, contact sip.Uri, expires time.Duration, dest string) *sip.Request {
	ruri := a.cfg.target
	ruri.User = ""
	req := a.newRequest(sip.REGISTER, ruri, dest)
	// The From we built names us; a registration's names the AOR.
	req.RemoveHeader("From")
	from := &sip.FromHeader{Address: a.toURI(aor)}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: a.toURI(aor)})
	req.AppendHeader(&sip.ContactHeader{Address: contact})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	return req
}

// newRequest builds a request outside a dialog, with our From, the
// agent's Call-ID and the next CSeq; the client adds Via and Max-Forwards.
func (a *Agent) newRequest(method sip.RequestMethod, ruri sip.Uri, dest string) *sip.Request {
	req := sip.NewRequest(method, *ruri.Clone())
	req.SetTransport(strings.ToUpper(a.cfg.transport.String()))
	from := &sip.FromHeader{
		DisplayName: a.cfg.FromDisplay,
		Address:     sip.Uri{Scheme: "sip", User: a.cfg.FromUser, Host: a.cfg.FromHost},
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	a.mu.Lock()
	a.cseq++
	seq := a.cseq
	callID := sip.CallIDHeader(a.callID)
	a.mu.Unlock()
	if method != sip.REGISTER {
		callID = sip.CallIDHeader(newCallID())
	}
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(sip.NewHeader("User-Agent", a.cfg.UserAgent))
	req.SetBody(nil)
	if dest != "" {
		req.SetDestination(dest)
	} else if a.cfg.Destination != "" {
		req.SetDestination(a.cfg.Destination)
	}
	return req
}

// toURI is u as a To or From address: no port, parameters or headers
// (RFC 3261 §19.1.1 table 1).
func (a *Agent) toURI(u sip.Uri) sip.Uri {
	return sip.Uri{Scheme: u.Scheme, User: u.User, Host: u.Host}
}

// send sends the request build makes and waits for its final response; a
// 401 or 407 is answered once with digest credentials on a new CSeq.
func (a *Agent) send(ctx context.Context, build func() *sip.Request) (*sip.Response, error) {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return nil, ErrEnded
	}
	req := build()
	res, err := await(ctx, a.stack.cli, req)
	if err != nil || (res.StatusCode != 401 && res.StatusCode != 407) {
		return res, err
	}
	if a.cfg.Password == "" {
		return res, nil
	}
	auth, err := a.cfg.authorization(req, res)
	if err != nil {
		return nil, err
	}
	retry := build() // next CSeq, new Via branch
	retry.AppendHeader(auth)
	res2, err := await(ctx, a.stack.cli, retry)
	if err != nil {
		return nil, err
	}
	return res2, nil
}

// authorization answers the digest challenge of res to req (RFC 3261
// §22.2, RFC 8760) with the configured credentials.
func (s *settings) authorization(req *sip.Request, res *sip.Response) (sip.Header, error) {
	chalName, credName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		chalName, credName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(chalName)
	if h == nil {
		return nil, &StatusError{Method: string(req.Method), Code: res.StatusCode, Reason: res.Reason}
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return nil, fmt.Errorf("uac: %s challenge: %w", req.Method, err)
	}
	if err := s.checkRealm(chal.Realm); err != nil {
		return nil, err
	}
	chal.Algorithm = strings.ToUpper(chal.Algorithm)
	cred, err := digest.Digest(chal, digest.Options{
		Method:   string(req.Method),
		URI:      req.Recipient.Addr(),
		Username: s.Username,
		Password: s.Password,
	})
	if err != nil {
		return nil, fmt.Errorf("uac: %s digest: %w", req.Method, err)
	}
	return sip.NewHeader(credName, cred.String()), nil
}

// checkRealm refuses a challenge from another realm than Config.Realm,
// so that credentials meant for one provider are not answered to another.
func (s *settings) checkRealm(realm string) error {
	if s.Realm != "" && !strings.EqualFold(realm, s.Realm) {
		return fmt.Errorf("%w: challenge for realm %q, credentials are for %q", ErrRealm, realm, s.Realm)
	}
	return nil
}

// await sends req on a new client transaction of cli and waits for its
// final response.
func await(ctx context.Context, cli *sipgo.Client, req *sip.Request) (*sip.Response, error) {
	tx, err := cli.TransactionRequest(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTransport, req.Method, err)
	}
	res, err := finalResponse(ctx, tx)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoResponse, req.Method, err)
	}
	return res, err
}

// finalResponse waits for the final response of tx and terminates it.
func finalResponse(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, error) {
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
			return nil, errors.New("transaction ended without a response")
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// grantedExpires is the lifetime a 2xx to REGISTER gives our contact
// (RFC 3261 §10.2.4): its expires parameter, else the Expires header.
// sipgo parses a Contact list into one header per address.
func grantedExpires(res *sip.Response, ours sip.Uri, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || !strings.EqualFold(c.Address.Host, ours.Host) || c.Address.Port != ours.Port || c.Address.User != ours.User {
			continue
		}
		if e, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(e); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if d, ok := headerSeconds(res, "Expires"); ok {
		return d
	}
	return asked
}

// headerSeconds reads a header holding delta-seconds (Expires,
// Min-Expires).
func headerSeconds(res *sip.Response, name string) (time.Duration, bool) {
	h := res.GetHeader(name)
	if h == nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func newCallID() string {
	var id [12]byte
	_, _ = rand.Read(id[:])
	return hex.EncodeToString(id[:])
}
