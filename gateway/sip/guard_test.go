package sip

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawPeer talks SIP to a fixture over a UDP or TCP socket of its own, so
// that it can send what no SIP stack would.
type rawPeer struct {
	t       *testing.T
	network string
	conn    net.Conn
	rd      *bufio.Reader
	laddr   string
	target  string
}

func newRawPeer(t *testing.T, f *fixture, network string) *rawPeer {
	t.Helper()
	conn, err := net.Dial(network, f.addr(network))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawPeer{t: t, network: network, conn: conn, rd: bufio.NewReader(conn), laddr: conn.LocalAddr().String(), target: f.addr(network)}
}

// request builds a request; extra headers replace nothing, they are added.
func (p *rawPeer) request(method, ruri, callID string, extra ...string) string {
	body := ""
	if method == "INVITE" {
		body = testOffer
	}
	return fmt.Sprintf("%[1]s %[2]s SIP/2.0\r\n"+
		"Via: SIP/2.0/%[3]s %[4]s;branch=z9hG4bK-%[5]s\r\n"+
		"From: <sip:raw@%[4]s>;tag=rawtag\r\n"+
		"To: <sip:room1@%[6]s>\r\n"+
		"Call-ID: %[5]s\r\n"+
		"CSeq: 1 %[1]s\r\n"+
		"Contact: <sip:raw@%[4]s;transport=%[7]s>\r\n"+
		"%[8]s"+
		"Content-Type: application/sdp\r\n"+
		"Content-Length: %[9]d\r\n\r\n%[10]s",
		method, ruri, strings.ToUpper(p.network), p.laddr, callID, p.target, p.network,
		strings.Join(extra, ""), len(body), body)
}

func (p *rawPeer) send(msg string) {
	p.t.Helper()
	if _, err := p.conn.Write([]byte(msg)); err != nil {
		p.t.Fatal(err)
	}
}

// response reads the next final response for callID, skipping 1xx and
// responses to other calls; nil when none comes within d.
func (p *rawPeer) response(callID string, d time.Duration) *rawReply {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		_ = p.conn.SetReadDeadline(deadline)
		r, err := p.read()
		if err != nil {
			return nil
		}
		if r.code >= 200 && r.header("Call-ID") == callID {
			return r
		}
	}
}

type rawReply struct {
	code    int
	headers []string
}

