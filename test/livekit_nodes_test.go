package test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
)

// TestLiveKitNodesThroughKamailio: two gateway nodes with backend livekit,
// sharing a redis-server, behind the real Kamailio; livekit-server in the
// test's network namespace. Two phones dial one room through Kamailio by
// two of its aliases that Kamailio's hash sends to different nodes: each
// node puts its phone into the same LiveKit room (nothing is redirected
// with LiveKit), the API lists both with their nodes, and the phones hear
// each other.
func TestLiveKitNodesThroughKamailio(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	lk := startLiveKit(t)
	backend := fmt.Sprintf("backend: livekit\nlivekit: {url: %q, api_key: %q, api_secret: %q}", lk.url(), lkKey, lkSecret)
	nodes, proxy := startProxied(t, "2m", backend)

	// Find a user part that Kamailio sends to each node: dial names that
	// are no room (404 at once) and read where Kamailio sent them.
	aliasFor := map[string]string{}
	for i := 0; len(aliasFor) < 2 && i < 32; i++ {
		user := fmt.Sprintf("oscar%d", i)
		rep, _ := caller.Run(t.Context(), caller.Options{Target: "sip:" + user + "@" + proxy.Addr, Duration: time.Second, PortMin: 33000, PortMax: 33099})
		if rep == nil || rep.Status != http.StatusNotFound {
			t.Fatalf("probe %s: %+v, want 404", user, rep)
		}
		m := regexp.MustCompile(`INVITE for ` + user + ` from \S+ to sip:(\S+)`).FindStringSubmatch(proxy.Logs())
		if m == nil {
			t.Fatalf("Kamailio did not log where it sent %s", user)
		}
		if _, ok := aliasFor[m[1]]; !ok {
			aliasFor[m[1]] = user
		}
	}
	a1, a2 := aliasFor[nodes[0].SIPAddr], aliasFor[nodes[1].SIPAddr]
	if a1 == "" || a2 == "" {
		t.Fatalf("no user parts hashed to both nodes: %v", aliasFor)
	}
	const room = "oscar"
	createRoom(t, nodes[0], map[string]any{"name": room, "aliases": []string{a1, a2}})

	const hold = 10 * time.Second
	ports := callerPorts(33100)
	a := ports.through(t, proxy, a1, 440, hold, caller.Options{})
	b := ports.through(t, proxy, a2, 1000, hold, caller.Options{})
	ps, _ := sipWaitRoom(t, nodes[1], room, 15*time.Second, nil, "both phones in the LiveKit room",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
	var on []string
	for _, p := range ps {
		if p.Kind == "sip" {
			on = append(on, p.Node)
		}
	}
	slices.Sort(on)
	if !slices.Equal(on, []string{"gw1", "gw2"}) {
		t.Errorf("the phones' participants are on nodes %v, want one on each", on)
	}
	repA, repB := a.wait(t, hold+10*time.Second), b.wait(t, hold+10*time.Second)
	lkgwCheckMix(t, "phone on gw1", repA.Heard, 440, []float64{1000}, 10)
	lkgwCheckMix(t, "phone on gw2", repB.Heard, 1000, []float64{440}, 10)
}
