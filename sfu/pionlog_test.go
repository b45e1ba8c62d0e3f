package sfu

import (
	"bytes"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/pionlog"
)

// seenWriter notes whether a log line containing want was written.
type seenWriter struct {
	want []byte
	seen atomic.Bool
}

func (w *seenWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, w.want) {
		w.seen.Store(true)
	}
	return len(p), nil
}

// Pion's own logs (here the ICE agent's, while a web client connects) go
// to the SFU's slog logger, tagged with the SFU's component and pion's
// scope.
func TestPionLogsThroughSlog(t *testing.T) {
	w := &seenWriter{want: []byte("component=sfu pion=ice")}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: pionlog.LevelTrace}))
	_, url := newTestSFU(t, Config{Logger: log})
	c, _ := dialClient(t, url, "logs", "web", "")
	c.publishTone(440)
	waitFor(t, 10*time.Second, "pion's ICE logs in the SFU's logger", w.seen.Load)
}
