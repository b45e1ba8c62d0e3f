// Package roomtest is the conformance suite of room.Backend and
// room.Directory: every backend (the embedded SFU, the LiveKit adapter) runs
// it from its tests, so that the gateway can rely on one behaviour whatever
// the configuration says.
//
//	func TestConformance(t *testing.T) {
//		roomtest.Run(t, func(t *testing.T) (room.Backend, room.Directory) {
//			s := newBackend(t)
//			return s, s
//		})
//	}
//
// Each subtest asks the factory for a backend and uses rooms of its own
// (random names), so a factory may hand out one shared backend. Media checks
// are real: bots publish an Opus tone paced in real time and listeners decode
// it, so the suite takes tens of seconds.
//
// What the suite allows for, because LiveKit does it: a participant that
// publishes nothing may be announced (joined/left) up to 3 s late, since
// LiveKit batches updates of non-publishers; a participant hears only of
// the active speakers it receives (so the listener subscribes first); and
// events are awaited, not expected in a fixed order with other events.
package roomtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// Factory returns the backend under test and its directory (usually the
// same value). It may register cleanups on t.
type Factory func(t *testing.T) (room.Backend, room.Directory)

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, f Factory, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tests := []struct {
		name string
		fn   func(*testing.T, room.Backend, room.Directory)
	}{
		{"JoinAndList", testJoinAndList},
		{"JoinedLeftEvents", testJoinedLeftEvents},
		{"DuplicateIdentity", testDuplicateIdentity},
		{"Audio", testAudio},
		{"PublishOnlyAudio", testPublishOnlyAudio},
		{"EmptyFrameAdvancesClock", testEmptyFrame},
		{"SelfMute", testSelfMute},
		{"MuteThroughDirectory", testDirectoryMute},
		{"Kick", testKick},
		{"Leave", testLeave},
		{"CloseRoom", testCloseRoom},
		{"Video", testVideo},
		{"ActiveSpeakers", testActiveSpeakers},
		{"TrackFilter", testTrackFilter},
		{"Listened", testListened},
		{"KindFilter", testKindFilter},
		{"ScreenShare", testScreenShare},
		{"Pin", testPin},
		{"ReleaseTracks", func(t *testing.T, b room.Backend, d room.Directory) {
			testReleaseTracks(t, b, d, o.companionKeyframeKnownIssue)
		}},
		{"WebRTCVideoToBot", webrtcTest(&o, testWebRTCVideoToBot)},
		{"KeyframeFromWebRTCSubscriber", webrtcTest(&o, testKeyframeFromWebRTCSubscriber)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, d := f(t)
			tc.fn(t, b, d)
		})
	}
}

func testJoinAndList(t *testing.T, b room.Backend, d room.Directory) {
	r := roomName(t)
	if ps := listed(t, d, r); ps == nil || len(ps) != 0 {
		t.Fatalf("empty room lists %#v, want an empty non-nil list", ps)
	}
	attrs := map[string]string{"sip.callID": "abc@host", "sip.from": "+1555****99"}
	a := join(t, b, r, room.ParticipantInfo{Identity: "sip_a_" + r, Name: "Alice", Kind: room.ParticipantKindSIP, Attributes: attrs})
	if a.ID() != "sip_a_"+r {
		t.Fatalf("ID() = %q, want the identity asked for", a.ID())
	}
	anon := join(t, b, r, room.ParticipantInfo{Name: "Anonymous", Kind: room.ParticipantKindSIP})
	if anon.ID() == "" || anon.ID() == a.ID() {
		t.Fatalf("generated ID %q", anon.ID())
	}
	hub := join(t, b, r, room.ParticipantInfo{Name: "hub", Kind: room.ParticipantKindBot, Hidden: true})
	if _, err := hub.PublishAudio(opusCodec); err == nil {
		t.Error("a hidden participant could publish audio")
	}

	var ps []room.ParticipantState
	waitFor(t, waitShort, "both visible participants listed", func() bool {
		ps = listed(t, d, r)
		_, okA := findState(ps, a.ID())
		_, okB := findState(ps, anon.ID())
		return okA && okB
	})
	if len(ps) != 2 {
		t.Fatalf("listed %d participants, want 2 (the hidden one is not listed): %+v", len(ps), ps)
	}
	if _, ok := findState(ps, hub.ID()); ok {
		t.Fatal("hidden participant listed")
	}
	st, _ := findState(ps, a.ID())
	if st.Name != "Alice" || st.Kind != room.ParticipantKindSIP {
		t.Errorf("listed %+v, want name Alice kind sip", st)
	}
	for k, v := range attrs {
		if st.Attributes[k] != v {
			t.Errorf("attribute %q = %q, want %q", k, st.Attributes[k], v)
		}
	}
	if st.JoinedAt.IsZero() || time.Since(st.JoinedAt) > time.Minute {
		t.Errorf("JoinedAt %v", st.JoinedAt)
	}

	tp := publishTone(t, a, 440)
	_ = tp
	waitFor(t, waitShort, "the audio track listed", func() bool {
		st, _ = findState(listed(t, d, r), a.ID())
		return len(st.Tracks) == 1
	})
	tr := st.Tracks[0]
	if tr.ID == "" || tr.Kind != room.TrackKindAudio || !equalFoldMime(tr.Codec, "audio/opus") || tr.Muted || st.AudioMuted {
		t.Errorf("listed track %+v (audio muted %v), want an unmuted audio/opus track", tr, st.AudioMuted)
	}
}

