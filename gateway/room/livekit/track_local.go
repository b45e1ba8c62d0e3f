package livekit

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/sendqueue"
)

// maxPayload is the largest RTP payload the writers produce, as in the
// embedded SFU: room for headers, extensions and SRTP within 1280 bytes.
const maxPayload = 1200

// Send queue sizes of a local track: 640 ms of 20 ms audio; a large
// keyframe of video.
const (
	audioSendQueue = 32
	videoSendQueue = 256
)

// rtpSink is where a local track's packets go: the SDK's LocalTrack, which
// adds nothing but what opts asks for and writes to the PeerConnection
// (interceptors, SRTP, the socket), or a lean participant's leanTrack.
type rtpSink interface {
	WriteRTP(p *rtp.Packet, opts *lksdk.SampleWriteOptions) error
}

// publication is a local track's publication as LiveKit knows it: the
// SDK's LocalTrackPublication or a lean participant's leanPub.
type publication interface {
	SID() string
	IsMuted() bool
	SetMuted(muted bool)
}

// localTrack is a track this participant publishes. The writers number the
// RTP packets themselves (sequence numbers and timestamps, RFC 3550 §5.1),
// which lets an empty audio frame move the clock without sending anything
// and keeps the timeline exact whatever the frame durations. A packet is
// numbered under mu and then queued; the track's own goroutine takes it
// from the queue and writes it to the SDK, so that the caller (the room's
// 20 ms clock) never waits for the PeerConnection, and a PeerConnection
// that stalls loses its oldest packets rather than delaying anyone.
type localTrack struct {
	p    *participant
	kind room.TrackKind
	// track is the SDK's track, nil for a lean participant's.
	track *lksdk.LocalTrack
	pub   publication
	sink  rtpSink
	mime  string

	mu      sync.Mutex
	seq     uint16
	ts      uint32
	clock   uint32
	frac    time.Duration
	ended   bool
	payload rtp.Payloader // video only
	lastKey time.Time     // last keyframe request passed on

	out *sendqueue.Queue[outPacket]

	// The writer goroutine's packet, reused.
	pkt   rtp.Packet
	level [1]byte
	// levelID is the RFC 6464 extension's negotiated id, once the track
	// is bound: the writer then sets the level itself, without the SDK's
	// per-packet allocation.
	levelID atomic.Uint32

	// subscribed: LiveKit said a visible participant subscribed to the
	// track (see listeners.go).
	subscribed atomic.Bool
}

// outPacket is a packet's header as numbered by the caller of a writer.
type outPacket struct {
	seq      uint16
	ts       uint32
	marker   bool
	level    uint8
	hasLevel bool
}

// newLocalTrack makes a track of kind on a clock of clockRate Hz, with a
// random first sequence number and timestamp, writing to sink.
func newLocalTrack(p *participant, kind room.TrackKind, clockRate uint32, sink rtpSink) *localTrack {
	lt := &localTrack{p: p, kind: kind, clock: clockRate, sink: sink}
	var seed [6]byte
	_, _ = rand.Read(seed[:])
	lt.seq = binary.BigEndian.Uint16(seed[:2])
	lt.ts = binary.BigEndian.Uint32(seed[2:])
	n := audioSendQueue
	if kind == room.TrackKindVideo {
		n = videoSendQueue
	}
	lt.out = sendqueue.New[outPacket](n, maxPayload)
	lt.pkt.Extensions = make([]rtp.Extension, 0, 1)
	return lt
}

// start runs the track's writer goroutine, counted in the participant's
// wait group; p.mu is held and p is not closed.
func (lt *localTrack) start() {
	lt.p.wg.Add(1)
	go func() {
		defer lt.p.wg.Done()
		lt.out.Run(lt.write)
	}()
}

