package bridge

import (
	"errors"
	"testing"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
)

// A leg that sends digits replaces its audio with RFC 4733 events, one
// per 20 ms tick: for each digit a marked first packet, the duration
// growing to 100 ms (800 at 8 kHz), three end packets, all with the
// event's start timestamp on the audio's clock; audio again in between.
func TestLegSendsDigitsAsEvents(t *testing.T) {
	l, err := NewLeg(LegConfig{ID: "callee", Codec: codec.PCMU, RecvPT: 0, SendPT: 0, SendTEPT: 101, SendTERate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordSender{}
	l.Attach(rec)
	if !l.SendsDigits() {
		t.Fatal("SendsDigits false with a telephone-event")
	}
	for _, k := range []byte("1#") {
		if err := l.SendDigit(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.SendDigit('x'); err == nil {
		t.Error("SendDigit('x') accepted")
	}
	sent := 0
	for range 40 {
		l.soloTick()
		select {
		case <-l.DigitSent():
			sent++
		default:
		}
	}
	if sent != 2 {
		t.Fatalf("DigitSent told of %d digits, want 2", sent)
	}
	var keys []byte
	var audio int
	var start uint32
	for i, p := range rec.sent {
		if p.pt == 0 {
			audio++
			continue
		}
		if p.pt != 101 {
			t.Fatalf("packet %d: payload type %d", i, p.pt)
		}
		e, err := dtmf.ParseEvent(p.payload)
		if err != nil {
			t.Fatal(err)
		}
		if p.marker {
			key, _ := dtmf.EventKey(e.Code)
			keys, start = append(keys, key), p.ts
		} else if p.ts != start {
			t.Errorf("packet %d: timestamp %d, the event started at %d", i, p.ts, start)
		}
		if e.End && e.Duration != 800 {
			t.Errorf("end packet with duration %d, want 800", e.Duration)
		}
	}
	if string(keys) != "1#" || audio < 20 {
		t.Errorf("events for %q, %d audio packets", keys, audio)
	}
	// Timestamps keep the audio's clock: the audio packet after an event
	// is 20 ms per tick past the one before.
	for i := 1; i < len(rec.sent); i++ {
		a, b := rec.sent[i-1], rec.sent[i]
		if a.pt == 0 && b.pt == 0 && b.ts-a.ts != 160 {
			t.Errorf("audio packets %d and %d: timestamps %d and %d", i-1, i, a.ts, b.ts)
		}
	}
}

// Without a telephone-event from the peer the leg sends no digits: the
// caller falls back to SIP INFO.
func TestLegWithoutEventsRefusesDigits(t *testing.T) {
	l, err := NewLeg(LegConfig{ID: "callee", Codec: codec.PCMA, RecvPT: 8, SendPT: 8})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SendDigit('1'); !errors.Is(err, ErrNoTelephoneEvent) || l.SendsDigits() || l.DigitSent() != nil {
		t.Errorf("SendDigit: %v", err)
	}
}