func equalFoldMime(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

func testJoinedLeftEvents(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	ev := watchEvents(a)
	join(t, b, r, room.ParticipantInfo{Name: "hub", Kind: room.ParticipantKindBot, Hidden: true})
	c := join(t, b, r, room.ParticipantInfo{Name: "Carol", Kind: room.ParticipantKindSIP})
	got := ev.wait(t, "joined event for Carol", isType(room.EventParticipantJoined, c.ID()))
	if got.Participant.Name != "Carol" || got.Participant.Kind != room.ParticipantKindSIP {
		t.Errorf("joined event %+v", got.Participant)
	}
	if err := c.Leave("bye"); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	ev.wait(t, "left event for Carol", isType(room.EventParticipantLeft, c.ID()))
	if ev.any(func(e room.Event) bool {
		return (e.Type == room.EventParticipantJoined || e.Type == room.EventParticipantLeft) && e.Participant.Name == "hub"
	}) {
		t.Error("the hidden participant was announced")
	}
}

func testDuplicateIdentity(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Identity: "dup_" + r, Name: "first", Kind: room.ParticipantKindSIP})
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	defer cancel()
	p, err := b.Join(ctx, r, room.ParticipantInfo{Identity: a.ID(), Name: "second", Kind: room.ParticipantKindSIP})
	if err == nil {
		_ = p.Leave("test over")
	}
	if !errors.Is(err, room.ErrDuplicateIdentity) {
		t.Fatalf("second Join with identity %q: %v, want room.ErrDuplicateIdentity", a.ID(), err)
	}
}

// testAudio: A publishes 440 Hz, B (visible) and a hidden hub hear it; A does
// not get its own track.
func testAudio(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	aTracks := watchTracks(a)
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bTracks := watchTracks(bob)
	hub := join(t, b, r, room.ParticipantInfo{Name: "hub", Kind: room.ParticipantKindBot, Hidden: true})
	hubTracks := watchTracks(hub)
	publishTone(t, a, 440)

	rt := bTracks.next(t, room.TrackKindAudio, a.ID())
	if !equalFoldMime(rt.Codec(), "audio/opus") || rt.ID() == "" {
		t.Errorf("track %q codec %q, want audio/opus", rt.ID(), rt.Codec())
	}
	// A buffer too small for a frame is refused and the frame kept.
	small := make([]byte, 2)
	if _, _, err := rt.ReadFrame(small); !errors.Is(err, io.ErrShortBuffer) {
		t.Errorf("ReadFrame into 2 bytes: %v, want io.ErrShortBuffer", err)
	}
	l := listen(t, rt, 440)
	hl := listen(t, hubTracks.next(t, room.TrackKindAudio, a.ID()), 440)
	waitFor(t, waitLong, "B hearing 440 Hz", func() bool { return l.heardCount() >= 25 })
	waitFor(t, waitLong, "the hidden hub hearing 440 Hz", func() bool { return hl.heardCount() >= 25 })

	// Timestamps of consecutive frames are 20 ms (960 ticks at 48 kHz) apart.
	infos := l.frameInfos()
	steps := 0
	for i := 1; i < len(infos); i++ {
		if !infos[i].Gap && infos[i].Timestamp-infos[i-1].Timestamp == 960 {
			steps++
		}
	}
	if steps < len(infos)/2 {
		t.Errorf("only %d of %d frames 960 ticks after the previous one", steps, len(infos))
	}
	select {
	case own := <-aTracks.ch:
		t.Errorf("A was given a track %q of %q", own.ID(), own.ParticipantID())
	default:
	}
}

