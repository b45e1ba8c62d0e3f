package test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/chrome"
	"github.com/roombridge/roombridge/test/internal/fakesfu"
)

// TestWebClientEcho drives the room page against the fake SFU, so the
// web client's side of the protocol is checked without the gateway: join,
// both PeerConnections, tracks placed by stream id, mute, speaking, host
// mute and removal.
func TestWebClientEcho(t *testing.T) {
	b := launchBrowser(t)
	fake, err := fakesfu.New(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/rtc", fake)
	mux.Handle("/", webClient())
	srv := httptest.NewServer(mux)
	// LIFO: the fake's sessions end before the server waits for handlers.
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := openRoom(ctx, t, b, srv.URL, "demo", "alice")

	join := fake.Received()[0]
	if join.Type != "join" || join.Room != "demo" || join.Name != "alice" {
		t.Fatalf("first message %+v", join)
	}
	waitParticipant(ctx, t, p, "Echo")
	waitMediaFlowing(ctx, t, p)

	// Self mute: the track is disabled and the server is told.
	mustEval(ctx, t, p, `document.getElementById('mic').click()`)
	wait(ctx, t, p, `window.roombridge.pub.getSenders().some(s => s.track && s.track.kind === 'audio' && !s.track.enabled)`)
	waitReceived(ctx, t, fake, func(m fakesfu.Message) bool {
		return m.Type == "mute" && m.Kind == "audio" && m.Muted != nil && *m.Muted
	})
	// The fake mirrors the mute onto Echo; the tile must show it.
	wait(ctx, t, p, `document.querySelector('.tile[data-id="echo"]').classList.contains('audio-muted')`)

	fake.Send(fakesfu.Message{Type: "active_speakers", Speakers: []fakesfu.Speaker{{ID: fakesfu.EchoID, Level: 0.8}}})
	wait(ctx, t, p, `document.querySelector('.tile[data-id="echo"]').classList.contains('speaking') && window.roombridge.participants.echo.speaking`)

	yes := true
	fake.Send(fakesfu.Message{Type: "muted", Kind: "video", Muted: &yes})
	wait(ctx, t, p, `!window.roombridge.pub.getSenders().find(s => s.track && s.track.kind === 'video').track.enabled &&
		document.getElementById('notice').textContent.includes('camera was muted') &&
		document.querySelector('.tile.self').classList.contains('video-muted') &&
		document.getElementById('cam').textContent === 'Start camera'`)

	fake.Send(fakesfu.Message{Type: "participant_left", Participant: &fakesfu.Participant{ID: fakesfu.EchoID}})
	wait(ctx, t, p, `!document.querySelector('.tile[data-id="echo"]') && !window.roombridge.participants.echo`)

	fake.Send(fakesfu.Message{Type: "removed", Reason: "kicked"})
	wait(ctx, t, p, `window.roombridge.state === 'removed' && !document.getElementById('notice').hidden &&
		document.getElementById('notice').textContent.includes('removed from the room (kicked)')`)
}

// TestWebClientError checks that a refused join shows the server's error.
func TestWebClientError(t *testing.T) {
	b := launchBrowser(t)
	fake, err := fakesfu.New(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	fake.JoinError = "room not found"
	mux := http.NewServeMux()
	mux.Handle("/v1/rtc", fake)
	mux.Handle("/", webClient())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := b.NewPage(ctx, "refused", srv.URL+"/r/nope?name=bob")
	if err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, p, `window.roombridge.state === 'error' &&
		document.getElementById('notice').textContent.includes('room not found')`)
}

func mustEval(ctx context.Context, t *testing.T, p *chrome.Page, js string) {
	t.Helper()
	if _, err := p.Evaluate(ctx, js); err != nil {
		t.Fatal(err)
	}
}

func wait(ctx context.Context, t *testing.T, p *chrome.Page, js string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := p.WaitFor(wctx, js, 0); err != nil {
		t.Fatal(err)
	}
}

func waitReceived(ctx context.Context, t *testing.T, fake *fakesfu.Server, match func(fakesfu.Message) bool) {
	t.Helper()
	for {
		for _, m := range fake.Received() {
			if match(m) {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("server never received the expected message; got %+v", fake.Received())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestWebClientNameAndToken checks the page without a name (it asks for
// one) and that a token from the URL is sent in the join and then removed
// from the address bar.
func TestWebClientNameAndToken(t *testing.T) {
	b := launchBrowser(t)
	fake, err := fakesfu.New(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/rtc", fake)
	mux.Handle("/", webClient())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p, err := b.NewPage(ctx, "noname", srv.URL+"/r/demo?token=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, p, `!document.getElementById('name-form').hidden && location.search === ''`)
	mustEval(ctx, t, p, `(() => { const f = document.getElementById('name-form');
		f.elements.name.value = 'Zoë'; f.requestSubmit(); })()`)
	wait(ctx, t, p, `window.roombridge.state === 'joined' && location.search === '?name=Zo%C3%AB'`)
	join := fake.Received()[0]
	if join.Type != "join" || join.Name != "Zoë" || join.Token != "s3cret" || join.Room != "demo" {
		t.Fatalf("join %+v", join)
	}
}
