package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestNodesShareRedis: two gateway nodes on one redis-server. A room and
// its PIN made on node 1 are served by node 2; a join token minted by
// node 1 admits a browser on node 2 (the nodes agreed on the token
// secret); wrong PINs keyed on both nodes lock the caller out after the
// same count as on one; and a draining node refuses new web sessions.
func TestNodesShareRedis(t *testing.T) {
	nodes := startNodes(t, 2, "5s",
		"http: {public_rooms: false}\ndialin: {numbers: [\"5000\"]}\nivr: {max_failures: 2, join_tones: false}",
		"trunks: [{name: local, allow: [127.0.0.0/8], trusted: true, pin_lockout: caller}]")
	n1, n2 := nodes[0], nodes[1]
	status, body, err := n1.API(t.Context(), http.MethodPost, "/v1/rooms", map[string]any{"name": "shared", "pin": "246810"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create on node 1: %d %s %v", status, body, err)
	}
	status, body, err = n2.API(t.Context(), http.MethodGet, "/v1/rooms/shared", nil)
	if err != nil || status != http.StatusOK || !strings.Contains(string(body), `"pin":"246810"`) {
		t.Fatalf("node 2 GET /v1/rooms/shared: %d %s %v", status, body, err)
	}

	// A token from node 1 opens the room on node 2; a forged one does not.
	status, body, err = n1.API(t.Context(), http.MethodPost, "/v1/rooms/shared/tokens", map[string]any{"name": "alice"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("token on node 1: %d %s %v", status, body, err)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal(body, &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %s %v", body, err)
	}
	if typ, text := webJoin(t, n2, webJoinReq{Room: "shared", Name: "probe", Token: tok.Token}); typ != "joined" {
		t.Fatalf("node 2 refused node 1's token: %s %q", typ, text)
	}
	if typ, _ := webJoin(t, n2, webJoinReq{Room: "shared", Name: "probe", Token: tok.Token + "x"}); typ != "error" {
		t.Fatalf("node 2 took a forged token: %s", typ)
	}

	// One wrong PIN on each node locks the caller out on both (the
	// trunk counts wrong PINs per caller number).
	const pinGuesser = "+15550007"
	wrongPIN := func(n *harness.Server) *caller.Report {
		c := sipStartCaller(t, caller.Options{
			Target: "sip:5000@" + n.SIPAddr, From: pinGuesser,
			DTMF: "1111#", DTMFDelay: 500 * time.Millisecond, Duration: 8 * time.Second,
		})
		return c.wait(t, 20*time.Second)
	}
	if rep := wrongPIN(n1); rep.RemoteHangup {
		t.Fatalf("one wrong PIN of two allowed: the gateway hung up after %v", rep.Duration)
	}
	if rep := wrongPIN(n2); !rep.RemoteHangup {
		t.Errorf("second wrong PIN (on node 2): the call was not ended by the lockout (%+v)", rep)
	}
	locked, err := caller.Run(t.Context(), caller.Options{
		Target: "sip:5000@" + n1.SIPAddr, From: pinGuesser,
		Duration: time.Second, PortMin: 34000, PortMax: 34999,
	})
	if locked == nil || locked.Status != http.StatusForbidden {
		t.Errorf("a call to node 1 after the lockout: %+v %v, want 403", locked, err)
	}

	// A draining node refuses new web sessions while its call goes on.
	held := sipStartCaller(t, caller.Options{Target: "sip:demo@" + n2.SIPAddr, Duration: 4 * time.Second})
	sipWaitRoom(t, n2, "demo", 10*time.Second, nil, "a phone joins on node 2",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	// Both nodes are listed by either, node 2 hosting demo.
	waitNodes(t, n1, "gw1:[] gw2:[demo]")
	if status, body, err := n2.API(t.Context(), http.MethodPost, "/v1/admin/drain", nil); err != nil || status != http.StatusAccepted {
		t.Fatalf("drain node 2: %d %s %v", status, body, err)
	}
	if typ, text := webJoin(t, n2, webJoinReq{Room: "shared", Name: "probe", Token: tok.Token}); typ != "error" || !strings.Contains(text, "shutting down") {
		t.Errorf("a web join on a draining node: %s %q", typ, text)
	}
	held.wait(t, 10*time.Second)
	if err := n2.WaitExit(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	// A node that stopped takes its record and placements with it.
	waitNodes(t, n1, "gw1:[]")
}

// waitNodes waits until GET /v1/nodes on srv lists the nodes and their
// rooms as want ("gw1:[] gw2:[demo]").
func waitNodes(t *testing.T, srv *harness.Server, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = nodesListing(t, srv); got == want {
			return
		}
	}
	t.Fatalf("GET /v1/nodes lists %q, want %q", got, want)
}

// nodesListing is GET /v1/nodes on srv as "gw1:[] gw2:[demo]".
func nodesListing(t *testing.T, srv *harness.Server) string {
	t.Helper()
	status, body, err := srv.API(t.Context(), http.MethodGet, "/v1/nodes", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /v1/nodes: %d %s %v", status, body, err)
	}
	var res struct {
		Nodes []struct {
			ID    string   `json:"id"`
			Rooms []string `json:"rooms"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	parts := make([]string, 0, len(res.Nodes))
	for _, n := range res.Nodes {
		parts = append(parts, n.ID+":"+fmt.Sprint(n.Rooms))
	}
	return strings.Join(parts, " ")
}
