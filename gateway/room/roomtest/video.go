package roomtest

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// h264Fmtp is what the suite's video publishers announce.
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// videoPublisher writes H.264 access units at 30 frames a second, a
// keyframe every 15 frames, until the test ends.
type videoPublisher struct {
	w      room.VideoWriter
	key    []byte
	deltas [][]byte
}

// publishVideo publishes an H.264 track of source and starts writing.
func publishVideo(t *testing.T, p room.Participant, source room.TrackSource) *videoPublisher {
	t.Helper()
	w, err := p.PublishVideo(room.VideoCodec{MimeType: "video/H264", ClockRate: 90000, FmtpLine: h264Fmtp, Source: source})
	if err != nil {
		t.Fatalf("PublishVideo(%v): %v", source, err)
	}
	vp := &videoPublisher{
		w:      w,
		key:    annexB(spsNAL, ppsNAL, randomNAL(0x65, 4000)),
		deltas: [][]byte{annexB(randomNAL(0x41, 700)), annexB(randomNAL(0x41, 2401), randomNAL(0x41, 1200))},
	}
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
			au := vp.deltas[i%2]
			if i%15 == 0 {
				au = vp.key
			}
			if w.WriteVideo(au, 33*time.Millisecond) != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return vp
}

// readVideo reads frames of rt until n keyframes arrived.
func readVideo(t *testing.T, rt room.RemoteTrack, keyframes int) {
	t.Helper()
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(waitLong)
	for keys := 0; keys < keyframes; {
		if time.Now().After(deadline) {
			t.Fatalf("read %d keyframes of %s, want %d", keys, rt.ID(), keyframes)
		}
		_, info, err := rt.ReadFrame(buf)
		if err != nil {
			t.Fatalf("ReadFrame(%s): %v", rt.ID(), err)
		}
		if info.Keyframe {
			keys++
		}
	}
}

// noTrack fails if a track of kind arrived.
func (ts *tracks) noTrack(t *testing.T, kind room.TrackKind, who string) {
	t.Helper()
	for {
		select {
		case rt := <-ts.ch:
			if rt.Kind() == kind {
				t.Fatalf("%s was given a %v track of %s", who, kind, rt.ParticipantID())
			}
		default:
			return
		}
	}
}

// testKindFilter: a participant that asks for audio only (the room hub,
// phone legs) is never given video, one that asks for video only (a room
// system's leg) is never given audio, and one without a filter gets both.
func testKindFilter(t *testing.T, b room.Backend, _ room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	audioOnly := join(t, b, r, room.ParticipantInfo{Name: "phone", Kind: room.ParticipantKindSIP})
	kf, ok := audioOnly.(room.KindFilter)
	if !ok {
		t.Skip("the backend's participants have no kind filter")
	}
	kf.SetKindFilter(room.TrackKindAudio)
	audioTracks := watchTracks(audioOnly)
	videoOnly := join(t, b, r, room.ParticipantInfo{Name: "room system", Kind: room.ParticipantKindSIP})
	videoOnly.(room.KindFilter).SetKindFilter(room.TrackKindVideo)
	videoTracks := watchTracks(videoOnly)
	both := join(t, b, r, room.ParticipantInfo{Name: "both", Kind: room.ParticipantKindSIP})
	bothTracks := watchTracks(both)

	publishTone(t, a, 440)
	publishVideo(t, a, room.TrackSourceCamera)

	// Everything has reached the unfiltered participant before the
	// filtered ones are checked for what they must not have.
	bothAudio := listen(t, bothTracks.next(t, room.TrackKindAudio, a.ID()), 440)
	readVideo(t, bothTracks.next(t, room.TrackKindVideo, a.ID()), 1)
	waitFor(t, waitLong, "the unfiltered participant hearing A", func() bool { return bothAudio.heardCount() >= 10 })

	l := listen(t, audioTracks.next(t, room.TrackKindAudio, a.ID()), 440)
	waitFor(t, waitLong, "the audio-only participant hearing A", func() bool { return l.heardCount() >= 10 })
	readVideo(t, videoTracks.next(t, room.TrackKindVideo, a.ID()), 2)
	audioTracks.noTrack(t, room.TrackKindVideo, "the audio-only participant")
	videoTracks.noTrack(t, room.TrackKindAudio, "the video-only participant")
}

