package gateway

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/ivr"
)

// dialIn is the fixture's dial-in number.
const dialIn = "+15550100"

// newIVRFixture is a fixture whose room demo has PIN 1234 and host PIN
// 9999, with a second room "other" (PIN 5678), and short IVR timeouts.
func newIVRFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	f := newFixture(t, func(c *Config) {
		c.IVR.Session = ivr.Config{FirstDigitTimeout: 2 * time.Second, InterDigitTimeout: 2 * time.Second, MaxAttempts: 3}
		if edit != nil {
			edit(c)
		}
	})
	f.setRoom(store.Room{Name: "demo", PIN: "1234", HostPIN: "9999", Aliases: []string{"4711"}})
	f.setRoom(store.Room{Name: "other", PIN: "5678"})
	return f
}

func (f *fixture) setRoom(r store.Room) {
	f.t.Helper()
	if _, err := f.store.UpsertRoom(context.Background(), r); err != nil {
		f.t.Fatal(err)
	}
}

// dtmfVia says how a phone sends keys.
type dtmfVia int

const (
	viaRFC4733 dtmfVia = iota
	viaINFO
	viaInband
	viaRFC4733INFO // each key as an RFC 4733 event and a SIP INFO
)

// keys sends keys the way via says and waits until they are all out.
func (p *phone) keys(keys string, via dtmfVia) {
	t := p.a.t
	t.Helper()
	for i := range len(keys) {
		k := keys[i]
		switch via {
		case viaRFC4733:
			p.pending.Add(1)
			p.teKeys <- k
		case viaInband:
			p.pending.Add(1)
			p.toneKeys <- k
		case viaINFO:
			p.info(k)
		case viaRFC4733INFO:
			p.pending.Add(1)
			p.teKeys <- k
			p.info(k)
			waitUntil(t, 5*time.Second, "RFC 4733 event sent", func() bool { return p.pending.Load() == 0 })
		}
		if via == viaINFO {
			// A phone's keys are at least 100 ms apart.
			time.Sleep(150 * time.Millisecond)
		}
	}
	waitUntil(t, 10*time.Second, "keys sent", func() bool { return p.pending.Load() == 0 })
}

// info sends one key as SIP INFO application/dtmf-relay.
func (p *phone) info(k byte) {
	t := p.a.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := sipgosip.NewRequest(sipgosip.INFO, p.sess.InviteResponse.Contact().Address)
	req.AppendHeader(sipgosip.NewHeader("Content-Type", sip.ContentTypeDTMFRelay))
	req.SetBody(fmt.Appendf(nil, "Signal=%c\r\nDuration=100\r\n", k))
	res, err := p.sess.Do(ctx, req)
	if err != nil {
		t.Fatalf("INFO: %v", err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("INFO: %d %s", res.StatusCode, res.Reason)
	}
}

// rms is the level of pcm relative to full scale (1 = a full-scale square).
func rms(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var s float64
	for _, x := range pcm {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s/float64(len(pcm))) / 32768
}

// heardSince returns what the phone heard after total() was mark (at
// most the last 3 s).
func (p *phone) heardSince(mark int) []int16 {
	return p.heard.last(p.heard.total() - mark)
}

// inRoom reports whether the phone's leg is a participant of roomName.
func (f *fixture) inRoom(p *phone, roomName string) bool {
	id := legIdentity(p.sess.InviteRequest.CallID().Value())
	for _, x := range f.sipParticipants(roomName) {
		if x.ID == id {
			return true
		}
	}
	return false
}

// For each DTMF transport, a caller of the dial-in number keys demo's PIN
// and ends up in demo: it hears the phone already there, which hears it.
func TestIVRJoinByPIN(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	for _, tc := range []struct {
		name string
		via  dtmfVia
		opts phoneOpts
	}{
		{"rfc4733", viaRFC4733, phoneOpts{}},
		{"info", viaINFO, phoneOpts{}},
		{"inband-pcmu", viaInband, phoneOpts{noTE: true}},
		{"inband-pcma", viaInband, phoneOpts{noTE: true, codec: sdp.PCMA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newIVRFixture(t, nil)
			ag := newAgent(t)
			a, code := ag.dial(f.uri("demo"), phoneOpts{freq: 1000})
			if code != 200 {
				t.Fatalf("A: %d", code)
			}
			o := tc.opts
			o.freq = 440
			b, code := ag.dial(f.uri(dialIn), o)
			if code != 200 {
				t.Fatalf("IVR call: %d", code)
			}
			if tc.opts.noTE && b.answer.Audio.TelephoneEvent != nil {
				t.Fatal("the gateway answered telephone-event that was not offered")
			}
			b.keys("1234#", tc.via)
			waitUntil(t, 10*time.Second, "the caller in demo", func() bool { return f.inRoom(b, "demo") })
			b.waitHears(1000, 440)
			a.waitHears(440, 1000)
			if got := f.metric("roombridge_dtmf_digits_total", transportOf(tc.via)); got != 5 {
				t.Errorf("dtmf_digits_total{%s} = %v, want 5", transportOf(tc.via), got)
			}
			b.hangup()
			a.hangup()
			f.waitIdle()
			if got := f.metric("roombridge_ivr_outcomes_total", "joined"); got != 1 {
				t.Errorf("ivr_outcomes_total{joined} = %v", got)
			}
		})
	}
}

func transportOf(v dtmfVia) string {
	switch v {
	case viaINFO:
		return "info"
	case viaInband:
		return "inband"
	}
	return "rfc4733"
}
