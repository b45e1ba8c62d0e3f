package test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/roombridge/roombridge/test/internal/harness"
)

// lkvSIPID is the identity of the room's SIP participant, as the API lists it.
func lkvSIPID(t *testing.T, srv *harness.Server) string {
	t.Helper()
	ps, _ := sipWaitRoom(t, srv, "demo", 10*time.Second, nil, "the room system in the room",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	for _, p := range ps {
		if p.Kind == "sip" {
			return p.ID
		}
	}
	return ""
}

// lkvLiveKitIdentities lists the identities LiveKit has in room demo,
// hidden participants included.
func lkvLiveKitIdentities(t *testing.T, lk *lkServer) []string {
	t.Helper()
	rs := lksdk.NewRoomServiceClient(strings.Replace(lk.url(), "ws://", "http://", 1), lkKey, lkSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := rs.ListParticipants(ctx, &lkproto.ListParticipantsRequest{Room: "demo"})
	if err != nil {
		t.Fatalf("LiveKit ListParticipants: %v", err)
	}
	var ids []string
	for _, p := range res.Participants {
		ids = append(ids, p.Identity)
	}
	return ids
}

// lkvCompanions counts the gateway's receiving companions (identity
// "…~rx") in LiveKit's room.
func lkvCompanions(t *testing.T, lk *lkServer) int {
	n := 0
	for _, id := range lkvLiveKitIdentities(t, lk) {
		if strings.HasSuffix(id, "~rx") {
			n++
		}
	}
	return n
}

// lkvGoroutines is the gateway's go_goroutines.
func lkvGoroutines(t *testing.T, srv *harness.Server) int {
	t.Helper()
	n, err := strconv.Atoi(scrape(t.Context(), t, srv, "go_goroutines"))
	if err != nil {
		t.Fatalf("go_goroutines: %v", err)
	}
	return n
}

// lkvNoLeaks waits until the call has left LiveKit, its RTP ports are
// back and the gateway runs no more goroutines than before it (give or
// take a few of its own background ones).
func lkvNoLeaks(t *testing.T, lk *lkServer, srv *harness.Server, goroutines int) {
	t.Helper()
	waitUntil(t, 10*time.Second, "the call's participants gone from LiveKit", func() bool {
		for _, id := range lkvLiveKitIdentities(t, lk) {
			if strings.HasPrefix(id, "sip_") {
				return false
			}
		}
		return true
	})
	waitMetric(t, srv, "roombridge_rtp_ports_in_use", "0", 10*time.Second)
	var now int
	deadline := time.Now().Add(15 * time.Second)
	for now = lkvGoroutines(t, srv); now > goroutines+3; now = lkvGoroutines(t, srv) {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway runs %d goroutines after the call, %d before", now, goroutines)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("gateway goroutines: %d before the call, %d after", goroutines, now)
}
