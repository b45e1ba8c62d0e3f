package test

import (
	"context"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// sipVideoTracks counts the H.264 tracks of the room's SIP participants.
func sipVideoTracks(ps []sipParticipant) int {
	n := 0
	for _, p := range ps {
		for _, tr := range p.Tracks {
			if p.Kind == "sip" && tr.Kind == "video" && tr.Codec == "video/H264" {
				n++
			}
		}
	}
	return n
}

// TestSippVideo: room systems' video signalling against the real gateway,
// with sipp as the room system: an INVITE offering H.264 (answered on a
// real port with mode 1 and the rtcp-fb offered; INFO picture_fast_update
// 200, a media_control body that is not XML 400), a delayed offer (the
// gateway offers H.264 42e01f, sipp answers in the ACK) and an audio call
// that adds video by re-INVITE and removes it again. While each call has
// video, the room lists an H.264 track of the SIP participant.
func TestSippVideo(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	for _, scenario := range []string{"video_offer.xml", "delayed_offer_video.xml", "reinvite_video.xml"} {
		t.Run(scenario, func(t *testing.T) {
			sippDuring(t, srv, scenario, 3*time.Second, "the room system's H.264 track",
				func(ps []sipParticipant) bool { return sipVideoTracks(ps) == 1 })
			sipWaitRoom(t, srv, "demo", 5*time.Second, nil, "the room system leaves",
				func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })
		})
	}
}

// sippDuring runs one scenario against srv as a call to room demo and
// fails t unless sipp exits 0 and, while it ran, the room's participants
// met cond.
func sippDuring(t *testing.T, srv *harness.Server, scenario string, pause time.Duration, what string, cond func([]sipParticipant) bool) {
	t.Helper()
	p := sippeer.Start(t, sippeer.Options{
		Scenario: scenario,
		Remote:   srv.SIPAddr,
		Service:  "demo",
		Domain:   sipDomain,
		Pause:    pause,
		Timeout:  30 * time.Second,
	})
	_, seen := sipWaitRoom(t, srv, "demo", 10*time.Second, p.Done(), what, cond)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	code, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if code != sippeer.ExitOK {
		t.Fatalf("sipp %s: exit %d (%s)", scenario, code, sippeer.ExitReason(code))
	}
	if !seen {
		t.Fatalf("sipp's call ended before this held: %s", what)
	}
}
