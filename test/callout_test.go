package test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// Calling out, with sipp as the carriers: registration, failover, busy,
// no answer, early media and OPTIONS health, seen through the room API as
// a meeting app sees them.

// outboundTrunk is a trunks[] entry that calls out through a sipp carrier.
func outboundTrunk(name, addr string, prio int, extra map[string]any) map[string]any {
	o := map[string]any{"uri": "sip:" + addr, "from_number": "+15550100", "priority": prio, "invite_timeout": "2s"}
	for k, v := range extra {
		o[k] = v
	}
	return map[string]any{"name": name, "outbound": o}
}

// startCalloutGateway starts a gateway whose trunks are the loopback trunk
// and the given outbound ones.
func startCalloutGateway(t *testing.T, trunks ...map[string]any) *harness.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end SIP test; skipped with -short")
	}
	all := []any{map[string]any{"name": "local", "allow": []any{"127.0.0.0/8"}, "trusted": true}}
	for _, tr := range trunks {
		all = append(all, tr)
	}
	return harness.Start(t, harness.Options{Config: map[string]any{
		"sip": map[string]any{"domain": sipDomain}, "trunks": all,
	}})
}

// apiCall is GET /v1/calls/{id}.
type apiCall struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Trunk      string `json:"trunk"`
	Status     int    `json:"status"`
	Cause      string `json:"cause"`
	EarlyMedia bool   `json:"early_media"`
}

type apiTrunk struct {
	Name         string `json:"name"`
	ActiveCalls  int    `json:"active_calls"`
	Registration struct {
		State         string    `json:"state"`
		Server        string    `json:"server"`
		LastError     string    `json:"last_error"`
		ExpiresAt     time.Time `json:"expires_at"`
		LastSuccessAt time.Time `json:"last_success_at"`
	} `json:"registration"`
	Options struct {
		Health     string `json:"health"`
		LastStatus int    `json:"last_status"`
	} `json:"options"`
}