func (r *rawReply) header(name string) string {
	for _, h := range r.headers {
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// read reads one message: a datagram, or headers and Content-Length bytes
// of the TCP stream.
func (p *rawPeer) read() (*rawReply, error) {
	var head string
	if p.network == "udp" {
		buf := make([]byte, 65536)
		n, err := p.conn.Read(buf)
		if err != nil {
			return nil, err
		}
		head, _, _ = strings.Cut(string(buf[:n]), "\r\n\r\n")
	} else {
		var b strings.Builder
		for {
			line, err := p.rd.ReadString('\n')
			if err != nil {
				return nil, err
			}
			if line == "\r\n" {
				break
			}
			b.WriteString(line)
		}
		head = b.String()
	}
	lines := strings.Split(strings.TrimRight(head, "\r\n"), "\r\n")
	r := &rawReply{headers: lines[1:]}
	if f := strings.Fields(lines[0]); len(f) >= 2 && f[0] == "SIP/2.0" {
		r.code, _ = strconv.Atoi(f[1])
	}
	if p.network != "udp" {
		n, _ := strconv.Atoi(r.header("Content-Length"))
		if _, err := io.CopyN(io.Discard, p.rd, int64(n)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Requests that RFC 3261 says to refuse get the status it names, over UDP
// and TCP, and never reach the call handler.
func TestOddRequests(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			var calls atomic.Int32
			f := newFixture(t, Config{}, func(c *IncomingCall) { calls.Add(1); _ = c.RejectErr(ErrBusy) })
			p := newRawPeer(t, f, network)
			ruri := "sip:room1@" + f.addr(network)
			for i, tc := range []struct {
				what        string
				method      string
				ruri        string
				extra       []string
				code        int
				unsupported string
			}{
				{"OPTIONS with Max-Forwards 0", "OPTIONS", ruri, []string{"Max-Forwards: 0\r\n"}, 483, ""},
				{"INVITE with Max-Forwards 0", "INVITE", ruri, []string{"Max-Forwards: 0\r\n"}, 483, ""},
				{"INVITE requiring an unknown extension", "INVITE", ruri, []string{"Require: x-nothing\r\n"}, 420, "x-nothing"},
				{"OPTIONS requiring an unknown extension", "OPTIONS", ruri, []string{"Require: timer, x-nothing\r\n"}, 420, "x-nothing"},
				{"INVITE to a mailto: URI", "INVITE", "mailto:room1@example.com", nil, 416, ""},
				{"INVITE to a tel: URI", "INVITE", "tel:+15550100", nil, 416, ""},
				{"BYE for an unknown dialog", "BYE", ruri, nil, 481, ""},
				{"INVITE with Max-Forwards 1 (served)", "INVITE", ruri, []string{"Max-Forwards: 1\r\n"}, 486, ""},
			} {
				callID := fmt.Sprintf("odd-%s-%d", network, i)
				msg := p.request(tc.method, tc.ruri, callID, tc.extra...)
				if tc.method == "BYE" {
					msg = strings.Replace(msg, "To: <sip:room1@"+p.target+">", "To: <sip:room1@"+p.target+">;tag=nosuchtag", 1)
				}
				p.send(msg)
				r := p.response(callID, 5*time.Second)
				if r == nil {
					t.Errorf("%s: no answer, want %d", tc.what, tc.code)
					continue
				}
				if r.code != tc.code {
					t.Errorf("%s: %d, want %d", tc.what, r.code, tc.code)
				}
				if tc.unsupported != "" && r.header("Unsupported") != tc.unsupported {
					t.Errorf("%s: Unsupported %q, want %q", tc.what, r.header("Unsupported"), tc.unsupported)
				}
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("handler ran for %d calls, want 1 (the well-formed one)", n)
			}
		})
	}
}

// Two Content-Length headers that disagree: 400. sipgo frames the body by
// the last one (and drops, unanswered, a datagram shorter than that), so
// the conflict reaching us has the right length last.
func TestConflictingContentLength(t *testing.T) {
	f := newFixture(t, Config{}, func(*IncomingCall) { t.Error("handler called") })
	p := newRawPeer(t, f, "udp")
	msg := p.request("OPTIONS", "sip:room1@"+p.target, "cl-1")
	msg = strings.Replace(msg, "Content-Length: 0\r\n", "Content-Length: 12\r\nContent-Length: 0\r\n", 1)
	p.send(msg)
	if r := p.response("cl-1", 5*time.Second); r == nil || r.code != 400 {
		t.Fatalf("conflicting Content-Length: %+v, want 400", r)
	}
	// The same value twice is only redundant.
	msg = strings.Replace(p.request("OPTIONS", "sip:room1@"+p.target, "cl-2"), "Content-Length: 0\r\n", "Content-Length: 0\r\nl: 0\r\n", 1)
	p.send(msg)
	if r := p.response("cl-2", 5*time.Second); r == nil || r.code != 200 {
		t.Fatalf("repeated equal Content-Length: %+v, want 200", r)
	}
}

// The same INVITE arriving twice by different paths (same Call-ID, From
// tag and CSeq, another branch) while the first is in progress: 482 for
// the copy, the call goes on.
func TestMergedInviteLoopDetected(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		<-release
		_ = c.RejectErr(ErrBusy)
	})
	p := newRawPeer(t, f, "udp")
	first := p.request("INVITE", "sip:room1@"+p.target, "merged-1")
	p.send(first)
	waitUntil(t, func() bool { return f.srv.Stats().Accepted == 1 })
	p.send(strings.Replace(first, "branch=z9hG4bK-merged-1", "branch=z9hG4bK-other-path", 1))
	if r := p.response("merged-1", 5*time.Second); r == nil || r.code != 482 {
		t.Fatalf("merged copy: %+v, want 482", r)
	}
	close(release)
	if r := p.response("merged-1", 5*time.Second); r == nil || r.code != 486 {
		t.Fatalf("original: %+v, want the handler's 486", r)
	}
}

