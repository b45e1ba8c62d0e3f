package sip

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/lockout"
)

func TestTrunkUnknownSource(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t, Config{Trunks: []Trunk{{Name: "carrier", Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}}},
		func(*IncomingCall) { calls.Add(1) })
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{})
	if got := statusOf(err); got != 403 {
		t.Errorf("status = %d (%v), want 403", got, err)
	}
	if calls.Load() != 0 {
		t.Error("handler called")
	}
}

func TestTrunkNumbers(t *testing.T) {
	trunks := []Trunk{
		{Name: "berlin", Allow: loopback, Numbers: []string{"+4930*"}},
		{Name: "room", Allow: loopback, Numbers: []string{"1000"}},
	}
	got := make(chan string, 1)
	f := newFixture(t, Config{Trunks: trunks}, func(c *IncomingCall) {
		got <- c.Trunk().Name
		_ = c.RejectErr(ErrBusy)
	})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range []struct{ user, trunk string }{{"+4930123", "berlin"}, {"1000", "room"}, {"2000", ""}} {
		_, err := p.call(ctx, t, f.uri(tt.user, "udp"), []byte(testOffer), sipgo.AnswerOptions{})
		if tt.trunk == "" {
			if statusOf(err) != 403 {
				t.Errorf("%s: %v, want 403", tt.user, err)
			}
			continue
		}
		if name := waitFor(t, got, "handler"); name != tt.trunk {
			t.Errorf("%s: trunk %q, want %q", tt.user, name, tt.trunk)
		}
	}
}

func TestDigestAuth(t *testing.T) {
	for _, algs := range [][]string{nil, {"MD5"}} {
		name := "SHA-256"
		if algs != nil {
			name = "MD5"
		}
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			trunks := []Trunk{{Name: "pbx", Allow: loopback, Username: "alice", Password: "secret"}}
			f := newFixture(t, Config{Trunks: trunks, DigestAlgorithms: algs}, func(c *IncomingCall) {
				calls.Add(1)
				_ = c.Answer([]byte(testAnswer))
				<-c.Context().Done()
			})
			p := newPeer(t, "udp", nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			// No credentials: 401 with a nonce, per algorithm.
			_, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{})
			res := responseOf(err)
			if res == nil || res.StatusCode != 401 {
				t.Fatalf("got %v, want 401", err)
			}
			chal := res.GetHeader("WWW-Authenticate")
			if chal == nil || !strings.Contains(chal.Value(), `nonce="`) || !strings.Contains(chal.Value(), `realm="gw.test"`) {
				t.Fatalf("challenge = %v", chal)
			}
			if n := len(res.GetHeaders("WWW-Authenticate")); algs == nil && n != 2 {
				t.Errorf("%d challenges, want SHA-256 and MD5", n)
			}

			// Wrong password: 403, never the handler.
			_, err = p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{Username: "alice", Password: "wrong"})
			if got := statusOf(err); got != 403 {
				t.Errorf("wrong password: %v, want 403", err)
			}
			// Wrong user: 403.
			_, err = p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{Username: "mallory", Password: "secret"})
			if got := statusOf(err); got != 403 {
				t.Errorf("wrong user: %v, want 403", err)
			}
			if calls.Load() != 0 {
				t.Fatal("handler reached without valid credentials")
			}

			// Right credentials.
			sess, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{Username: "alice", Password: "secret"})
			if err != nil {
				t.Fatalf("right credentials: %v", err)
			}
			_ = sess.Ack(ctx)
			_ = sess.Bye(ctx)
			if calls.Load() != 1 {
				t.Errorf("handler calls = %d", calls.Load())
			}
			if st := f.srv.Stats(); st.Challenges < 2 || st.AuthFailures < 2 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestDigestProxyAuth(t *testing.T) {
	trunks := []Trunk{{Name: "pbx", Allow: loopback, Username: "alice", Password: "secret"}}
	f := newFixture(t, Config{Trunks: trunks, ProxyAuth: true}, func(c *IncomingCall) { _ = c.RejectErr(ErrBusy) })
	p := newPeer(t, "tcp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.call(ctx, t, f.uri("room1", "tcp"), []byte(testOffer), sipgo.AnswerOptions{})
	if res := responseOf(err); res == nil || res.StatusCode != 407 || res.GetHeader("Proxy-Authenticate") == nil {
		t.Fatalf("got %v, want 407 with Proxy-Authenticate", err)
	}
	_, err = p.call(ctx, t, f.uri("room1", "tcp"), []byte(testOffer), sipgo.AnswerOptions{Username: "alice", Password: "secret"})
	if got := statusOf(err); got != 486 {
		t.Errorf("got %v, want the handler's 486", err)
	}
}

// An Authorization header captured from an answered call and sent again
// on a new INVITE gets a challenge, never the call (UDP and TCP); so does
// the same header on an INVITE to another room.
func TestDigestReplayRefused(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			captured := make(chan string, 4)
			trunks := []Trunk{{Name: "pbx", Allow: loopback, Username: "alice", Password: "secret"}}
			f := newFixture(t, Config{Trunks: trunks}, func(c *IncomingCall) {
				captured <- c.Header("Authorization")
				_ = c.RejectErr(ErrBusy)
			})
			p := newPeer(t, network, f.clientTLS)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := p.call(ctx, t, f.uri("room1", network), []byte(testOffer), sipgo.AnswerOptions{Username: "alice", Password: "secret"})
			if statusOf(err) != 486 {
				t.Fatalf("authenticated call: %v, want the handler's 486", err)
			}
			auth := waitFor(t, captured, "handler")
			if auth == "" {
				t.Fatal("the handler saw no Authorization header")
			}
			for _, room := range []string{"room1", "room2"} {
				_, err = p.call(ctx, t, f.uri(room, network), []byte(testOffer), sipgo.AnswerOptions{}, sip.NewHeader("Authorization", auth))
				res := responseOf(err)
				if res == nil || res.StatusCode != 401 {
					t.Fatalf("replay to %s: %v, want 401", room, err)
				}
				if chal := res.GetHeader("WWW-Authenticate"); chal == nil || !strings.Contains(chal.Value(), `nonce="`) {
					t.Errorf("replay to %s: challenge %v", room, chal)
				}
			}
			select {
			case a := <-captured:
				t.Fatalf("a replayed header reached the handler: %q", a)
			default:
			}
			if st := f.srv.Stats(); st.AuthReplays != 1 || st.AuthFailures != 0 {
				t.Errorf("stats %+v: want one replay, no failure", st)
			}
		})
	}
}

