package livekit

import (
	"strings"
	"sync/atomic"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/framequeue"
)

// Frames a remote track keeps for a slow reader before dropping the oldest:
// one second of 20 ms audio, about one second of video.
const (
	audioFrameQueue = 50
	videoFrameQueue = 32
	// maxFrame bounds a reassembled video frame; a larger one is dropped
	// as damaged.
	maxFrame = 4 << 20
)

// remoteTrack is another participant's track as the gateway reads it: a
// goroutine reads RTP from the SDK's TrackRemote, depacketizes into frames
// and queues them in a fixed ring of reused buffers; ReadFrame takes them
// out. The reader never waits for ReadFrame.
type remoteTrack struct {
	id     string
	kind   room.TrackKind
	codec  string
	track  *webrtc.TrackRemote
	rp     *lksdk.RemoteParticipant
	owner  string
	source room.TrackSource

	// Reader goroutine state.
	started bool
	lastSeq uint16
	gap     bool
	h264    codecs.H264Packet
	vp8     codecs.VP8Packet
	frame   []byte
	frameTS uint32
	valid   bool // frame holds the beginning of the current frame

	q *framequeue.Queue
	// draining is set by release: the reader's queue is closed, but RTP
	// is read (and dropped) until the track ends.
	draining atomic.Bool
}

var (
	_ room.RemoteTrack = (*remoteTrack)(nil)
	_ room.FramePoller = (*remoteTrack)(nil)
)

func newRemoteTrack(id string, kind room.TrackKind, track *webrtc.TrackRemote, rp *lksdk.RemoteParticipant) *remoteTrack {
	n := audioFrameQueue
	if kind == room.TrackKindVideo {
		n = videoFrameQueue
	}
	return &remoteTrack{
		id: id, kind: kind, codec: track.Codec().MimeType, track: track, rp: rp, owner: rp.Identity(),
		q: framequeue.New(n),
	}
}

// ID implements room.RemoteTrack.
func (t *remoteTrack) ID() string { return t.id }

// Kind implements room.RemoteTrack.
func (t *remoteTrack) Kind() room.TrackKind { return t.kind }

// Codec implements room.RemoteTrack.
func (t *remoteTrack) Codec() string { return t.codec }

// ParticipantID implements room.RemoteTrack.
func (t *remoteTrack) ParticipantID() string { return t.owner }

// readLoop reads RTP until the track or its PeerConnection ends, or the
// track is closed.
func (t *remoteTrack) readLoop() {
	defer t.close()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := t.track.Read(buf)
		if err != nil {
			return
		}
		if t.q.Closed() {
			if t.draining.Load() {
				continue // released: read until LiveKit ends the track
			}
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		t.packet(&pkt)
	}
}

// packet depacketizes one RTP packet.
func (t *remoteTrack) packet(p *rtp.Packet) {
	seq := p.SequenceNumber
	lost := false
	if t.started {
		d := int16(seq - t.lastSeq)
		if d <= 0 {
			return // duplicate or late: its frame is gone
		}
		if d > 1 {
			lost, t.gap = true, true
		}
	}
	t.started, t.lastSeq = true, seq
	if len(p.Payload) == 0 {
		return // padding
	}
	switch {
	case t.kind == room.TrackKindAudio:
		t.queue(p.Payload, room.FrameInfo{Timestamp: p.Timestamp, Gap: t.gap})
		t.gap = false
	case strings.EqualFold(t.codec, webrtc.MimeTypeH264):
		t.pushH264(p, lost)
	case strings.EqualFold(t.codec, webrtc.MimeTypeVP8):
		t.pushVP8(p, lost)
	}
}

// pushH264 collects the NAL units of one access unit (RFC 6184: single NAL,
// STAP-A, FU-A) in Annex B form until the marker bit or a new timestamp.
func (t *remoteTrack) pushH264(p *rtp.Packet, lost bool) {
	if len(t.frame) > 0 && p.Timestamp != t.frameTS {
		t.flush(isH264Key(t.frame)) // the previous access unit ended without a marker
	}
	if lost {
		t.h264 = codecs.H264Packet{} // drop a half-built FU-A
	}
	t.frameTS = p.Timestamp
	nals, err := t.h264.Unmarshal(p.Payload)
	if err == nil && len(t.frame)+len(nals) <= maxFrame {
		t.frame = append(t.frame, nals...)
	}
	if p.Marker {
		t.flush(isH264Key(t.frame))
	}
}

// pushVP8 collects the partitions of one VP8 frame (RFC 7741) from its start
// bit to the marker; a frame with a piece missing is dropped.
func (t *remoteTrack) pushVP8(p *rtp.Packet, lost bool) {
	data, err := t.vp8.Unmarshal(p.Payload)
	if err != nil {
		t.valid = false
		return
	}
	if t.vp8.S == 1 && t.vp8.PID == 0 {
		t.frame, t.valid, t.frameTS = t.frame[:0], true, p.Timestamp
	} else if lost || p.Timestamp != t.frameTS {
		t.valid = false
	}
	if !t.valid {
		return
	}
	if len(t.frame)+len(data) > maxFrame {
		t.valid = false
		return
	}
	t.frame = append(t.frame, data...)
	if p.Marker {
		t.flush(len(t.frame) > 0 && t.frame[0]&0x01 == 0)
		t.valid = false
	}
}

// flush queues the frame being built.
func (t *remoteTrack) flush(key bool) {
	if len(t.frame) > 0 {
		t.queue(t.frame, room.FrameInfo{Timestamp: t.frameTS, Keyframe: key, Gap: t.gap})
		t.gap = false
	}
	t.frame = t.frame[:0]
}

// isH264Key says whether an Annex B access unit holds an IDR slice.
func isH264Key(au []byte) bool {
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			if au[i+3]&0x1f == 5 {
				return true
			}
			i += 2
		}
	}
	return false
}

// queue hands a frame to the reader, dropping the oldest when it lags.
func (t *remoteTrack) queue(frame []byte, info room.FrameInfo) { t.q.Push(frame, info) }

// ReadFrame implements room.RemoteTrack. Frames queued before the track
// ended are still returned, then io.EOF.
func (t *remoteTrack) ReadFrame(buf []byte) (int, room.FrameInfo, error) { return t.q.Read(buf) }

// PollFrame and Queued implement room.FramePoller: the room hub's clock
// takes frames straight from the queue, with no reader goroutine.
func (t *remoteTrack) PollFrame(buf []byte) (int, room.FrameInfo, error) { return t.q.PollFrame(buf) }

// Queued implements room.FramePoller.
func (t *remoteTrack) Queued() int { return t.q.Queued() }

// close ends the track: ReadFrame returns what is queued, then io.EOF.
func (t *remoteTrack) close() { t.q.Close() }

// release ends the track for its reader (io.EOF once the queue is read)
// while the RTP is still read until LiveKit ends the track, which tells
// the participant that the unsubscription has been applied.
func (t *remoteTrack) release() {
	t.draining.Store(true)
	t.q.Close()
}
