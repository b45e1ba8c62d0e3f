package gateway

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/media/g711"
	"github.com/roombridge/roombridge/gateway/media/g722"
	"github.com/roombridge/roombridge/gateway/media/jitter"
	"github.com/roombridge/roombridge/gateway/media/mixer"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/plc"
	"github.com/roombridge/roombridge/gateway/media/resample"
	"github.com/roombridge/roombridge/gateway/media/vad"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
)

// Media timing shared by legs and hubs: every stage works on 20 ms frames,
// and the room mix runs at 16 kHz (wideband, the rate of G.722).
const (
	frameDur     = 20 * time.Millisecond
	hubRate      = 16000
	hubFrame     = hubRate / 50 // samples per tick in the mix
	rtpTSPerTick = 160          // 20 ms on the 8 kHz RTP clock of G.711 and G.722
	// maxConceal is how many frames in a row are concealed before a
	// missing stream is played as silence: PLC fades out by 60 ms anyway,
	// and repeating longer only sounds like a stuck record.
	maxConceal = 5
	// vadStartFloor is the noise floor a leg's voice detector starts from,
	// in dBov: the detector's own lowest voice level.
	vadStartFloor = -60.0
)

// runs reports whether a leg can run codec c.
func runs(c codec.ID) bool { return c == codec.PCMU || c == codec.PCMA || c == codec.G722 }

// legParams is what a leg is built from.
type legParams struct {
	id     string
	codec  codec.ID
	recvPT uint8 // the payload type we receive (our SDP's number)
	sendPT uint8 // the payload type we send (the peer's SDP's number)
	// DTMF: the telephone-event we receive (teRate 0: none negotiated,
	// or RFC 4733 not used on this trunk), whether the in-band detector
	// runs, and where digits go (a call-owned channel; full means dropped).
	tePT   uint8
	teRate int
	inband bool
	digits chan<- dtmf.Digit
}

// leg is the media of one SIP leg: the receive half runs on its RTP
// session's reader goroutine (HandleRTP → jitter buffer, telephone-events
// → digits), everything else on one clock goroutine: the leg's own while
// the caller is in the IVR (runClock), its room hub's once joined (pull
// before the mix, push after). All buffers are made once here, so a tick
// allocates nothing.
type leg struct {
	legParams
	jb *jitter.Buffer

	// DTMF: rx on the reader goroutine, det on the clock.
	rx         *dtmf.Receiver
	det        *dtmf.Detector
	detOut     []byte
	digitDrops atomic.Uint64
	// gate holds in-band keys back from the room (tonegate.go);
	// keyMuted counts the frames it held back.
	gate     toneGate
	keyMuted atomic.Uint64

	// prompt plays IVR prompts and in-call announcements to this leg only;
	// tones plays join and leave tones over them.
	prompt player
	tones  player

	// The leg's own clock, while it is not in a hub; owned by the call.
	clockStop chan struct{}
	clockDone chan struct{}

	// Set by the call before the leg joins its hub; read on the clock.
	sess   *rtp.Session
	writer room.AudioWriter
	level  room.AudioLevelWriter // writer, when it carries levels
	// listened is writer, when it knows whether anyone receives the
	// track: nobody (a room of phones only) means no Opus encoding.
	listened room.ListenedWriter

	// Changed by the call (re-INVITE, API mute), read on the clock.
	onHold atomic.Bool
	muted  atomic.Bool

	// Counters for logs and tests.
	pushErrs   atomic.Uint64 // jitter buffer refusals (oversized packets)
	publishErr atomic.Uint64 // failed writes to the room
	sendErrs   atomic.Uint64 // failed RTP writes
	unheard    atomic.Uint64 // voice frames not Opus-encoded: nobody subscribed

	// Clock goroutine state.
	src      *mixer.Source
	lis      *mixer.Listener
	payload  []byte  // jitter buffer output
	native   []int16 // the phone's audio at its codec rate
	wide     []int16 // the phone's audio at 16 kHz, into the mix
	mix      []int16 // the room minus this leg, at 16 kHz
	narrow   []int16 // the mix at 8 kHz, for G.711
	out      []byte  // encoded G.711/G.722 payload
	opusBuf  []byte
	conceal  *plc.Concealer
	lost     int // frames concealed in a row
	dec722   *g722.Decoder
	enc722   *g722.Encoder
	up       *resample.Resampler // 8 → 16 kHz; nil for G.722
	down     *resample.Resampler // 16 → 8 kHz; nil for G.722
	vad      *vad.Detector
	enc      *opus.Encoder
	wasVoice bool
	ts       uint32
	sent     bool
}

// maxLegPayload is the largest RTP payload a leg takes: 60 ms of G.711.
const maxLegPayload = 480