// Wrong credentials count against the source in the shared lockout
// table; once it is locked, even the right password gets 403.
func TestDigestFailuresLockOut(t *testing.T) {
	var calls atomic.Int32
	trunks := []Trunk{{Name: "pbx", Allow: loopback, Username: "alice", Password: "secret"}}
	table := lockout.New(lockout.Config{MaxFailures: 2})
	f := newFixture(t, Config{Trunks: trunks, Lockout: table}, func(c *IncomingCall) {
		calls.Add(1)
		_ = c.RejectErr(ErrBusy)
	})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 2 {
		_, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{Username: "alice", Password: "guess"})
		if statusOf(err) != 403 {
			t.Fatalf("wrong password %d: %v, want 403", i, err)
		}
	}
	if _, locked := table.Locked(lockout.SourceKey(netip.MustParseAddr("127.0.0.1"))); !locked {
		t.Fatal("two wrong passwords did not lock the source")
	}
	_, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{Username: "alice", Password: "secret"})
	if statusOf(err) != 403 {
		t.Errorf("right password while locked out: %v, want 403", err)
	}
	if calls.Load() != 0 {
		t.Error("a locked-out source reached the handler")
	}
	if st := f.srv.Stats(); st.AuthLocked == 0 || st.AuthFailures != 2 {
		t.Errorf("stats %+v", st)
	}
}

// credsFor answers a challenge nonce the way a phone would.
func credsFor(t *testing.T, nonce, uri, nc, password string) digestCredentials {
	t.Helper()
	c := digestCredentials{Username: "u", Realm: "r", Nonce: nonce, URI: uri, Algorithm: "MD5", QOP: "auth", NC: nc, CNonce: "abc"}
	var ok bool
	if c.Response, ok = digestResponse(c, "INVITE", password); !ok {
		t.Fatal("digestResponse failed")
	}
	return c
}

