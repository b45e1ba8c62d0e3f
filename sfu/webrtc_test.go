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

	// Self mute: the other client sees it in participant_updated and the
	// muted client's audio stops reaching it.
	muted := true
	a.write(Message{Type: MsgMute, Kind: "audio", Muted: &muted})
	b.expect(MsgParticipantUpdated, 5*time.Second, func(m Message) bool {
		return m.Participant.ID == a.id && m.Participant.AudioMuted && len(m.Participant.Tracks) == 1 && m.Participant.Tracks[0].Muted
	})
	waitFor(t, 5*time.Second, "audio to stop", func() bool {
		n := b.packets.Load()
		time.Sleep(200 * time.Millisecond) // a window to see whether packets still come
		return b.packets.Load() == n
	})
}
