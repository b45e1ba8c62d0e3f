package sfu

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/roombridge/roombridge/gateway/room"
)

// maxPayload is the largest RTP payload the packetizers produce: it leaves
// room for headers, extensions and SRTP within a 1280-byte IPv6 path MTU.
const maxPayload = 1200

// rtpSource numbers a bot's packets: random initial sequence number and
// timestamp (RFC 3550 §5.1), timestamps advanced by each frame's duration.
//
// mu is held while a packet is numbered and handed to the subscribers:
// copied into each WebRTC subscriber's send queue, or depacketized into a
// bot subscriber's frame queue. Neither waits for anyone, and nothing under
// mu writes to the network: each WebRTC subscriber's own goroutine does
// (sender.go). The hand-off stays under mu because every subscriber's
// forwarding state (sequence offsets, depacketizers) has one writer at a
// time, the track's source.
type rtpSource struct {
	mu    sync.Mutex
	t     *pubTrack
	hdr   rtp.Header
	fp    fwdPacket
	clock uint32
	// frac carries the sub-tick remainder of durations that are not a
	// whole number of clock ticks.
	frac time.Duration
}

func newRTPSource(t *pubTrack) rtpSource {
	var seed [6]byte
	_, _ = rand.Read(seed[:])
	return rtpSource{
		t: t, clock: t.codec.ClockRate,
		hdr: rtp.Header{
			Version:        2,
			SequenceNumber: binary.BigEndian.Uint16(seed[:2]),
			Timestamp:      binary.BigEndian.Uint32(seed[2:]),
		},
	}
}

// emit hands one packet to the track's subscribers and advances the
// sequence number; the caller holds mu.
func (s *rtpSource) emit(payload []byte, marker bool) {
	s.hdr.Marker = marker
	s.fp.hdr = &s.hdr
	s.fp.payload = payload
	s.t.forward(&s.fp)
	s.hdr.SequenceNumber++
}

// advance moves the timestamp by dur; the caller holds mu.
func (s *rtpSource) advance(dur time.Duration) {
	total := dur*time.Duration(s.clock) + s.frac
	ticks := total / time.Second
	s.frac = total - ticks*time.Second
	s.hdr.Timestamp += uint32(ticks)
}

// check says why nothing can be written, if so.
func (s *rtpSource) check() error {
	if s.t.ended.Load() {
		return fmt.Errorf("%w: track %s ended", room.ErrClosed, s.t.id)
	}
	return nil
}

// audioWriter is a bot's Opus track.
type audioWriter struct{ rtpSource }

var (
	_ room.AudioWriter      = (*audioWriter)(nil)
	_ room.AudioLevelWriter = (*audioWriter)(nil)
	_ room.ListenedWriter   = (*audioWriter)(nil)
)

// Listened implements room.ListenedWriter.
func (w *audioWriter) Listened() bool { return w.t.listeners.Load() > 0 }

func newAudioWriter(t *pubTrack) *audioWriter { return &audioWriter{rtpSource: newRTPSource(t)} }

// WriteAudio implements room.AudioWriter.
func (w *audioWriter) WriteAudio(frame []byte, dur time.Duration) error {
	return w.write(frame, dur, 0, false)
}

// WriteAudioLevel implements room.AudioLevelWriter: level feeds active
// speaker detection and is sent to WebRTC subscribers in the RFC 6464
// extension.
func (w *audioWriter) WriteAudioLevel(frame []byte, dur time.Duration, level uint8) error {
	return w.write(frame, dur, level, true)
}

func (w *audioWriter) write(frame []byte, dur time.Duration, level uint8, hasLevel bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.check(); err != nil {
		return err
	}
	if len(frame) == 0 {
		// Discontinuous transmission: the pause stays in the timeline.
		w.advance(dur)
		return nil
	}
	if len(frame) > maxPayload {
		return fmt.Errorf("%w: %d bytes of audio", ErrFrameTooLarge, len(frame))
	}
	// A muted track still advances its clock so that unmuting does not
	// squeeze the pause out of the timeline; forward drops the packet.
	if !w.t.muted.Load() {
		w.fp.level, w.fp.hasLevel = level&0x7f, hasLevel
		w.emit(frame, false)
	}
	w.advance(dur)
	return nil
}

// Close implements room.AudioWriter.
func (w *audioWriter) Close() error {
	w.t.owner.room.unpublish(w.t)
	return nil
}

// videoWriter is a bot's H.264 or VP8 track.
type videoWriter struct {
	rtpSource
	vp8     bool
	scratch [maxPayload]byte
}

var (
	_ room.VideoWriter = (*videoWriter)(nil)
	_ room.TrackIDer   = (*videoWriter)(nil)
)

func newVideoWriter(t *pubTrack) *videoWriter {
	return &videoWriter{rtpSource: newRTPSource(t), vp8: t.codec.isVP8()}
}

// WriteVideo implements room.VideoWriter.
func (w *videoWriter) WriteVideo(au []byte, dur time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.check(); err != nil {
		return err
	}
	w.fp.hasLevel = false
	if !w.t.muted.Load() {
		if w.vp8 {
			packetizeVP8(au, w.scratch[:], &w.rtpSource)
		} else {
			packetizeH264(au, w.scratch[:], &w.rtpSource)
		}
	}
	w.advance(dur)
	return nil
}

// Close implements room.VideoWriter.
func (w *videoWriter) Close() error {
	w.t.owner.room.unpublish(w.t)
	return nil
}

// TrackID implements room.TrackIDer.
func (w *videoWriter) TrackID() string { return w.t.id }

// emitter takes the payloads a packetizer produces.
type emitter interface {
	emit(payload []byte, marker bool)
}