// testEmptyFrame: empty frames send nothing but move the clock, so the
// first frame after a pause of five frames is six frames later.
// testPublishOnlyAudio: a publish-only participant (a phone leg, which the
// LiveKit backend joins with one PeerConnection) is heard like any other.
func testPublishOnlyAudio(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP, PublishOnly: true})
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bTracks := watchTracks(bob)
	hub := join(t, b, r, room.ParticipantInfo{Name: "hub", Kind: room.ParticipantKindBot, Hidden: true})
	hubTracks := watchTracks(hub)
	publishTone(t, a, 660)
	l := listen(t, bTracks.next(t, room.TrackKindAudio, a.ID()), 660)
	hl := listen(t, hubTracks.next(t, room.TrackKindAudio, a.ID()), 660)
	waitFor(t, waitLong, "B hearing 660 Hz", func() bool { return l.heardCount() >= 25 })
	waitFor(t, waitLong, "the hidden hub hearing 660 Hz", func() bool { return hl.heardCount() >= 25 })
}

func testEmptyFrame(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bTracks := watchTracks(bob)
	tp := publishTone(t, a, 440)
	l := listen(t, bTracks.next(t, room.TrackKindAudio, a.ID()), 440)
	waitFor(t, waitLong, "B hearing A", func() bool { return l.heardCount() >= 10 })
	tp.skip(5)
	want := uint32(6 * 960)
	waitFor(t, waitShort, "a frame 6×960 ticks after the previous one", func() bool {
		infos := l.frameInfos()
		for i := 1; i < len(infos); i++ {
			if infos[i].Timestamp-infos[i-1].Timestamp == want {
				return true
			}
		}
		return false
	})
	if err := tp.lastErr(); err != nil {
		t.Fatalf("writer: %v", err)
	}
}

func testSelfMute(t *testing.T, b room.Backend, d room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	aEvents := watchEvents(a)
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bTracks := watchTracks(bob)
	publishTone(t, a, 440)
	l := listen(t, bTracks.next(t, room.TrackKindAudio, a.ID()), 440)
	waitFor(t, waitLong, "B hearing A", func() bool { return l.heardCount() >= 10 })

	if err := a.SetMuted(room.TrackKindAudio, true); err != nil {
		t.Fatalf("SetMuted: %v", err)
	}
	waitFor(t, waitShort, "B no longer hearing A", func() bool { return l.quietFor(quiet) })
	waitFor(t, waitShort, "A listed as muted", func() bool {
		st, _ := findState(listed(t, d, r), a.ID())
		return st.AudioMuted
	})
	unmuted := time.Now()
	if err := a.SetMuted(room.TrackKindAudio, false); err != nil {
		t.Fatalf("SetMuted: %v", err)
	}
	waitFor(t, waitShort, "B hearing A again", func() bool { return l.heardAfter(unmuted) })
	if aEvents.any(func(e room.Event) bool { return e.Type == room.EventMuted }) {
		t.Error("EventMuted after muting oneself; it is for mutes by someone else")
	}
}