// testScreenShare: a camera and a screen share of one participant reach
// the others as two video tracks that say which is which, and the listing
// says so too.
func testScreenShare(t *testing.T, b room.Backend, d room.Directory) {
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "room system", Kind: room.ParticipantKindSIP})
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	bTracks := watchTracks(bob)
	publishVideo(t, a, room.TrackSourceCamera)
	publishVideo(t, a, room.TrackSourceScreen)

	got := map[room.TrackSource]room.RemoteTrack{}
	for len(got) < 2 {
		rt := bTracks.next(t, room.TrackKindVideo, a.ID())
		st, ok := rt.(room.SourcedTrack)
		if !ok {
			t.Skip("the backend's remote tracks do not say their source")
		}
		got[st.Source()] = rt
	}
	for _, src := range []room.TrackSource{room.TrackSourceCamera, room.TrackSourceScreen} {
		rt := got[src]
		if rt == nil {
			t.Fatalf("no %v track among %v", src, got)
		}
		readVideo(t, rt, 1)
	}
	waitFor(t, waitShort, "a camera and a screen track listed", func() bool {
		st, _ := findState(listed(t, d, r), a.ID())
		var cam, screen int
		for _, tr := range st.Tracks {
			switch tr.Source {
			case room.TrackSourceCamera:
				cam++
			case room.TrackSourceScreen:
				screen++
			}
		}
		return cam == 1 && screen == 1
	})
}

// testPin: pinning tells every participant (EventPinned) and shows in the
// listing; pinning someone else moves the pin; unpinning someone who is
// not pinned changes nothing; the pin ends when its participant leaves;
// unknown participants are refused with room.ErrParticipantNotFound.
func testPin(t *testing.T, b room.Backend, d room.Directory) {
	pn, ok := d.(room.Pinner)
	if !ok {
		t.Skip("the backend's directory cannot pin")
	}
	ctx := context.Background()
	r := roomName(t)
	a := join(t, b, r, room.ParticipantInfo{Name: "a", Kind: room.ParticipantKindSIP})
	bob := join(t, b, r, room.ParticipantInfo{Name: "b", Kind: room.ParticipantKindSIP})
	rs := join(t, b, r, room.ParticipantInfo{Name: "room system", Kind: room.ParticipantKindSIP})
	ev := watchEvents(rs)
	waitFor(t, waitShort, "three listed", func() bool { return len(listed(t, d, r)) == 3 })
	pinned := func(id string) func(room.Event) bool {
		return func(e room.Event) bool { return e.Type == room.EventPinned && e.Pinned == id }
	}

	if err := pn.Pin(ctx, r, a.ID()); err != nil {
		t.Fatalf("Pin: %v", err)
	}
	ev.wait(t, "EventPinned for A", pinned(a.ID()))
	if id, err := pn.Pinned(ctx, r); err != nil || id != a.ID() {
		t.Fatalf("Pinned = %q, %v; want %q", id, err, a.ID())
	}
	waitFor(t, waitShort, "A listed as pinned", func() bool {
		st, _ := findState(listed(t, d, r), a.ID())
		return st.Pinned
	})
	if err := pn.Pin(ctx, r, "nobody_"+r); !errors.Is(err, room.ErrParticipantNotFound) {
		t.Errorf("Pin of an unknown participant: %v, want room.ErrParticipantNotFound", err)
	}
	if err := pn.Unpin(ctx, r, bob.ID()); err != nil {
		t.Errorf("Unpin of a participant that is not pinned: %v", err)
	}
	if err := pn.Pin(ctx, r, bob.ID()); err != nil {
		t.Fatalf("Pin B: %v", err)
	}
	ev.wait(t, "EventPinned for B", pinned(bob.ID()))
	waitFor(t, waitShort, "B listed as pinned and A no longer", func() bool {
		ps := listed(t, d, r)
		sa, _ := findState(ps, a.ID())
		sb, _ := findState(ps, bob.ID())
		return sb.Pinned && !sa.Pinned
	})
	if err := pn.Unpin(ctx, r, bob.ID()); err != nil {
		t.Fatalf("Unpin: %v", err)
	}
	ev.wait(t, "EventPinned with nobody", pinned(""))
	if id, _ := pn.Pinned(ctx, r); id != "" {
		t.Fatalf("Pinned = %q after Unpin", id)
	}

	if err := pn.Pin(ctx, r, a.ID()); err != nil {
		t.Fatalf("Pin A again: %v", err)
	}
	ev.wait(t, "EventPinned for A again", pinned(a.ID()))
	// A participant joining a room with a pin is told at once.
	late := join(t, b, r, room.ParticipantInfo{Name: "late room system", Kind: room.ParticipantKindSIP})
	watchEvents(late).wait(t, "EventPinned for A on joining", pinned(a.ID()))
	if err := a.Leave("bye"); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "EventPinned with nobody once A left", pinned(""))
	waitFor(t, waitShort, "nobody pinned once A left", func() bool {
		id, err := pn.Pinned(ctx, r)
		return err == nil && id == ""
	})
}

