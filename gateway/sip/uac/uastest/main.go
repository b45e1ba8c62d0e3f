package uastest

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/roombridge/roombridge/gateway/sdp"
	"go.uber.org/goleak"
)

// Offer is an SDP offer (PCMU) for a port nobody listens on, for tests of
// signalling.
func Offer(t testing.TB) []byte {
	t.Helper()
	s, err := sdp.Offer(sdp.Policy{Codecs: []sdp.Codec{sdp.PCMU}, Addr: netip.MustParseAddr("127.0.0.1"), AudioPort: 40000})
	if err != nil {
		t.Fatal(err)
	}
	return s.Marshal()
}

// Main runs the tests of a package that places SIP calls on loopback: SIP
// timers short enough for quick timeouts (64*T1 = 3.2 s), sipgo's global
// logger discarded, and goleak's check that no goroutine outlives the
// tests. sipgo's UDP readers are left out of the check: sipgo may open a
// socket of its own when a late retransmission reaches a closing user
// agent, and close it only with the next traffic.
func Main(m *testing.M) {
	sip.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readConnection"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}
