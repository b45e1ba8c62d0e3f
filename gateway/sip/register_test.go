package sip

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/roombridge/roombridge/sipws/sipwstest"
)

// memUsers is a fixed set of accounts.
type memUsers map[string]string

func (u memUsers) Password(name string) (string, bool) { p, ok := u[name]; return p, ok }

// memRegistrar keeps bindings in memory.
type memRegistrar struct {
	mu sync.Mutex
	m  map[string][]Binding
}

func (r *memRegistrar) Bindings(_ context.Context, aor string) ([]Binding, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Binding
	for _, b := range r.m[aor] {
		if b.Expires.After(time.Now()) {
			out = append(out, b)
		}
	}
	return out, nil
}

func (r *memRegistrar) Bind(_ context.Context, b Binding) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[b.AOR] = slices.DeleteFunc(r.m[b.AOR], func(x Binding) bool { return x.Contact == b.Contact })
	r.m[b.AOR] = append(r.m[b.AOR], b)
	return nil
}

func (r *memRegistrar) Unbind(_ context.Context, aor, contact string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[aor] = slices.DeleteFunc(r.m[aor], func(x Binding) bool { return contact == "" || x.Contact == contact })
	return nil
}

// userFixture is a server whose trunk allows no loopback source, with user
// accounts and a registrar, and a browser connected over ws://.
type userFixture struct {
	f     *fixture
	reg   *memRegistrar
	calls chan *IncomingCall
	b     *sipwstest.Client
	seq   int
	// branches numbers every request's Via branch apart from seq, which
	// a test may wind back: a reused branch would be taken for a
	// retransmission of the earlier transaction.
	branches int
}

func newUserFixture(t *testing.T) *userFixture {
	t.Helper()
	u := &userFixture{reg: &memRegistrar{m: map[string][]Binding{}}, calls: make(chan *IncomingCall, 4)}
	u.f = newFixture(t, Config{
		Trunks:    []Trunk{{Name: "carrier", Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}},
		Users:     memUsers{"alice": "correct-horse", "bob": "battery-staple"},
		Registrar: u.reg,
	}, func(c *IncomingCall) {
		u.calls <- c
		_ = c.RejectErr(ErrBusy)
	})
	u.b = sipwstest.MustDial(t, serveWS(t, u.f, nil), "https://page.test", nil)
	return u
}

// register sends a REGISTER for user (To) with contact and extra headers,
// answering a 401 with the given password; it returns the final response.
func (u *userFixture) register(t *testing.T, user, authUser, password, contact string, extra ...string) string {
	t.Helper()
	u.seq++
	build := func(cseq int, auth string) string {
		u.branches++
		msg := "REGISTER sip:gw.test SIP/2.0\r\n" +
			fmt.Sprintf("Via: SIP/2.0/WS %s;branch=z9hG4bKr%d\r\n", sipwstest.InvalidHost, u.branches) +
			"Max-Forwards: 70\r\n" +
			"To: <sip:" + user + "@gw.test>\r\nFrom: <sip:" + user + "@gw.test>;tag=rt1\r\n" +
			"Call-ID: reg-" + user + "\r\n" + fmt.Sprintf("CSeq: %d REGISTER\r\n", u.seq*2+cseq)
		if contact != "" {
			msg += "Contact: " + contact + "\r\n"
		}
		for _, h := range extra {
			msg += h + "\r\n"
		}
		if auth != "" {
			msg += "Authorization: " + auth + "\r\n"
		}
		return msg + "User-Agent: JsSIP 3.13.8\r\nContent-Length: 0\r\n\r\n"
	}
	res := u.b.Final(build(0, ""))
	if !strings.HasPrefix(res, "SIP/2.0 401 ") || password == "" {
		return res
	}
	return u.b.Final(build(1, answer(t, res, "REGISTER", "sip:gw.test", authUser, password)))
}