// write sends one packet, on the track's writer goroutine.
func (lt *localTrack) write(o *outPacket, payload []byte) {
	lt.pkt.Header = rtp.Header{
		Version: 2, Marker: o.marker, SequenceNumber: o.seq, Timestamp: o.ts,
		Extensions: lt.pkt.Extensions[:0],
	}
	lt.pkt.Payload = payload
	var opts *lksdk.SampleWriteOptions
	if o.hasLevel {
		if id := uint8(lt.levelID.Load()); id != 0 {
			lt.level[0] = o.level & 0x7f
			_ = lt.pkt.SetExtension(id, lt.level[:])
		} else {
			level := o.level & 0x7f
			opts = &lksdk.SampleWriteOptions{AudioLevel: &level}
		}
	}
	// Errors mean the PeerConnection is closing; the SDK's disconnect
	// callback ends the participant.
	_ = lt.sink.WriteRTP(&lt.pkt, opts)
}

// queue hands one numbered packet to the writer; it never waits.
func (lt *localTrack) queue(o outPacket, payload []byte) {
	if lt.out.Push(o, payload) {
		lt.p.b.m.packetsDropped.Inc()
	}
}

// onBind learns the audio level extension's id from the negotiated
// parameters of the track's sender.
func (lt *localTrack) onBind() {
	pc := lt.p.lk.Load().LocalParticipant.GetPublisherPeerConnection()
	if pc == nil {
		return
	}
	for _, tr := range pc.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Track() == lt.track {
			for _, e := range s.GetParameters().HeaderExtensions {
				if e.URI == sdp.AudioLevelURI && e.ID > 0 && e.ID < 15 {
					lt.levelID.Store(uint32(e.ID))
				}
			}
		}
	}
}

// opusCapability is what the audio track offers: Opus with in-band FEC, as
// browsers publish it.
var opusCapability = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// PublishAudio implements room.Participant; only Opus is carried.
func (p *participant) PublishAudio(codec room.AudioCodec) (room.AudioWriter, error) {
	if !strings.EqualFold(codec.MimeType, webrtc.MimeTypeOpus) {
		return nil, fmt.Errorf("%w: %q", room.ErrUnsupportedCodec, codec.MimeType)
	}
	p.mu.Lock()
	lt := p.joinTrack
	p.joinTrack = nil
	p.mu.Unlock()
	if lt != nil {
		if err := p.started(lt); err != nil {
			return nil, err
		}
		return (*audioWriter)(lt), nil
	}
	lt, err := p.publish(room.TrackKindAudio, opusCapability, audioPublication())
	if err != nil {
		return nil, err
	}
	return (*audioWriter)(lt), nil
}

// audioPublication is how a participant's audio track is published.
func audioPublication() *lksdk.TrackPublicationOptions {
	return &lksdk.TrackPublicationOptions{Name: "phone", Source: lkproto.TrackSource_MICROPHONE}
}

// PublishVideo implements room.Participant; H.264 and VP8 are carried.
func (p *participant) PublishVideo(codec room.VideoCodec) (room.VideoWriter, error) {
	var c webrtc.RTPCodecCapability
	var pl rtp.Payloader
	switch {
	case strings.EqualFold(codec.MimeType, webrtc.MimeTypeH264):
		fmtp := codec.FmtpLine
		if fmtp == "" {
			fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
		}
		c = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtp}
		pl = &codecs.H264Payloader{}
	case strings.EqualFold(codec.MimeType, webrtc.MimeTypeVP8):
		c = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		pl = &codecs.VP8Payloader{EnablePictureID: true}
	default:
		return nil, fmt.Errorf("%w: %q", room.ErrUnsupportedCodec, codec.MimeType)
	}
	lt, err := p.publish(room.TrackKindVideo, c, videoPublicationOptions(codec.Source))
	if err != nil {
		return nil, err
	}
	lt.payload = pl
	return (*videoWriter)(lt), nil
}

// publish makes and publishes a local track of kind.
func (p *participant) publish(kind room.TrackKind, c webrtc.RTPCodecCapability, opts *lksdk.TrackPublicationOptions) (*localTrack, error) {
	if p.isClosed() {
		return nil, fmt.Errorf("%w: participant %q has left", room.ErrClosed, p.id)
	}
	if p.lean != nil {
		lt, err := p.lean.publish(kind, c, opts)
		if err != nil {
			return nil, err
		}
		if err := p.started(lt); err != nil {
			return nil, err
		}
		return lt, nil
	}
	lt, err := p.newTrack(kind, c)
	if err != nil {
		return nil, err
	}
	pub, err := p.lk.Load().LocalParticipant.PublishTrack(lt.track, opts)
	if err != nil {
		if p.isClosed() {
			return nil, fmt.Errorf("%w: participant %q has left: %w", room.ErrClosed, p.id, err)
		}
		return nil, fmt.Errorf("livekit: publish %v: %w", kind, err)
	}
	lt.pub = pub
	if err := p.started(lt); err != nil {
		return nil, err
	}
	return lt, nil
}

