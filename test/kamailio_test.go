package test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/store/storetest"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/kamailio"
)

// startNodes starts n gateway nodes sharing one redis-server, named
// gw1…gwN, whose drains last up to drainTimeout; yaml fragments are merged
// into each node's config.
func startNodes(t *testing.T, n int, drainTimeout string, yaml ...string) []*harness.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with several gateway processes; skipped with -short")
	}
	rs := storetest.StartRedis(t)
	nodes := make([]*harness.Server, n)
	for i := range nodes {
		nodes[i] = harness.Start(t, harness.Options{Config: map[string]any{
			"node":     map[string]any{"id": fmt.Sprintf("gw%d", i+1)},
			"store":    map[string]any{"redis": map[string]any{"addr": rs.Addr}},
			"sip":      map[string]any{"domain": sipDomain},
			"shutdown": map[string]any{"drain_timeout": drainTimeout},
		}, YAML: yaml})
	}
	return nodes
}

// startProxied starts two nodes (as startNodes does) and the real
// Kamailio in front of them, probing each every second.
func startProxied(t *testing.T, drainTimeout string, yaml ...string) ([]*harness.Server, *kamailio.Proxy) {
	t.Helper()
	nodes := startNodes(t, 2, drainTimeout, yaml...)
	proxy := kamailio.Start(t, kamailio.Options{
		Gateways:      []string{nodes[0].SIPAddr, nodes[1].SIPAddr},
		ProbeInterval: 1,
	})
	return nodes, proxy
}

// createRoom makes a room through srv's API (body is the POST /v1/rooms
// request) and fails t unless it is created.
func createRoom(t *testing.T, srv *harness.Server, body map[string]any) {
	t.Helper()
	if status, res, err := srv.API(t.Context(), http.MethodPost, "/v1/rooms", body); err != nil || status != http.StatusCreated {
		t.Fatalf("create room %v: %d %s %v", body["name"], status, res, err)
	}
}

// roomNode returns the node ids of the SIP participants of room on each
// node (the embedded SFU lists only its own participants).
func roomNodes(t *testing.T, nodes []*harness.Server, room string) []string {
	t.Helper()
	var ids []string
	for _, n := range nodes {
		select {
		case <-n.Exited():
			continue
		default:
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		ps, err := sipRoomParticipants(ctx, n, room)
		cancel()
		if err != nil {
			t.Fatalf("participants of %s: %v", room, err)
		}
		for _, p := range ps {
			if p.Kind == "sip" {
				ids = append(ids, p.Node)
			}
		}
	}
	return ids
}

// waitRoomNodes waits until at least n SIP participants of room are on
// the nodes and returns their node ids.
func waitRoomNodes(t *testing.T, nodes []*harness.Server, room string, n int) []string {
	t.Helper()
	var ids []string
	for deadline := time.Now().Add(10 * time.Second); len(ids) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("room %s: %d phones in it (on %v), want %d", room, len(ids), ids, n)
		}
		ids = roomNodes(t, nodes, room)
	}
	return ids
}