// Scanners are dropped without an answer and counted.
func TestScannerDropped(t *testing.T) {
	f := newFixture(t, Config{BlockUserAgents: []string{"friendly-scanner", "SIPVicious"}}, func(*IncomingCall) { t.Error("handler called") })
	p := newRawPeer(t, f, "udp")
	ruri := "sip:room1@" + p.target
	p.send(p.request("OPTIONS", ruri, "scan-1", "User-Agent: friendly-scanner\r\n"))
	p.send(p.request("INVITE", ruri, "scan-2", "User-Agent: SIPVicious 0.3.4\r\n"))
	waitUntil(t, func() bool { return f.srv.Stats().Scanners == 2 })
	p.send(p.request("OPTIONS", ruri, "after-scan", "User-Agent: Linphone/5.2\r\n"))
	if r := p.response("after-scan", 5*time.Second); r == nil || r.code != 200 {
		t.Fatalf("OPTIONS from a phone after the scan: %+v", r)
	}
	if r := p.response("scan-2", 200*time.Millisecond); r != nil {
		t.Errorf("scanner got an answer: %d", r.code)
	}
}

// Over its rate a source gets one 503 with Retry-After a second and then
// silence; a trunk with its own ceiling is not held to the general rate.
func TestRateLimit(t *testing.T) {
	general := Limits{InvitesPerSecond: 0.1, OptionsPerSecond: 0.1}
	for _, tc := range []struct {
		name           string
		trunk          Trunk
		wantServed     int
		wantRefusedMax int
	}{
		{"unknown-rate source", Trunk{Name: "open", Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}, 1, 1},
		{"trunk with a ceiling", Trunk{Name: "carrier", Allow: loopback, MaxCPS: 1000}, 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var served atomic.Int32
			f := newFixture(t, Config{Limits: general, Trunks: []Trunk{tc.trunk}}, func(c *IncomingCall) {
				served.Add(1)
				_ = c.RejectErr(ErrBusy)
			})
			p := newRawPeer(t, f, "udp")
			for i := range 20 {
				p.send(p.request("INVITE", "sip:room1@"+p.target, fmt.Sprintf("flood-%d", i)))
			}
			waitUntil(t, func() bool {
				st := f.srv.Stats()
				return int(st.Invites)+int(st.RateLimited) >= 20
			})
			// Final responses to INVITE are retransmitted until the ACK
			// this peer never sends: count calls, not datagrams.
			answered := map[string]int{}
			for {
				_ = p.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				r, err := p.read()
				if err != nil {
					break
				}
				if r.code >= 200 {
					answered[r.header("Call-ID")] = r.code
					if r.code == 503 && r.header("Retry-After") == "" {
						t.Error("503 without Retry-After")
					}
				}
			}
			codes := map[int]int{}
			for _, c := range answered {
				codes[c]++
			}
			if got := int(served.Load()); got != tc.wantServed {
				t.Errorf("%d INVITEs served, want %d (answers %v)", got, tc.wantServed, codes)
			}
			if codes[503] > tc.wantRefusedMax || tc.wantRefusedMax > 0 && codes[503] == 0 {
				t.Errorf("%d 503s, want 1 to %d: the rest of a flood is dropped (answers %v)", codes[503], tc.wantRefusedMax, codes)
			}
		})
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A trunk at max_calls refuses the next INVITE with 503 and Retry-After;
// once a call ends there is room again. Other trunks are not counted.
func TestTrunkMaxCalls(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, Config{Trunks: []Trunk{{Name: "small", Allow: loopback, MaxCalls: 1}}}, func(c *IncomingCall) {
		if c.RequestURIUser() == "hold" {
			<-release
		}
		_ = c.RejectErr(ErrBusy)
	})
	p := newRawPeer(t, f, "udp")
	p.send(p.request("INVITE", "sip:hold@"+p.target, "max-1"))
	waitUntil(t, func() bool { return f.srv.Stats().Active == 1 })
	p.send(p.request("INVITE", "sip:room1@"+p.target, "max-2"))
	r := p.response("max-2", 5*time.Second)
	if r == nil || r.code != 503 || r.header("Retry-After") == "" {
		t.Fatalf("second call on a trunk with max_calls 1: %+v, want 503 with Retry-After", r)
	}
	close(release)
	if r := p.response("max-1", 5*time.Second); r == nil || r.code != 486 {
		t.Fatalf("first call: %+v", r)
	}
	waitUntil(t, func() bool { return f.srv.Stats().Active == 0 })
	p.send(p.request("INVITE", "sip:room1@"+p.target, "max-3"))
	if r := p.response("max-3", 5*time.Second); r == nil || r.code != 486 {
		t.Fatalf("a call after the first ended: %+v, want the handler's 486", r)
	}
	if st := f.srv.Stats(); st.TrunkFull != 1 {
		t.Errorf("stats %+v", st)
	}
}
