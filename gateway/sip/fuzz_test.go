package sip

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/lockout"
)

// fuzzTx is a server transaction that keeps the responses sent on it.
type fuzzTx struct {
	responses []*sip.Response
	done      chan struct{}
	acks      chan *sip.Request
}

func newFuzzTx() *fuzzTx {
	return &fuzzTx{done: make(chan struct{}), acks: make(chan *sip.Request)}
}

func (tx *fuzzTx) Respond(res *sip.Response) error {
	tx.responses = append(tx.responses, res)
	return nil
}
func (tx *fuzzTx) Acks() <-chan *sip.Request          { return tx.acks }
func (tx *fuzzTx) OnCancel(sip.FnTxCancel) bool       { return true }
func (tx *fuzzTx) Terminate()                         {}
func (tx *fuzzTx) OnTerminate(sip.FnTxTerminate) bool { return true }
func (tx *fuzzTx) Done() <-chan struct{}              { return tx.done }
func (tx *fuzzTx) Err() error                         { return nil }

// fuzzSources are where a fuzzed request comes from: a carrier trunk, a
// PBX with digest auth, and a source of no trunk.
var fuzzSources = []string{"192.0.2.1:5060", "198.51.100.7:5060", "203.0.113.9:5060"}

// fuzzServer is a server for dispatching parsed requests to directly; its
// handler counts the calls that reach it and rejects them with 486.
type fuzzServer struct {
	*Server
	mu      sync.Mutex
	handled int
}

func newFuzzServer(tb testing.TB) *fuzzServer {
	tb.Helper()
	fs := &fuzzServer{}
	srv, err := NewServer(Config{
		Logger: testLogger(),
		Domain: "gw.test",
		Trunks: []Trunk{
			{Name: "carrier", Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, MaxCPS: 1e9, MaxCalls: 1000},
			{Name: "pbx", Allow: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}, Username: "alice", Password: "secret"},
			{Name: "open", Allow: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}},
		},
		Limits:          Limits{InvitesPerSecond: 1e6, RegistersPerSecond: 1e6, OptionsPerSecond: 1e6},
		BlockUserAgents: []string{"friendly-scanner"},
		Lockout:         lockout.New(lockout.Config{}),
		LogMask:         func(string) string { return "masked" },
		Handler: CallHandlerFunc(func(c *IncomingCall) {
			fs.mu.Lock()
			fs.handled++
			fs.mu.Unlock()
			_ = c.RejectErr(ErrBusy)
		}),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	fs.Server = srv
	return fs
}

// serve parses data with sipgo's parser and dispatches it as a request
// from source; it returns the request (nil when data is none), the
// responses and whether a call reached the handler.
func (fs *fuzzServer) serve(source string, data []byte) (*sip.Request, []*sip.Response, bool) {
	msg, err := sip.ParseMessage(data)
	if err != nil {
		return nil, nil, false
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return nil, nil, false
	}
	req.SetSource(source)
	req.SetTransport("UDP")
	fs.mu.Lock()
	before := fs.handled
	fs.mu.Unlock()
	tx := newFuzzTx()
	fs.dispatch(req, tx)
	fs.mu.Lock()
	handled := fs.handled > before
	fs.mu.Unlock()
	return req, tx.responses, handled
}

// The seed corpus reaches what it is meant to: a well-formed INVITE from
// the carrier trunk the call handler, the odd ones their RFC 3261 answer.
func TestRequestSeedsReachTheirHandlers(t *testing.T) {
	fs := newFuzzServer(t)
	for _, tc := range []struct {
		seed, source string
		final        int
		handled      bool
	}{
		{"invite", fuzzSources[0], 486, true},
		{"invite-timer", fuzzSources[0], 486, true},
		{"invite-digest", fuzzSources[1], 401, false},
		{"invite-require", fuzzSources[0], 420, false},
		{"invite-maxfwd0", fuzzSources[0], 483, false},
		{"invite-tel", fuzzSources[0], 416, false},
		{"invite", fuzzSources[2], 486, true},
		{"reinvite", fuzzSources[0], 481, false},
		{"options", fuzzSources[2], 200, false},
		{"options-cl", fuzzSources[0], 400, false},
		{"register", fuzzSources[0], 405, false},
		{"scanner", fuzzSources[0], 0, false},
		{"ack", fuzzSources[0], 0, false},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "seeds", "request", tc.seed))
		if err != nil {
			t.Fatal(err)
		}
		req, responses, handled := fs.serve(tc.source, b)
		if req == nil {
			t.Errorf("%s: sipgo does not parse it", tc.seed)
			continue
		}
		final := 0
		for _, r := range responses {
			if r.StatusCode >= 200 {
				final = r.StatusCode
			}
		}
		if final != tc.final || handled != tc.handled {
			t.Errorf("%s from %s: final %d, handler %v; want %d, %v", tc.seed, tc.source, final, handled, tc.final, tc.handled)
		}
	}
}

// FuzzServerRequest feeds bytes through sipgo's parser to the server's
// own handler stack — guard, RFC 3261 checks, trunk match, digest auth,
// session timers, the call table — with a transaction that records the
// responses. Whatever the bytes, nothing panics, every response has a
// valid status, an ACK is never answered, at most one final response goes
// out, and a call reaches the handler only from a well-formed INVITE
// outside a dialog.
func FuzzServerRequest(f *testing.F) {
	for i, b := range seedFiles("request") {
		f.Add(uint8(i), b)
	}
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, from uint8, data []byte) {
		req, responses, handled := fs.serve(fuzzSources[int(from)%len(fuzzSources)], data)
		if req == nil {
			return
		}
		finals := 0
		for _, res := range responses {
			if res.StatusCode < 100 || res.StatusCode > 699 {
				t.Fatalf("response %d", res.StatusCode)
			}
			if res.StatusCode >= 200 {
				finals++
			}
		}
		if req.IsAck() && len(responses) > 0 {
			t.Fatalf("an ACK was answered %d", responses[0].StatusCode)
		}
		if finals > 1 {
			t.Fatalf("%d final responses to one request", finals)
		}
		if !handled {
			return
		}
		if req.Method != sip.INVITE || hasToTag(req) {
			t.Fatalf("a %s (To tag %v) reached the call handler", req.Method, hasToTag(req))
		}
		if err := checkRequest(req); err != nil {
			t.Fatalf("a request failing the RFC 3261 checks reached the call handler: %v", err)
		}
		if err := checkInvite(req); err != nil {
			t.Fatalf("a malformed INVITE reached the call handler: %v", err)
		}
	})
}
