package sfu

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/roombridge/roombridge/gateway/room"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, _ := newTestSFU(t, Config{Registerer: reg})
	a, err := s.Join(context.Background(), "m", room.ParticipantInfo{Kind: room.ParticipantKindSIP})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Join(context.Background(), "m", room.ParticipantInfo{Kind: room.ParticipantKindBot})
	if err != nil {
		t.Fatal(err)
	}
	tracks := trackCh(b)
	w := botToneWriter(t, a)
	rt := nextTrack(t, tracks, room.TrackKindAudio)
	if err := w.WriteAudio([]byte{1, 2, 3}, 20e6); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, _, err := rt.ReadFrame(buf); err != nil {
		t.Fatal(err)
	}
	check := func(what string, c prometheus.Metric, want float64) {
		t.Helper()
		if got := metricValue(c); got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("rooms", s.m.rooms, 1)
	check("participants{sip}", s.m.participants.WithLabelValues("sip"), 1)
	check("participants{bot}", s.m.participants.WithLabelValues("bot"), 1)
	check("tracks{audio}", s.m.tracks.WithLabelValues("audio"), 1)
	check("packets_forwarded_total", s.m.packetsForwarded, 1)
	check("bytes_forwarded_total", s.m.bytesForwarded, 3)
	_ = a.Leave("")
	_ = b.Leave("")
	check("rooms", s.m.rooms, 0)
	check("participants{sip}", s.m.participants.WithLabelValues("sip"), 0)
	check("tracks{audio}", s.m.tracks.WithLabelValues("audio"), 0)
	if mfs, err := reg.Gather(); err != nil || len(mfs) == 0 {
		t.Fatalf("registry gathered %d metric families: %v", len(mfs), err)
	}
}

// metricValue reads a gauge or counter.
func metricValue(m prometheus.Metric) float64 {
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		return -1
	}
	if pb.Gauge != nil {
		return pb.Gauge.GetValue()
	}
	return pb.Counter.GetValue()
}