func TestDigestNonces(t *testing.T) {
	ns, err := newNonceStore(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ns.now = func() time.Time { return now }
	tr := &Trunk{Username: "u", Password: "p", Realm: "r"}
	src := netip.MustParseAddr("192.0.2.7")
	var ruri sip.Uri
	if err := sip.ParseUri("sip:room1@gw.test", &ruri); err != nil {
		t.Fatal(err)
	}
	req := digestRequest{method: "INVITE", uri: ruri, src: src, algs: []string{"SHA-256", "MD5"}}
	n := ns.issue("r", src)
	other := req
	other.src = netip.MustParseAddr("198.51.100.1")
	sha256only := req
	sha256only.algs = []string{"SHA-256"}
	// The steps run in order on one nonce.
	for _, st := range []struct {
		what         string
		nonce, uri   string
		nc, password string
		req          digestRequest
		want         authResult
	}{
		{"first use", n, "sip:room1@gw.test", "00000001", "p", req, authOK},
		// The same header again (a captured INVITE replayed): never accepted.
		{"replayed nonce count", n, "sip:room1@gw.test", "00000001", "p", req, authReplay},
		// A phone may reuse a nonce with a higher count (RFC 7616 §3.4).
		{"next nonce count", n, "sip:room1@gw.test", "00000002", "p", req, authOK},
		// Credentials computed for another room do not open this one.
		{"digest uri of another room", n, "sip:room2@gw.test", "00000003", "p", req, authChallenge},
		{"equivalent digest uri (port, transport)", n, "sip:room1@GW.test:5060;transport=udp", "00000004", "p", req, authOK},
		{"wrong password", n, "sip:room1@gw.test", "00000005", "wrong", req, authFailed},
		// A nonce issued to another address, or forged: only challenged,
		// never counted (a spoofed sender must not lock out the real one).
		{"nonce from another source", n, "sip:room1@gw.test", "00000006", "wrong", other, authChallenge},
		{"forged nonce", n[:len(n)-2] + "AA", "sip:room1@gw.test", "00000001", "wrong", req, authChallenge},
		{"algorithm not offered", n, "sip:room1@gw.test", "00000007", "p", sha256only, authChallenge},
	} {
		if got := ns.verify(credsFor(t, st.nonce, st.uri, st.nc, st.password), tr, st.req); got != st.want {
			t.Errorf("%s = %v, want %v", st.what, got, st.want)
		}
	}

	// Without qop (RFC 2069 phones) a nonce is good once.
	n2 := ns.issue("r", src)
	c := digestCredentials{Username: "u", Realm: "r", Nonce: n2, URI: "sip:room1@gw.test", Algorithm: "MD5"}
	c.Response, _ = digestResponse(c, "INVITE", "p")
	if got := ns.verify(c, tr, req); got != authOK {
		t.Fatalf("qop-less first use = %v", got)
	}
	if got := ns.verify(c, tr, req); got != authReplay {
		t.Errorf("qop-less second use = %v, want authReplay", got)
	}

	// Right credentials on an expired nonce: challenge again, stale=true.
	n3 := ns.issue("r", src)
	now = now.Add(2 * time.Minute)
	if got := ns.verify(credsFor(t, n3, "sip:room1@gw.test", "00000001", "p"), tr, req); got != authStale {
		t.Errorf("expired nonce = %v, want authStale", got)
	}
	if ch := ns.challenge("r", src, []string{"SHA-256", "MD5"}, true); len(ch) != 2 ||
		!strings.Contains(ch[0], "algorithm=SHA-256") || !strings.Contains(ch[1], "stale=true") {
		t.Errorf("challenge = %q", ch)
	}
}

// The nonce table stays bounded however many challenges go out; a
// forgotten nonce is stale, so its phone retries without asking its user.
func TestDigestNoncesBounded(t *testing.T) {
	ns, err := newNonceStore(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.7")
	first := ns.issue("r", src)
	for range maxNonces + 100 {
		ns.issue("r", src)
	}
	if n := len(ns.live); n > maxNonces {
		t.Errorf("%d nonces kept, bound is %d", n, maxNonces)
	}
	if got := ns.check(first, "r", src); got != nonceStale {
		t.Errorf("forgotten nonce = %v, want nonceStale", got)
	}
}

func TestParseDigestCredentials(t *testing.T) {
	c, err := parseDigestCredentials(`Digest username="al\"ice", realm="gw", nonce="abc", uri="sip:room@gw", response="0123", algorithm=sha-256, qop=auth, nc=00000001, cnonce="x,y"`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != `al"ice` || c.Algorithm != "SHA-256" || c.CNonce != "x,y" || c.QOP != "auth" || c.NC != "00000001" {
		t.Errorf("parsed %+v", c)
	}
	for _, bad := range []string{
		``, `Basic abc`, `Digest`, `Digest username="a"`, `Digest username="a, nonce="n"`,
		`Digest username="a", username="b", nonce="n", uri="u", response="r"`, `Digest =x`,
	} {
		if _, err := parseDigestCredentials(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

// FuzzParseDigestCredentials parses Authorization values and checks what
// parses against a trunk, our nonce store and a Request-URI: the digest
// uri comparison and the nonce decoding see every value too.
func FuzzParseDigestCredentials(f *testing.F) {
	addSeeds(f, "digest")
	f.Add([]byte(`Digest username="alice", realm="gw", nonce="abc", uri="sip:room@gw", response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="x"`))
	ns, err := newNonceStore(time.Minute)
	if err != nil {
		f.Fatal(err)
	}
	tr := &Trunk{Username: "alice", Password: "pw", Realm: "gw"}
	var ruri sip.Uri
	if err := sip.ParseUri("sip:room@gw;transport=tcp", &ruri); err != nil {
		f.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.7")
	f.Add([]byte(`Digest username="alice", realm="gw", nonce="` + ns.issue("gw", src) + `", uri="sip:room@gw:5060", response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="x"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := string(b)
		c, err := parseDigestCredentials(h)
		if err != nil {
			return
		}
		if c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
			t.Fatalf("accepted incomplete credentials %q", h)
		}
		_, _ = digestResponse(c, "INVITE", "pw")
		_ = sameURI(c.URI, ruri)
		if r := ns.verify(c, tr, digestRequest{method: "INVITE", uri: ruri, src: src, algs: []string{algSHA256, algMD5}}); r == authOK {
			// Only the password's owner computes a matching response.
			want, _ := digestResponse(c, "INVITE", "pw")
			if want != strings.ToLower(c.Response) {
				t.Fatalf("accepted a wrong response: %q", h)
			}
		}
	})
}

func TestOptions(t *testing.T) {
	f := newFixture(t, Config{}, func(*IncomingCall) {})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.cli.Do(ctx, sip.NewRequest(sip.OPTIONS, f.uri("", "udp")))
	if err != nil {
		t.Fatal(err)
	}
	allow := res.GetHeader("Allow")
	if res.StatusCode != 200 || allow == nil || !strings.Contains(allow.Value(), "INVITE") || res.GetHeader("Accept") == nil {
		t.Errorf("OPTIONS: %d, Allow %v", res.StatusCode, allow)
	}
}

// TestOptionsNotReady: while Config.Ready says no, OPTIONS outside a
// dialog gets 503 with Retry-After (a dispatcher's probe marks the node
// down), and 200 again once it says yes.
func TestOptionsNotReady(t *testing.T) {
	var down atomic.Bool
	f := newFixture(t, Config{Ready: func() error {
		if down.Load() {
			return errors.New("draining")
		}
		return nil
	}}, func(*IncomingCall) {})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		down bool
		want int
	}{{false, 200}, {true, 503}, {false, 200}} {
		down.Store(tc.down)
		res, err := p.cli.Do(ctx, sip.NewRequest(sip.OPTIONS, f.uri("", "udp")))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != tc.want {
			t.Fatalf("OPTIONS with down=%v: %d, want %d", tc.down, res.StatusCode, tc.want)
		}
		if ra := res.GetHeader("Retry-After"); (ra != nil) != (tc.want == 503) {
			t.Errorf("OPTIONS %d with Retry-After %v", res.StatusCode, ra)
		}
	}
}

// Requests for dialogs we do not have get 481 (RFC 3261 §12.2.2).
func TestUnknownDialog(t *testing.T) {
	f := newFixture(t, Config{}, func(*IncomingCall) {})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range []sip.RequestMethod{sip.BYE, sip.INFO, sip.OPTIONS, sip.INVITE} {
		req := sip.NewRequest(m, f.uri("room1", "udp"))
		to := &sip.ToHeader{Address: f.uri("room1", "udp"), Params: sip.NewParams()}
		to.Params.Add("tag", "nosuchtag")
		req.AppendHeader(to)
		req.AppendHeader(&p.contact)
		res, err := p.cli.Do(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if res.StatusCode != 481 {
			t.Errorf("%s: %d, want 481", m, res.StatusCode)
		}
	}
	// A CANCEL that matches no INVITE: 481 too (RFC 3261 §9.2).
	res, err := p.cli.Do(ctx, sip.NewRequest(sip.CANCEL, f.uri("room1", "udp")))
	if err != nil || res.StatusCode != 481 {
		t.Errorf("CANCEL: %v %v", res, err)
	}
	// Methods we do not implement: 405 with Allow.
	res, err = p.cli.Do(ctx, sip.NewRequest(sip.MESSAGE, f.uri("room1", "udp")))
	if err != nil || res.StatusCode != 405 || res.GetHeader("Allow") == nil {
		t.Errorf("MESSAGE: %v %v", res, err)
	}
}

func TestInviteChecks(t *testing.T) {
	f := newFixture(t, Config{}, func(*IncomingCall) { t.Error("handler called") })
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{}, sip.NewHeader("Require", "100rel, foo"))
	if res := responseOf(err); res == nil || res.StatusCode != 420 || res.GetHeader("Unsupported") == nil {
		t.Errorf("Require: got %v, want 420 with Unsupported", err)
	}
	sess, err := p.dc.Invite(ctx, f.uri("room1", "udp"), []byte("hello"), sip.NewHeader("Content-Type", "text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); statusOf(err) != 415 {
		t.Errorf("text body: got %v, want 415", err)
	}
}