// answer computes digest credentials for the first challenge of res.
func answer(t *testing.T, res, method, uri, user, password string) string {
	t.Helper()
	chal, err := digest.ParseChallenge(sipwstest.Header(res, "WWW-Authenticate"))
	if err != nil {
		t.Fatalf("challenge: %v\n%s", err, res)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: method, URI: uri, Username: user, Password: password, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

const laptop = `<sip:k1p8a3vd@` + sipwstest.InvalidHost + `;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:3f1b0a5c-0d5e-4b7a-9d1e-2f7b7f4c1e11>";expires=600`

func TestRegisterOverWebSocket(t *testing.T) {
	u := newUserFixture(t)
	res := u.register(t, "alice", "alice", "", laptop)
	if !strings.HasPrefix(res, "SIP/2.0 401 ") || !strings.Contains(sipwstest.Header(res, "WWW-Authenticate"), `realm="gw.test"`) {
		t.Fatalf("no credentials: %q", sipwstest.StartLine(res))
	}
	res = u.register(t, "alice", "alice", "correct-horse", laptop)
	if sipwstest.StartLine(res) != "SIP/2.0 200 OK" {
		t.Fatalf("REGISTER: %s", res)
	}
	if c := sipwstest.Header(res, "Contact"); c != "<sip:k1p8a3vd@"+sipwstest.InvalidHost+";transport=ws>;expires=600" {
		t.Errorf("200 Contact %q", c)
	}
	if sipwstest.Header(res, "Date") == "" {
		t.Error("200 without Date")
	}
	if opts := u.b.Final("OPTIONS sip:gw.test SIP/2.0\r\nVia: SIP/2.0/WS " + sipwstest.InvalidHost + ";branch=z9hG4bKo\r\n" +
		"To: <sip:gw.test>\r\nFrom: <sip:alice@gw.test>;tag=o\r\nCall-ID: o\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"); !strings.HasSuffix(sipwstest.Header(opts, "Allow"), ", REGISTER") {
		t.Errorf("OPTIONS Allow %q", sipwstest.Header(opts, "Allow"))
	}
	bs, _ := u.reg.Bindings(context.Background(), "sip:alice@gw.test")
	if len(bs) != 1 {
		t.Fatalf("bindings %+v", bs)
	}
	b := bs[0]
	if b.Username != "alice" || b.Transport != "ws" || b.Source != u.b.Conn.LocalAddr().String() || b.UserAgent != "JsSIP 3.13.8" ||
		b.InstanceID != "<urn:uuid:3f1b0a5c-0d5e-4b7a-9d1e-2f7b7f4c1e11>" || time.Until(b.Expires) < 599*time.Second {
		t.Errorf("binding %+v", b)
	}

	// A second contact, one asking for too long (capped), a query, then
	// removing one and all.
	res = u.register(t, "alice", "alice", "correct-horse", "<sip:alice@192.0.2.8:5060>", "Expires: 7200")
	if got := strings.Count(res, "\r\nContact: "); got != 2 || !strings.Contains(res, "<sip:alice@192.0.2.8:5060>;expires=3600") {
		t.Errorf("two bindings, the second capped at 3600 s:\n%s", res)
	}
	if res = u.register(t, "alice", "alice", "correct-horse", ""); strings.Count(res, "\r\nContact: ") != 2 {
		t.Errorf("query:\n%s", res)
	}
	res = u.register(t, "alice", "alice", "correct-horse", "<sip:alice@192.0.2.8:5060>;expires=0")
	if strings.Count(res, "\r\nContact: ") != 1 || strings.Contains(res, "192.0.2.8") {
		t.Errorf("after removing one:\n%s", res)
	}
	res = u.register(t, "alice", "alice", "correct-horse", "*", "Expires: 0")
	if sipwstest.StartLine(res) != "SIP/2.0 200 OK" || strings.Contains(res, "\r\nContact: ") {
		t.Errorf("after Contact *:\n%s", res)
	}
	if bs, _ := u.reg.Bindings(context.Background(), "sip:alice@gw.test"); len(bs) != 0 {
		t.Errorf("bindings left: %+v", bs)
	}
}

func TestRegisterRefusals(t *testing.T) {
	u := newUserFixture(t)
	for _, c := range []struct {
		name, user, authUser, password, contact string
		extra                                   []string
		want                                    string
	}{
		{"wrong password", "alice", "alice", "wrong", laptop, nil, "SIP/2.0 403 "},
		{"unknown user", "mallory", "mallory", "correct-horse", laptop, nil, "SIP/2.0 403 "},
		{"someone else's address", "alice", "bob", "battery-staple", laptop, nil, "SIP/2.0 403 "},
		{"too brief", "alice", "alice", "correct-horse", "<sip:a@" + sipwstest.InvalidHost + ">;expires=10", nil, "SIP/2.0 423 Interval Too Brief"},
		{"bad Expires", "alice", "alice", "correct-horse", laptop, []string{"Expires: soon"}, "SIP/2.0 400 "},
		{"star with others", "alice", "alice", "correct-horse", "*, <sip:a@b>", []string{"Expires: 0"}, "SIP/2.0 400 "},
		{"star without Expires 0", "alice", "alice", "correct-horse", "*", nil, "SIP/2.0 400 "},
	} {
		res := u.register(t, c.user, c.authUser, c.password, c.contact, c.extra...)
		if !strings.HasPrefix(res, c.want) {
			t.Errorf("%s: %q, want %q", c.name, sipwstest.StartLine(res), c.want)
		}
		if c.want == "SIP/2.0 423 Interval Too Brief" && sipwstest.Header(res, "Min-Expires") != "60" {
			t.Errorf("%s: Min-Expires %q", c.name, sipwstest.Header(res, "Min-Expires"))
		}
	}
	// An address-of-record outside our domain.
	res := u.b.Final("REGISTER sip:other.test SIP/2.0\r\nVia: SIP/2.0/WS " + sipwstest.InvalidHost + ";branch=z9hG4bKx\r\n" +
		"To: <sip:alice@other.test>\r\nFrom: <sip:alice@other.test>;tag=x\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\n" +
		"Contact: " + laptop + "\r\nContent-Length: 0\r\n\r\n")
	if !strings.HasPrefix(res, "SIP/2.0 404 ") {
		t.Errorf("foreign domain: %q", sipwstest.StartLine(res))
	}
	// Out of order: the same Call-ID with a CSeq not above the stored one.
	if res := u.register(t, "alice", "alice", "correct-horse", laptop); sipwstest.StartLine(res) != "SIP/2.0 200 OK" {
		t.Fatal(res)
	}
	u.seq -= 2
	if res := u.register(t, "alice", "alice", "correct-horse", laptop); !strings.HasPrefix(res, "SIP/2.0 500 ") {
		t.Errorf("stale CSeq: %q", sipwstest.StartLine(res))
	}
	if bs, _ := u.reg.Bindings(context.Background(), "sip:alice@gw.test"); len(bs) != 1 {
		t.Errorf("bindings %+v", bs)
	}
}

// Without users there is no registrar: REGISTER gets 405 as before.
func TestRegisterNotServed(t *testing.T) {
	f := newFixture(t, Config{}, func(c *IncomingCall) { _ = c.RejectErr(ErrBusy) })
	b := sipwstest.MustDial(t, serveWS(t, f, nil), "", nil)
	res := b.Final("REGISTER sip:gw.test SIP/2.0\r\nVia: SIP/2.0/WS " + sipwstest.InvalidHost + ";branch=z9hG4bKn\r\n" +
		"To: <sip:alice@gw.test>\r\nFrom: <sip:alice@gw.test>;tag=n\r\nCall-ID: n\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n")
	if !strings.HasPrefix(res, "SIP/2.0 405 ") || strings.Contains(sipwstest.Header(res, "Allow"), "REGISTER") {
		t.Errorf("%q, Allow %q", sipwstest.StartLine(res), sipwstest.Header(res, "Allow"))
	}
}

// A user's INVITE from a source no trunk allows is challenged, and with
// the right credentials reaches the handler under the "users" trunk.
func TestInviteByUser(t *testing.T) {
	u := newUserFixture(t)
	invite := func(cseq int, auth string) string {
		msg := "INVITE sip:room1@gw.test SIP/2.0\r\n" +
			fmt.Sprintf("Via: SIP/2.0/WS %s;branch=z9hG4bKu%d\r\n", sipwstest.InvalidHost, cseq) +
			"Max-Forwards: 70\r\nTo: <sip:room1@gw.test>\r\nFrom: <sip:alice@gw.test>;tag=u1\r\n" +
			fmt.Sprintf("Call-ID: user-call\r\nCSeq: %d INVITE\r\n", cseq) +
			"Contact: <sip:k1@" + sipwstest.InvalidHost + ";transport=ws>\r\n"
		if auth != "" {
			msg += "Authorization: " + auth + "\r\n"
		}
		return msg + "Content-Type: application/sdp\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(testOffer)) + testOffer
	}
	ack := func(res string) {
		u.b.Send("ACK sip:room1@gw.test SIP/2.0\r\nVia: " + sipwstest.Header(res, "Via") + "\r\nTo: " + sipwstest.Header(res, "To") +
			"\r\nFrom: " + sipwstest.Header(res, "From") + "\r\nCall-ID: user-call\r\nCSeq: " +
			strings.Replace(sipwstest.Header(res, "CSeq"), "INVITE", "ACK", 1) + "\r\nContent-Length: 0\r\n\r\n")
	}
	res := u.b.Final(invite(1, ""))
	if !strings.HasPrefix(res, "SIP/2.0 401 ") {
		t.Fatalf("no credentials: %q", sipwstest.StartLine(res))
	}
	ack(res)
	if res := u.b.Final(invite(2, answer(t, res, "INVITE", "sip:room1@gw.test", "alice", "wrong"))); !strings.HasPrefix(res, "SIP/2.0 403 ") {
		t.Fatalf("wrong password: %q", sipwstest.StartLine(res))
	}
	ack(res)
	res = u.b.Final(invite(3, answer(t, res, "INVITE", "sip:room1@gw.test", "alice", "correct-horse")))
	if !strings.HasPrefix(res, "SIP/2.0 486 ") {
		t.Fatalf("right credentials: %q, want the handler's 486", sipwstest.StartLine(res))
	}
	select {
	case c := <-u.calls:
		if c.Trunk().Name != UsersTrunkName || c.Trunk().Username != "alice" {
			t.Errorf("trunk %+v", c.Trunk())
		}
	default:
		t.Fatal("handler not called")
	}
}