// apiJSON calls the API and decodes a 2xx answer into v.
func apiJSON(t *testing.T, srv *harness.Server, method, path string, body, v any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, b, err := srv.API(ctx, method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if status/100 == 2 && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	if status/100 != 2 {
		t.Logf("%s %s: %d %s", method, path, status, b)
	}
	return status
}

// dial places a call from room demo and returns its id.
func dial(t *testing.T, srv *harness.Server, req map[string]any) string {
	t.Helper()
	var c apiCall
	if code := apiJSON(t, srv, http.MethodPost, "/v1/rooms/demo/dial", req, &c); code != http.StatusCreated {
		t.Fatalf("dial: %d", code)
	}
	if c.State != "dialing" {
		t.Fatalf("new call %+v", c)
	}
	return c.ID
}

// waitCall polls the call until it reaches state, failing t on a deadline
// or if it ends first.
func waitCall(t *testing.T, srv *harness.Server, id, state string, within time.Duration) apiCall {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var c apiCall
		apiJSON(t, srv, http.MethodGet, "/v1/calls/"+id, nil, &c)
		if c.State == state {
			return c
		}
		if c.State == "ended" || time.Now().After(deadline) {
			t.Fatalf("call %s: %+v, waiting for %s", id, c, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func trunks(t *testing.T, srv *harness.Server) map[string]apiTrunk {
	t.Helper()
	var out struct{ Trunks []apiTrunk }
	apiJSON(t, srv, http.MethodGet, "/v1/trunks", nil, &out)
	m := map[string]apiTrunk{}
	for _, tr := range out.Trunks {
		m[tr.Name] = tr
	}
	return m
}

// requests lists the SIP methods (or status codes) in sipp's message log.
func requests(u *sippeer.UAS, sent bool) string {
	var out []string
	for _, l := range u.Received(sent) {
		f := strings.Fields(l)
		switch {
		case len(f) > 1 && strings.HasPrefix(f[0], "SIP/"):
			out = append(out, f[1])
		case len(f) > 0:
			out = append(out, f[0])
		}
	}
	return strings.Join(out, " ")
}

// waitLog waits until sipp's message log (requests received, or what it
// sent) contains want.
func waitLog(t *testing.T, u *sippeer.UAS, sent bool, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(requests(u, sent), want) {
		if time.Now().After(deadline) {
			t.Fatalf("sipp log %q lacks %q", requests(u, sent), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTrunkRegistration: the carrier challenges every REGISTER; the
// gateway answers, shows the trunk registered in GET /v1/trunks, refreshes
// before the 3 s the registrar grants run out, and unregisters
// (Expires: 0) when it stops.
func TestTrunkRegistration(t *testing.T) {
	reg := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_register.xml", Keys: map[string]string{"expires": "3"}})
	srv := startCalloutGateway(t, outboundTrunk("carrier", reg.Addr, 1, map[string]any{
		"username": "roombridge", "password": "carrier-secret", "realm": "carrier.test",
		"register": true, "register_expires": "10m",
	}))
	var first apiTrunk
	deadline := time.Now().Add(15 * time.Second)
	for {
		first = trunks(t, srv)["carrier"]
		if first.Registration.State == "registered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not registered: %+v", first)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if first.Registration.Server != "udp:"+reg.Addr || first.Registration.ExpiresAt.Sub(first.Registration.LastSuccessAt) != 3*time.Second {
		t.Errorf("registration %+v", first.Registration)
	}
	// A refresh comes before the 3 s are up, so the binding never lapses.
	deadline = time.Now().Add(10 * time.Second)
	for {
		tr := trunks(t, srv)["carrier"]
		if tr.Registration.State != "registered" {
			t.Fatalf("registration lapsed: %+v", tr.Registration)
		}
		if tr.Registration.LastSuccessAt.After(first.Registration.LastSuccessAt) {
			if gap := tr.Registration.LastSuccessAt.Sub(first.Registration.LastSuccessAt); gap >= 3*time.Second {
				t.Errorf("refreshed %v after the last success, after the binding expired", gap)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no refresh")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	msgs := reg.Messages()
	if !strings.Contains(msgs, "Expires: 0") {
		t.Errorf("no unregistration in the registrar's log")
	}
	if strings.Contains(requests(reg, true), "403") {
		t.Errorf("a digest answer was refused: %s", requests(reg, true))
	}
}

// TestTrunkRegistrationWrongPassword: a refused registration shows failed
// with the carrier's answer, and is retried.
func TestTrunkRegistrationWrongPassword(t *testing.T) {
	reg := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_register.xml", Keys: map[string]string{"expires": "3"}})
	srv := startCalloutGateway(t, outboundTrunk("carrier", reg.Addr, 1, map[string]any{
		"username": "roombridge", "password": "wrong", "register": true,
	}))
	deadline := time.Now().Add(15 * time.Second)
	for {
		tr := trunks(t, srv)["carrier"]
		if tr.Registration.State == "failed" {
			if !strings.Contains(tr.Registration.LastError, "403") {
				t.Errorf("last error %q", tr.Registration.LastError)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration %+v", tr.Registration)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTrunkReregistersAfterFailure: the registrar is out of service for
// the first REGISTER (503); the trunk shows failed with one failure, and
// the retry after the backoff (2 s ± 20 %) registers it.
func TestTrunkReregistersAfterFailure(t *testing.T) {
	reg := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_register_503_first.xml", Keys: map[string]string{"expires": "60"}})
	srv := startCalloutGateway(t, outboundTrunk("carrier", reg.Addr, 1, map[string]any{
		"username": "roombridge", "password": "carrier-secret", "register": true,
	}))
	var failedAt time.Time
	deadline := time.Now().Add(15 * time.Second)
	for {
		tr := trunks(t, srv)["carrier"]
		if tr.Registration.State == "failed" && failedAt.IsZero() {
			failedAt = time.Now()
			if !strings.Contains(tr.Registration.LastError, "503") {
				t.Errorf("last error %q", tr.Registration.LastError)
			}
		}
		if tr.Registration.State == "registered" {
			if failedAt.IsZero() {
				t.Fatal("registered without the failure first")
			}
			if gap := tr.Registration.LastSuccessAt.Sub(failedAt); gap < time.Second {
				t.Errorf("retried %v after the failure; the backoff starts at 2 s", gap)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration %+v", tr.Registration)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := requests(reg, true); !strings.HasPrefix(got, "503 401 200") {
		t.Errorf("registrar answered %q", got)
	}
}

// TestDialFailover503: the first carrier answers 503, the second answers;
// the call is answered through the second, listed, and the DELETE sends it
// BYE.
func TestDialFailover503(t *testing.T) {
	bad := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_503.xml"})
	good := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_answer.xml"})
	srv := startCalloutGateway(t, outboundTrunk("a", bad.Addr, 1, nil), outboundTrunk("b", good.Addr, 2, nil))
	id := dial(t, srv, map[string]any{"to": "+15551234567", "name": "Support"})
	c := waitCall(t, srv, id, "answered", 15*time.Second)
	if c.Trunk != "b" || c.Status != 200 {
		t.Errorf("answered %+v", c)
	}
	if tr := trunks(t, srv); tr["b"].ActiveCalls != 1 || tr["a"].ActiveCalls != 0 {
		t.Errorf("active calls %+v", tr)
	}
	var list struct{ Calls []apiCall }
	apiJSON(t, srv, http.MethodGet, "/v1/calls", nil, &list)
	if len(list.Calls) != 1 || list.Calls[0].ID != id {
		t.Errorf("GET /v1/calls %+v", list)
	}
	if code := apiJSON(t, srv, http.MethodDelete, "/v1/calls/"+id, nil, nil); code != http.StatusAccepted {
		t.Fatalf("DELETE: %d", code)
	}
	if c := waitCall(t, srv, id, "ended", 10*time.Second); c.Cause != "hangup" {
		t.Errorf("ended %+v", c)
	}
	waitLog(t, good, false, "BYE", 5*time.Second)
	if got := requests(bad, true); got != "100 503" {
		t.Errorf("first carrier sent %q", got)
	}
	if got := requests(good, false); !strings.HasPrefix(got, "INVITE ACK") {
		t.Errorf("second carrier got %q", got)
	}
}

// TestDialBusyNoFailover: 486 from the first carrier is the callee's
// answer: the call ends busy and the second carrier never hears of it.
func TestDialBusyNoFailover(t *testing.T) {
	busy := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_busy.xml"})
	good := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_answer.xml"})
	srv := startCalloutGateway(t, outboundTrunk("a", busy.Addr, 1, nil), outboundTrunk("b", good.Addr, 2, nil))
	id := dial(t, srv, map[string]any{"to": "+15551234567"})
	c := waitCall(t, srv, id, "ended", 15*time.Second)
	if c.Cause != "busy" || c.Status != 486 || c.Trunk != "a" {
		t.Errorf("ended %+v", c)
	}
	waitLog(t, busy, false, "ACK", 5*time.Second)
	if got := requests(good, false); got != "" {
		t.Errorf("second carrier got %q", got)
	}
}

// TestDialNoAnswerCancels: a callee that only rings is cancelled when the
// dial's timeout passes (CANCEL, 200, 487, ACK), and the call ends
// no_answer.
func TestDialNoAnswerCancels(t *testing.T) {
	ringing := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_no_answer.xml"})
	srv := startCalloutGateway(t, outboundTrunk("a", ringing.Addr, 1, nil))
	id := dial(t, srv, map[string]any{"to": "+15551234567", "timeout": "2s"})
	waitCall(t, srv, id, "ringing", 10*time.Second)
	c := waitCall(t, srv, id, "ended", 10*time.Second)
	if c.Cause != "no_answer" {
		t.Errorf("ended %+v", c)
	}
	waitLog(t, ringing, false, "INVITE CANCEL ACK", 5*time.Second)
}

// TestDialEarlyMedia: a 183 with SDP before the answer shows as
// early_media while ringing, then the call is answered.
func TestDialEarlyMedia(t *testing.T) {
	carrier := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_early_media.xml"})
	srv := startCalloutGateway(t, outboundTrunk("a", carrier.Addr, 1, nil))
	id := dial(t, srv, map[string]any{"to": "+15551234567"})
	c := waitCall(t, srv, id, "ringing", 10*time.Second)
	if !c.EarlyMedia || c.Status != 183 {
		t.Errorf("ringing %+v", c)
	}
	waitCall(t, srv, id, "answered", 10*time.Second)
	apiJSON(t, srv, http.MethodDelete, "/v1/calls/"+id, nil, nil)
	waitCall(t, srv, id, "ended", 10*time.Second)
	waitLog(t, carrier, false, "INVITE ACK BYE", 5*time.Second)
}

// TestOptionsSkipsTrunk: the first carrier answers its OPTIONS pings with
// 503, so GET /v1/trunks shows it down and a dial goes straight to the
// second.
func TestOptionsSkipsTrunk(t *testing.T) {
	down := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_options_503.xml"})
	good := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_answer.xml"})
	srv := startCalloutGateway(t,
		outboundTrunk("a", down.Addr, 1, map[string]any{"options_interval": "1s"}),
		outboundTrunk("b", good.Addr, 2, nil))
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr := trunks(t, srv)["a"]
		if tr.Options.Health == "down" {
			if tr.Options.LastStatus != 503 {
				t.Errorf("options %+v", tr.Options)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trunk a %+v", tr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	id := dial(t, srv, map[string]any{"to": "+15551234567"})
	c := waitCall(t, srv, id, "answered", 10*time.Second)
	if c.Trunk != "b" {
		t.Errorf("answered %+v", c)
	}
	apiJSON(t, srv, http.MethodDelete, "/v1/calls/"+id, nil, nil)
	waitCall(t, srv, id, "ended", 10*time.Second)
	if got := requests(down, false); strings.Contains(got, "INVITE") || !strings.Contains(got, "OPTIONS") {
		t.Errorf("first carrier got %q", got)
	}
	if n := strings.Count(requests(down, false), "OPTIONS"); n < 1 {
		t.Errorf("%d pings", n)
	}
}

// TestDialErrorsNameTheField: bad dial requests get 400 with the field.
func TestDialErrorsNameTheField(t *testing.T) {
	srv := startCalloutGateway(t, outboundTrunk("a", "127.0.0.1:9", 1, nil))
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{}, "to"},
		{map[string]any{"to": "+1555", "timeout": "forever"}, "timeout"},
		{map[string]any{"to": "+1555", "headers": map[string]string{"Call-ID": "x"}}, "headers"},
		{map[string]any{"to": "+1555", "colour": "red"}, "colour"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		status, b, err := srv.API(ctx, http.MethodPost, "/v1/rooms/demo/dial", tc.body)
		cancel()
		var e struct{ Error, Field string }
		if err != nil || status != 400 || json.Unmarshal(b, &e) != nil || e.Field != tc.field {
			t.Errorf("%v: %d %s %v", tc.body, status, b, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if status, _, _ := srv.API(ctx, http.MethodPost, "/v1/rooms/nope/dial", map[string]any{"to": "+1555"}); status != 404 {
		t.Errorf("unknown room: %d", status)
	}
}
