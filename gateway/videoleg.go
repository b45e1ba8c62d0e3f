package gateway

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"github.com/roombridge/roombridge/gateway/bfcp"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/video"
)

// Video leg tuning.
const (
	// infoTimeout bounds a SIP INFO picture_fast_update transaction.
	infoTimeout = 4 * time.Second
	// maxFrameInterval caps the duration given to one access unit: a
	// room system that pauses (hold, a frozen encoder) must not push the
	// room track's clock far ahead.
	maxFrameInterval = time.Second
	// defaultFrameInterval is the duration of an access unit whose
	// successor's timing is unknown: 30 fps.
	defaultFrameInterval = time.Second / 30
)

// videoLeg is the H.264 video of a room-system call, built from the
// stages of gateway/video around an RTP session of its own:
//
//   - room system → room: the session's reader goroutine depacketizes
//     (video.Depacketizer: SPS/PPS put in front of each IDR, damaged
//     pictures dropped) and writes each access unit to the participant's
//     camera track (room.VideoWriter), from the first keyframe on;
//   - room → room system: one goroutine (out.go, run) polls the room's
//     H.264 tracks, lets a video.Switcher pick the active speaker's (or
//     the slate while there is none) and packetizes it into the session,
//     whose SSRC and sequence numbers stay the same throughout;
//   - keyframe requests cross both ways through video.KeyframeLimiters:
//     RTCP PLI/FIR or SIP INFO picture_fast_update towards the room
//     system, RequestKeyframe towards the room's sources.
//
// Close stops the goroutine and any INFO in flight, unpublishes the
// track and closes the session and its ports.
type videoLeg struct {
	log *slog.Logger
	ic  *sip.IncomingCall
	// content is the stream this leg carries: the main video (camera one
	// way, the room's speaker the other) or the content stream (a shared
	// screen both ways).
	content videoContent
	self    string    // the call's participant identity
	start   time.Time // when the INVITE arrived
	ports   *rtp.PortPair
	sess    *rtp.Session
	neg     atomic.Pointer[videoNeg]

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the out loop and INFO transactions

	// Room system → room, on the session's reader goroutine.
	depack     *video.Depacketizer
	writer     atomic.Pointer[videoTrack]
	waitKey    atomic.Bool // drop until an IDR, after (re)publishing
	lastTS     uint32
	haveTS     bool
	remoteSSRC atomic.Uint32
	published  atomic.Int64 // unix nanoseconds of the first keyframe published, 0 before
	// inStats is the depacketizer's count as of the last picture, for
	// Quality on other goroutines.
	statsMu sync.Mutex
	inStats video.DepacketizerStats
	firSeq  atomic.Uint32

	// Keyframe requests to the room system come from the reader (loss),
	// the call's goroutine (the room asks) and the out loop (due ones).
	kmu      sync.Mutex
	toRS     video.KeyframeLimiter
	infoBusy bool
	closed   bool

	// Bit rate across the bridge (videoleg_bw.go); ownLimit is the
	// bit rate we announced for what we receive (sip.video_bitrate).
	bw       legBandwidth
	ownLimit int
	m        *metrics

	out videoOut
	// floor is the BFCP floor control server of a content leg whose room
	// system negotiated one; the out loop tells it who in the room shares.
	floor atomic.Pointer[bfcp.Server]
}

// videoTrack is the participant's published camera (or screen) track.
type videoTrack struct{ w room.VideoWriter }

// newVideoLeg starts the RTP session of a negotiated video stream k on
// ports, which it owns from now on.
func newVideoLeg(ctx context.Context, c *call, ports *rtp.PortPair, n *videoNeg, k videoContent) (*videoLeg, error) {
	l := &videoLeg{
		log: c.log.With("media", "video", "content", k), ic: c.ic, content: k, self: c.id, start: c.start, ports: ports,
		ownLimit: c.g.cfg.VideoBitrate, m: c.g.m,
	}
	l.ctx, l.cancel = context.WithCancel(ctx)
	l.neg.Store(n)
	l.depack = video.NewDepacketizer(l.onAccessUnit, 0)
	if n.sprop != "" {
		if err := l.depack.Params().SetSprop(n.sprop); err != nil {
			l.log.Info("room system's sprop-parameter-sets ignored", "err", err)
		}
	}
	l.out.init(l)
	sess, err := rtp.NewSession(rtp.SessionConfig{
		Ports:       ports,
		PayloadType: n.recvPT,
		ClockRate:   video.ClockRate,
		Remote:      n.remoteRTP,
		RemoteRTCP:  n.remoteRTCP,
		RTCPMux:     n.rtcpMux,
		SRTP:        n.srtp,
		// The audio session watches the call; video may pause for long
		// (held, a camera switched off).
		Timeout: rtp.NoTimeout,
		Handler: l,
		Logger:  l.log,
	})
	if err != nil {
		l.cancel()
		return nil, err
	}
	l.sess = sess
	sess.OnRTCP(l.onRTCP)
	l.wg.Add(1)
	go l.out.run()
	l.log.Info("video started", "mode", n.mode, "send", n.send, "recv", n.recv, "pli", n.pli, "fir", n.fir,
		"tmmbr", n.tmmbr, "remb", n.remb, "max_bitrate", n.maxBitrate, "srtp", n.srtp != nil, "remote", n.remoteRTP)
	return l, nil
}

