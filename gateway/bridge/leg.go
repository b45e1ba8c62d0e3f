package bridge

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/media/jitter"
	"github.com/roombridge/roombridge/gateway/media/vad"
	"github.com/roombridge/roombridge/gateway/room"
)

// Sender carries a leg's packets to its peer: *rtp.Session for SIP legs;
// a WebRTC leg puts its pion TrackLocal behind it. WriteRTP is called on
// the leg's clock goroutine and must not hold a lock while writing to the
// network.
type Sender interface {
	// WriteRTP sends one packet of payload type pt with media timestamp
	// ts; the sender keeps the SSRC and the sequence numbers.
	WriteRTP(payload []byte, pt uint8, ts uint32, marker bool) error
}

// LegConfig is what a leg is built from: the negotiated codec and payload
// types, its DTMF sources and where digits and prompt ends go.
type LegConfig struct {
	// ID is the leg's participant identity in its room.
	ID string
	// Codec is the negotiated audio codec; it picks the leg's stages
	// (kinds.go): PCMU, PCMA or G722 for a phone, Opus for an Opus trunk
	// or a WebRTC SIP leg.
	Codec codec.ID
	// RecvPT is the payload type the leg receives (our SDP's number) and
	// SendPT the one it sends (the peer's), RFC 3264 §5.1.
	RecvPT, SendPT uint8
	// TEPT and TERate are the RFC 4733 telephone-event we receive; TERate
	// 0 means none (not negotiated, or not used on this trunk).
	TEPT   uint8
	TERate int
	// InbandDTMF runs the in-band DTMF detector on the leg's audio and
	// keeps keyed frames out of the room.
	InbandDTMF bool
	// SendTEPT and SendTERate are the peer's telephone-event, which
	// SendDigit sends with; SendTERate 0 means the leg sends no events.
	// The rate must be the codec's RTP clock.
	SendTEPT   uint8
	SendTERate int
	// Digits receives the digits found in the media (RFC 4733, in-band);
	// the leg never waits for it: a digit that does not fit is dropped
	// and counted.
	Digits chan<- dtmf.Digit
	// PromptDone is called on the clock goroutine when a prompt (not a
	// looped one, not a tone) has played to its end.
	PromptDone func(id uint64)
	// Opus is what an Opus peer asked of what it receives (its fmtp);
	// other codecs ignore it.
	Opus OpusParams
}

// LegStats are a leg's counters, for logs and tests.
type LegStats struct {
	PushErrors    uint64 // packets the jitter buffer refused (oversized)
	PublishErrors uint64 // failed writes to the room (or encodes for it)
	SendErrors    uint64 // failed packet writes to the peer
	Unheard       uint64 // voice frames not Opus-encoded: nobody subscribed
	KeyHeld       uint64 // frames held back from the room during in-band keys
	DigitDrops    uint64 // digits dropped: the call did not keep up
}

// Leg is the media of one leg. The receive half runs on its transport's
// reader goroutine (HandleRTP → jitter buffer, telephone-events → digits);
// everything else on one clock goroutine: the leg's own while it is not in
// a room (StartClock, for the IVR), its room hub's once joined (pull before
// the mix, push after). Every buffer is made in NewLeg, so a tick allocates
// nothing.
type Leg struct {
	cfg  LegConfig
	rate int // PCM rate of every stage but the mix

	// Receive side, on the transport's goroutine.
	jb *jitter.Buffer
	rx *dtmf.Receiver

	// Stages (kinds.go), on the clock.
	dec  decoder
	keys *keyStage // nil without in-band DTMF
	vad  *vad.Detector
	port *mixPort
	pub  publisher
	enc  encoder

	// prompt plays IVR prompts and in-call announcements to this leg
	// only; tones plays join and leave tones over them.
	prompt player
	tones  player

	// keysOut sends digits as RFC 4733 events; nil without SendTERate.
	keysOut *keySender

	// Set by the call before the clock uses them.
	send  Sender
	track roomTrack

	// relay, when set, takes every received packet (SetRelay).
	relay atomic.Pointer[Relay]

	// Changed by the call (re-INVITE, API mute), read on the clock.
	onHold atomic.Bool
	muted  atomic.Bool

	pushErrs   atomic.Uint64
	sendErrs   atomic.Uint64
	digitDrops atomic.Uint64

	// The leg's own clock, while it is not in a hub; owned by the call.
	clockStop chan struct{}
	clockDone chan struct{}

	// Clock goroutine state.
	in      inFrame
	payload []byte  // jitter buffer output
	fec     []byte  // the packet after a lost one, for decoders with FEC
	pcm     []int16 // this tick's audio from the peer, at rate
	out     []int16 // this tick's audio to the peer, at rate
	wire    []byte  // encoded payload to the peer
	lost    int     // frames concealed in a row
	tsStep  uint32
	ts      uint32
	sent    bool
}