func testDirectoryMute(t *testing.T, b room.Backend, d room.Directory) {
	r := roomName(t)
	ctx := context.Background()
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	aEvents := watchEvents(a)
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bTracks := watchTracks(bob)
	tp := publishTone(t, a, 440)
	l := listen(t, bTracks.next(t, room.TrackKindAudio, a.ID()), 440)
	waitFor(t, waitLong, "B hearing A", func() bool { return l.heardCount() >= 10 })

	if err := d.MuteParticipant(ctx, r, a.ID(), room.TrackKindAudio, true); err != nil {
		t.Fatalf("MuteParticipant: %v", err)
	}
	ev := aEvents.wait(t, "EventMuted", func(e room.Event) bool { return e.Type == room.EventMuted })
	if ev.Kind != room.TrackKindAudio || !ev.Muted {
		t.Errorf("EventMuted %+v, want audio muted", ev)
	}
	waitFor(t, waitShort, "B no longer hearing A", func() bool { return l.quietFor(quiet) })
	waitFor(t, waitShort, "A listed as muted", func() bool {
		st, _ := findState(listed(t, d, r), a.ID())
		return st.AudioMuted && len(st.Tracks) == 1 && st.Tracks[0].Muted
	})

	unmuted := time.Now()
	if err := d.MuteParticipant(ctx, r, a.ID(), room.TrackKindAudio, false); err != nil {
		t.Fatalf("MuteParticipant(false): %v", err)
	}
	ev = aEvents.wait(t, "EventMuted (unmuted)", func(e room.Event) bool { return e.Type == room.EventMuted })
	if ev.Kind != room.TrackKindAudio || ev.Muted {
		t.Errorf("EventMuted %+v, want audio unmuted", ev)
	}
	waitFor(t, waitShort, "B hearing A again", func() bool { return l.heardAfter(unmuted) })
	if err := tp.lastErr(); err != nil {
		t.Errorf("writer failed while muted: %v", err)
	}

	if err := d.MuteParticipant(ctx, r, "nobody_"+r, room.TrackKindAudio, true); !errors.Is(err, room.ErrParticipantNotFound) {
		t.Errorf("mute unknown participant: %v, want room.ErrParticipantNotFound", err)
	}
}

func testKick(t *testing.T, b room.Backend, d room.Directory) {
	r := roomName(t)
	ctx := context.Background()
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	aEvents := watchEvents(a)
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bEvents := watchEvents(bob)
	tp := publishTone(t, a, 440)
	waitFor(t, waitShort, "A listed", func() bool {
		st, ok := findState(listed(t, d, r), a.ID())
		return ok && len(st.Tracks) == 1
	})

	if err := d.RemoveParticipant(ctx, r, a.ID(), "kicked"); err != nil {
		t.Fatalf("RemoveParticipant: %v", err)
	}
	ev := aEvents.wait(t, "EventRemoved", func(e room.Event) bool { return e.Type == room.EventRemoved })
	if ev.Reason == "" {
		t.Error("EventRemoved without a reason")
	}
	aEvents.waitClosed(t)
	bEvents.wait(t, "B told that A left", isType(room.EventParticipantLeft, a.ID()))
	waitFor(t, waitShort, "the writer failing after the kick", func() bool { return tp.lastErr() != nil })
	if err := tp.lastErr(); !errors.Is(err, room.ErrClosed) {
		t.Errorf("WriteAudio after the kick: %v, want room.ErrClosed", err)
	}
	if _, err := a.PublishAudio(opusCodec); !errors.Is(err, room.ErrClosed) {
		t.Errorf("PublishAudio after the kick: %v, want room.ErrClosed", err)
	}
	waitFor(t, waitShort, "A no longer listed", func() bool {
		_, ok := findState(listed(t, d, r), a.ID())
		return !ok
	})
	if err := d.RemoveParticipant(ctx, r, a.ID(), ""); !errors.Is(err, room.ErrParticipantNotFound) {
		t.Errorf("second kick: %v, want room.ErrParticipantNotFound", err)
	}
	if err := a.Leave("after kick"); err != nil {
		t.Errorf("Leave after a kick: %v", err)
	}
}

func testLeave(t *testing.T, b room.Backend, d room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	aEvents := watchEvents(a)
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bTracks := watchTracks(bob)
	bEvents := watchEvents(bob)
	publishTone(t, a, 440)
	l := listen(t, bTracks.next(t, room.TrackKindAudio, a.ID()), 440)
	waitFor(t, waitLong, "B hearing A", func() bool { return l.heardCount() >= 5 })

	if err := a.Leave("hangup"); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if err := a.Leave("again"); err != nil {
		t.Fatalf("second Leave: %v", err)
	}
	aEvents.waitClosed(t)
	if aEvents.any(func(e room.Event) bool { return e.Type == room.EventRemoved }) {
		t.Error("EventRemoved after a Leave")
	}
	if err := l.ended(t); !errors.Is(err, io.EOF) {
		t.Errorf("B's ReadFrame after A left: %v, want io.EOF", err)
	}
	bEvents.wait(t, "B told that A left", isType(room.EventParticipantLeft, a.ID()))
	if _, err := a.PublishAudio(opusCodec); !errors.Is(err, room.ErrClosed) {
		t.Errorf("PublishAudio after Leave: %v, want room.ErrClosed", err)
	}
	waitFor(t, waitShort, "only B listed", func() bool {
		ps := listed(t, d, r)
		return len(ps) == 1 && ps[0].ID == bob.ID()
	})
}

