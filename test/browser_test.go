package test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestBrowserTwoParticipants joins two headless Chromium pages to the
// embedded SFU of a real gateway and checks that each receives the other's
// audio and video (bytes and decoded frames still rising) and lists the
// other by name.
func TestBrowserTwoParticipants(t *testing.T) {
	b := launchBrowser(t)
	srv := harness.Start(t, harness.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pa := openRoomPIN(ctx, t, b, srv.URL, "demo", "a", harness.DemoPIN)
	pb := openRoomPIN(ctx, t, b, srv.URL, "demo", "b", harness.DemoPIN)
	waitParticipant(ctx, t, pa, "b")
	waitParticipant(ctx, t, pb, "a")
	waitMediaFlowing(ctx, t, pa)
	waitMediaFlowing(ctx, t, pb)
}

// TestBrowserAdminKick checks the room API against live browsers: the
// admin dashboard lists the participants, an API mute reaches the page,
// and an API kick makes the kicked page show that it was removed.
func TestBrowserAdminKick(t *testing.T) {
	b := launchBrowser(t)
	srv := harness.Start(t, harness.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pa := openRoomPIN(ctx, t, b, srv.URL, "demo", "a", harness.DemoPIN)
	pb := openRoomPIN(ctx, t, b, srv.URL, "demo", "b", harness.DemoPIN)
	waitParticipant(ctx, t, pa, "b")

	admin, err := b.NewPage(ctx, "admin", srv.URL+"/admin")
	if err != nil {
		t.Fatal(err)
	}
	mustEval(ctx, t, admin, `(() => { const f = document.getElementById('login');
		f.elements.key.value = `+jsString(srv.APIKey)+`; f.requestSubmit(); })()`)
	wait(ctx, t, admin, `[...document.querySelectorAll('.room-card[data-room="demo"] .pname')].map(e => e.textContent).sort().join() === 'a,b'`)

	ids := participantIDs(ctx, t, srv)
	if ids["a"] == "" || ids["b"] == "" {
		t.Fatalf("API lists %v, want a and b", ids)
	}

	status, body, err := srv.API(ctx, http.MethodPost, "/v1/rooms/demo/participants/"+url.PathEscape(ids["a"])+"/mute", map[string]bool{"audio": true})
	if err != nil || status/100 != 2 {
		t.Fatalf("mute: %d %s %v", status, body, err)
	}
	wait(ctx, t, pa, `document.getElementById('notice').textContent.includes('microphone was muted') &&
		!window.roombridge.pub.getSenders().find(s => s.track && s.track.kind === 'audio').track.enabled`)
	wait(ctx, t, pb, `window.roombridge.participants[`+jsString(ids["a"])+`].audio_muted === true`)

	status, body, err = srv.API(ctx, http.MethodDelete, "/v1/rooms/demo/participants/"+url.PathEscape(ids["b"]), nil)
	if err != nil || status/100 != 2 {
		t.Fatalf("kick: %d %s %v", status, body, err)
	}
	wait(ctx, t, pb, `window.roombridge.state === 'removed' && !document.getElementById('notice').hidden &&
		document.getElementById('notice').textContent.includes('removed from the room')`)
	wait(ctx, t, pa, `!Object.values(window.roombridge.participants).some(p => p.name === 'b')`)
	wait(ctx, t, admin, `[...document.querySelectorAll('.room-card[data-room="demo"] .pname')].map(e => e.textContent).join() === 'a'`)
}

// participantIDs returns name → id from the room API, accepting both
// {"participants": [...]} and a bare array.
func participantIDs(ctx context.Context, t *testing.T, srv *harness.Server) map[string]string {
	t.Helper()
	status, body, err := srv.API(ctx, http.MethodGet, "/v1/rooms/demo/participants", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("list participants: %d %s %v", status, body, err)
	}
	type participant struct{ ID, Name string }
	var list []participant
	var wrapped struct{ Participants []participant }
	if err := json.Unmarshal(body, &wrapped); err == nil && wrapped.Participants != nil {
		list = wrapped.Participants
	} else if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("participants: %v in %s", err, body)
	}
	ids := map[string]string{}
	for _, p := range list {
		ids[p.Name] = p.ID
	}
	if len(ids) != len(list) {
		t.Fatalf("duplicate names in %s", body)
	}
	return ids
}