// newTrack makes a local track of kind, not yet published.
func (p *participant) newTrack(kind room.TrackKind, c webrtc.RTPCodecCapability) (*localTrack, error) {
	if p.hidden {
		return nil, fmt.Errorf("%w: %q", ErrHiddenPublish, p.id)
	}
	var opts []lksdk.LocalTrackOptions
	var lt *localTrack
	if kind == room.TrackKindVideo {
		opts = append(opts, lksdk.WithRTCPHandler(func(pkt rtcp.Packet) { lt.onRTCP(pkt) }))
	}
	track, err := lksdk.NewLocalTrack(c, opts...)
	if err != nil {
		return nil, fmt.Errorf("livekit: new track: %w", err)
	}
	lt = newLocalTrack(p, kind, c.ClockRate, track)
	lt.mime = c.MimeType
	if kind == room.TrackKindAudio {
		track.OnBind(lt.onBind)
	}
	lt.track = track
	return lt, nil
}

// started registers lt, now published, as one of the participant's
// writers, mutes it if its kind is muted, and starts its writer.
func (p *participant) started(lt *localTrack) error {
	muted, err := p.addWriter(lt)
	if err != nil {
		return err
	}
	if muted {
		lt.pub.SetMuted(true)
	}
	p.log.Info("track published", "track", lt.pub.SID(), "codec", lt.mime)
	return nil
}

// addWriter registers lt with the participant and starts its writer,
// unless the participant has left; it says whether lt's kind is to be
// muted from the start.
func (p *participant) addWriter(lt *localTrack) (muted bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false, fmt.Errorf("%w: participant %q has left", room.ErrClosed, p.id)
	}
	p.writers[lt] = true
	lt.start()
	if lt.pub != nil && p.subscribedEarly[lt.pub.SID()] {
		lt.subscribed.Store(true)
	}
	return p.muted[lt.kind], nil
}

// onRTCP passes keyframe requests (PLI, FIR) from LiveKit on as
// EventKeyframeRequested, at most one per 300 ms.
func (lt *localTrack) onRTCP(pkt rtcp.Packet) {
	switch pkt.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
	default:
		return
	}
	lt.mu.Lock()
	now := time.Now()
	if now.Sub(lt.lastKey) < 300*time.Millisecond || lt.pub == nil {
		lt.mu.Unlock()
		return
	}
	lt.lastKey = now
	sid := lt.pub.SID()
	lt.mu.Unlock()
	lt.p.emit(room.Event{Type: room.EventKeyframeRequested, TrackID: sid})
}

// check says why nothing can be written, if so; mu is held.
func (lt *localTrack) check() error {
	if lt.ended {
		return fmt.Errorf("%w: track ended", room.ErrClosed)
	}
	return nil
}

// advance moves the timestamp by dur; mu is held.
func (lt *localTrack) advance(dur time.Duration) {
	total := dur*time.Duration(lt.clock) + lt.frac
	ticks := total / time.Second
	lt.frac = total - ticks*time.Second
	lt.ts += uint32(ticks)
}

// next numbers the next packet; mu is held.
func (lt *localTrack) next(marker bool) outPacket {
	o := outPacket{seq: lt.seq, ts: lt.ts, marker: marker}
	lt.seq++
	return o
}

// muted says whether the publication is muted (by us or by someone else):
// LiveKit would drop the packets anyway.
func (lt *localTrack) muted() bool { return lt.pub != nil && lt.pub.IsMuted() }

// end marks the track ended (participant gone) and stops its writer.
func (lt *localTrack) end() {
	lt.mu.Lock()
	lt.ended = true
	lt.mu.Unlock()
	lt.out.Close()
}

