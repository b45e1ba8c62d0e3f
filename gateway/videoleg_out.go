package gateway

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roombridge/roombridge/gateway/bfcp"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/video"
)

// Room → room system tuning.
const (
	// outPoll is how often the out loop takes frames from the room's
	// tracks: well under a frame interval, so a picture waits at most
	// that long.
	outPoll = 10 * time.Millisecond
	// slateInterval and slateKeyInterval pace the slate: a still picture
	// needs few frames, and a keyframe now and then lets a room system
	// that missed one start.
	slateInterval    = 200 * time.Millisecond
	slateKeyInterval = 2 * time.Second
	// slateGrace is how long after joining the room the slate waits for
	// the room's video tracks to arrive, so that a room system joining a
	// room with cameras sees them first, not a flash of the slate;
	// slateUnjoined is its wait before the call is in a room (the IVR).
	slateGrace    = 300 * time.Millisecond
	slateUnjoined = time.Second
	// slateSource names the slate among the Switcher's sources; track ids
	// of both backends look otherwise (TR_…).
	slateSource = "\x00slate"
	// outPayload is the largest RTP payload sent to a room system (the
	// Packetizer's default MTU less the RTP header).
	outPayload = video.DefaultMTU - 12
)

// videoOut is the room → room system half of a video leg. Its state
// belongs to the run goroutine; other goroutines hand it tracks,
// speakers and keyframe requests under mu (or an atomic) and wake it.
type videoOut struct {
	l    *videoLeg
	wake chan struct{}

	mu       sync.Mutex
	incoming []room.RemoteTrack
	speakers []string
	pinned   string
	newSpkrs bool // speakers or pin changed
	part     room.Participant
	roomName string
	// handMatch and handGive, when set, ask the loop to hand the tracks
	// handMatch selects to handGive (the screens, to a content leg that
	// a re-INVITE added).
	handMatch func(room.RemoteTrack) bool
	handGive  func(room.RemoteTrack)

	wantKey  atomic.Bool // the room system asked for a keyframe
	switches atomic.Uint64
	sent     atomic.Uint64     // pictures sent to the room system
	fir      video.FIRReceiver // on the RTCP reader goroutine

	// The run goroutine's own.
	sw        *video.Switcher
	tracks    []*outTrack
	spk       []string
	shownPin  string
	slate     *video.Slate
	slateFor  string // room name the slate shows
	slateNext time.Time
	slateKey  time.Time // next periodic slate keyframe
	slateIDR  bool      // the next slate frame must be an IDR
	begin     time.Time
	joinedAt  time.Time // when the loop first saw the participant
	buf       []byte
	pbuf      [outPayload]byte
	outTS     uint32
	sendPT    uint8
	emitFn    func([]byte, bool) error
	tooLarge  uint64
	// capTrack is the source given the room system's limit capSet
	// (videoleg_bw.go); capShown is capSet for the room API.
	capTrack string
	capSet   int
	capShown atomic.Int64
	// toldFloor and told are the BFCP server last told who in the room
	// holds the floor, and whom (content leg).
	toldFloor *bfcp.Server
	told      string
}

// outTrack is one H.264 track of the room, polled by the out loop.
type outTrack struct {
	t    room.RemoteTrack
	poll room.FramePoller
	lim  video.KeyframeLimiter
}

func (o *videoOut) init(l *videoLeg) {
	o.l = l
	o.wake = make(chan struct{}, 1)
	o.sw = video.NewSwitcher(video.SwitcherConfig{})
	o.buf = make([]byte, video.DefaultMaxAccessUnit)
	o.emitFn = o.emit
}

func (o *videoOut) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// wantVideoTrack reports whether t is a track a room system can be sent:
// another participant's H.264 video.
func wantVideoTrack(t room.RemoteTrack, self string) bool {
	return t.Kind() == room.TrackKindVideo && t.ParticipantID() != self && (t.Codec() == "video/H264" || t.Codec() == "video/h264")
}

// isScreen reports whether t is a shared screen.
func isScreen(t room.RemoteTrack) bool {
	st, ok := t.(room.SourcedTrack)
	return ok && st.Source() == room.TrackSourceScreen
}

// onTrack gives the loop a track of the room (from the call's
// trackRouter, on the backend's goroutine): H.264 tracks of others join
// the loop.
func (o *videoOut) onTrack(t room.RemoteTrack) {
	if !wantVideoTrack(t, o.l.self) {
		return
	}
	o.mu.Lock()
	o.incoming = append(o.incoming, t)
	o.mu.Unlock()
	o.signal()
}

