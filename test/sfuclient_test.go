package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// TestWebClientSFU runs the web client against the embedded SFU in this
// process (no gateway binary, no room API): two pages exchange audio and
// video, and the SFU's own mute and kick reach the pages. It narrows a
// failure of TestBrowser* down to the SFU and web client pair.
func TestWebClientSFU(t *testing.T) {
	b := launchBrowser(t)
	s, base := sfuPageServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pa := openRoom(ctx, t, b, base, "demo", "a")
	pb := openRoom(ctx, t, b, base, "demo", "b")
	waitParticipant(ctx, t, pa, "b")
	waitParticipant(ctx, t, pb, "a")
	waitMediaFlowing(ctx, t, pa)
	waitMediaFlowing(ctx, t, pb)

	var ida, idb string
	if err := pa.EvalInto(ctx, `window.roombridge.self.id`, &ida); err != nil {
		t.Fatal(err)
	}
	if err := pb.EvalInto(ctx, `window.roombridge.self.id`, &idb); err != nil {
		t.Fatal(err)
	}
	if err := s.MuteParticipant(ctx, "demo", ida, room.TrackKindAudio, true); err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, pa, `document.getElementById('notice').textContent.includes('microphone was muted')`)
	wait(ctx, t, pb, `window.roombridge.participants[`+jsString(ida)+`].audio_muted === true`)

	if err := s.RemoveParticipant(ctx, "demo", idb, "kicked"); err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, pb, `window.roombridge.state === 'removed'`)
	wait(ctx, t, pa, `!window.roombridge.participants[`+jsString(idb)+`]`)
}

// testWriter sends slog output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