// testReleaseTracks: a publish-only participant (a phone leg) that asks
// for video after all (a re-INVITE added video to an audio call) is given
// the room's video, not its own, and can ask its publisher for a
// keyframe; ReleaseTracks ends that track (io.EOF) and another OnTrack
// gives it again. A participant that joined to receive releases and
// receives again the same way. A backend without ReleaseTracks is
// skipped.
func testReleaseTracks(t *testing.T, b room.Backend, _ room.Directory, knownIssue string) {
	r := roomName(t)
	cam := join(t, b, r, room.ParticipantInfo{Name: "camera", Kind: room.ParticipantKindSIP})
	camEvents := watchEvents(cam)
	publishVideo(t, cam, room.TrackSourceCamera)
	for _, publishOnly := range []bool{true, false} {
		p := join(t, b, r, room.ParticipantInfo{Name: "room system", Kind: room.ParticipantKindSIP, PublishOnly: publishOnly})
		rel, ok := p.(room.TrackReleaser)
		if !ok {
			t.Skip("the backend's participants cannot release their tracks")
		}
		publishVideo(t, p, room.TrackSourceCamera) // its own, which it must not be given
		p.(room.KindFilter).SetKindFilter(room.TrackKindVideo)
		for round := range 2 {
			ts := watchTracks(p)
			rt := ts.next(t, room.TrackKindVideo, "")
			if rt.ParticipantID() != cam.ID() {
				t.Fatalf("publish-only %v, round %d: given %s's track, want %s's", publishOnly, round, rt.ParticipantID(), cam.ID())
			}
			readVideo(t, rt, 1)
			if publishOnly && knownIssue != "" {
				if !askKeyframe(t, p, rt.ID(), camEvents) {
					t.Logf("KNOWN ISSUE, round %d: the publish-only participant's keyframe request did not reach the publisher within %v: %s", round, waitLong, knownIssue)
				}
			} else {
				keyframeRequestArrives(t, p, rt.ID(), camEvents)
			}
			rel.ReleaseTracks()
			buf := make([]byte, 64<<10)
			deadline := time.Now().Add(waitLong)
			for {
				_, _, err := rt.ReadFrame(buf)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil || time.Now().After(deadline) {
					t.Fatalf("publish-only %v: ReadFrame after ReleaseTracks: %v, want io.EOF", publishOnly, err)
				}
			}
			ts.noTrack(t, room.TrackKindVideo, "a participant that released its tracks")
		}
		if err := p.Leave("done"); err != nil {
			t.Fatal(err)
		}
	}
}

// keyframeRequestArrives asks for a keyframe of track until its publisher
// is told (EventKeyframeRequested after the request: earlier ones are
// dropped first; the backends limit the rate, so it is asked again every
// second).
func keyframeRequestArrives(t *testing.T, p room.Participant, track string, publisher *events) {
	t.Helper()
	if !askKeyframe(t, p, track, publisher) {
		t.Fatalf("the publisher of %s was not asked for a keyframe within %v", track, waitLong)
	}
}

// askKeyframe is keyframeRequestArrives reporting instead of failing.
func askKeyframe(t *testing.T, p room.Participant, track string, publisher *events) bool {
	t.Helper()
	isKey := func(ev room.Event) bool { return ev.Type == room.EventKeyframeRequested }
	deadline := time.Now().Add(waitLong)
	for {
		publisher.mu.Lock()
		publisher.seen = slices.DeleteFunc(publisher.seen, isKey)
		publisher.mu.Unlock()
		if err := p.RequestKeyframe(track); err != nil {
			t.Fatalf("RequestKeyframe(%s): %v", track, err)
		}
		asked := time.Now()
		for time.Since(asked) < time.Second {
			if publisher.any(isKey) {
				return true
			}
			select {
			case <-publisher.signal:
			case <-time.After(50 * time.Millisecond):
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
