package sfu

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/room"
)

// TestMain checks, after all tests, that none left a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestJoinLeaveLeaks runs join/leave cycles of WebRTC clients and bots, each
// with media flowing (so every peer's sender, track readers and RTCP readers
// run), and checks that goroutines and file descriptors return to where
// they were.
func TestJoinLeaveLeaks(t *testing.T) {
	cycles := 50
	if testing.Short() {
		cycles = 8
	}
	s, url := newTestSFU(t, Config{})
	cycle := func(i int) {
		c, _ := dialClient(t, url, "leak", "web", "")
		b, err := s.Join(context.Background(), "leak", room.ParticipantInfo{Name: "phone", Kind: room.ParticipantKindSIP})
		if err != nil {
			t.Fatal(err)
		}
		tracks := make(chan room.RemoteTrack, 4)
		b.OnTrack(func(rt room.RemoteTrack) { tracks <- rt })
		if i%2 == 0 {
			c.publishTone(440)
		}
		w := botToneWriter(t, b)
		// Media must flow both ways before leaving: the bot reads one
		// frame of the client's audio, the client one packet of the bot's.
		if i%2 == 0 {
			rt := nextTrack(t, tracks, room.TrackKindAudio)
			buf := make([]byte, 1500)
			if _, _, err := rt.ReadFrame(buf); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
		}
		waitFor(t, 10*time.Second, "client receiving", func() bool {
			_ = w.WriteAudio([]byte{0xf8, 0xff, 0xfe}, 20*time.Millisecond)
			return c.packets.Load() > 0
		})
		if i%3 == 0 {
			_ = b.Leave("bye")
			c.close()
		} else {
			c.close()
			_ = b.Leave("bye")
		}
		waitFor(t, 10*time.Second, "room dropped", func() bool { return s.room("leak") == nil })
	}

	cycle(0) // warm up pools and lazily started runtime goroutines
	runtime.GC()
	before := goleak.IgnoreCurrent()
	baseFD := countFDs(t)
	for i := 1; i <= cycles; i++ {
		cycle(i)
	}
	goleak.VerifyNone(t, before)
	waitFor(t, 15*time.Second, fmt.Sprintf("file descriptors back to %d after %d cycles", baseFD, cycles), func() bool { return countFDs(t) <= baseFD })
}

// botToneWriter publishes an audio track without pacing it.
func botToneWriter(t testing.TB, p room.Participant) room.AudioWriter {
	t.Helper()
	w, err := p.PublishAudio(room.AudioCodec{MimeType: "audio/opus", ClockRate: 48000})
	if err != nil {
		t.Fatal(err)
	}
	return w
}
