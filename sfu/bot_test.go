package sfu

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

func joinBot(t testing.TB, s *SFU, roomName, name string, hidden bool) room.Participant {
	t.Helper()
	p, err := s.Join(context.Background(), roomName, room.ParticipantInfo{Name: name, Kind: room.ParticipantKindSIP, Hidden: hidden})
	if err != nil {
		t.Fatalf("Join %s: %v", name, err)
	}
	t.Cleanup(func() { _ = p.Leave("test over") })
	return p
}

// trackCh registers an OnTrack handler that passes tracks to a channel.
func trackCh(p room.Participant) chan room.RemoteTrack {
	ch := make(chan room.RemoteTrack, 16)
	p.OnTrack(func(rt room.RemoteTrack) { ch <- rt })
	return ch
}

func nextTrack(t testing.TB, ch chan room.RemoteTrack, kind room.TrackKind) room.RemoteTrack {
	t.Helper()
	for {
		select {
		case rt := <-ch:
			if rt.Kind() == kind {
				return rt
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v track", kind)
			return nil
		}
	}
}

// nextEvent waits for an event of type typ; it fails if the channel closes.
func nextEvent(t testing.TB, p room.Participant, typ room.EventType) room.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-p.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %v", typ)
			}
			if ev.Type == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %v event", typ)
		}
	}
}

func TestBotToWebRTCAudio(t *testing.T) {
	s, url := newTestSFU(t, Config{})
	c, _ := dialClient(t, url, "r", "web", "")
	bot := joinBot(t, s, "r", "phone", false)
	botTone(t, bot, 700)
	waitFor(t, 20*time.Second, "client hearing the bot's 700 Hz", func() bool {
		f, ok := c.audio.dominant()
		return ok && f == 700
	})
}

func TestWebRTCToBotAudio(t *testing.T) {
	s, url := newTestSFU(t, Config{})
	bot := joinBot(t, s, "r", "phone", false)
	tracks := trackCh(bot)
	c, _ := dialClient(t, url, "r", "web", "")
	c.publishTone(440)
	rt := nextTrack(t, tracks, room.TrackKindAudio)
	if rt.ParticipantID() != c.id || rt.Codec() != "audio/opus" {
		t.Fatalf("track from %s codec %s, want %s audio/opus", rt.ParticipantID(), rt.Codec(), c.id)
	}
	var sink pcmSink
	done := make(chan struct{})
	go func() { defer close(done); readAudio(t, rt, &sink) }()
	waitFor(t, 20*time.Second, "bot hearing 440 Hz", func() bool {
		f, ok := sink.dominant()
		return ok && f == 440
	})
	c.close()
	select {
	case <-done: // ReadFrame returned io.EOF once the publisher left
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFrame did not end after the publisher left")
	}
}

// randomNAL is a NAL unit of the given header byte and size whose body has
// no zero bytes, so that it cannot contain a start code.
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