// newLeg makes a leg's codecs and buffers. The leg is not yet in a hub.
func newLeg(p legParams) (*leg, error) {
	rate := p.codec.SampleRate()
	if !runs(p.codec) {
		return nil, fmt.Errorf("gateway: leg codec %v", p.codec)
	}
	// Sized for what phones send: G.711 and G.722 carry 8 bytes per ms,
	// so 480 bytes is a 60 ms packet (longer ones are refused and
	// counted), and 32 slots hold 640 ms of early packets. The buffer's
	// defaults (64 × 1500 bytes) would be 96 KiB per leg.
	jb, err := jitter.New(jitter.Config{ClockRate: 8000, FrameDuration: frameDur, MaxPayload: maxLegPayload, Slots: 32})
	if err != nil {
		return nil, err
	}
	conceal, err := plc.New(rate)
	if err != nil {
		return nil, err
	}
	// Opus at the leg's own rate: no resampling on the way to the room, and
	// a narrowband phone costs a narrowband encode.
	enc, err := opus.NewEncoder(rate, 1, opus.EncoderConfig{})
	if err != nil {
		return nil, err
	}
	n := rate / 50
	l := &leg{
		legParams: p,
		jb:        jb,
		payload:   make([]byte, maxLegPayload),
		native:    make([]int16, n),
		wide:      make([]int16, hubFrame),
		mix:       make([]int16, hubFrame),
		out:       make([]byte, 160),
		opusBuf:   make([]byte, opus.MaxFrameBytes),
		conceal:   conceal,
		vad:       vad.NewDetector(vad.Config{}),
		enc:       enc,
		ts:        randUint32(),
	}
	// The detector takes its first frame as the noise floor. A caller who
	// starts talking at once (or a test tone) would then be the floor and
	// never count as voice; starting from a quiet floor instead, the first
	// pause brings it down to the line's real noise at once.
	l.vad.Update(vadStartFloor)
	if p.teRate != 0 {
		if l.rx, err = dtmf.NewReceiver(p.teRate); err != nil {
			return nil, err
		}
	}
	if p.inband {
		if l.det, err = dtmf.NewDetector(dtmf.DetectorConfig{Rate: rate}); err != nil {
			return nil, err
		}
		l.detOut = make([]byte, 0, 8)
		l.gate.rate = float64(rate)
	}
	if p.codec == codec.G722 {
		l.dec722, l.enc722 = g722.NewDecoder(), g722.NewEncoder()
	} else {
		if l.up, err = resample.New(8000, hubRate); err != nil {
			return nil, err
		}
		if l.down, err = resample.New(hubRate, 8000); err != nil {
			return nil, err
		}
		l.narrow = make([]int16, 160)
	}
	return l, nil
}

// HandleRTP implements rtp.Handler on the session's reader goroutine: the
// audio payload goes into the jitter buffer, which copies it, and
// telephone-events (RFC 4733) become digits. Comfort noise is not played.
func (l *leg) HandleRTP(pkt *rtp.Packet) {
	if pkt.PayloadType != l.recvPT {
		if l.rx != nil && pkt.PayloadType == l.tePT {
			if key, ok, _ := l.rx.Receive(pkt.Payload, pkt.Timestamp, pkt.SequenceNumber, pkt.Marker); ok {
				l.digit(key, dtmf.SourceRFC4733)
			}
		}
		return
	}
	if err := l.jb.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, time.Now()); err != nil {
		l.pushErrs.Add(1)
	}
}

// ssrcChanged forgets the old source's packets; on the reader goroutine.
func (l *leg) ssrcChanged() {
	l.jb.Reset()
	if l.rx != nil {
		l.rx.Reset()
	}
}

// digit hands a key to the call without blocking the media path.
func (l *leg) digit(key byte, src dtmf.Source) {
	if l.digits == nil {
		return
	}
	select {
	case l.digits <- dtmf.Digit{Key: key, Source: src, At: time.Now()}:
	default:
		l.digitDrops.Add(1)
	}
}

// startClock gives the leg its own 20 ms clock, for the IVR: the jitter
// buffer is drained (and searched for in-band digits) and prompts are
// played, with no room involved. Only the call's goroutine starts and stops
// it.
func (l *leg) startClock() {
	l.clockStop, l.clockDone = make(chan struct{}), make(chan struct{})
	go l.runClock(l.clockStop, l.clockDone)
}

// stopClock stops the leg's own clock and waits for it, so that the room
// hub's clock can take the leg over. It does nothing when none runs.
func (l *leg) stopClock() {
	if l.clockStop == nil {
		return
	}
	close(l.clockStop)
	<-l.clockDone
	l.clockStop, l.clockDone = nil, nil
}

func (l *leg) runClock(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(frameDur)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			l.ivrTick()
		}
	}
}

// ivrTick is one 20 ms frame of a leg outside any room: the phone's frame
// is taken (for in-band DTMF) and the prompts, or silence, are sent.
func (l *leg) ivrTick() {
	l.receive()
	if l.onHold.Load() {
		l.ts += rtpTSPerTick
		return
	}
	pcm := l.mix[:len(l.native)]
	clear(pcm)
	l.prompt.mixInto(pcm)
	l.tones.mixInto(pcm)
	l.send(pcm)
}

