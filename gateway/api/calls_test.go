package api

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sip/outbound"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
	"github.com/roombridge/roombridge/gateway/store"
)

// dialHarness is the API with dial-out through one outbound trunk to an
// in-process SIP UAS that rings briefly, then answers.
func dialHarness(t *testing.T) (*harness, *uastest.Server) {
	t.Helper()
	h := newHarness(t)
	if _, err := h.store.CreateRoom(context.Background(), store.Room{Name: "demo", PIN: "4321"}); err != nil {
		t.Fatal(err)
	}
	uas := uastest.Start(t, uastest.Config{RingFor: 100 * time.Millisecond})
	loopback := netip.MustParseAddr("127.0.0.1")
	m, err := outbound.New(outbound.Config{
		Trunks:  []outbound.Trunk{{Name: "carrier", URI: "sip:" + strings.TrimPrefix(uas.URI("", "udp"), "sip:@"), Numbers: []string{"+1*"}}},
		LocalIP: loopback,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	pool, err := rtp.NewPortPool(loopback, 45000, 45099)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := dialout.New(dialout.Config{Dialer: m, Media: dialout.SignallingOnly(pool, netip.Addr{})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(context.Background()) })
	srv, err := New(Config{Keys: []string{testKey}, Store: h.store, Calls: reg, Trunks: m.States})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	return h, uas
}

func (h *harness) waitCall(id, state string) callJSON {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var c callJSON
		h.do(req{method: "GET", path: "/v1/calls/" + id}).expect(h.t, 200, &c)
		if c.State == state {
			return c
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("call %s is %s, want %s", id, c.State, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDialAPI(t *testing.T) {
	h, uas := dialHarness(t)
	r := h.do(req{method: "POST", path: "/v1/rooms/demo/dial", body: map[string]any{
		"to": "+1 (555) 123-4567", "name": "Support", "timeout": "10s", "headers": map[string]string{"X-Customer-Id": "42"},
	}})
	var c callJSON
	r.expect(t, 201, &c)
	if c.State != "dialing" || c.Room != "demo" || !strings.HasPrefix(c.ID, "dial_") || r.header.Get("Location") != "/v1/calls/"+c.ID {
		t.Fatalf("created %+v, Location %q", c, r.header.Get("Location"))
	}
	got := h.waitCall(c.ID, "answered")
	if got.Trunk != "carrier" || got.Status != 200 || got.RingingAt == nil || got.AnsweredAt == nil {
		t.Errorf("answered %+v", got)
	}
	var list struct{ Calls []callJSON }
	h.do(req{method: "GET", path: "/v1/calls"}).expect(t, 200, &list)
	if len(list.Calls) != 1 || list.Calls[0].ID != c.ID {
		t.Errorf("list %+v", list)
	}
	var trunks struct{ Trunks []trunkJSON }
	h.do(req{method: "GET", path: "/v1/trunks"}).expect(t, 200, &trunks)
	if len(trunks.Trunks) != 1 || trunks.Trunks[0].ActiveCalls != 1 || trunks.Trunks[0].Registration.State != "disabled" ||
		trunks.Trunks[0].Options.Health != "unknown" {
		t.Errorf("trunks %+v", trunks)
	}
	h.do(req{method: "DELETE", path: "/v1/calls/" + c.ID}).expect(t, 202, nil)
	if end := h.waitCall(c.ID, "ended"); end.Cause != "hangup" || end.EndedAt == nil {
		t.Errorf("ended %+v", end)
	}
	if _, _, _, byes := uas.Counts(); byes != 1 {
		t.Errorf("%d BYEs", byes)
	}
}

func TestDialAPIErrors(t *testing.T) {
	h, _ := dialHarness(t)
	for _, tc := range []struct {
		path  string
		body  any
		code  int
		field string
	}{
		{"/v1/rooms/demo/dial", map[string]any{}, 400, "to"},
		{"/v1/rooms/demo/dial", map[string]any{"to": "bob"}, 400, "to"},
		{"/v1/rooms/demo/dial", map[string]any{"to": "+1555", "timeout": "soon"}, 400, "timeout"},
		{"/v1/rooms/demo/dial", map[string]any{"to": "+1555", "timeout": "1h"}, 400, "timeout"},
		{"/v1/rooms/demo/dial", map[string]any{"to": "+1555", "dtmf": "1x"}, 400, "dtmf"},
		{"/v1/rooms/demo/dial", map[string]any{"to": "+1555", "headers": map[string]string{"Via": "x"}}, 400, "headers"},
		{"/v1/rooms/demo/dial", map[string]any{"to": "+1555", "headers": map[string]int{"X-A": 1}}, 400, "headers"},
		{"/v1/rooms/demo/dial", map[string]any{"to": "+1555", "tp": 1}, 400, "tp"},
		{"/v1/rooms/nope/dial", map[string]any{"to": "+1555"}, 404, ""},
	} {
		h.do(req{method: "POST", path: tc.path, body: tc.body}).expectError(t, tc.code, tc.field)
	}
	h.do(req{method: "GET", path: "/v1/calls/dial_nope"}).expectError(t, 404, "")
	h.do(req{method: "DELETE", path: "/v1/calls/dial_nope"}).expectError(t, 404, "")
	// A number no trunk may dial is accepted, then ends with no_route.
	var c callJSON
	h.do(req{method: "POST", path: "/v1/rooms/demo/dial", body: map[string]any{"to": "+4930123"}}).expect(t, 201, &c)
	if end := h.waitCall(c.ID, "ended"); end.Cause != "no_route" {
		t.Errorf("ended %+v", end)
	}
}

func TestDialNotConfigured(t *testing.T) {
	h := newHarness(t)
	if _, err := h.store.CreateRoom(context.Background(), store.Room{Name: "demo", PIN: "4321"}); err != nil {
		t.Fatal(err)
	}
	h.do(req{method: "POST", path: "/v1/rooms/demo/dial", body: map[string]any{"to": "+1555"}}).expectError(t, 503, "")
	var list struct{ Calls []callJSON }
	h.do(req{method: "GET", path: "/v1/calls"}).expect(t, 200, &list)
	var trunks struct{ Trunks []trunkJSON }
	h.do(req{method: "GET", path: "/v1/trunks"}).expect(t, 200, &trunks)
	if list.Calls == nil || len(trunks.Trunks) != 0 {
		t.Errorf("calls %v trunks %v", list.Calls, trunks.Trunks)
	}
}
