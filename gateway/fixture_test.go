package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/sfu"
)

func TestMain(m *testing.M) {
	// Short SIP timers keep retransmissions and timeouts quick on loopback.
	sipgosip.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	if os.Getenv("GW_DEBUG") == "" {
		sipgosip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}

func testLogger() *slog.Logger {
	if os.Getenv("GW_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// fixture is the whole gateway in-process: a SQLite store with room
// "demo" (alias "4711"), the embedded SFU, a SIP server on a loopback UDP
// socket and the Gateway between them.
type fixture struct {
	t     *testing.T
	store *store.SQLite
	demo  store.Room
	sfu   *sfu.SFU
	gw    *Gateway
	srv   *sip.Server
	pool  *rtp.PortPool
	reg   *prometheus.Registry
	addr  string // SIP UDP host:port
}

// newFixture starts a fixture; edit may change the gateway's config.
func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	return newFixtureTrunk(t, sip.Trunk{Name: "local", Allow: loopback}, edit)
}

// newFixtureTrunk is newFixture with the loopback trunk given.
func newFixtureTrunk(t *testing.T, trunk sip.Trunk, edit func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, reg: prometheus.NewRegistry()}
	var err error
	f.store, err = store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "rooms.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.store.Close() })
	f.demo, err = f.store.UpsertRoom(ctx, store.Room{Name: "demo", Aliases: []string{"4711"}})
	if err != nil {
		t.Fatal(err)
	}
	f.sfu, err = sfu.New(sfu.Config{Logger: testLogger().With("component", "sfu")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.sfu.Close() })
	f.pool, err = rtp.NewPortPool(netip.MustParseAddr("127.0.0.1"), 40000, 40999)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Logger:        testLogger(),
		Store:         f.store,
		Backend:       f.sfu,
		PortPool:      f.pool,
		DialInNumbers: []string{"+15550100"},
		CallerMask:    NumberMask{Prefix: 5, Suffix: 4},
		Registerer:    f.reg,
		// Tests share busy machines: admission control stays out of the
		// way of tests that are not about it.
		Limits: Limits{MaxCPU: 1, MaxMachineCPU: 1, MaxLate: 1},
	}
	if edit != nil {
		edit(&cfg)
	}
	f.gw, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv, err = sip.NewServer(sip.Config{
		Logger:  testLogger().With("component", "sip"),
		Domain:  "gw.test",
		Trunks:  []sip.Trunk{trunk},
		Handler: f.gw,
	})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = pc.LocalAddr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = f.srv.ServeUDP(pc) }()
	t.Cleanup(func() {
		if err := f.gw.Close(); err != nil {
			t.Errorf("Gateway.Close: %v", err)
		}
		_ = f.srv.Close()
		<-done
		if n := f.pool.InUse(); n != 0 {
			t.Errorf("%d RTP port pairs still in use", n)
		}
	})
	return f
}

// uri is the SIP URI of user at the gateway.
func (f *fixture) uri(user string) string { return "sip:" + user + "@" + f.addr }

// sipParticipants lists the room's SIP participants.
func (f *fixture) sipParticipants(roomName string) []room.ParticipantState {
	ps, err := f.sfu.Participants(context.Background(), roomName)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []room.ParticipantState
	for _, p := range ps {
		if p.Kind == room.ParticipantKindSIP {
			out = append(out, p)
		}
	}
	return out
}

// waitIdle waits until the gateway has no call and no hub.
func (f *fixture) waitIdle() {
	f.t.Helper()
	waitUntil(f.t, 10*time.Second, "gateway idle", func() bool {
		return f.gw.activeCalls() == 0 && f.gw.activeHubs() == 0 && f.pool.InUse() == 0
	})
}

func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openFDs counts this process's open file descriptors (Linux).
func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// syncBuf is a goroutine-safe PCM recorder keeping the last max samples.
type syncBuf struct {
	mu  sync.Mutex
	max int
	pcm []int16
	n   int // samples ever appended
}

func (b *syncBuf) append(p []int16) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pcm = append(b.pcm, p...)
	b.n += len(p)
	if over := len(b.pcm) - b.max; over > 0 {
		b.pcm = append(b.pcm[:0], b.pcm[over:]...)
	}
}

// last returns a copy of the last n samples (fewer if not yet recorded).
func (b *syncBuf) last(n int) []int16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	n = min(n, len(b.pcm))
	return append([]int16(nil), b.pcm[len(b.pcm)-n:]...)
}

func (b *syncBuf) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// metric returns the value of a counter or gauge in the fixture's registry,
// the series whose first label has value label ("" for none); -1 if absent.
func (f *fixture) metric(name, label string) float64 {
	f.t.Helper()
	if label == "" {
		return f.metricWith(name)
	}
	return f.metricWith(name, label)
}

// metricWith is metric for the series whose first labels have the values
// labels, in order.
func (f *fixture) metricWith(name string, labels ...string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) < len(labels) {
				continue
			}
			for i, v := range labels {
				if m.GetLabel()[i].GetValue() != v {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}