// receive takes the next frame from the jitter buffer into l.native,
// decoded or concealed, and runs the in-band DTMF detector over it. It
// reports whether the frame is part of an in-band key press, to be kept
// from the room.
func (l *leg) receive() (keyed bool) {
	f := l.jb.Pop(l.payload)
	switch f.Status {
	case jitter.StatusFrame:
		l.decode(l.payload[:f.N])
		l.conceal.Good(l.native)
		l.lost = 0
	case jitter.StatusLost:
		if l.lost < maxConceal {
			l.conceal.Conceal(l.native)
		} else {
			clear(l.native)
		}
		l.lost++
	default:
		clear(l.native)
	}
	if l.det != nil {
		l.detOut = l.det.Process(l.detOut[:0], l.native)
		for _, k := range l.detOut {
			l.digit(k, dtmf.SourceInband)
			l.gate.key(k)
		}
		if keyed = l.gate.mute(l.native); keyed {
			l.keyMuted.Add(1)
		}
	}
	return keyed
}

// pull is the leg's first half of a hub tick: the next frame from the
// phone is decoded (or concealed), put into the mix at 16 kHz, and encoded
// to Opus at the codec's native rate for the room. Frames the voice detector
// calls silence are neither mixed nor encoded: the room track only advances
// its clock (discontinuous transmission), which spares the encode and the
// forwarding of silent phones. A muted leg neither feeds the mix nor
// publishes, nor does a frame of an in-band DTMF key (tonegate.go).
func (l *leg) pull() {
	keyed := l.receive()
	d := l.vad.Frame(l.native)
	voice := d.Active && !keyed && !l.onHold.Load() && !l.muted.Load()
	if !voice {
		l.wasVoice = false
		if l.writer != nil {
			l.publish(nil, d.Level)
		}
		return
	}
	if !l.wasVoice && l.up != nil {
		// The filter's history is from before the pause; start clean.
		l.up.Reset()
	}
	l.wasVoice = true
	if l.up != nil {
		_, _ = l.up.Process(l.wide, l.native)
	} else {
		copy(l.wide, l.native)
	}
	_ = l.src.Write(l.wide)
	if l.writer == nil {
		return
	}
	if l.listened != nil && !l.listened.Listened() {
		// The hub mixes the PCM above for the other phones; only people
		// (or other nodes) need the Opus, and none are subscribed.
		l.unheard.Add(1)
		l.publish(nil, d.Level)
		return
	}
	n, err := l.enc.Encode(l.native, l.opusBuf)
	if err != nil {
		l.publishErr.Add(1)
		return
	}
	l.publish(l.opusBuf[:n], d.Level)
}

// decode turns one payload into native PCM. A short payload leaves the rest
// of the frame silent; a longer one (a ptime above 20 ms) is cut to 20 ms.
func (l *leg) decode(p []byte) {
	var n int
	switch l.codec {
	case codec.PCMU:
		n = g711.DecodeUlaw(l.native, p)
	case codec.PCMA:
		n = g711.DecodeAlaw(l.native, p)
	case codec.G722:
		n = l.dec722.Decode(l.native, p)
	}
	clear(l.native[n:])
}

// publish writes one Opus frame (nil: a skipped silent frame) to the room.
func (l *leg) publish(frame []byte, dBov float64) {
	var err error
	if l.level != nil && frame != nil {
		err = l.level.WriteAudioLevel(frame, frameDur, vad.AudioLevel(dBov))
	} else {
		err = l.writer.WriteAudio(frame, frameDur)
	}
	if err != nil {
		l.publishErr.Add(1)
	}
}

// push is the leg's second half of a hub tick: the room minus this leg,
// with this leg's prompts and tones over it, is encoded and sent to the
// phone. On hold nothing is sent (RFC 3264 §8.4), but the timestamp keeps
// running so that resuming looks like a pause.
func (l *leg) push() {
	if l.onHold.Load() {
		l.ts += rtpTSPerTick
		return
	}
	l.lis.Read(l.mix)
	pcm := l.mix
	if l.down != nil {
		_, _ = l.down.Process(l.narrow, l.mix)
		pcm = l.narrow
	}
	l.prompt.mixInto(pcm)
	l.tones.mixInto(pcm)
	l.send(pcm)
}

// send encodes one frame of PCM at the codec's rate and sends it.
func (l *leg) send(pcm []int16) {
	var n int
	switch l.codec {
	case codec.PCMU:
		n = g711.EncodeUlaw(l.out, pcm)
	case codec.PCMA:
		n = g711.EncodeAlaw(l.out, pcm)
	case codec.G722:
		n = l.enc722.Encode(l.out, pcm)
	}
	// The marker bit starts the stream (RFC 3551 §4.1).
	if err := l.sess.WriteRTP(l.out[:n], l.sendPT, l.ts, !l.sent); err != nil {
		l.sendErrs.Add(1)
	} else {
		l.sent = true
	}
	l.ts += rtpTSPerTick
}
