package sfu

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// goroutineDump lists the stacks of live goroutines, for the failure
// message.
func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// TestJoinLeaveLeaks runs join/leave cycles of WebRTC clients and bots, each
// with media flowing, and checks that goroutines and file descriptors
// return to where they were.
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
	baseG, baseFD := runtime.NumGoroutine(), countFDs(t)
	for i := 1; i <= cycles; i++ {
		cycle(i)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), countFDs(t)
		if g <= baseG && fd <= baseFD {
			break
		}
		if time.Now().After(deadline) {
			dump := goroutineDump()
			if i := strings.Index(dump, "\n\n"); i > 0 && len(dump) > 20000 {
				dump = dump[:20000]
			}
			t.Fatalf("after %d cycles: %d goroutines (was %d), %d fds (was %d)\n%s", cycles, g, baseG, fd, baseFD, dump)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