// HandleRTP implements rtp.Handler: the room system's video, on the
// session's reader goroutine.
func (l *videoLeg) HandleRTP(pkt *rtp.Packet) {
	if pkt.PayloadType != l.neg.Load().recvPT {
		return
	}
	l.remoteSSRC.Store(pkt.SSRC)
	if l.depack.Push(pkt) {
		l.askRoomSystem(time.Now())
	}
}

// onAccessUnit publishes one whole picture of the room system's; it runs
// within Depacketizer.Push.
func (l *videoLeg) onAccessUnit(au video.AccessUnit) {
	if au.Keyframe {
		l.kmu.Lock()
		l.toRS.Satisfied()
		l.kmu.Unlock()
	}
	dur := defaultFrameInterval
	if l.haveTS {
		if d := time.Duration(au.Timestamp-l.lastTS) * time.Second / video.ClockRate; d > 0 && d <= maxFrameInterval {
			dur = d
		}
	}
	l.lastTS, l.haveTS = au.Timestamp, true
	st := l.depack.Stats()
	l.statsMu.Lock()
	l.inStats = st
	l.statsMu.Unlock()
	t := l.writer.Load()
	if t == nil {
		return
	}
	if au.Keyframe {
		l.waitKey.Store(false)
	} else if l.waitKey.Load() {
		return
	}
	// The backends' writers timestamp by the durations given, so the
	// interval to the previous picture stands in for the one to the next.
	if err := t.w.WriteVideo(au.Data, dur); err != nil {
		l.log.Debug("video to the room", "err", err)
		return
	}
	if au.Keyframe && l.published.CompareAndSwap(0, time.Now().UnixNano()) {
		l.log.Info("first keyframe published to the room", "since_invite", time.Since(l.start).Round(time.Millisecond))
	}
}

// onRTCP takes keyframe requests and bit-rate limits the room system
// sends about our stream.
func (l *videoLeg) onRTCP(p rtcp.Packet) {
	switch p.(type) {
	case *rtcp.RawPacket, *rtcp.ReceiverEstimatedMaximumBitrate:
		l.onBitrateRTCP(p)
		return
	}
	if l.out.fir.Check([]rtcp.Packet{p}, l.sess.SSRC()) {
		l.out.roomSystemWantsKeyframe()
	}
}

// publish starts the participant's camera track (a screen-share track
// for the content stream); the first picture published is a keyframe,
// asked for now. The room's tracks come through the call's trackRouter.
func (l *videoLeg) publish(p room.Participant, roomName string) error {
	n := l.neg.Load()
	w, err := p.PublishVideo(room.VideoCodec{
		MimeType: "video/H264", ClockRate: video.ClockRate, FmtpLine: n.fmtpLine(), Source: l.content.source(),
	})
	if err != nil {
		return err
	}
	l.waitKey.Store(true)
	l.writer.Store(&videoTrack{w: w})
	l.out.joined(p, roomName)
	l.askRoomSystem(time.Now())
	return nil
}

// trackID is the id of the leg's published track, "" before it is
// published or when the backend does not say.
func (l *videoLeg) trackID() string {
	t := l.writer.Load()
	if t == nil {
		return ""
	}
	if ider, ok := t.w.(room.TrackIDer); ok {
		return ider.TrackID()
	}
	return ""
}

// askRoomSystem asks the room system for a keyframe, at most once per
// limiter interval (a request that comes too soon is sent when due).
func (l *videoLeg) askRoomSystem(now time.Time) { l.keyframeToRoomSystem(now, kfLoss) }

// askRoomSystemIfDue sends a request the limiter held back, once due.
func (l *videoLeg) askRoomSystemIfDue(now time.Time) { l.keyframeToRoomSystem(now, kfDue) }

// askRoomSystemForRoom passes on a request of the room's (a subscriber
// that starts, or lost a picture): the backend spaces them already, and
// one that follows an answered request goes after answeredGap, not the
// whole interval, so that a page that subscribes just after the room
// system's first keyframe does not wait half a second for its own.
func (l *videoLeg) askRoomSystemForRoom(now time.Time) { l.keyframeToRoomSystem(now, kfRoom) }

