package test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway"
	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestIVRCallerBridgedToRoomNode: two gateway nodes sharing a
// redis-server, the embedded SFU, a room living on node 2 (a phone is in
// it there). A caller dials the dial-in number on node 1 and keys the
// room's host PIN (RFC 4733): node 1 bridges it to node 2 over an
// internal SIP leg, and it is a participant of the room on node 2 with
// its display name, the host role and the node it came through; node 1
// lists no participant. The phone hears the caller's tone and the caller
// the phone's. A guest bridged the same way and kicked on node 2 is hung
// up on node 1. An INVITE to node 2 with a forged bridge token gets the
// PIN IVR and never joins. Once all have hung up, neither node holds a
// leg or an RTP port.
func TestIVRCallerBridgedToRoomNode(t *testing.T) {
	// The loopback trunk is not trusted: the bridge token alone lets
	// node 1's callers into the room without its PIN.
	nodes := startNodes(t, 2, "2m", "dialin: {numbers: [\"5000\"]}\nivr: {join_tones: false}",
		"trunks: [{name: local, allow: [127.0.0.0/8]}]")
	a, b := nodes[0], nodes[1]
	const room = "lima"
	// Elapsed times from here, the first test's node start including the
	// build of the binary.
	start := time.Now()
	step := func(what string) { t.Logf("%v %s", time.Since(start).Round(100*time.Millisecond), what) }
	createRoom(t, a, map[string]any{"name": room, "pin": "2468", "host_pin": "8642"})
	ports := callerPorts(34000)

	lo, hi := ports.next()
	phone := sipStartCaller(t, caller.Options{
		Target: "sip:5000@" + b.SIPAddr, DTMF: "2468#", DTMFDelay: 300 * time.Millisecond,
		Tone: 440, Duration: 18 * time.Second, PortMin: lo, PortMax: hi,
	})
	sipWaitRoom(t, b, room, 15*time.Second, nil, "the phone joins on node 2",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	waitNodes(t, a, "gw1:[] gw2:["+room+"]")
	step("phone in the room on node 2")

	lo, hi = ports.next()
	host := sipStartCaller(t, caller.Options{
		Target: "sip:5000@" + a.SIPAddr, From: "15550100", FromName: "Ada Lovelace",
		DTMF: "8642#", DTMFDelay: 300 * time.Millisecond, Tone: 880, Duration: 8 * time.Second, PortMin: lo, PortMax: hi,
	})
	// A guest, bridged the same way while the room lives on node 2.
	lo, hi = ports.next()
	guest := sipStartCaller(t, caller.Options{
		Target: "sip:5000@" + a.SIPAddr, From: "15550111", DTMF: "2468#", DTMFDelay: 300 * time.Millisecond,
		Duration: 20 * time.Second, PortMin: lo, PortMax: hi,
	})
	lo, hi = ports.next()
	forged := sipStartCaller(t, caller.Options{
		Target:   "sip:" + room + "@" + b.SIPAddr + ";" + gateway.StayParam,
		Headers:  []uac.Header{{Name: gateway.NodeBridgeHeader, Value: "v1.4102444800.AAAAAAAAAAAAAAAA.1.Z3cx.QWRh.AAAA"}},
		Duration: 3 * time.Second, PortMin: lo, PortMax: hi,
	})
	ps, _ := sipWaitRoom(t, b, room, 15*time.Second, nil, "the PIN callers of node 1 join the room on node 2",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 3 })
	step("bridged caller in the room on node 2")
	var bridged *sipParticipant
	for i := range ps {
		if ps[i].Name == "Ada Lovelace" {
			bridged = &ps[i]
		}
	}
	switch {
	case bridged == nil:
		t.Errorf("no participant named as the caller on node 2: %+v", ps)
	case bridged.Node != "gw2" || bridged.Attributes[gateway.AttrRole] != "host" || bridged.Attributes[gateway.AttrViaNode] != "gw1":
		t.Errorf("the bridged caller on node 2: node %q attributes %v, want gw2, host, via gw1", bridged.Node, bridged.Attributes)
	}
	if got := roomNodes(t, []*harness.Server{a}, room); len(got) != 0 {
		t.Errorf("node 1 lists participants of a room living on node 2: %v", got)
	}

	// The guest, bridged the same way, is kicked on node 2: node 1 hangs up.
	ps, _ = sipWaitRoom(t, b, room, 15*time.Second, nil, "the guest joins on node 2",
		func(ps []sipParticipant) bool {
			return slices.ContainsFunc(ps, func(p sipParticipant) bool { return p.Name == "15550111" })
		})
	for _, p := range ps {
		if p.Name == "15550111" {
			if p.Attributes[gateway.AttrRole] != "" {
				t.Errorf("the guest has role %q", p.Attributes[gateway.AttrRole])
			}
			if status, body, err := b.API(t.Context(), http.MethodDelete, "/v1/rooms/"+room+"/participants/"+p.ID, nil); err != nil || status/100 != 2 {
				t.Fatalf("kick: %d %s %v", status, body, err)
			}
		}
	}
	if r := guest.wait(t, 10*time.Second); !r.RemoteHangup {
		t.Errorf("the kicked guest was not hung up by node 1: %+v", r)
	}

	step("kicked guest hung up")
	f := forged.wait(t, 10*time.Second)
	if f.RemoteHangup {
		t.Logf("forged bridge call hung up by node 2 (%+v)", f)
	}
	if got := scrape(t.Context(), t, b, `roombridge_node_bridges_total{result="refused"}`); got != "1" {
		t.Error("node 2 did not count the forged bridge token as refused")
	}
	h, p := host.wait(t, 15*time.Second), phone.wait(t, 20*time.Second)
	if !h.HeardFrequency(440, 20) || !p.HeardFrequency(880, 20) {
		t.Errorf("the bridged caller heard %v and the phone %v, want each other's tone", h.Peaks, p.Peaks)
	}
	step("calls over")
	for _, n := range nodes {
		waitMetric(t, n, "roombridge_sip_legs", "0", 10*time.Second)
		waitMetric(t, n, "roombridge_rtp_ports_in_use", "0", 10*time.Second)
	}
	if got := scrape(t.Context(), t, a, `roombridge_node_bridges_total{result="out"}`); got != "2" {
		t.Error("node 1 did not count two bridges out")
	}
}

// waitMetric waits until srv's /metrics sample is want.
func waitMetric(t *testing.T, srv *harness.Server, sample, want string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		got := scrape(t.Context(), t, srv, sample)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /metrics %s = %q after %v, want %s", srv.URL, sample, got, timeout, want)
		}
	}
}
