package sfu

import (
	"testing"
	"time"
)

// TestTwoClientsHearEachOther: two WebRTC clients in one room, each sending
// its own tone, each hearing only the other's.
func TestTwoClientsHearEachOther(t *testing.T) {
	_, url := newTestSFU(t, Config{})
	a, _ := dialClient(t, url, "demo", "alice", "")
	b, joined := dialClient(t, url, "demo", "bob", "")
	if len(joined.Participants) != 1 || joined.Participants[0].ID != a.id {
		t.Fatalf("bob's joined lists %+v, want alice %s", joined.Participants, a.id)
	}
	a.expect(MsgParticipantJoined, 5*time.Second, func(m Message) bool { return m.Participant.ID == b.id })
	a.publishTone(440)
	b.publishTone(1000)
	for _, tc := range []struct {
		c    *rtcClient
		want float64
	}{{a, 1000}, {b, 440}} {
		waitFor(t, 20*time.Second, tc.c.String()+" hearing the other tone", func() bool {
			f, ok := tc.c.audio.dominant()
			return ok && f == tc.want
		})
	}
}