// Kinds of keyframe request towards the room system.
const (
	kfLoss = iota
	kfDue
	kfRoom
)

// answeredGap is the least time between two requests to the room system
// when a keyframe answered the first (see askRoomSystemForRoom).
const answeredGap = 100 * time.Millisecond

func (l *videoLeg) keyframeToRoomSystem(now time.Time, kind int) {
	l.kmu.Lock()
	var send bool
	switch {
	case l.closed:
	case kind == kfDue:
		send = l.toRS.Due(now)
	case kind == kfRoom:
		send = l.toRS.RequestAfterKeyframe(now, answeredGap)
	default:
		send = l.toRS.Request(now)
	}
	l.kmu.Unlock()
	if send {
		l.requestKeyframe()
	}
}

// requestKeyframe sends one keyframe request the way the room system
// negotiated: RTCP PLI, else FIR, else SIP INFO (RFC 5168).
func (l *videoLeg) requestKeyframe() {
	n := l.neg.Load()
	ours, theirs := l.sess.SSRC(), l.remoteSSRC.Load()
	var fb rtcp.Packet
	switch {
	case n.pli:
		fb = &rtcp.PictureLossIndication{SenderSSRC: ours, MediaSSRC: theirs}
	case n.fir:
		fb = &rtcp.FullIntraRequest{SenderSSRC: ours, FIR: []rtcp.FIREntry{{SSRC: theirs, SequenceNumber: uint8(l.firSeq.Add(1))}}}
	default:
		l.sendPictureFastUpdate()
		return
	}
	// RFC 4585 §3.1: feedback goes in a compound packet behind a report.
	if err := l.sess.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: ours}, fb}); err != nil && !errors.Is(err, rtp.ErrNoRemote) {
		l.log.Debug("keyframe request", "err", err)
	}
}

// sendPictureFastUpdate sends a SIP INFO picture_fast_update on a
// goroutine of its own (a SIP transaction takes a round trip or more),
// one at a time.
func (l *videoLeg) sendPictureFastUpdate() {
	l.kmu.Lock()
	if l.closed || l.infoBusy {
		l.kmu.Unlock()
		return
	}
	l.infoBusy = true
	l.wg.Add(1)
	l.kmu.Unlock()
	go func() {
		defer l.wg.Done()
		ctx, cancel := context.WithTimeout(l.ctx, infoTimeout)
		// The main stream's request asks for every stream, as before
		// the content stream existed; the content's names its a=label.
		stream := ""
		if l.content != contentMain {
			stream = l.neg.Load().label
		}
		err := l.ic.SendInfo(ctx, video.MediaControlType, video.BuildPictureFastUpdate(stream))
		cancel()
		l.kmu.Lock()
		l.infoBusy = false
		l.kmu.Unlock()
		if err != nil {
			l.log.Debug("INFO picture_fast_update", "err", err)
		}
	}()
}

// update applies a re-INVITE's outcome: direction, address, SRTP keys.
func (l *videoLeg) update(n *videoNeg) error {
	old := l.neg.Load()
	if !sameSRTP(n.srtp, old.srtp) {
		if n.srtp == nil {
			return errSRTPOff
		}
		if err := l.sess.Rekey(n.srtp); err != nil {
			return err
		}
	}
	if n.remoteRTP.IsValid() && !n.remoteRTP.Addr().IsUnspecified() {
		l.sess.SetRemote(n.remoteRTP, n.remoteRTCP)
	}
	l.neg.Store(n)
	if n.send && !old.send {
		l.out.roomSystemWantsKeyframe() // it starts decoding again
	}
	return nil
}

// close ends the leg; it is called once, by the call's goroutine or a
// re-INVITE that removes video.
func (l *videoLeg) close() error {
	l.kmu.Lock()
	l.closed = true
	l.kmu.Unlock()
	l.cancel()
	l.wg.Wait()
	l.out.uncap()
	var errs []error
	if t := l.writer.Swap(nil); t != nil {
		errs = append(errs, t.w.Close())
	}
	errs = append(errs, l.sess.Close(), l.ports.Close())
	st := l.depack.Stats()
	l.log.Info("video ended", "frames_in", st.Frames, "keyframes_in", st.Keyframes, "lost", st.Lost,
		"width", st.Width, "height", st.Height, "fps", st.FrameRate, "bitrate", st.Bitrate,
		"switches", l.out.switches.Load(), "bandwidth_in", l.bw.received.Load(), "bandwidth_out", l.bw.sent.Load())
	return errors.Join(errs...)
}
