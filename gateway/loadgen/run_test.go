package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

// fakeGateway serves the room API and a /metrics whose leg gauge is the
// echo UAS's active calls; it records the rooms created and deleted.
type fakeGateway struct {
	uas *uastest.Server

	mu               sync.Mutex
	created, deleted []string
	scrapes          int
}

func (f *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == "/metrics":
		f.scrapes++
		n := f.scrapes
		// Counters that grow with every scrape, so window deltas are > 0.
		_, _ = fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %d\n", n)
		_, _ = fmt.Fprintf(w, "process_resident_memory_bytes %d\n", 50<<20+n<<10)
		_, _ = fmt.Fprintf(w, "roombridge_sip_legs %d\n", f.uas.Active())
		_, _ = fmt.Fprintf(w, "roombridge_hub_ticks_total %d\nroombridge_hub_late_ticks_total 0\n", 100*n)
		_, _ = fmt.Fprintf(w, "roombridge_hub_tick_seconds_bucket{le=\"0.001\"} %d\nroombridge_hub_tick_seconds_bucket{le=\"+Inf\"} %d\n", 100*n, 100*n)
		_, _ = fmt.Fprintf(w, "roombridge_hub_tick_seconds_sum 0\nroombridge_hub_tick_seconds_count %d\n", 100*n)
	case r.URL.Path == "/v1/rooms" && r.Method == http.MethodPost:
		if r.Header.Get("Authorization") != "Bearer k3y-for-tests" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var body strings.Builder
		buf := make([]byte, 512)
		n, _ := r.Body.Read(buf)
		body.Write(buf[:n])
		f.created = append(f.created, body.String())
		w.WriteHeader(http.StatusCreated)
	case strings.HasPrefix(r.URL.Path, "/v1/rooms/") && r.Method == http.MethodDelete:
		f.deleted = append(f.deleted, strings.TrimPrefix(r.URL.Path, "/v1/rooms/"))
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// targetOf is host:port of the UAS's UDP listener.
func targetOf(uas *uastest.Server) string {
	return strings.TrimPrefix(uas.URI("x", "udp"), "sip:x@")
}

func TestRunAgainstEchoUAS(t *testing.T) {
	uas := uastest.Start(t, uastest.Config{})
	fg := &fakeGateway{uas: uas}
	hs := httptest.NewServer(fg)
	t.Cleanup(hs.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Target: targetOf(uas), Legs: 6, RoomSize: 4, Rate: 200,
		Settle: 100 * time.Millisecond, Hold: 600 * time.Millisecond,
		APIURL: hs.URL, APIKey: "k3y-for-tests",
		LocalIP: netip.MustParseAddr("127.0.0.1"), PortMin: 47000, PortMax: 47999,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Attempted != 6 || rep.Answered != 6 || rep.Failed != 0 {
		t.Errorf("attempted/answered/failed = %d/%d/%d, want 6/6/0 (%v)", rep.Attempted, rep.Answered, rep.Failed, rep.Failures)
	}
	// The UAS echoes each caller's tone: every one hears audio.
	if rep.Callers.AudioArrived != 6 {
		t.Errorf("audio arrived for %d of 6 (levels %+v)", rep.Callers.AudioArrived, rep.Callers.HeardDBFS)
	}
	if rep.SetupMS.N != 6 || rep.SetupMS.P50 <= 0 {
		t.Errorf("setup = %+v", rep.SetupMS)
	}
	if !rep.Gateway.Scraped || rep.Gateway.Legs != 6 || rep.Gateway.CPUPercent <= 0 || rep.Gateway.Ticks <= 0 {
		t.Errorf("gateway = %+v", rep.Gateway)
	}
	if rep.WindowMS < 500 || rep.Rooms != 2 {
		t.Errorf("window %v ms, rooms %d", rep.WindowMS, rep.Rooms)
	}
	if len(rep.Warnings) > 0 {
		t.Errorf("warnings: %v", rep.Warnings)
	}
	if rep.CPUs < 1 || rep.MachineBusyPercent > 100 {
		t.Errorf("machine: %d CPUs, %v %% busy", rep.CPUs, rep.MachineBusyPercent)
	}
	fg.mu.Lock()
	defer fg.mu.Unlock()
	if len(fg.created) != 2 || !strings.Contains(fg.created[0], `"load-0"`) || !strings.Contains(fg.created[1], `"load-1"`) {
		t.Errorf("created %v", fg.created)
	}
	slices.Sort(fg.deleted)
	if !slices.Equal(fg.deleted, []string{"load-0", "load-1"}) {
		t.Errorf("deleted %v", fg.deleted)
	}
	if a := uas.Active(); a != 0 {
		t.Errorf("%d calls still up at the UAS", a)
	}
}

func TestRunRejected(t *testing.T) {
	uas := uastest.Start(t, uastest.Config{Reject: 486})
	// The fake /metrics lets Run wait for every call to end or come up
	// before the window starts, so none is cut short by the hang-up.
	hs := httptest.NewServer(&fakeGateway{uas: uas})
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Target: targetOf(uas), Legs: 3, Rate: 100, Settle: time.Millisecond, Hold: time.Millisecond,
		MetricsURL: hs.URL + "/metrics", LocalIP: netip.MustParseAddr("127.0.0.1"), PortMin: 47000, PortMax: 47999,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answered != 0 || rep.Failed != 3 || rep.Failures["486 Busy Here"] != 3 {
		t.Errorf("answered %d failed %d failures %v", rep.Answered, rep.Failed, rep.Failures)
	}
	if rep.Gateway.Legs != 0 {
		t.Errorf("gateway legs %v, want 0", rep.Gateway.Legs)
	}
}

func TestRunBadRoomAPI(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	t.Cleanup(hs.Close)
	_, err := Run(context.Background(), Config{
		Target: "127.0.0.1:9", Legs: 1, APIURL: hs.URL,
		LocalIP: netip.MustParseAddr("127.0.0.1"),
	})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("err = %v, want the API's 403", err)
	}
}
