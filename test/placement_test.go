package test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestRoomStaysOnItsNode: with the embedded SFU a room lives on one node.
// Its callers reaching another node (Kamailio's hash points there, or the
// phone dialled that node) are sent to the room's node with 302 before
// anyone answers: through Kamailio they end up in the room with the
// caller already there and hear each other; a phone dialling the other
// node itself gets the 302, and a browser opening the room's page there is
// redirected to the room's node. When the room's node is killed, a new caller
// is redirected to it, finds it dead, and Kamailio brings the call back to
// the node that redirected it, which takes it.
func TestRoomStaysOnItsNode(t *testing.T) {
	nodes, proxy := startProxied(t, "2m")
	const room = "mike"
	createRoom(t, nodes[0], map[string]any{"name": room})
	ports := callerPorts(33000)

	// Which node does Kamailio's hash send the room's callers to?
	probe := ports.through(t, proxy, room, 440, 2*time.Second, caller.Options{})
	ids := waitRoomNodes(t, nodes, room, 1)
	hashed, home := splitNodes(t, nodes, ids[0])
	probe.wait(t, 10*time.Second)
	waitNodes(t, home, "gw1:[] gw2:[]")

	// The room starts on the other node: a phone dials it there.
	lo, hi := ports.next()
	first := sipStartCaller(t, caller.Options{Target: "sip:" + room + "@" + home.SIPAddr, Tone: 440, Duration: 12 * time.Second, PortMin: lo, PortMax: hi})
	sipWaitRoom(t, home, room, 10*time.Second, nil, "the first phone joins on its node",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	homeID := ids[0]
	if homeID == "gw1" {
		homeID = "gw2"
	} else {
		homeID = "gw1"
	}
	waitNodes(t, hashed, strings.Replace("gw1:[] gw2:[]", homeID+":[]", homeID+":["+room+"]", 1))

	// The room's web page on the other node sends the browser to the
	// room's node; on the room's node it is served.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, n := range []*harness.Server{hashed, home} {
		res, err := noFollow.Get(n.URL + "/r/" + room + "?name=web")
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		want, loc := http.StatusOK, ""
		if n == hashed {
			want, loc = http.StatusTemporaryRedirect, home.URL+"/r/"+room+"?name=web"
		}
		if res.StatusCode != want || res.Header.Get("Location") != loc {
			t.Errorf("GET %s/r/%s: %d Location %q, want %d %q", n.URL, room, res.StatusCode, res.Header.Get("Location"), want, loc)
		}
	}

	// A caller through Kamailio: hashed to the other node, redirected.
	second := ports.through(t, proxy, room, 880, 8*time.Second, caller.Options{})
	sipWaitRoom(t, home, room, 10*time.Second, nil, "the caller through Kamailio joins the room's node",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
	if !strings.Contains(proxy.Logs(), room+": room is on sip:"+room+"@"+home.SIPAddr) {
		t.Error("Kamailio did not log following the redirect")
	}
	// A phone dialling the other node itself is told where the room is.
	lo, hi = ports.next()
	moved, err := caller.Run(t.Context(), caller.Options{Target: "sip:" + room + "@" + hashed.SIPAddr, Duration: time.Second, PortMin: lo, PortMax: hi})
	if moved == nil || moved.Status != 302 {
		t.Errorf("a call to the node that does not host the room: %+v %v, want 302", moved, err)
	}
	a, b := first.wait(t, 20*time.Second), second.wait(t, 20*time.Second)
	if !a.HeardFrequency(880, 20) || !b.HeardFrequency(440, 20) {
		t.Errorf("the room's callers heard %v and %v, want each other's tone", a.Peaks, b.Peaks)
	}
	if got := roomNodes(t, []*harness.Server{hashed}, room); len(got) != 0 {
		t.Errorf("callers of the room on the node it does not live on: %v", got)
	}

	// The room's node dies with a caller in it. A new caller is redirected
	// there (its record is still fresh), gets no answer, and is taken by
	// the node that redirected it.
	lo, hi = ports.next()
	_ = sipStartCaller(t, caller.Options{Target: "sip:" + room + "@" + home.SIPAddr, Tone: 440, Duration: time.Minute, RTPTimeout: 2 * time.Second, PortMin: lo, PortMax: hi})
	sipWaitRoom(t, home, room, 10*time.Second, nil, "a phone joins the room on its node",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	if err := home.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	late := ports.through(t, proxy, room, 660, 3*time.Second, caller.Options{})
	sipWaitRoom(t, hashed, room, 15*time.Second, nil, "the new caller is taken by the surviving node",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	t.Logf("SIGKILL of the room's node → a new caller in the room on the other node: %v", time.Since(killedAt).Round(time.Millisecond))
	if !strings.Contains(proxy.Logs(), room+": the room's node did not take the call; back to sip:"+hashed.SIPAddr) {
		t.Error("Kamailio did not bring the call back to the node that redirected it (or the dead node was not redirected to)")
	}
	late.wait(t, 15*time.Second)
}