// close unpublishes the track.
func (lt *localTrack) close() error {
	lt.mu.Lock()
	if lt.ended {
		lt.mu.Unlock()
		return nil
	}
	lt.ended = true
	lt.mu.Unlock()
	lt.out.Close()
	lt.p.mu.Lock()
	delete(lt.p.writers, lt)
	lt.p.mu.Unlock()
	if lt.p.lean != nil {
		return lt.p.lean.unpublish(lt)
	}
	if err := lt.p.lk.Load().LocalParticipant.UnpublishTrack(lt.pub.SID()); err != nil {
		return fmt.Errorf("livekit: unpublish: %w", err)
	}
	return nil
}

// audioWriter is a participant's Opus track.
type audioWriter localTrack

var (
	_ room.AudioWriter      = (*audioWriter)(nil)
	_ room.AudioLevelWriter = (*audioWriter)(nil)
	_ room.ListenedWriter   = (*audioWriter)(nil)
)

// WriteAudio implements room.AudioWriter.
func (w *audioWriter) WriteAudio(frame []byte, dur time.Duration) error {
	return w.write(frame, dur, 0, false)
}

// WriteAudioLevel implements room.AudioLevelWriter: the level travels in
// the RFC 6464 extension, from which LiveKit finds the active speakers.
func (w *audioWriter) WriteAudioLevel(frame []byte, dur time.Duration, level uint8) error {
	return w.write(frame, dur, level, true)
}

// write numbers the frame's packet under the lock and queues it after
// releasing it; the track's goroutine writes it to LiveKit.
func (w *audioWriter) write(frame []byte, dur time.Duration, level uint8, hasLevel bool) error {
	lt := (*localTrack)(w)
	if len(frame) > maxPayload {
		return fmt.Errorf("%w: %d bytes of audio", ErrFrameTooLarge, len(frame))
	}
	lt.mu.Lock()
	if err := lt.check(); err != nil {
		lt.mu.Unlock()
		return err
	}
	// Empty (discontinuous transmission) and muted frames keep their place
	// in the timeline and send nothing.
	send := len(frame) > 0 && !lt.muted()
	var o outPacket
	if send {
		o = lt.next(false)
		o.level, o.hasLevel = level, hasLevel
	}
	lt.advance(dur)
	lt.mu.Unlock()
	if send {
		lt.queue(o, frame)
	}
	return nil
}

// Listened implements room.ListenedWriter (see listeners.go).
func (w *audioWriter) Listened() bool { return w.p.listened((*localTrack)(w)) }

// Close implements room.AudioWriter.
func (w *audioWriter) Close() error { return (*localTrack)(w).close() }

// videoWriter is a participant's H.264 or VP8 track.
type videoWriter localTrack

var (
	_ room.VideoWriter = (*videoWriter)(nil)
	_ room.TrackIDer   = (*videoWriter)(nil)
)

// WriteVideo implements room.VideoWriter: the access unit (Annex B for
// H.264) is split into RTP payloads (RFC 6184 FU-A/STAP-A, RFC 7741), the
// last one marked, numbered under the lock and queued after releasing it.
func (w *videoWriter) WriteVideo(au []byte, dur time.Duration) error {
	lt := (*localTrack)(w)
	lt.mu.Lock()
	if err := lt.check(); err != nil {
		lt.mu.Unlock()
		return err
	}
	var payloads [][]byte
	first := lt.seq
	if !lt.muted() {
		// The payloader returns new slices: they stay valid after the
		// lock is released.
		payloads = lt.payload.Payload(maxPayload, au)
		lt.seq += uint16(len(payloads))
	}
	ts := lt.ts
	lt.advance(dur)
	lt.mu.Unlock()
	for i, pl := range payloads {
		lt.queue(outPacket{seq: first + uint16(i), ts: ts, marker: i == len(payloads)-1}, pl)
	}
	return nil
}

// Close implements room.VideoWriter.
func (w *videoWriter) Close() error { return (*localTrack)(w).close() }

// TrackID implements room.TrackIDer: the publication's SID, set before
// PublishVideo returns.
func (w *videoWriter) TrackID() string { return (*localTrack)(w).pub.SID() }