func TestBotH264RoundTrip(t *testing.T) {
	s, _ := newTestSFU(t, Config{})
	sender := joinBot(t, s, "r", "room-system", false)
	receiver := joinBot(t, s, "r", "recorder", false)
	tracks := trackCh(receiver)
	w, err := sender.PublishVideo(room.VideoCodec{MimeType: "video/H264", ClockRate: 90000, FmtpLine: h264Fmtp})
	if err != nil {
		t.Fatal(err)
	}
	rt := nextTrack(t, tracks, room.TrackKindVideo)

	aus := [][]byte{
		annexB(randomNAL(0x67, 12), randomNAL(0x68, 4), randomNAL(0x65, 5000)), // SPS, PPS, big IDR
		annexB(randomNAL(0x41, 800)),
		annexB(randomNAL(0x41, 2401), randomNAL(0x41, 1200)), // two slices, one exactly at the MTU
		annexB(randomNAL(0x67, 12), randomNAL(0x68, 4), randomNAL(0x65, 1198)),
	}
	for _, au := range aus {
		if err := w.WriteVideo(au, 33*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64<<10)
	var lastTS uint32
	for i, want := range aus {
		n, info, err := rt.ReadFrame(buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("frame %d: got %d bytes, want %d identical bytes", i, n, len(want))
		}
		if wantKey := i == 0 || i == 3; info.Keyframe != wantKey || info.Gap {
			t.Errorf("frame %d: keyframe %v gap %v, want keyframe %v", i, info.Keyframe, info.Gap, wantKey)
		}
		if i > 0 && info.Timestamp-lastTS != 2970 {
			t.Errorf("frame %d: timestamp step %d, want 2970", i, info.Timestamp-lastTS)
		}
		lastTS = info.Timestamp
	}
	if err := w.WriteVideo(aus[1], 33*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rt.ReadFrame(buf[:10]); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("ReadFrame into 10 bytes: %v, want io.ErrShortBuffer", err)
	}
	if n, _, err := rt.ReadFrame(buf); err != nil || !bytes.Equal(buf[:n], aus[1]) {
		t.Fatalf("ReadFrame after short buffer: %d bytes, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rt.ReadFrame(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("after unpublish ReadFrame = %v, want io.EOF", err)
	}
}

func TestKeyframeRequests(t *testing.T) {
	s, url := newTestSFU(t, Config{})
	pub := joinBot(t, s, "r", "room-system", false)
	sub := joinBot(t, s, "r", "recorder", false)
	tracks := trackCh(sub)
	w, err := pub.PublishVideo(room.VideoCodec{MimeType: "video/H264", ClockRate: 90000})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rt := nextTrack(t, tracks, room.TrackKindVideo)

	// Bot → bot.
	if err := sub.RequestKeyframe(rt.ID()); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, pub, room.EventKeyframeRequested); ev.TrackID != rt.ID() {
		t.Fatalf("keyframe requested for %q, want %q", ev.TrackID, rt.ID())
	}
	if err := sub.RequestKeyframe("nope"); !errors.Is(err, ErrUnknownTrack) {
		t.Fatalf("unknown track: %v", err)
	}
	// A second request within keyframeInterval is throttled.
	if err := sub.RequestKeyframe(rt.ID()); err != nil {
		t.Fatal(err)
	}
	if n := metricValue(s.m.keyframeRequests); n != 1 {
		t.Fatalf("%v keyframe requests passed on, want 1", n)
	}

	// A WebRTC subscriber binding the track asks for a keyframe too (the
	// throttle window is reset rather than waited out).
	s.room("r").findTrack(rt.ID()).lastKeyframe.Store(0)
	c, _ := dialClient(t, url, "r", "web", "")
	nextEvent(t, pub, room.EventKeyframeRequested)

	// Bot → WebRTC publisher: an RTCP PLI reaches the client.
	plis := c.publishVideo()
	vt := nextTrack(t, tracks, room.TrackKindVideo)
	waitFor(t, 10*time.Second, "PLI at the client", func() bool {
		_ = sub.RequestKeyframe(vt.ID())
		return plis.Load() > 0
	})
}

func TestMuteThroughDirectory(t *testing.T) {
	s, url := newTestSFU(t, Config{})
	c, _ := dialClient(t, url, "r", "web", "")
	speaker := joinBot(t, s, "r", "phone", false)
	listener := joinBot(t, s, "r", "hub", true)
	tracks := trackCh(listener)
	botTone(t, speaker, 1000)
	rt := nextTrack(t, tracks, room.TrackKindAudio)
	frames := make(chan room.FrameInfo, 1024)
	go func() {
		buf := make([]byte, 1500)
		for {
			_, info, err := rt.ReadFrame(buf)
			if err != nil {
				close(frames)
				return
			}
			frames <- info
		}
	}()
	<-frames

	ctx := context.Background()
	if err := s.MuteParticipant(ctx, "r", speaker.ID(), room.TrackKindAudio, true); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, speaker, room.EventMuted); !ev.Muted || ev.Kind != room.TrackKindAudio {
		t.Fatalf("muted event %+v", ev)
	}
	ps, _ := s.Participants(ctx, "r")
	for _, p := range ps {
		if p.ID == speaker.ID() && (!p.AudioMuted || !p.Tracks[0].Muted) {
			t.Fatalf("directory shows %+v, want audio muted", p)
		}
	}
	// Drain what was in flight, then nothing may arrive for a while.
	before := c.packets.Load()
	drain := time.After(200 * time.Millisecond)
	for draining := true; draining; {
		select {
		case <-frames:
		case <-drain:
			draining = false
		}
	}
	select {
	case info := <-frames:
		t.Fatalf("frame %+v forwarded while muted", info)
	case <-time.After(400 * time.Millisecond):
	}
	if got := c.packets.Load(); got > before+2 {
		t.Fatalf("client got %d packets while muted", got-before)
	}

	if err := s.MuteParticipant(ctx, "r", speaker.ID(), room.TrackKindAudio, false); err != nil {
		t.Fatal(err)
	}
	select {
	case info := <-frames:
		if info.Gap {
			t.Errorf("first frame after unmute flagged as a gap")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing forwarded after unmute")
	}

	// Muting a WebRTC participant tells it.
	if err := s.MuteParticipant(ctx, "r", c.id, room.TrackKindAudio, true); err != nil {
		t.Fatal(err)
	}
	c.expect(MsgMuted, 5*time.Second, func(m Message) bool { return m.Kind == "audio" && m.Muted != nil && *m.Muted })
	if err := s.MuteParticipant(ctx, "r", "PA_nobody", room.TrackKindAudio, true); !errors.Is(err, room.ErrParticipantNotFound) {
		t.Fatalf("mute unknown: %v", err)
	}
}

func TestKick(t *testing.T) {
	s, url := newTestSFU(t, Config{})
	ctx := context.Background()
	c, _ := dialClient(t, url, "r", "web", "")
	bot := joinBot(t, s, "r", "phone", false)

	if err := s.RemoveParticipant(ctx, "r", c.id, "kicked"); err != nil {
		t.Fatal(err)
	}
	if m := c.expect(MsgRemoved, 5*time.Second, nil); m.Reason != "kicked" {
		t.Fatalf("removed reason %q", m.Reason)
	}
	select {
	case <-c.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("socket still open after removal")
	}
	nextEvent(t, bot, room.EventParticipantLeft)

	if err := s.RemoveParticipant(ctx, "r", bot.ID(), "kicked"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, bot, room.EventRemoved); ev.Reason != "kicked" {
		t.Fatalf("removed reason %q", ev.Reason)
	}
	select {
	case _, ok := <-bot.Events():
		if ok {
			t.Fatal("event after EventRemoved")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("events channel not closed")
	}
	if _, err := bot.PublishAudio(room.AudioCodec{MimeType: "audio/opus"}); !errors.Is(err, room.ErrClosed) {
		t.Fatalf("publish after kick: %v", err)
	}
	if err := s.RemoveParticipant(ctx, "r", bot.ID(), ""); !errors.Is(err, room.ErrParticipantNotFound) {
		t.Fatalf("second kick: %v", err)
	}
	if ps, err := s.Participants(ctx, "r"); err != nil || len(ps) != 0 {
		t.Fatalf("room still lists %+v (%v)", ps, err)
	}
}

func TestAdmitRejects(t *testing.T) {
	_, url := newTestSFU(t, Config{Admit: func(_ context.Context, j JoinRequest) (Admission, error) {
		if j.Token != "secret" {
			return Admission{}, ErrNotAdmitted
		}
		return Admission{Name: "Dr. " + j.Name}, nil
	}})
	if c, m := dialClient(t, url, "r", "eve", "wrong"); c != nil || m.Type != MsgError || m.Error == "" {
		t.Fatalf("bad token: got %+v", m)
	}
	c, m := dialClient(t, url, "r", "who", "secret")
	if c == nil || m.Participant.Name != "Dr. who" {
		t.Fatalf("good token: got %+v", m)
	}
}

func TestDirectoryAndEvents(t *testing.T) {
	s, url := newTestSFU(t, Config{MaxParticipants: 2})
	ctx := context.Background()
	a := joinBot(t, s, "r", "a", false)
	_ = joinBot(t, s, "r", "hub", true) // hidden: not listed, not counted
	c, joined := dialClient(t, url, "r", "web", "")
	if len(joined.Participants) != 1 || joined.Participants[0].Kind != "sip" {
		t.Fatalf("joined lists %+v", joined.Participants)
	}
	if ev := nextEvent(t, a, room.EventParticipantJoined); ev.Participant.ID != c.id || ev.Participant.Kind != room.ParticipantKindWebRTC {
		t.Fatalf("joined event %+v", ev)
	}
	ps, err := s.Participants(ctx, "r")
	if err != nil || len(ps) != 2 || ps[0].ID != a.ID() || ps[1].ID != c.id {
		t.Fatalf("Participants = %+v, %v", ps, err)
	}
	if _, err := s.Join(ctx, "r", room.ParticipantInfo{Name: "third"}); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("third join: %v", err)
	}
	if _, err := s.Join(ctx, "r", room.ParticipantInfo{Identity: a.ID()}); !errors.Is(err, room.ErrDuplicateIdentity) {
		t.Fatalf("duplicate: %v", err)
	}
	if ps, _ := s.Participants(ctx, "nowhere"); ps == nil || len(ps) != 0 {
		t.Fatalf("empty room lists %v", ps)
	}

	// Active speakers: a bot writing loud audio levels.
	botTone(t, a, 440)
	if ev := nextEvent(t, a, room.EventActiveSpeakers); len(ev.Speakers) != 1 || ev.Speakers[0] != a.ID() {
		t.Fatalf("speakers %v", ev.Speakers)
	}
	c.expect(MsgActiveSpeakers, 5*time.Second, func(m Message) bool { return len(m.Speakers) == 1 && m.Speakers[0].ID == a.ID() })

	if err := s.CloseRoom(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	c.expect(MsgRemoved, 5*time.Second, nil)
	nextEvent(t, a, room.EventRemoved)
	if err := s.CloseRoom(ctx, "r"); !errors.Is(err, room.ErrRoomNotFound) {
		t.Fatalf("second CloseRoom: %v", err)
	}
}
