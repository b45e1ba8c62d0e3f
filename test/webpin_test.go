package test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/test/internal/chrome"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestWebClientPIN: room demo has a PIN, so the web client gets in only
// with it or with a join token. A page opening /r/demo without it is asked
// for the PIN, has no camera or PeerConnection and no place in the room;
// a wrong PIN typed into the form is refused; the right one joins, and
// audio and video flow between it and a page that joined through a
// ?pin= link with the host PIN (listed with role=host). A token link
// joins without a PIN. Wrong PINs count per address in the lockout the
// phones share: once locked, even the right PIN is refused, and so is a
// phone call from that address.
func TestWebClientPIN(t *testing.T) {
	b := launchBrowser(t)
	srv := harness.Start(t, harness.Options{YAML: []string{"ivr: { max_failures: 4 }"}})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	p, err := b.NewPage(ctx, "guest", srv.URL+"/r/demo?name=guest")
	if err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, p, `window.roombridge && window.roombridge.state === 'pin' && !document.getElementById('pin-form').hidden`)
	wait(ctx, t, p, `window.roombridge.pub === null && window.roombridge.sub === null`)
	if names := roomNames(ctx, t, srv); len(names) != 0 {
		t.Fatalf("room demo lists %v before anyone gave its PIN", names)
	}

	typePIN(ctx, t, p, "1111")
	wait(ctx, t, p, `window.roombridge.state === 'pin' && window.roombridge.notice.includes('Wrong PIN') && !document.getElementById('pin-form').hidden`)
	typePIN(ctx, t, p, harness.DemoPIN)
	wait(ctx, t, p, `window.roombridge.state === 'joined'`)
	wait(ctx, t, p, `!location.search.includes('pin')`)

	host := openRoomPIN(ctx, t, b, srv.URL, "demo", "host", harness.DemoHostPIN)
	if err := host.WaitFor(ctx, `!location.search.includes('pin')`, 0); err != nil {
		t.Errorf("the PIN stays in the address bar: %v", err)
	}
	waitParticipant(ctx, t, p, "host")
	waitParticipant(ctx, t, host, "guest")
	waitMediaFlowing(ctx, t, p)
	waitMediaFlowing(ctx, t, host)
	roles := map[string]string{}
	for _, x := range roomParticipants(ctx, t, srv) {
		roles[x.Name] = x.Attributes["role"]
	}
	if roles["host"] != "host" || roles["guest"] != "" {
		t.Errorf("roles %v: want the host PIN's page as host, the guest as none", roles)
	}

	status, body, err := srv.API(ctx, http.MethodPost, "/v1/rooms/demo/tokens", map[string]string{"name": "linked"})
	if err != nil || status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("POST tokens: %d %s %v", status, body, err)
	}
	var tok struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.URL == "" {
		t.Fatalf("token response %s: %v", body, err)
	}
	linked := openRoomURL(ctx, t, b, "linked", tok.URL)
	waitParticipant(ctx, t, linked, "host")

	// One wrong PIN so far; three more from this address lock it out.
	for i, pin := range []string{"0000", "0001", "0002"} {
		q, err := b.NewPage(ctx, "guesser", srv.URL+"/r/demo?name=guesser&pin="+pin)
		if err != nil {
			t.Fatal(err)
		}
		want := `window.roombridge.state === 'pin'`
		if i == 2 {
			want = `window.roombridge.state === 'error' && window.roombridge.notice.includes('too many wrong PINs')`
		}
		wait(ctx, t, q, want)
	}
	q, err := b.NewPage(ctx, "locked", srv.URL+"/r/demo?name=locked&pin="+harness.DemoPIN)
	if err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, q, `window.roombridge.state === 'error' && window.roombridge.notice.includes('too many wrong PINs')`)
	rep, err := caller.Run(ctx, caller.Options{Target: "sip:+15550100@" + srv.SIPAddr, Duration: time.Second})
	if rep == nil || rep.Status != 403 {
		t.Errorf("phone call from the locked-out address: %+v (%v), want 403", rep, err)
	}
	if got := scrape(ctx, t, srv, `roombridge_web_joins_total{result="locked_out"}`); got != "2" {
		t.Errorf("web_joins_total{locked_out} = %q, want 2", got)
	}
}

func typePIN(ctx context.Context, t *testing.T, p *chrome.Page, pin string) {
	t.Helper()
	mustEval(ctx, t, p, `(() => { const f = document.getElementById('pin-form'); f.elements.pin.value = '`+pin+`'; f.requestSubmit(); })()`)
}

type apiParticipant struct {
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes"`
}

func roomParticipants(ctx context.Context, t *testing.T, srv *harness.Server) []apiParticipant {
	t.Helper()
	status, body, err := srv.API(ctx, http.MethodGet, "/v1/rooms/demo/participants", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET participants: %d %s %v", status, body, err)
	}
	var res struct {
		Participants []apiParticipant `json:"participants"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	return res.Participants
}

func roomNames(ctx context.Context, t *testing.T, srv *harness.Server) []string {
	t.Helper()
	var names []string
	for _, p := range roomParticipants(ctx, t, srv) {
		names = append(names, p.Name)
	}
	return names
}

// scrape returns the value of one sample line of /metrics, "" if absent.
func scrape(ctx context.Context, t *testing.T, srv *harness.Server, sample string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
