package livekit

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/room"
)

// maxPayload is the largest RTP payload the writers produce, as in the
// embedded SFU: room for headers, extensions and SRTP within 1280 bytes.
const maxPayload = 1200

// localTrack is a track this participant publishes. The writers number the
// RTP packets themselves (sequence numbers and timestamps, RFC 3550 §5.1)
// and hand them to the SDK's LocalTrack, which only adds the audio level
// extension and sends: that is what lets an empty audio frame move the
// clock without sending anything, and keeps the timeline exact whatever
// the frame durations.
type localTrack struct {
	p     *participant
	kind  room.TrackKind
	track *lksdk.LocalTrack
	pub   *lksdk.LocalTrackPublication

	mu      sync.Mutex
	pkt     rtp.Packet
	clock   uint32
	frac    time.Duration
	ended   bool
	payload rtp.Payloader // video only
	lastKey time.Time     // last keyframe request passed on
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
	lt, err := p.publish(room.TrackKindAudio, opusCapability, &lksdk.TrackPublicationOptions{
		Name: "phone", Source: lkproto.TrackSource_MICROPHONE,
	})
	if err != nil {
		return nil, err
	}
	return (*audioWriter)(lt), nil
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
	lt, err := p.publish(room.TrackKindVideo, c, &lksdk.TrackPublicationOptions{
		Name: "camera", Source: lkproto.TrackSource_CAMERA, VideoWidth: 1280, VideoHeight: 720,
	})
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
	if p.hidden {
		return nil, fmt.Errorf("%w: %q", ErrHiddenPublish, p.id)
	}
	lt := &localTrack{p: p, kind: kind, clock: c.ClockRate}
	var seed [6]byte
	_, _ = rand.Read(seed[:])
	lt.pkt.Header = rtp.Header{
		Version:        2,
		SequenceNumber: binary.BigEndian.Uint16(seed[:2]),
		Timestamp:      binary.BigEndian.Uint32(seed[2:]),
	}
	var opts2 []lksdk.LocalTrackOptions
	if kind == room.TrackKindVideo {
		opts2 = append(opts2, lksdk.WithRTCPHandler(lt.onRTCP))
	}
	track, err := lksdk.NewLocalTrack(c, opts2...)
	if err != nil {
		return nil, fmt.Errorf("livekit: new track: %w", err)
	}
	lt.track = track
	pub, err := p.lk.LocalParticipant.PublishTrack(track, opts)
	if err != nil {
		if p.isClosed() {
			return nil, fmt.Errorf("%w: participant %q has left: %w", room.ErrClosed, p.id, err)
		}
		return nil, fmt.Errorf("livekit: publish %v: %w", kind, err)
	}
	lt.pub = pub
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: participant %q has left", room.ErrClosed, p.id)
	}
	p.writers[lt] = true
	muted := p.muted[kind]
	p.mu.Unlock()
	if muted {
		pub.SetMuted(true)
	}
	p.log.Info("track published", "track", pub.SID(), "codec", c.MimeType)
	return lt, nil
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
	lt.pkt.Timestamp += uint32(ticks)
}

// send writes one packet and moves the sequence number; mu is held.
func (lt *localTrack) send(payload []byte, marker bool, opts *lksdk.SampleWriteOptions) error {
	lt.pkt.Marker = marker
	lt.pkt.Payload = payload
	if opts == nil && lt.pkt.Extension {
		// WriteRTP set the audio level of an earlier frame; this one has none.
		lt.pkt.Extension = false
		lt.pkt.Extensions = lt.pkt.Extensions[:0]
	}
	err := lt.track.WriteRTP(&lt.pkt, opts)
	lt.pkt.SequenceNumber++
	return err
}

// muted says whether the publication is muted (by us or by someone else):
// LiveKit would drop the packets anyway.
func (lt *localTrack) muted() bool { return lt.pub.IsMuted() }

// end marks the track ended (participant gone).
func (lt *localTrack) end() {
	lt.mu.Lock()
	lt.ended = true
	lt.mu.Unlock()
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
	lt.p.mu.Lock()
	delete(lt.p.writers, lt)
	lt.p.mu.Unlock()
	if err := lt.p.lk.LocalParticipant.UnpublishTrack(lt.pub.SID()); err != nil {
		return fmt.Errorf("livekit: unpublish: %w", err)
	}
	return nil
}

// audioWriter is a participant's Opus track.
type audioWriter localTrack

var (
	_ room.AudioWriter      = (*audioWriter)(nil)
	_ room.AudioLevelWriter = (*audioWriter)(nil)
)

// WriteAudio implements room.AudioWriter.
func (w *audioWriter) WriteAudio(frame []byte, dur time.Duration) error {
	return w.write(frame, dur, nil)
}

// WriteAudioLevel implements room.AudioLevelWriter: the level travels in
// the RFC 6464 extension, from which LiveKit finds the active speakers.
func (w *audioWriter) WriteAudioLevel(frame []byte, dur time.Duration, level uint8) error {
	level &= 0x7f
	return w.write(frame, dur, &lksdk.SampleWriteOptions{AudioLevel: &level})
}

func (w *audioWriter) write(frame []byte, dur time.Duration, opts *lksdk.SampleWriteOptions) error {
	lt := (*localTrack)(w)
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if err := lt.check(); err != nil {
		return err
	}
	if len(frame) > maxPayload {
		return fmt.Errorf("%w: %d bytes of audio", ErrFrameTooLarge, len(frame))
	}
	// Empty (discontinuous transmission) and muted frames keep their place
	// in the timeline.
	if len(frame) > 0 && !lt.muted() {
		if err := lt.send(frame, false, opts); err != nil {
			lt.advance(dur)
			return fmt.Errorf("livekit: write audio: %w", err)
		}
	}
	lt.advance(dur)
	return nil
}

// Close implements room.AudioWriter.
func (w *audioWriter) Close() error { return (*localTrack)(w).close() }

// videoWriter is a participant's H.264 or VP8 track.
type videoWriter localTrack

var _ room.VideoWriter = (*videoWriter)(nil)

// WriteVideo implements room.VideoWriter: the access unit (Annex B for
// H.264) is split into RTP payloads (RFC 6184 FU-A/STAP-A, RFC 7741), the
// last one marked.
func (w *videoWriter) WriteVideo(au []byte, dur time.Duration) error {
	lt := (*localTrack)(w)
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if err := lt.check(); err != nil {
		return err
	}
	var err error
	if !lt.muted() {
		payloads := lt.payload.Payload(maxPayload, au)
		for i, pl := range payloads {
			if e := lt.send(pl, i == len(payloads)-1, nil); e != nil && err == nil {
				err = fmt.Errorf("livekit: write video: %w", e)
			}
		}
	}
	lt.advance(dur)
	return err
}

// Close implements room.VideoWriter.
func (w *videoWriter) Close() error { return (*localTrack)(w).close() }
