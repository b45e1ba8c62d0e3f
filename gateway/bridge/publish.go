package bridge

import (
	"sync/atomic"

	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/vad"
	"github.com/roombridge/roombridge/gateway/room"
)

// inFrame is what a leg took from its peer in one tick.
type inFrame struct {
	// pcm is the frame decoded or concealed at the leg's rate; nil when
	// nothing may reach the room (muted, on hold, an in-band key).
	pcm []int16
	// received is the payload as it arrived, nil when the frame was
	// concealed or held back.
	received []byte
	// voice is the voice detector's verdict on pcm.
	voice bool
	// level is pcm's level in dBov.
	level float64
}

// publisher hands a leg's audio to the room once per tick.
type publisher interface {
	publish(f *inFrame, t *roomTrack)
}

// roomTrack is the leg's published audio track, set by the call when the
// leg joins its room and read on the clock.
type roomTrack struct {
	w     room.AudioWriter
	level room.AudioLevelWriter // w, when it carries audio levels
	// listened is w, when it knows whether anyone receives the track:
	// nobody (a room of phones only) means no Opus encoding.
	listened room.ListenedWriter

	errs    atomic.Uint64 // failed writes or encodes
	unheard atomic.Uint64 // voice frames not encoded: nobody subscribed
}

func (t *roomTrack) set(w room.AudioWriter) {
	t.w = w
	t.level, _ = w.(room.AudioLevelWriter)
	t.listened, _ = w.(room.ListenedWriter)
}

// write sends one Opus frame (nil: a frame skipped, the track's clock only
// advances) with its level.
func (t *roomTrack) write(frame []byte, dBov float64) {
	var err error
	if t.level != nil && frame != nil {
		err = t.level.WriteAudioLevel(frame, FrameDuration, vad.AudioLevel(dBov))
	} else {
		err = t.w.WriteAudio(frame, FrameDuration)
	}
	if err != nil {
		t.errs.Add(1)
	}
}

// heard reports whether anyone outside the hub receives the track.
func (t *roomTrack) heard() bool { return t.listened == nil || t.listened.Listened() }

// encodePublisher is the publisher of a phone: voice frames are encoded to
// Opus at the phone's own rate (no resampling, and a narrowband phone costs
// a narrowband encode), silent ones skipped (discontinuous transmission),
// and nothing is encoded while nobody but the hub, which mixes the PCM,
// receives the track. The encoder (about 50 KiB of libopus state, a third
// of a phone leg's memory) is made the first time a voice frame is heard,
// so that the legs of rooms of phones only never carry one.
type encodePublisher struct {
	rate int
	cfg  opus.EncoderConfig
	enc  encoder // nil until first needed
	buf  []byte
}

func newEncodePublisher(rate int, cfg opus.EncoderConfig) (*encodePublisher, error) {
	if err := opus.CheckEncoder(rate, 1, cfg); err != nil {
		return nil, err
	}
	return &encodePublisher{rate: rate, cfg: cfg}, nil
}

// encoder returns the publisher's encoder, made on first use: once per
// leg, on the clock, when the first listener arrives.
func (p *encodePublisher) encoder() (encoder, error) {
	if p.enc == nil {
		enc, err := opus.NewEncoder(p.rate, 1, p.cfg)
		if err != nil {
			return nil, err
		}
		p.enc, p.buf = opusEncoder{enc}, make([]byte, opus.MaxFrameBytes)
	}
	return p.enc, nil
}

func (p *encodePublisher) publish(f *inFrame, t *roomTrack) {
	if !f.voice {
		t.write(nil, f.level)
		return
	}
	if !t.heard() {
		t.unheard.Add(1)
		t.write(nil, f.level)
		return
	}
	enc, err := p.encoder()
	if err != nil {
		t.errs.Add(1)
		return
	}
	n, err := enc.encode(p.buf, f.pcm)
	if err != nil {
		t.errs.Add(1)
		return
	}
	t.write(p.buf[:n], f.level)
}

// passthroughPublisher is the publisher of an Opus leg: every frame goes
// to the room exactly as it arrived, whatever the voice detector says (the
// sender's own DTX decides what is silence); concealed and held-back frames
// only advance the track's clock. Nothing is decoded or encoded for the
// room.
type passthroughPublisher struct{}

func (passthroughPublisher) publish(f *inFrame, t *roomTrack) { t.write(f.received, f.level) }