// joined tells the loop the participant and room, once known.
func (o *videoOut) joined(p room.Participant, roomName string) {
	o.mu.Lock()
	o.part, o.roomName = p, roomName
	o.mu.Unlock()
	o.signal()
}

// activeSpeakers takes the room's loudest participants, loudest first.
func (o *videoOut) activeSpeakers(ids []string) {
	o.mu.Lock()
	o.speakers = append(o.speakers[:0], ids...)
	o.newSpkrs = true
	o.mu.Unlock()
	o.signal()
}

// pin takes the room's pinned participant ("" when none), whose video is
// shown instead of the active speaker's.
func (o *videoOut) pin(id string) {
	o.mu.Lock()
	o.pinned, o.newSpkrs = id, true
	o.mu.Unlock()
	o.signal()
}

// handOff asks the loop to give the tracks match selects to give, on the
// loop's goroutine, once; a later call replaces a request not yet done.
func (o *videoOut) handOff(match func(room.RemoteTrack) bool, give func(room.RemoteTrack)) {
	o.mu.Lock()
	o.handMatch, o.handGive = match, give
	o.mu.Unlock()
	o.signal()
}

// remaining returns the tracks the loop was given and that have not
// ended, for another leg to take over; call it once the loop has ended.
func (o *videoOut) remaining() []room.RemoteTrack {
	o.mu.Lock()
	out := append([]room.RemoteTrack(nil), o.incoming...)
	o.incoming = nil
	o.mu.Unlock()
	for _, t := range o.tracks {
		out = append(out, t.t)
	}
	o.tracks = nil
	return out
}

// roomSystemWantsKeyframe records a keyframe request of the room system
// (RTCP PLI/FIR or SIP INFO) for the loop.
func (o *videoOut) roomSystemWantsKeyframe() {
	o.wantKey.Store(true)
	o.signal()
}

// run is the out loop: one goroutine per video leg.
func (o *videoOut) run() {
	defer o.l.wg.Done()
	o.begin = time.Now()
	tick := time.NewTicker(outPoll)
	defer tick.Stop()
	for {
		select {
		case <-o.l.ctx.Done():
			return
		case <-o.wake:
		case <-tick.C:
		}
		o.step(time.Now())
	}
}

// step does what is due: new tracks and speakers, keyframe requests both
// ways, the room's frames and the slate.
func (o *videoOut) step(now time.Time) {
	o.mu.Lock()
	incoming := o.incoming
	o.incoming = nil
	if o.newSpkrs {
		o.spk = append(o.spk[:0], o.speakers...)
		o.shownPin = o.pinned
	}
	newSpkrs := o.newSpkrs
	o.newSpkrs = false
	part, roomName := o.part, o.roomName
	match, give := o.handMatch, o.handGive
	o.handMatch, o.handGive = nil, nil
	o.mu.Unlock()
	if part != nil && o.joinedAt.IsZero() {
		o.joinedAt = now
	}

	var handed []room.RemoteTrack
	if match != nil {
		for i := 0; i < len(o.tracks); i++ {
			if t := o.tracks[i].t; match(t) {
				handed = append(handed, t)
				o.dropTrack(i, part, now)
				i--
			}
		}
	}
	for _, t := range incoming {
		if match != nil && match(t) {
			handed = append(handed, t)
			continue
		}
		if o.track(t.ID()) != nil {
			continue // given again (a backend's replay, a hand-over)
		}
		poll, ok := t.(room.FramePoller)
		if !ok {
			o.l.log.Warn("room video track cannot be polled; not forwarded", "track", t.ID())
			continue
		}
		o.tracks = append(o.tracks, &outTrack{t: t, poll: poll})
		o.l.log.Info("room video source", "track", t.ID(), "participant", t.ParticipantID())
	}
	for _, t := range handed {
		o.l.log.Info("room video source handed over", "track", t.ID())
		give(t)
	}
	if len(incoming) > 0 || newSpkrs || o.sw.Current() == "" && o.sw.Pending() == "" {
		o.choose(part, now)
	}
	if o.wantKey.Swap(false) {
		if cur := o.sw.Current(); cur == slateSource || cur == "" {
			o.slateIDR = true
		} else if t := o.track(cur); t != nil {
			o.askSource(part, t, now)
		}
	}
	o.l.askRoomSystemIfDue(now)
	if id, ok := o.sw.Poll(now); ok {
		if t := o.track(id); t != nil {
			o.askSource(part, t, now)
		}
	}
	for _, t := range o.tracks {
		if t.lim.Due(now) && part != nil {
			o.requestSource(part, t)
		}
	}
	o.pollTracks(part, now)
	o.slateStep(roomName, now)
	if part != nil {
		o.capSource(part)
	}
	o.l.sendLimitIfDue(now)
	o.floorStep()
}