func testCloseRoom(t *testing.T, b room.Backend, d room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	hub := join(t, b, r, room.ParticipantInfo{Name: "hub", Kind: room.ParticipantKindBot, Hidden: true})
	var evs []*events
	for _, p := range []room.Participant{a, bob, hub} {
		evs = append(evs, watchEvents(p))
	}
	waitFor(t, waitShort, "both listed", func() bool { return len(listed(t, d, r)) == 2 })
	if err := d.CloseRoom(context.Background(), r); err != nil {
		t.Fatalf("CloseRoom: %v", err)
	}
	for i, e := range evs {
		e.wait(t, "EventRemoved", func(e room.Event) bool { return e.Type == room.EventRemoved })
		e.waitClosed(t)
		_ = i
	}
	waitFor(t, waitShort, "nobody listed", func() bool { return len(listed(t, d, r)) == 0 })
}

// testVideo: whole H.264 access units cross unchanged, keyframes are flagged
// and a keyframe request reaches the publisher.
func testVideo(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "room-system", Kind: room.ParticipantKindSIP})
	aEvents := watchEvents(a)
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bTracks := watchTracks(bob)
	w, err := a.PublishVideo(room.VideoCodec{
		MimeType: "video/H264", ClockRate: 90000,
		FmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	})
	if err != nil {
		t.Fatalf("PublishVideo: %v", err)
	}
	key := annexB(spsNAL, ppsNAL, randomNAL(0x65, 4000))
	deltas := [][]byte{annexB(randomNAL(0x41, 700)), annexB(randomNAL(0x41, 2401), randomNAL(0x41, 1200))}
	sent := [][]byte{key, deltas[0], deltas[1]}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			au := deltas[i%2]
			if i%15 == 0 {
				au = key
			}
			if w.WriteVideo(au, 33*time.Millisecond) != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })

	rt := bTracks.next(t, room.TrackKindVideo, a.ID())
	if !equalFoldMime(rt.Codec(), "video/H264") {
		t.Errorf("video codec %q, want video/H264", rt.Codec())
	}
	buf := make([]byte, 64<<10)
	var keys, others int
	deadline := time.Now().Add(waitLong)
	for keys < 2 || others < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("read %d keyframes and %d other frames", keys, others)
		}
		n, info, err := rt.ReadFrame(buf)
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		i := slices.IndexFunc(sent, func(s []byte) bool { return bytes.Equal(s, buf[:n]) })
		switch {
		case i < 0 && info.Gap:
			continue // a frame damaged by loss may differ
		case i < 0:
			t.Fatalf("read a %d-byte frame that was never sent", n)
		case info.Keyframe != (i == 0):
			t.Fatalf("frame %d: Keyframe = %v", i, info.Keyframe)
		case i == 0:
			keys++
		default:
			others++
		}
	}

	if err := bob.RequestKeyframe(rt.ID()); err != nil {
		t.Fatalf("RequestKeyframe: %v", err)
	}
	aEvents.wait(t, "EventKeyframeRequested", func(e room.Event) bool { return e.Type == room.EventKeyframeRequested && e.TrackID != "" })
	if err := bob.RequestKeyframe("TR_nonexistent"); err == nil {
		t.Error("RequestKeyframe of an unknown track succeeded")
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for {
		if _, _, err := rt.ReadFrame(buf); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("ReadFrame after unpublish: %v, want io.EOF", err)
			}
			break
		}
	}
}

func testActiveSpeakers(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bEvents := watchEvents(bob)
	// LiveKit tells a participant only of the speakers it receives (and of
	// itself), so B subscribes.
	watchTracks(bob)
	publishTone(t, a, 440)
	bEvents.wait(t, "A among the active speakers", func(e room.Event) bool {
		return e.Type == room.EventActiveSpeakers && slices.Contains(e.Speakers, a.ID())
	})
}

