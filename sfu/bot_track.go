package sfu

import (
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/framequeue"
)

// Frames a bot's remote track keeps for a slow reader before dropping the
// oldest: one second of 20 ms audio, about one second of video.
const (
	audioFrameQueue = 50
	videoFrameQueue = 32
)

// botTrack is another participant's track as a bot reads it: the forwarder
// depacketizes into frames and queues them in a fixed ring of reused
// buffers; ReadFrame takes them out. The forwarder never waits for the
// reader.
type botTrack struct {
	src *pubTrack
	bot *bot

	// Forwarder state.
	started  bool
	lastSeq  uint16
	epoch    uint32
	gap      bool // loss seen since the last frame was queued
	h264     h264Assembler
	vp8      []byte
	vp8Key   bool
	vp8Valid bool
	ts       uint32

	q *framequeue.Queue
}

var (
	_ room.RemoteTrack  = (*botTrack)(nil)
	_ room.FramePoller  = (*botTrack)(nil)
	_ room.SourcedTrack = (*botTrack)(nil)
)

// Source implements room.SourcedTrack.
func (t *botTrack) Source() room.TrackSource { return t.src.source }

func newBotTrack(src *pubTrack, b *bot) *botTrack {
	n := audioFrameQueue
	if src.kind == room.TrackKindVideo {
		n = videoFrameQueue
	}
	return &botTrack{
		src: src, bot: b, q: framequeue.New(n),
	}
}

// ID implements room.RemoteTrack.
func (t *botTrack) ID() string { return t.src.id }

// Kind implements room.RemoteTrack.
func (t *botTrack) Kind() room.TrackKind { return t.src.kind }

// Codec implements room.RemoteTrack.
func (t *botTrack) Codec() string { return t.src.codec.MimeType }

// ParticipantID implements room.RemoteTrack.
func (t *botTrack) ParticipantID() string { return t.src.owner.id }

// writePacket implements subscriber: the depacketizer, on the forwarder's
// goroutine.
func (t *botTrack) writePacket(p *fwdPacket) {
	seq := p.hdr.SequenceNumber
	lost := false
	if ep := t.src.epoch.Load(); t.started && ep == t.epoch && seq != t.lastSeq+1 {
		if int16(seq-t.lastSeq) <= 0 {
			return // duplicate or late: the frame it belonged to is gone
		}
		lost = true
		t.gap = true
	} else if t.started && ep != t.epoch {
		// Mute in between: the frame being built is stale.
		t.h264.reset()
		t.vp8Valid = false
		t.epoch = ep
	} else if !t.started {
		t.epoch = ep
	}
	t.started, t.lastSeq = true, seq

	switch {
	case t.src.kind == room.TrackKindAudio:
		t.queue(p.payload, room.FrameInfo{Timestamp: p.hdr.Timestamp, Gap: t.gap})
		t.gap = false
	case t.src.codec.isH264():
		if len(t.h264.buf) > 0 && p.hdr.Timestamp != t.ts {
			t.flushH264() // previous access unit ended without a marker
		}
		t.ts = p.hdr.Timestamp
		t.h264.push(p.payload, lost)
		if p.hdr.Marker {
			t.flushH264()
		}
	case t.src.codec.isVP8():
		t.pushVP8(p, lost)
	}
}

func (t *botTrack) flushH264() {
	if au := t.h264.complete(); len(au) > 0 {
		t.queue(au, room.FrameInfo{Timestamp: t.ts, Keyframe: t.h264.key, Gap: t.gap})
		t.gap = false
	}
	t.h264.reset()
}

func (t *botTrack) pushVP8(p *fwdPacket, lost bool) {
	data, start, ok := vp8Payload(p.payload)
	if !ok {
		return
	}
	if start {
		t.vp8, t.vp8Valid = t.vp8[:0], true
		t.vp8Key = len(data) > 0 && data[0]&0x01 == 0
		t.ts = p.hdr.Timestamp
	} else if lost || p.hdr.Timestamp != t.ts {
		t.vp8Valid = false // a piece of this frame is missing
	}
	if !t.vp8Valid {
		return
	}
	t.vp8 = append(t.vp8, data...)
	if p.hdr.Marker {
		t.queue(t.vp8, room.FrameInfo{Timestamp: t.ts, Keyframe: t.vp8Key, Gap: t.gap})
		t.gap = false
		t.vp8Valid = false
	}
}

// queue hands a frame to the reader, dropping the oldest when it lags.
func (t *botTrack) queue(frame []byte, info room.FrameInfo) { t.q.Push(frame, info) }

// ReadFrame implements room.RemoteTrack. Frames queued before the track
// ended are still returned, then io.EOF.
func (t *botTrack) ReadFrame(buf []byte) (int, room.FrameInfo, error) { return t.q.Read(buf) }

// PollFrame and Queued implement room.FramePoller: the room hub's clock
// takes frames straight from the queue, with no reader goroutine.
func (t *botTrack) PollFrame(buf []byte) (int, room.FrameInfo, error) { return t.q.PollFrame(buf) }

// Queued implements room.FramePoller.
func (t *botTrack) Queued() int { return t.q.Queued() }

// listens implements subscriber: a hidden bot (the gateway's room hub)
// does not count, because it mixes SIP legs' PCM directly and drops their
// Opus.
func (t *botTrack) listens() bool { return !t.bot.m.hidden }

// trackEnded implements subscriber.
func (t *botTrack) trackEnded() {
	t.close()
	t.bot.mu.Lock()
	if t.bot.subs[t.src] == t {
		delete(t.bot.subs, t.src)
	}
	t.bot.mu.Unlock()
}

func (t *botTrack) close() { t.q.Close() }