// TestKamailioDispatch: two gateway nodes sharing Redis behind the real
// Kamailio with deploy/kamailio/kamailio.cfg. Rooms created through node 1
// are dialled through Kamailio; both callers of a room land on the same
// node (the hash of the room) and hear each other, and the rooms spread
// over both nodes. Then the node carrying a call is sent SIGTERM: the call
// goes on until hung up, new calls for its room reach the other node
// within the probe interval, and the drained node exits 0.
func TestKamailioDispatch(t *testing.T) {
	nodes, proxy := startProxied(t, "2m")
	rooms := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	for _, r := range rooms {
		createRoom(t, nodes[0], map[string]any{"name": r})
	}
	// Node 2 sees the rooms node 1 made (one Redis).
	if status, body, err := nodes[1].API(t.Context(), http.MethodGet, "/v1/rooms/foxtrot", nil); err != nil || status != http.StatusOK {
		t.Fatalf("node 2 does not see a room made on node 1: %d %s %v", status, body, err)
	}

	// Two callers per room, all at once, through Kamailio.
	const hold = 6 * time.Second
	type pair struct{ a, b *sipCall }
	pairs := map[string]pair{}
	port := 33000
	for _, r := range rooms {
		target := "sip:" + r + "@" + proxy.Addr
		pairs[r] = pair{
			sipStartCaller(t, caller.Options{Target: target, Tone: 440, Duration: hold, PortMin: uint16(port), PortMax: uint16(port + 99)}),
			sipStartCaller(t, caller.Options{Target: target, Tone: 880, Duration: hold, PortMin: uint16(port + 100), PortMax: uint16(port + 199)}),
		}
		port += 200
	}
	placed := map[string]string{}
	deadline := time.Now().Add(15 * time.Second)
	for len(placed) < len(rooms) && time.Now().Before(deadline) {
		for _, r := range rooms {
			if ids := roomNodes(t, nodes, r); len(ids) == 2 {
				if ids[0] != ids[1] {
					t.Fatalf("room %s: its callers landed on %v, want one node", r, ids)
				}
				placed[r] = ids[0]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(placed) < len(rooms) {
		t.Fatalf("placed %v of rooms %v", placed, rooms)
	}
	used := map[string]bool{}
	for _, id := range placed {
		used[id] = true
	}
	if !used["gw1"] || !used["gw2"] {
		t.Errorf("rooms %v all went to one node", placed)
	}
	for r, p := range pairs {
		ra, rb := p.a.wait(t, hold+10*time.Second), p.b.wait(t, hold+10*time.Second)
		if !ra.HeardFrequency(880, 20) || !rb.HeardFrequency(440, 20) {
			t.Errorf("room %s on %s: callers heard %v and %v, want each other's tone", r, placed[r], ra.Peaks, rb.Peaks)
		}
	}
	t.Logf("placement by room hash: %v", placed)

	// Drain the node of the first room with a call up.
	room := rooms[0]
	victim, other := nodes[0], nodes[1]
	if placed[room] == "gw2" {
		victim, other = nodes[1], nodes[0]
	}
	target := "sip:" + room + "@" + proxy.Addr
	const long = 10 * time.Second
	a := sipStartCaller(t, caller.Options{Target: target, Tone: 440, Duration: long, PortMin: 36000, PortMax: 36099})
	b := sipStartCaller(t, caller.Options{Target: target, Tone: 880, Duration: long, PortMin: 36100, PortMax: 36199})
	sipWaitRoom(t, victim, room, 10*time.Second, nil, "the pair joins the room's node",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
	if err := victim.Terminate(); err != nil {
		t.Fatal(err)
	}
	drainedAt := time.Now()
	// The dispatcher's OPTIONS probe (every second) sees the 503 and takes
	// the node out before any call is refused.
	down := "gateway node down: sip:" + victim.SIPAddr
	for !strings.Contains(proxy.Logs(), down) {
		if time.Since(drainedAt) > 5*time.Second {
			t.Fatalf("Kamailio did not mark the draining node down within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("Kamailio marked the draining node down %v after SIGTERM", time.Since(drainedAt).Round(time.Millisecond))
	// A new caller for the same room goes straight to the other node.
	late := sipStartCaller(t, caller.Options{Target: target, Tone: 660, Duration: 2 * time.Second, PortMin: 36200, PortMax: 36299})
	sipWaitRoom(t, other, room, 5*time.Second, nil, "a new caller lands on the other node",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	late.wait(t, 15*time.Second)
	if strings.Contains(proxy.Logs(), "node failed") {
		t.Error("a new call was sent to the draining node (refused, then failed over) after the probe marked it down")
	}

	checkCallsOutlastDrain(t, a, b, long)
	// The callers' BYEs reached the node through Kamailio's record-route:
	// the node ends its drain and exits.
	if err := victim.WaitExit(10 * time.Second); err != nil {
		t.Fatalf("drained node after its calls ended: %v", err)
	}
}
