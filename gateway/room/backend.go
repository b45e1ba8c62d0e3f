package room

import (
	"context"
	"time"
)

// Backend is where rooms live. Join puts a participant into a room, creating
// the room when it does not exist yet (rooms are validated by the gateway's
// store before Join is called).
type Backend interface {
	Join(ctx context.Context, room string, p ParticipantInfo) (Participant, error)
}

// Directory is the administrative side of a Backend, used by the room API and
// the admin page. Both backends implement it next to Backend.
type Directory interface {
	// Participants lists the visible participants of a room; an empty list
	// (not an error) when nobody is in it.
	Participants(ctx context.Context, room string) ([]ParticipantState, error)
	// MuteParticipant mutes or unmutes a participant's tracks of one kind.
	// Returns ErrParticipantNotFound when the id is not in the room.
	MuteParticipant(ctx context.Context, room, id string, kind TrackKind, muted bool) error
	// RemoveParticipant disconnects a participant (kick).
	RemoveParticipant(ctx context.Context, room, id, reason string) error
	// CloseRoom disconnects every participant of a room.
	CloseRoom(ctx context.Context, room string) error
}

// RoomCreator is implemented by backends whose rooms exist apart from their
// participants (LiveKit): the gateway creates the backend's room when a room
// is created in the store, so that other clients of the backend can find it
// before the first phone joins. Creating an existing room is not an error.
type RoomCreator interface {
	CreateRoom(ctx context.Context, room string) error
}

// ParticipantInfo describes who is joining.
type ParticipantInfo struct {
	// Identity is unique within the room; the backend generates one when empty.
	Identity string
	// Name is shown to other participants (display name or masked number).
	Name string
	Kind ParticipantKind
	// Hidden participants (the room audio hub, recorders) are not listed by
	// the Directory nor announced to others, and publish nothing.
	Hidden bool
	// PublishOnly says that the participant only publishes (a phone leg,
	// whose room audio comes from the hub). A backend may then join it
	// with a lighter client that cannot subscribe (LiveKit: one
	// PeerConnection instead of two). Should it call OnTrack after all (a
	// re-INVITE added video to an audio call), the backend receives for
	// it by other means (LiveKit: a hidden companion participant, joined
	// then and left at ReleaseTracks or Leave).
	PublishOnly bool
	// Attributes are free-form key/values visible to other participants.
	Attributes map[string]string
}

// AttrNode is the attribute that names the gateway node (node.id) a
// participant's leg runs on, so that a listing from a backend shared by
// several nodes (LiveKit) says where each phone is.
const AttrNode = "roombridge.node"

// ParticipantState is a participant as listed by Directory.Participants.
type ParticipantState struct {
	ID         string
	Name       string
	Kind       ParticipantKind
	Tracks     []TrackState
	AudioMuted bool
	VideoMuted bool
	JoinedAt   time.Time
	Attributes map[string]string
	// Pinned is set on the room's pinned participant (see Pinner).
	Pinned bool
}

// TrackState is one published track as listed by Directory.Participants.
type TrackState struct {
	ID    string
	Kind  TrackKind
	Codec string // MIME type, e.g. "audio/opus", "video/H264"
	Muted bool
	// Source tells a camera from a screen share (video only).
	Source TrackSource
}

// Participant is one member of a room, seen from the gateway. Methods are safe
// for concurrent use.
type Participant interface {
	// ID is the participant's identity in the room.
	ID() string
	// PublishAudio starts an audio track; frames written to it are Opus
	// frames of the codec's frame duration (20 ms).
	PublishAudio(codec AudioCodec) (AudioWriter, error)
	// PublishVideo starts a video track; frames written to it are whole
	// H.264 access units in Annex B form (or VP8 frames).
	PublishVideo(codec VideoCodec) (VideoWriter, error)
	// OnTrack registers the handler called for every track of another
	// participant, already published or published later. Register it before
	// publishing so that no track is missed; a second call replaces it.
	OnTrack(func(RemoteTrack))
	// RequestKeyframe asks the publisher of a remote video track for a
	// keyframe (RTCP PLI towards WebRTC publishers).
	RequestKeyframe(trackID string) error
	// SetMuted mutes or unmutes this participant's own tracks of a kind; a
	// muted track sends nothing to subscribers.
	SetMuted(kind TrackKind, muted bool) error
	// Events delivers room events for this participant. It is closed after
	// Leave or after an EventRemoved. Slow readers lose events rather than
	// stall the room.
	Events() <-chan Event
	// Leave removes the participant and releases everything it holds; it is
	// idempotent and waits for the participant's goroutines to end.
	Leave(reason string) error
}