// A fixed SPS and PPS (baseline, 320×240) so that servers that parse them
// find them valid.
var (
	spsNAL = []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x62, 0xe4, 0x80}
	ppsNAL = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
)

// randomNAL is a NAL unit whose body has no zero bytes, so that it holds no
// start code.
func randomNAL(hdr byte, size int) []byte {
	nal := make([]byte, size)
	nal[0] = hdr
	for i := 1; i < size; i++ {
		nal[i] = byte(1 + rand.IntN(255))
	}
	return nal
}

func annexB(nals ...[]byte) []byte {
	var au []byte
	for _, n := range nals {
		au = append(au, 0, 0, 0, 1)
		au = append(au, n...)
	}
	return au
}

// testTrackFilter: a participant that filters out a publisher is never
// given its tracks (the room hub skips its own phone legs this way) and
// still gets everyone else's. Backends without room.TrackFilter skip it.
func testTrackFilter(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "own leg", Kind: room.ParticipantKindSIP})
	publishTone(t, a, 440)
	hub := join(t, b, r, room.ParticipantInfo{Name: "hub", Kind: room.ParticipantKindBot, Hidden: true})
	f, ok := hub.(room.TrackFilter)
	if !ok {
		t.Skip("the backend's participants have no track filter")
	}
	skip := a.ID()
	f.SetTrackFilter(func(id string) bool { return id != skip })
	var (
		mu         sync.Mutex
		publishers []string
	)
	got := make(chan room.RemoteTrack, 16)
	hub.OnTrack(func(rt room.RemoteTrack) {
		mu.Lock()
		publishers = append(publishers, rt.ParticipantID())
		mu.Unlock()
		if rt.Kind() == room.TrackKindAudio {
			got <- rt
		}
	})
	other := join(t, b, r, room.ParticipantInfo{Name: "other", Kind: room.ParticipantKindSIP})
	publishTone(t, other, 1000)

	var rt room.RemoteTrack
	select {
	case rt = <-got:
	case <-time.After(waitLong):
		t.Fatal("the hub was given no track")
	}
	l := listen(t, rt, 1000)
	waitFor(t, waitLong, "the hub hearing the other participant", func() bool { return l.heardCount() >= 25 })
	mu.Lock()
	defer mu.Unlock()
	for _, p := range publishers {
		if p == skip {
			t.Fatalf("the filtered publisher's track was delivered (tracks from %v)", publishers)
		}
	}
	if rt.ParticipantID() != other.ID() {
		t.Fatalf("first track from %s, want %s", rt.ParticipantID(), other.ID())
	}
}

// testListened: a published audio track is listened to (room.ListenedWriter)
// only while a visible participant receives it; the hidden room hub, which
// receives it all along, does not count. Twice, since a backend may learn
// of the first subscriber differently from later ones.
func testListened(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	tp := publishTone(t, a, 440)
	lw, ok := tp.w.(room.ListenedWriter)
	if !ok {
		t.Fatal("the backend's audio writer does not implement room.ListenedWriter")
	}
	if lw.Listened() {
		t.Fatal("listened to with nobody else in the room")
	}
	hub := join(t, b, r, room.ParticipantInfo{Name: "hub", Kind: room.ParticipantKindBot, Hidden: true})
	hl := listen(t, watchTracks(hub).next(t, room.TrackKindAudio, a.ID()), 440)
	waitFor(t, waitLong, "the hidden hub hearing A", func() bool { return hl.heardCount() >= 10 })
	for round := range 2 {
		bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
		bl := listen(t, watchTracks(bob).next(t, room.TrackKindAudio, a.ID()), 440)
		waitFor(t, waitLong, "B hearing A", func() bool { return bl.heardCount() >= 5 })
		waitFor(t, waitShort, "A listened to while B receives it", lw.Listened)
		if err := bob.Leave("done"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, waitShort, "A not listened to once B left, with the hidden hub still receiving it", func() bool { return !lw.Listened() })
		if since := time.Now(); round == 1 {
			waitFor(t, waitShort, "the hidden hub still hearing A", func() bool { return hl.heardAfter(since) })
		}
	}
}
