package bridge

import (
	"errors"
	"sync/atomic"

	"github.com/roombridge/roombridge/gateway/media/dtmf"
)

// Errors of Leg.SendDigit.
var (
	// ErrNoTelephoneEvent: the peer takes no RFC 4733 events on this leg
	// (none negotiated), so digits must go another way (SIP INFO).
	ErrNoTelephoneEvent = errors.New("bridge: no telephone-event negotiated to send digits with")
	// ErrDigitQueueFull: more digits are waiting than the leg queues.
	ErrDigitQueueFull = errors.New("bridge: too many digits waiting to be sent")
)

const (
	// keyQueue is how many digits may wait to be sent.
	keyQueue = 64
	// keyGap is the ticks of audio between two events, so that the far
	// end's collector sees two presses (ITU-T Q.24 asks for 40 ms).
	keyGap = 5
)

// keySender sends a leg's digits as RFC 4733 telephone-events (§2.5.1)
// on the leg's clock, in place of its audio: one event packet per tick,
// with the leg's own timestamps, so the far end hears the press and not
// the audio under it. Only the clock goroutine touches s and gap.
type keySender struct {
	pt    uint8
	s     *dtmf.Sender
	buf   [dtmf.EventSize]byte
	gap   int
	queue chan byte
	// idle gets a token each time an event has been sent in full.
	idle chan struct{}
	sent atomic.Uint64
}

func newKeySender(pt uint8, rate int) (*keySender, error) {
	s, err := dtmf.NewSender(dtmf.SenderConfig{ClockRate: rate, Ptime: FrameDuration})
	if err != nil {
		return nil, err
	}
	return &keySender{pt: pt, s: s, queue: make(chan byte, keyQueue), idle: make(chan struct{}, keyQueue)}, nil
}

// tick sends this frame's event packet, if an event is under way or a
// digit waits, and reports whether it did (the frame's audio is then not
// sent).
func (k *keySender) tick(l *Leg) bool {
	if !k.s.Busy() {
		if k.gap > 0 {
			k.gap--
			return false
		}
		select {
		case key := <-k.queue:
			if k.s.Start(key, l.ts) != nil {
				return false
			}
		default:
			return false
		}
	}
	p, err := k.s.Next(k.buf[:])
	if err != nil {
		return false
	}
	if err := l.send.WriteRTP(p.Payload, k.pt, p.Timestamp, p.Marker); err != nil {
		l.sendErrs.Add(1)
	}
	if !k.s.Busy() {
		k.gap = keyGap
		k.sent.Add(1)
		select {
		case k.idle <- struct{}{}:
		default:
		}
	}
	return true
}

// SendDigit queues key (0-9, *, #, A-D) to be sent to the peer as an
// RFC 4733 event of 100 ms; DigitSent tells when it has gone.
func (l *Leg) SendDigit(key byte) error {
	if l.keysOut == nil {
		return ErrNoTelephoneEvent
	}
	if _, err := dtmf.EventCode(key); err != nil {
		return err
	}
	select {
	case l.keysOut.queue <- key:
		return nil
	default:
		return ErrDigitQueueFull
	}
}

// DigitSent gets a token each time a digit of SendDigit has been sent in
// full; nil when the leg sends no events.
func (l *Leg) DigitSent() <-chan struct{} {
	if l.keysOut == nil {
		return nil
	}
	return l.keysOut.idle
}

// SendsDigits reports whether the leg can send RFC 4733 events.
func (l *Leg) SendsDigits() bool { return l.keysOut != nil }
