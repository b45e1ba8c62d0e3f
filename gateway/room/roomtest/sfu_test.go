package roomtest_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/roomtest"
	"github.com/roombridge/roombridge/sfu"
)

// TestEmbeddedSFU runs the conformance suite against the embedded SFU.
func TestEmbeddedSFU(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time media: skipped under -short")
	}
	roomtest.Run(t, func(t *testing.T) (room.Backend, room.Directory) {
		s, err := sfu.New(sfu.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), IncludeLoopback: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s, s
	}, roomtest.WithWebRTC(joinSFU))
}
