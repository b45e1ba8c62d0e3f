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

func TestNonceStale(t *testing.T) {
	ns, err := newNonceSource(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	n := ns.make("r", now)
	if v, s := ns.check(n, "r", now.Add(30*time.Second)); !v || s {
		t.Errorf("fresh nonce: valid %v stale %v", v, s)
	}
	if v, s := ns.check(n, "r", now.Add(2*time.Minute)); !v || !s {
		t.Errorf("old nonce: valid %v stale %v", v, s)
	}
	if v, _ := ns.check(n, "other", now); v {
		t.Error("nonce valid for another realm")
	}
	if v, _ := ns.check(n[:len(n)-2]+"AA", "r", now); v {
		t.Error("forged nonce accepted")
	}
	// Right credentials with an expired nonce: challenge again, stale=true.
	tr := &Trunk{Username: "u", Password: "p", Realm: "r"}
	c := digestCredentials{Username: "u", Realm: "r", Nonce: n, URI: "sip:x@y", Algorithm: "MD5", QOP: "auth", NC: "00000001", CNonce: "abc"}
	c.Response, _ = digestResponse(c, "INVITE", "p")
	if got := ns.verifyDigest(c, tr, "INVITE", []string{"MD5"}, now); got != authOK {
		t.Errorf("verify = %v, want authOK", got)
	}
	if got := ns.verifyDigest(c, tr, "INVITE", []string{"MD5"}, now.Add(2*time.Minute)); got != authStale {
		t.Errorf("verify = %v, want authStale", got)
	}
	if got := ns.verifyDigest(c, tr, "INVITE", []string{"SHA-256"}, now); got != authChallenge {
		t.Errorf("verify with an algorithm we do not offer = %v", got)
	}
	if ch := ns.challenge("r", []string{"MD5"}, true, now); !strings.Contains(ch[0], "stale=true") {
		t.Errorf("challenge = %q", ch)
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

func FuzzParseDigestCredentials(f *testing.F) {
	addSeeds(f, "digest")
	f.Add([]byte(`Digest username="alice", realm="gw", nonce="abc", uri="sip:room@gw", response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="x"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := string(b)
		c, err := parseDigestCredentials(h)
		if err == nil && (c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "") {
			t.Fatalf("accepted incomplete credentials %q", h)
		}
		if err == nil {
			_, _ = digestResponse(c, "INVITE", "pw")
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

func TestRateLimit(t *testing.T) {
	f := newFixture(t, Config{MaxCallsPerSecondPerSource: 1}, func(c *IncomingCall) { _ = c.RejectErr(ErrBusy) })
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	codes := map[int]int{}
	for range 4 {
		_, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{})
		codes[statusOf(err)]++
	}
	if codes[486] != 2 || codes[503] != 2 {
		t.Errorf("codes = %v, want two 486 (burst) and two 503", codes)
	}
}