// floorStep tells the content leg's BFCP server, when it has one, who in
// the room shares a screen (the one it sends), or that nobody does.
func (o *videoOut) floorStep() {
	f := o.l.floor.Load()
	if f == nil {
		return
	}
	holder := ""
	if t := o.lastScreen(); t != nil {
		holder = t.t.ParticipantID()
	}
	if f != o.toldFloor || holder != o.told {
		f.RoomHolder(holder)
		o.toldFloor, o.told = f, holder
	}
}

// choose selects what the room system sees: a shared screen (the one
// shared last) while anyone shares one, else the pinned participant's
// H.264 track, else the loudest speaker's, else the source being shown,
// else any track, else the slate. The content leg shows screens only
// (its tracks are screens) and never the slate.
func (o *videoOut) choose(part room.Participant, now time.Time) {
	want := ""
	if t := o.lastScreen(); t != nil {
		want = t.t.ID()
	}
	if want == "" && o.l.content != contentMain {
		return // nothing shared: the content stream pauses
	}
	if t := o.trackOf(o.shownPin); want == "" && t != nil && o.shownPin != "" {
		want = t.t.ID()
	}
	for _, id := range o.spk {
		if want != "" {
			break
		}
		if id == o.l.self {
			continue
		}
		if t := o.trackOf(id); t != nil {
			want = t.t.ID()
			break
		}
	}
	if want == "" {
		switch cur := o.sw.Current(); {
		case o.sw.Pending() != "":
			return // a switch is under way
		case cur != "" && cur != slateSource:
			return
		case len(o.tracks) > 0:
			want = o.tracks[0].t.ID()
		case o.joinedAt.IsZero() && now.Sub(o.begin) < slateUnjoined,
			!o.joinedAt.IsZero() && now.Sub(o.joinedAt) < slateGrace:
			return // the room's tracks may be on their way
		default:
			want = slateSource
		}
	}
	if !o.sw.Select(want, now) {
		return
	}
	o.l.log.Debug("video switch requested", "to", want)
	if want == slateSource {
		o.slateIDR = true
	} else if t := o.track(want); t != nil {
		o.askSource(part, t, now)
	}
}

func (o *videoOut) track(id string) *outTrack {
	for _, t := range o.tracks {
		if t.t.ID() == id {
			return t
		}
	}
	return nil
}

// trackOf returns a participant's camera track, else its screen.
func (o *videoOut) trackOf(participant string) *outTrack {
	var screen *outTrack
	for _, t := range o.tracks {
		if t.t.ParticipantID() != participant {
			continue
		}
		if !isScreen(t.t) {
			return t
		}
		screen = t
	}
	return screen
}

// lastScreen returns the screen-share track that arrived last, nil when
// none is shared.
func (o *videoOut) lastScreen() *outTrack {
	for i := len(o.tracks) - 1; i >= 0; i-- {
		if isScreen(o.tracks[i].t) {
			return o.tracks[i]
		}
	}
	return nil
}

// askSource asks a room source for a keyframe through its limiter.
func (o *videoOut) askSource(part room.Participant, t *outTrack, now time.Time) {
	if part != nil && t.lim.Request(now) {
		o.requestSource(part, t)
	}
}

func (o *videoOut) requestSource(part room.Participant, t *outTrack) {
	if err := part.RequestKeyframe(t.t.ID()); err != nil {
		o.l.log.Debug("keyframe request to the room", "track", t.t.ID(), "err", err)
	}
}

// pollTracks takes every queued frame of every track: the selected
// source's go to the room system, the others only keep their queues
// short. A track that ended leaves.
func (o *videoOut) pollTracks(part room.Participant, now time.Time) {
	for i := 0; i < len(o.tracks); i++ {
		t := o.tracks[i]
		for {
			n, info, err := t.poll.PollFrame(o.buf)
			if errors.Is(err, io.ErrShortBuffer) {
				o.buf = make([]byte, 2*len(o.buf)) // a larger picture than any so far
				continue
			}
			if err != nil {
				if !errors.Is(err, room.ErrNoFrame) {
					o.removeTrack(i, part, now)
					i--
				}
				break
			}
			if info.Keyframe {
				t.lim.Satisfied()
			}
			o.forward(t.t.ID(), o.buf[:n], info.Timestamp, now)
		}
	}
}