// vadStartFloor is the noise floor a leg's voice detector starts from, in
// dBov: the detector's own lowest voice level.
const vadStartFloor = -60.0

// NewLeg makes a leg's stages and buffers for cfg.Codec. The leg is in no
// room and has no clock yet.
func NewLeg(cfg LegConfig) (*Leg, error) {
	k, err := kindOf(cfg.Codec)
	if err != nil {
		return nil, err
	}
	l := &Leg{
		cfg:     cfg,
		rate:    k.rate,
		vad:     vad.NewDetector(vad.Config{}),
		payload: make([]byte, k.maxPayload),
		pcm:     make([]int16, samples(k.rate)),
		out:     make([]int16, samples(k.rate)),
		wire:    make([]byte, k.maxWire),
		tsStep:  cfg.Codec.TicksPer20ms(),
		ts:      rand.Uint32(), // RFC 3550 §5.1: a random start
	}
	l.prompt.done = cfg.PromptDone
	// Sized for what the codec sends in one packet, and 32 slots hold
	// 640 ms of early packets: the buffer's defaults (64 × 1500 bytes)
	// would be 96 KiB per leg.
	if l.jb, err = jitter.New(jitter.Config{
		ClockRate: int(cfg.Codec.ClockRate()), FrameDuration: FrameDuration, MaxPayload: k.maxPayload, Slots: 32,
	}); err != nil {
		return nil, err
	}
	if err := k.compose(l); err != nil {
		return nil, err
	}
	if l.port, err = newMixPort(k.rate); err != nil {
		return nil, err
	}
	// The detector takes its first frame as the noise floor. A caller who
	// starts talking at once (or a test tone) would then be the floor and
	// never count as voice; starting from a quiet floor instead, the first
	// pause brings it down to the line's real noise at once.
	l.vad.Update(vadStartFloor)
	if cfg.TERate != 0 {
		if l.rx, err = dtmf.NewReceiver(cfg.TERate); err != nil {
			return nil, err
		}
	}
	if cfg.SendTERate != 0 && uint32(cfg.SendTERate) == cfg.Codec.ClockRate() {
		if l.keysOut, err = newKeySender(cfg.SendTEPT, cfg.SendTERate); err != nil {
			return nil, err
		}
	}
	if cfg.InbandDTMF {
		if l.keys, err = newKeyStage(k.rate); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// ID is the leg's participant identity.
func (l *Leg) ID() string { return l.cfg.ID }

// Codec is the leg's negotiated codec.
func (l *Leg) Codec() codec.ID { return l.cfg.Codec }

// Rate is the PCM rate of the leg's stages: prompts played to it must be at
// this rate.
func (l *Leg) Rate() int { return l.rate }

// TelephoneEvent reports whether the leg takes RFC 4733 digits.
func (l *Leg) TelephoneEvent() bool { return l.rx != nil }

// InbandDTMF reports whether the leg runs the in-band detector.
func (l *Leg) InbandDTMF() bool { return l.keys != nil }

// wideband reports whether the leg hears more than narrowband: its hub
// then mixes at 16 kHz.
func (l *Leg) wideband() bool { return l.rate > narrowRate }

// Attach sets where the leg's packets go; call it before the leg's first
// tick.
func (l *Leg) Attach(s Sender) { l.send = s }

// Publish sets the leg's audio track in its room; call it before the leg
// joins its hub.
func (l *Leg) Publish(w room.AudioWriter) { l.track.set(w) }

// SetHold puts the leg on hold (nothing sent, RFC 3264 §8.4, and nothing
// of it mixed) or takes it off.
func (l *Leg) SetHold(on bool) { l.onHold.Store(on) }

// OnHold reports whether the leg is on hold.
func (l *Leg) OnHold() bool { return l.onHold.Load() }

// SetMuted stops (or restarts) the leg's audio reaching the room.
func (l *Leg) SetMuted(on bool) { l.muted.Store(on) }

// Muted reports whether the leg is muted.
func (l *Leg) Muted() bool { return l.muted.Load() }

// Play replaces what the leg's prompt player plays with segs (PCM at
// Rate), once or looped; LegConfig.PromptDone gets id at its end.
func (l *Leg) Play(id uint64, loop bool, segs ...[]int16) { l.prompt.play(id, loop, segs...) }

// StopPrompt silences the prompt player.
func (l *Leg) StopPrompt() { l.prompt.stop() }

// PlayTone plays a short tone over whatever the leg hears.
func (l *Leg) PlayTone(pcm []int16) { l.tones.play(0, false, pcm) }

// Stats returns the leg's counters.
func (l *Leg) Stats() LegStats {
	s := LegStats{
		PushErrors:    l.pushErrs.Load(),
		PublishErrors: l.track.errs.Load(),
		SendErrors:    l.sendErrs.Load(),
		Unheard:       l.track.unheard.Load(),
		DigitDrops:    l.digitDrops.Load(),
	}
	if l.keys != nil {
		s.KeyHeld = l.keys.held.Load()
	}
	return s
}

// HandleRTP takes one packet from the transport's reader goroutine (it
// implements rtp.Handler): the audio payload goes into the jitter buffer,
// which copies it, and telephone-events (RFC 4733) become digits. Other
// payload types (comfort noise) are not played.
func (l *Leg) HandleRTP(pkt *pionrtp.Packet) {
	if r := l.relay.Load(); r != nil {
		r.HandleRTP(pkt)
		return
	}
	if pkt.PayloadType != l.cfg.RecvPT {
		if l.rx != nil && pkt.PayloadType == l.cfg.TEPT {
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

// ResetStream forgets the old source's packets when the peer's SSRC
// changes; on the transport's reader goroutine.
func (l *Leg) ResetStream() {
	l.jb.Reset()
	if l.rx != nil {
		l.rx.Reset()
	}
}

// digit hands a key to the call without blocking the media path.
func (l *Leg) digit(key byte, src dtmf.Source) {
	if l.cfg.Digits == nil {
		return
	}
	select {
	case l.cfg.Digits <- dtmf.Digit{Key: key, Source: src, At: time.Now()}:
	default:
		l.digitDrops.Add(1)
	}
}

func (l *Leg) inbandDigit(key byte) { l.digit(key, dtmf.SourceInband) }

// StartClock gives the leg its own 20 ms clock, for the IVR: the jitter
// buffer is drained (and searched for in-band digits) and prompts are
// played, with no room involved. Only the call's goroutine starts and
// stops it.
func (l *Leg) StartClock() {
	l.clockStop, l.clockDone = make(chan struct{}), make(chan struct{})
	go l.runClock(l.clockStop, l.clockDone)
}

// StopClock stops the leg's own clock and waits for it, so that a room
// hub's clock can take the leg over. It does nothing when none runs.
func (l *Leg) StopClock() {
	if l.clockStop == nil {
		return
	}
	close(l.clockStop)
	<-l.clockDone
	l.clockStop, l.clockDone = nil, nil
}

func (l *Leg) runClock(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(FrameDuration)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			l.soloTick()
		}
	}
}

// soloTick is one frame of a leg outside any room: the peer's frame is
// taken (for in-band DTMF) and the prompts, or silence, are sent.
func (l *Leg) soloTick() {
	l.receive()
	if l.onHold.Load() {
		l.ts += l.tsStep
		return
	}
	clear(l.out)
	l.prompt.mixInto(l.out)
	l.tones.mixInto(l.out)
	l.transmit(l.out)
}

// receive takes the next frame from the jitter buffer into l.pcm, decoded
// or concealed, and runs the key stage over it. It reports the payload as
// received (nil when concealed or idle) and whether the frame is part of an
// in-band key press, to be kept from the room.
func (l *Leg) receive() (received []byte, keyed bool) {
	f := l.jb.Pop(l.payload)
	switch f.Status {
	case jitter.StatusFrame:
		received = l.payload[:f.N]
		if l.dec.decode(l.pcm, received) {
			l.lost = 0
			break
		}
		received = nil
		fallthrough
	case jitter.StatusLost:
		if l.lost < maxConceal {
			l.dec.conceal(l.pcm, l.next(f.Seq))
		} else {
			clear(l.pcm)
		}
		l.lost++
	default:
		clear(l.pcm)
	}
	if l.keys != nil {
		keyed = l.keys.process(l.pcm, l.inbandDigit)
	}
	return received, keyed
}

// next is the payload of the packet after lost, when the decoder can
// recover the lost frame from it (Opus FEC) and it has arrived; else nil.
func (l *Leg) next(lost uint16) []byte {
	if l.fec == nil {
		return nil
	}
	if n := l.jb.Peek(l.fec, lost+1); n > 0 {
		return l.fec[:n]
	}
	return nil
}

// pull is the leg's first half of a hub tick: the peer's next frame is
// decoded (or concealed), its voice put into the mix, and the frame handed
// to the publisher for the room. A muted or held leg, or a frame of an
// in-band key, reaches neither the mix nor the room.
func (l *Leg) pull() {
	received, keyed := l.receive()
	d := l.vad.Frame(l.pcm)
	f := &l.in
	*f = inFrame{level: d.Level}
	if !keyed && !l.onHold.Load() && !l.muted.Load() {
		f.pcm, f.received, f.voice = l.pcm, received, d.Active
	}
	l.port.write(f.pcm, f.voice)
	if l.track.w != nil {
		l.pub.publish(f, &l.track)
	}
}

// push is the leg's second half of a hub tick: the room minus this leg,
// with this leg's prompts and tones over it, is encoded and sent. On hold
// nothing is sent, but the timestamp keeps running so that resuming looks
// like a pause.
func (l *Leg) push() {
	if l.onHold.Load() {
		l.ts += l.tsStep
		return
	}
	l.port.read(l.out)
	l.prompt.mixInto(l.out)
	l.tones.mixInto(l.out)
	l.transmit(l.out)
}

// transmit encodes one frame at the leg's rate and sends it.
func (l *Leg) transmit(pcm []int16) {
	if l.keysOut != nil && l.keysOut.tick(l) {
		l.ts += l.tsStep
		return
	}
	n, err := l.enc.encode(l.wire, pcm)
	if err != nil {
		l.sendErrs.Add(1)
		l.ts += l.tsStep
		return
	}
	// The marker bit starts the stream (RFC 3551 §4.1).
	if err := l.send.WriteRTP(l.wire[:n], l.cfg.SendPT, l.ts, !l.sent); err != nil {
		l.sendErrs.Add(1)
	} else {
		l.sent = true
	}
	l.ts += l.tsStep
}