// AudioCodec describes a published audio track.
type AudioCodec struct {
	MimeType      string        // "audio/opus"
	ClockRate     uint32        // 48000 for Opus
	Channels      uint16        // 2 in SDP for Opus, whatever is sent
	FrameDuration time.Duration // 20 ms unless said otherwise
}

// VideoCodec describes a published video track.
type VideoCodec struct {
	MimeType  string // "video/H264" or "video/VP8"
	ClockRate uint32 // 90000
	// FmtpLine for H.264, e.g. "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".
	FmtpLine string
	// Source says whether the track is a camera (the default) or a
	// screen share (a room system's content stream).
	Source TrackSource
}

// AudioWriter carries one published audio track.
type AudioWriter interface {
	// WriteAudio sends one encoded frame lasting dur. The backend may keep
	// no reference to frame after it returns. An empty frame sends nothing
	// and only advances the track's clock by dur: that is how a writer skips
	// silent frames (discontinuous transmission) without squeezing the pause
	// out of the RTP timeline. It is called on the room audio hub's 20 ms
	// clock, which every phone of the room shares: it must not wait for the
	// network, a lock held across a write, or a subscriber.
	WriteAudio(frame []byte, dur time.Duration) error
	// Close unpublishes the track.
	Close() error
}

// VideoWriter carries one published video track.
type VideoWriter interface {
	// WriteVideo sends one access unit lasting dur (the time until the next).
	WriteVideo(accessUnit []byte, dur time.Duration) error
	Close() error
}

// RemoteTrack is a track of another participant, received by a Participant.
type RemoteTrack interface {
	ID() string
	Kind() TrackKind
	Codec() string // MIME type
	// ParticipantID is the publisher's identity.
	ParticipantID() string
	// ReadFrame reads the next Opus frame (audio) or H.264 access unit in
	// Annex B form (video) into buf. It returns io.EOF once the track has
	// ended (unpublished, publisher left, or the reader left) and
	// io.ErrShortBuffer when buf cannot hold the frame.
	ReadFrame(buf []byte) (int, FrameInfo, error)
}

// FramePoller is implemented by RemoteTracks whose frames can be taken
// without waiting, so that a reader on a media clock (the room audio hub)
// takes them straight from the backend's queue on its own goroutine: no
// reader goroutine and no second queue per track. Both methods are safe
// to call concurrently with the backend's forwarder.
type FramePoller interface {
	// PollFrame is ReadFrame without waiting: it returns ErrNoFrame at
	// once when no frame is queued (io.EOF once the track has ended and
	// everything queued was read).
	PollFrame(buf []byte) (int, FrameInfo, error)
	// Queued is how many frames wait to be read.
	Queued() int
}

// FrameInfo describes a frame read from a RemoteTrack.
type FrameInfo struct {
	// Timestamp in the track's clock (48 kHz for Opus, 90 kHz for video).
	Timestamp uint32
	// Keyframe is set on video access units that start with an IDR (or a
	// VP8 key frame).
	Keyframe bool
	// Gap is set when packets were lost before this frame.
	Gap bool
}

// Event is something that happened in a participant's room.
type Event struct {
	Type        EventType
	Participant ParticipantState // for joined/left
	Speakers    []string         // for active speakers, loudest first
	Kind        TrackKind        // for muted
	Muted       bool             // for muted
	TrackID     string           // for keyframe requested
	Reason      string           // for removed
	Pinned      string           // for pinned: the pinned participant, "" once unpinned
	Bitrate     int              // for video bitrate: bit/s, 0 for no limit
}

// ListenedWriter is implemented by writers that know whether anyone
// receives their track. Hidden participants on the same node (the room audio
// hub, which takes SIP legs' PCM directly) do not count. While Listened is
// false a publisher may skip encoding and write empty frames, which keep the
// track's clock without sending anything: in a room of phones only, nobody
// needs the legs' Opus at all.
type ListenedWriter interface {
	Listened() bool
}

// TrackFilter is implemented by participants that can leave some
// publishers' tracks unsubscribed. The room hub never subscribes to its own
// node's phone legs, whose PCM it mixes directly, so the backend forwards
// it nothing of theirs. Set it before OnTrack; want is called with a
// publisher's identity, from the backend's goroutines, and must not block.
type TrackFilter interface {
	SetTrackFilter(want func(participantID string) bool)
}

// AudioLevelWriter is implemented by AudioWriters that can carry each
// frame's audio level (RFC 6464: 0 is loudest, 127 is silence, in -dBov), so
// that phone participants take part in active-speaker detection without the
// backend decoding their audio.
type AudioLevelWriter interface {
	WriteAudioLevel(frame []byte, dur time.Duration, level uint8) error
}
