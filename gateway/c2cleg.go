package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/sip/outbound"
)

// c2cCallee is the callee's side of a click-to-call: a dial-out leg
// (outLeg: offers, failover, the carrier's re-INVITEs) whose audio meets
// the caller's in their private bridge (privatebridge.go) from the first
// early media on, instead of joining a room at the answer. The dial-out
// registry drives it; the caller's goroutine (clicktocall.go) follows it
// through its channels.
type c2cCallee struct {
	*outLeg // set by media, before anything but the channels is used

	bridge string
	trunks map[string]DialTrunk

	// progress carries the codes of provisional responses; a full
	// channel drops the code (the caller only needs to know it rings).
	progress chan int
	// flowing is closed once the callee's early media reaches the bridge,
	// up once the call is answered, ended once the callee's media
	// is gone (never made, or closed by the registry at the end).
	flowing, up, ended chan struct{}
	earlyOnce, endOnce sync.Once

	// startMu orders the media's start, from a 183 (SIP stack goroutine)
	// or the answer (the registry's).
	startMu sync.Mutex
	started bool

	// call is the answered call, for DTMF as INFO; set before answered
	// is closed.
	call *outbound.Call
}

var (
	_ dialout.Media            = (*c2cCallee)(nil)
	_ dialout.ProgressReceiver = (*c2cCallee)(nil)
	_ dialout.InfoReceiver     = (*c2cCallee)(nil)
)

func newC2CCallee(bridge string, trunks map[string]DialTrunk) *c2cCallee {
	return &c2cCallee{
		bridge: bridge, trunks: trunks,
		progress: make(chan int, 4),
		flowing:  make(chan struct{}),
		up:       make(chan struct{}),
		ended:    make(chan struct{}),
	}
}

// media is the dialout.MediaFactory of the call.
func (o *c2cCallee) media(g *Gateway) dialout.MediaFactory {
	return func(_ context.Context, info dialout.Info) (dialout.Media, error) {
		l, err := g.newOutLeg(info, o.trunks)
		if err != nil {
			o.end()
			return nil, err
		}
		l.digits = make(chan dtmf.Digit, digitQueue)
		o.outLeg = l
		return o, nil
	}
}

// Progress implements dialout.ProgressReceiver.
func (o *c2cCallee) Progress(p outbound.Progress) {
	select {
	case o.progress <- p.Code:
	default:
	}
}

// EarlyMedia starts the media from the first 183's SDP: the caller hears
// the carrier's ringback or announcement from then on. Later 18x change
// nothing.
func (o *c2cCallee) EarlyMedia(b []byte) error {
	if err := o.outLeg.EarlyMedia(b); err != nil {
		return err
	}
	o.startMu.Lock()
	defer o.startMu.Unlock()
	if o.started {
		return nil
	}
	if err := o.start(b); err != nil {
		return err
	}
	o.earlyOnce.Do(func() { close(o.flowing) })
	return nil
}

// start completes the media with the callee's SDP and puts the leg into
// the bridge; o.startMu is held.
func (o *c2cCallee) start(answer []byte) error {
	o.mu.Lock()
	offer, t := o.offer, o.trunk
	o.mu.Unlock()
	neg, err := o.startAnswer(offer, answer, t)
	if err != nil {
		return err
	}
	p := room.ParticipantInfo{Identity: o.id, Kind: room.ParticipantKindSIP, PublishOnly: true}
	if err := o.joinParticipant(o.bridge, p); err != nil {
		return err
	}
	if err := o.enterHub(); err != nil {
		return err
	}
	o.started = true
	l := o.leg.Load()
	o.log.Info("click-to-call callee media", "codec", l.Codec().String(), "srtp", neg.srtp != nil,
		"transport", o.transport, "telephone_event", l.SendsDigits())
	return nil
}

// Answered completes the media with the answer (the early media's when
// the 200 repeats none) and tells the caller.
func (o *c2cCallee) Answered(call *outbound.Call, _ dialout.Info) error {
	o.startMu.Lock()
	defer o.startMu.Unlock()
	answer := call.Answer()
	switch {
	case !o.started:
		if len(answer) == 0 {
			o.mu.Lock()
			answer = o.early
			o.mu.Unlock()
		}
		if err := o.start(answer); err != nil {
			return err
		}
	case len(answer) > 0:
		// The 200 may move the media elsewhere than the 183 did.
		o.mu.Lock()
		offer := o.offer
		o.mu.Unlock()
		if neg, err := acceptAnswer(offer, answer); err == nil && neg.remoteRTP.IsValid() {
			o.sess.Load().SetRemote(neg.remoteRTP, neg.remoteRTCP)
		}
	}
	o.answered.Store(time.Now().UnixNano())
	o.call = call
	close(o.up)
	return nil
}

// Info implements dialout.InfoReceiver: the carrier's DTMF INFO goes to
// the caller like its RFC 4733 events.
func (o *c2cCallee) Info(contentType string, body []byte) {
	if contentType != sip.ContentTypeDTMFRelay && contentType != sip.ContentTypeDTMF {
		return
	}
	key, _, err := sip.ParseDTMFRelay(body)
	if err != nil {
		return
	}
	select {
	case o.digits <- dtmf.Digit{Key: byte(key), Source: dtmf.SourceINFO, At: time.Now()}:
	default:
	}
}

// sendDigit sends one of the caller's keys to the callee: an RFC 4733
// event where the callee took telephone-event (and the trunk's dtmf is not
// info), else SIP INFO application/dtmf-relay.
func (o *c2cCallee) sendDigit(ctx context.Context, key byte) error {
	if l := o.leg.Load(); l != nil && l.SendsDigits() {
		return l.SendDigit(key)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return o.call.SendInfo(ctx, sip.ContentTypeDTMFRelay, dtmfRelayBody(key))
}

// dtmfRelayBody is an application/dtmf-relay body for key, 160 ms long.
func dtmfRelayBody(key byte) []byte {
	return []byte("Signal=" + string(rune(key)) + "\r\nDuration=160\r\n")
}

// Close frees the leg and tells the caller the callee is gone.
func (o *c2cCallee) Close() error {
	err := o.outLeg.Close()
	o.end()
	return err
}

func (o *c2cCallee) end() { o.endOnce.Do(func() { close(o.ended) }) }
