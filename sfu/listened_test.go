package sfu

import (
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// A bot's audio track is "listened" only while a visible participant
// subscribes: the gateway's hidden room hub does not count, so phone-only
// rooms skip Opus encoding entirely.
func TestListenedIgnoresHiddenSubscribers(t *testing.T) {
	s, _ := newTestSFU(t, Config{})
	phone := joinBot(t, s, "lst", "phone", false)
	w, err := phone.PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, FrameDuration: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lw, ok := w.(room.ListenedWriter)
	if !ok {
		t.Fatal("the SFU's audio writer does not report whether it is listened to")
	}
	if lw.Listened() {
		t.Fatal("listened with nobody in the room")
	}

	hub := joinBot(t, s, "lst", "hub", true)
	nextTrack(t, trackCh(hub), room.TrackKindAudio)
	if lw.Listened() {
		t.Fatal("a hidden subscriber counts as a listener")
	}

	person := joinBot(t, s, "lst", "person", false)
	nextTrack(t, trackCh(person), room.TrackKindAudio)
	waitFor(t, 5*time.Second, "a visible subscriber to count", lw.Listened)

	if err := person.Leave("done"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the listener to be gone", func() bool { return !lw.Listened() })
}
