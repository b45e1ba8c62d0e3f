package test

import (
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/kamailio"
)

// callerPorts hands each caller of a test its own range of 100 RTP ports.
type callerPorts uint16

func (p *callerPorts) next() (lo, hi uint16) {
	lo = uint16(*p)
	*p += 100
	return lo, lo + 99
}

// through starts a caller to room through Kamailio, sending tone for
// hold, with its own RTP ports.
func (p *callerPorts) through(t *testing.T, proxy *kamailio.Proxy, room string, tone float64, hold time.Duration, o caller.Options) *sipCall {
	t.Helper()
	o.Target = "sip:" + room + "@" + proxy.Addr
	o.Tone, o.Duration = tone, hold
	o.PortMin, o.PortMax = p.next()
	return sipStartCaller(t, o)
}

// waitProxyLog waits until Kamailio's log holds line and returns how long
// after since that was.
func waitProxyLog(t *testing.T, proxy *kamailio.Proxy, line string, since time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	for !strings.Contains(proxy.Logs(), line) {
		if time.Since(since) > timeout {
			t.Fatalf("Kamailio did not log %q within %v", line, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(since)
}

// splitNodes returns the node of nodes whose id is id, and the other.
func splitNodes(t *testing.T, nodes []*harness.Server, id string) (this, other *harness.Server) {
	t.Helper()
	switch id {
	case "gw1":
		return nodes[0], nodes[1]
	case "gw2":
		return nodes[1], nodes[0]
	}
	t.Fatalf("unknown node %q", id)
	return nil, nil
}

// TestKillNode: two gateway nodes sharing a redis-server behind the real
// Kamailio. The node carrying a call is killed outright (SIGKILL: no
// drain, no BYE). The phone notices the silence and hangs up; new callers
// of the same room, one dialling it directly and one through the PIN IVR
// of a dial-in number, are served by the surviving node and hear each
// other (the room and its PIN were in Redis, not on the dead node); the
// dead node's record and room placement expire from GET /v1/nodes. When
// the dead node comes back, Kamailio's hash points the room's callers at
// it again, and it sends them on (302) to the node the room now lives on.
func TestKillNode(t *testing.T) {
	nodes, proxy := startProxied(t, "2m",
		"dialin: {numbers: [\"5000\"]}\nivr: {join_tones: false}")
	const room, pin = "kilo", "4242"
	createRoom(t, nodes[0], map[string]any{"name": room, "pin": pin})
	ports := callerPorts(33000)

	// A phone in the room, on whichever node the room hashes to. It hangs
	// up after 2 s without media, as phones do.
	first := ports.through(t, proxy, room, 440, time.Minute, caller.Options{RTPTimeout: 2 * time.Second})
	ids := waitRoomNodes(t, nodes, room, 1)
	victim, survivor := splitNodes(t, nodes, ids[0])
	waitNodes(t, survivor, "gw1:"+rooms(ids[0] == "gw1", room)+" gw2:"+rooms(ids[0] == "gw2", room))

	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()

	// New callers of the room right after the kill: one dials the room,
	// one the dial-in number and keys the room's PIN.
	direct := ports.through(t, proxy, room, 880, 16*time.Second, caller.Options{})
	ivr := ports.through(t, proxy, "5000", 660, 20*time.Second, caller.Options{DTMF: pin + "#", DTMFDelay: 500 * time.Millisecond})
	sipWaitRoom(t, survivor, room, 15*time.Second, nil, "the direct caller joins on the survivor",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") >= 1 })
	served := time.Since(killedAt)
	sipWaitRoom(t, survivor, room, 30*time.Second, nil, "the IVR caller joins on the survivor with the room's PIN",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
	t.Logf("SIGKILL → the first new caller in the room on the survivor: %v; → the PIN caller too: %v",
		served.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))

	// The dead node's record and its room's placement expire; the survivor
	// then records the room as its own.
	survivorID := "gw1"
	if survivor == nodes[1] {
		survivorID = "gw2"
	}
	var listing string
	for listing != survivorID+":["+room+"]" {
		if time.Since(killedAt) > 20*time.Second {
			t.Fatalf("GET /v1/nodes still lists %q 20 s after the kill", listing)
		}
		time.Sleep(100 * time.Millisecond)
		listing = nodesListing(t, survivor)
	}
	t.Logf("SIGKILL → the dead node gone from GET /v1/nodes and its room placed on the survivor: %v", time.Since(killedAt).Round(time.Millisecond))

	// The dead node restarts and Kamailio puts it back; a new caller of
	// the room, hashed to it, joins the others on the survivor.
	if err := victim.Restart(); err != nil {
		t.Fatal(err)
	}
	readyAt := time.Now()
	waitProxyLog(t, proxy, "gateway node up: sip:"+victim.SIPAddr, readyAt, 10*time.Second)
	back := ports.through(t, proxy, room, 440, 3*time.Second, caller.Options{})
	sipWaitRoom(t, survivor, room, 10*time.Second, nil, "a caller after the restart joins the room where it lives",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 3 })
	if got := roomNodes(t, []*harness.Server{victim}, room); len(got) != 0 {
		t.Errorf("after its restart, the node the room hashes to took callers of a room living elsewhere: %v", got)
	}
	back.wait(t, 15*time.Second)

	rep := first.wait(t, 30*time.Second)
	if !rep.MediaTimeout {
		t.Errorf("the call on the killed node: media timeout %v, remote hangup %v after %v; want the phone to hang up on the silence",
			rep.MediaTimeout, rep.RemoteHangup, rep.Duration)
	}
	d, p := direct.wait(t, 30*time.Second), ivr.wait(t, 40*time.Second)
	if d.RemoteHangup || !d.HeardFrequency(660, 20) {
		t.Errorf("direct caller on the survivor: hung up by the gateway %v, heard %v, want 660 Hz", d.RemoteHangup, d.Peaks)
	}
	if !p.HeardFrequency(880, 20) {
		t.Errorf("PIN caller on the survivor: heard %v, want 880 Hz", p.Peaks)
	}
}

// rooms is "[room]" when on, else "[]": a node's rooms in nodesListing.
func rooms(on bool, room string) string {
	if on {
		return "[" + room + "]"
	}
	return "[]"
}

// TestRollingRestart: a rolling restart of two gateway nodes behind the
// real Kamailio drops no call. Node A, carrying a call, is sent SIGTERM:
// Kamailio's probe takes it out, new calls of the same room go to node B,
// the call on A keeps its audio until the phones hang up, and A exits 0.
// A is started again and Kamailio puts it back; then B, now carrying a
// call, is drained the same way while new calls go to A; then B comes
// back. Every call lasts as long as its phones wanted and hears the other
// phone to the end.
func TestRollingRestart(t *testing.T) {
	nodes, proxy := startProxied(t, "2m")
	const room = "lima"
	createRoom(t, nodes[0], map[string]any{"name": room})
	ports := callerPorts(33000)
	type pair struct {
		a, b *sipCall
		hold time.Duration
	}
	// call starts two phones in the room that hear each other for hold.
	call := func(hold time.Duration) pair {
		return pair{
			ports.through(t, proxy, room, 440, hold, caller.Options{}),
			ports.through(t, proxy, room, 880, hold, caller.Options{}),
			hold,
		}
	}
	// onNode waits until the pair is in the room on node n.
	onNode := func(n *harness.Server, what string) time.Time {
		sipWaitRoom(t, n, room, 15*time.Second, nil, what,
			func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
		return time.Now()
	}

	first := call(12 * time.Second)
	ids := waitRoomNodes(t, nodes, room, 2)
	if ids[0] != ids[1] {
		t.Fatalf("the first pair landed on %v, want one node", ids)
	}
	a, b := splitNodes(t, nodes, ids[0])
	var second, third pair
	for i, step := range []struct {
		drain, other *harness.Server
		calls        *pair // the pair on the node to drain
		next         *pair // the pair that starts during the drain
		hold         time.Duration
	}{
		{a, b, &first, &second, 20 * time.Second},
		{b, a, &second, &third, 6 * time.Second},
	} {
		select {
		case <-step.calls.a.done:
			t.Fatalf("step %d: the calls on the node to drain ended before the drain", i+1)
		default:
		}
		if err := step.drain.Terminate(); err != nil {
			t.Fatal(err)
		}
		termAt := time.Now()
		out := waitProxyLog(t, proxy, "gateway node down: sip:"+step.drain.SIPAddr, termAt, 10*time.Second)
		*step.next = call(step.hold)
		served := onNode(step.other, "new callers land on the other node").Sub(termAt)
		t.Logf("step %d: SIGTERM → Kamailio takes the node out: %v; → a new pair in the room on the other node: %v",
			i+1, out.Round(time.Millisecond), served.Round(time.Millisecond))

		checkCallsOutlastDrain(t, step.calls.a, step.calls.b, step.calls.hold)
		if err := step.drain.WaitExit(10 * time.Second); err != nil {
			t.Fatalf("step %d: the drained node after its calls ended: %v", i+1, err)
		}
		exitAt := time.Now()
		if strings.Contains(proxy.Logs(), "node failed") {
			t.Errorf("step %d: a call was sent to the draining node and refused before the probe took it out", i+1)
		}
		upBefore := strings.Count(proxy.Logs(), "gateway node up: sip:"+step.drain.SIPAddr)
		if err := step.drain.Restart(); err != nil {
			t.Fatalf("step %d: restart: %v", i+1, err)
		}
		readyAt := time.Now()
		for strings.Count(proxy.Logs(), "gateway node up: sip:"+step.drain.SIPAddr) == upBefore {
			if time.Since(readyAt) > 10*time.Second {
				t.Fatalf("step %d: Kamailio did not put the restarted node back within 10 s", i+1)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("step %d: exit → ready again: %v; ready → Kamailio puts it back: %v",
			i+1, readyAt.Sub(exitAt).Round(time.Millisecond), time.Since(readyAt).Round(time.Millisecond))
	}
	checkCallsOutlastDrain(t, third.a, third.b, third.hold)
}
