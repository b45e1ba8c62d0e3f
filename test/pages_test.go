package test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/chrome"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// launchBrowser skips without -short or Chromium and starts one for t.
func launchBrowser(t *testing.T) *chrome.Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end browser test; skipped with -short")
	}
	path := chrome.DefaultPath
	if p := os.Getenv("CHROME_PATH"); p != "" {
		path = p
	}
	harness.RequireTool(t, path)
	return chrome.Launch(t, chrome.Options{})
}

// openRoom opens the room page as name and waits until it has joined.
func openRoom(ctx context.Context, t *testing.T, b *chrome.Browser, base, room, name string) *chrome.Page {
	t.Helper()
	return openRoomURL(ctx, t, b, name, fmt.Sprintf("%s/r/%s?name=%s", base, room, name))
}

// openRoomPIN is openRoom for a room with a PIN, given in the link.
func openRoomPIN(ctx context.Context, t *testing.T, b *chrome.Browser, base, room, name, pin string) *chrome.Page {
	t.Helper()
	return openRoomURL(ctx, t, b, name, fmt.Sprintf("%s/r/%s?name=%s&pin=%s", base, room, name, pin))
}

// openRoomURL opens a room page link as name and waits until it has joined.
func openRoomURL(ctx context.Context, t *testing.T, b *chrome.Browser, name, link string) *chrome.Page {
	t.Helper()
	p, err := b.NewPage(ctx, name, link)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.roombridge && window.roombridge.state === 'joined'`, 0); err != nil {
		t.Fatal(err)
	}
	return p
}

// inbound sums the page's received media on its "sub" PeerConnection.
type inbound struct {
	AudioBytes  float64 `json:"audioBytes"`
	VideoFrames float64 `json:"videoFrames"`
}

const inboundJS = `(async () => {
	const out = {audioBytes: 0, videoFrames: 0};
	const pc = window.roombridge && window.roombridge.sub;
	if (!pc) return out;
	(await pc.getStats()).forEach(s => {
		if (s.type !== 'inbound-rtp') return;
		if (s.kind === 'audio') out.audioBytes += s.bytesReceived || 0;
		if (s.kind === 'video') out.videoFrames += s.framesDecoded || 0;
	});
	return out;
})()`

// waitMediaFlowing waits until audio bytes and decoded video frames are
// not only present but still rising, so a stream that stalled after its
// first packets fails.
func waitMediaFlowing(ctx context.Context, t *testing.T, p *chrome.Page) {
	t.Helper()
	var first, last inbound
	for {
		if err := p.EvalInto(ctx, inboundJS, &last); err != nil {
			t.Fatalf("[%s] stats: %v", p.Name(), err)
		}
		switch {
		case first.AudioBytes == 0 || first.VideoFrames == 0:
			first = last
		case last.AudioBytes > first.AudioBytes+2000 && last.VideoFrames > first.VideoFrames+10:
			t.Logf("[%s] media flowing: %+v → %+v", p.Name(), first, last)
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("[%s] media not flowing: first %+v, last %+v: %v", p.Name(), first, last, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// participantNames returns the names the page lists for others.
func participantNames(ctx context.Context, p *chrome.Page) ([]string, error) {
	var names []string
	err := p.EvalInto(ctx, `Object.values(window.roombridge.participants).map(p => p.name).filter(Boolean)`, &names)
	slices.Sort(names)
	return names, err
}

// waitParticipant waits until page lists name, both in its debug state
// and as a visible tile label.
func waitParticipant(ctx context.Context, t *testing.T, p *chrome.Page, name string) {
	t.Helper()
	js := fmt.Sprintf(`Object.values(window.roombridge.participants).some(p => p.name === %q) &&
		[...document.querySelectorAll('.tile:not(.self) .name')].some(e => e.textContent === %q)`, name, name)
	if err := p.WaitFor(ctx, js, 0); err != nil {
		names, _ := participantNames(ctx, p)
		t.Fatalf("[%s] does not list %q (lists %v): %v", p.Name(), name, names, err)
	}
}