func (o *videoOut) removeTrack(i int, part room.Participant, now time.Time) {
	o.l.log.Info("room video source ended", "track", o.tracks[i].t.ID())
	o.dropTrack(i, part, now)
}

// dropTrack forgets the i-th track and, if it was shown, chooses again.
func (o *videoOut) dropTrack(i int, part room.Participant, now time.Time) {
	id := o.tracks[i].t.ID()
	o.tracks = append(o.tracks[:i], o.tracks[i+1:]...)
	wasShown := o.sw.Current() == id || o.sw.Pending() == id
	o.sw.Remove(id)
	if wasShown {
		o.choose(part, now)
	}
}

// slateStep sends the slate while it is shown (or about to be).
func (o *videoOut) slateStep(roomName string, now time.Time) {
	if o.sw.Current() != slateSource && o.sw.Pending() != slateSource {
		return
	}
	if now.Before(o.slateNext) {
		return
	}
	if o.slate == nil || o.slateFor != roomName {
		if err := o.makeSlate(roomName); err != nil {
			o.l.log.Warn("no slate", "err", err)
			o.slateNext = now.Add(slateKeyInterval)
			return
		}
		o.slateIDR = true
	}
	key := o.slateIDR || !now.Before(o.slateKey)
	if key {
		o.slateIDR = false
		o.slateKey = now.Add(slateKeyInterval)
	}
	o.slateNext = now.Add(slateInterval)
	ts := uint32(now.Sub(o.begin) * video.ClockRate / time.Second)
	o.forward(slateSource, o.slate.Next(key), ts, now)
}

// makeSlate renders the slate at the largest of a few sizes that the room
// system decodes (its level and max-fs), cut into single-packet slices
// for packetization-mode 0.
func (o *videoOut) makeSlate(roomName string) error {
	n := o.l.neg.Load()
	w, h := 176, 144
	for _, s := range [][2]int{{video.DefaultSlateWidth, video.DefaultSlateHeight}, {320, 180}} {
		if ((s[0]+15)/16)*((s[1]+15)/16) <= n.limits.FS {
			w, h = s[0], s[1]
			break
		}
	}
	cfg := video.SlateConfig{Width: w, Height: h, Lines: []string{roomName, "waiting for video"}}
	if roomName == "" {
		cfg.Lines = []string{"roombridge"}
	}
	if n.mode == 0 {
		cfg.MaxNALSize = outPayload
	}
	s, err := video.NewSlate(cfg)
	if err != nil {
		return err
	}
	o.slate, o.slateFor = s, roomName
	return nil
}

// forward passes one access unit of a source through the Switcher and, if
// it is to be shown, packetizes it towards the room system.
func (o *videoOut) forward(id string, au []byte, ts uint32, now time.Time) {
	f, ok := o.sw.Frame(id, au, ts, now)
	if !ok {
		return
	}
	if f.Switched {
		o.switches.Add(1)
		o.l.log.Info("video switched", "to", id)
	}
	n := o.l.neg.Load()
	if !n.send {
		return
	}
	o.outTS, o.sendPT = f.Timestamp, n.sendPT
	err := video.Payloads(f.Data, n.mode, o.pbuf[:], o.emitFn)
	if err == nil {
		o.sent.Add(1)
	}
	switch {
	case errors.Is(err, video.ErrNALTooLarge):
		// Mode 0 cannot carry a NAL unit over the MTU; the source's
		// next keyframe may be sliced smaller, nothing else helps.
		if o.tooLarge++; o.tooLarge == 1 {
			o.l.log.Warn("room video too large for packetization-mode 0; pictures skipped", "source", id, "err", err)
		}
	case err != nil && !errors.Is(err, rtp.ErrNoRemote):
		o.l.log.Debug("video to the room system", "err", err)
	}
}

// emit sends one payload of the access unit being packetized.
func (o *videoOut) emit(payload []byte, marker bool) error {
	return o.l.sess.WriteRTP(payload, o.sendPT, o.outTS, marker)
}
