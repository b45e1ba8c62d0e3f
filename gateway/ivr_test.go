package gateway

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/internal/leakcheck"
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
	return newIVRFixtureDTMF(t, "", edit)
}

// newIVRFixtureDTMF is newIVRFixture with the trunk's DTMF mode set. The
// trunk is trusted (a PBX in front): its callers dial demo directly,
// without its PIN, while dial-in callers go through the IVR.
func newIVRFixtureDTMF(t *testing.T, mode string, edit func(*Config)) *fixture {
	t.Helper()
	f := newFixtureTrunk(t, sip.Trunk{Name: "local", Allow: loopback, DTMF: mode, Trusted: true}, func(c *Config) {
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
		name  string
		trunk string // the trunk's DTMF mode
		via   dtmfVia
		opts  phoneOpts
	}{
		{"rfc4733", "", viaRFC4733, phoneOpts{}},
		{"info", "", viaINFO, phoneOpts{}},
		{"inband-pcmu", "", viaInband, phoneOpts{noTE: true}},
		{"inband-pcma", "", viaInband, phoneOpts{noTE: true, codec: sdp.PCMA}},
		// A trunk set to in-band gets no telephone-event in the answer.
		{"inband-trunk", "inband", viaInband, phoneOpts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newIVRFixtureDTMF(t, tc.trunk, nil)
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
			if tc.via == viaInband && b.answer.Audio.TelephoneEvent != nil {
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

// waitHeard waits until the phone has heard d of audio since mark and
// returns it.
func (p *phone) waitHeard(mark int, d time.Duration) []int16 {
	p.a.t.Helper()
	n := int(d.Seconds() * float64(p.rate))
	waitUntil(p.a.t, d+10*time.Second, "audio from the gateway", func() bool { return p.heard.total()-mark >= n })
	return p.heardSince(mark)
}

// Three wrong PINs: the caller hears goodbye, then the gateway hangs up.
func TestIVRWrongPINs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	f := newIVRFixture(t, nil)
	ag := newAgent(t)
	p, code := ag.dial(f.uri(dialIn), phoneOpts{})
	if code != 200 {
		t.Fatalf("IVR call: %d", code)
	}
	p.keys("1111#5555#", viaRFC4733)
	waitUntil(t, 5*time.Second, "two wrong PINs", func() bool { return f.metric("roombridge_ivr_pin_checks_total", pinRejected) == 2 })
	p.keys("7777#", viaRFC4733)
	mark := p.heard.total()
	p.waitBye(10 * time.Second)
	if lvl := rms(p.heardSince(mark)); lvl < 0.01 {
		t.Errorf("heard nothing (RMS %.4f) between the last PIN and the BYE: no goodbye", lvl)
	}
	f.waitIdle()
	if got := f.metric("roombridge_ivr_outcomes_total", "wrong_pin"); got != 1 {
		t.Errorf("ivr_outcomes_total{wrong_pin} = %v", got)
	}
	if got := f.metric("roombridge_ivr_pin_checks_total", pinRejected); got != 3 {
		t.Errorf("pin_checks_total{rejected} = %v", got)
	}
}

// No key within the first-digit timeout (after * cut the prompt): with one
// attempt, goodbye and BYE about a timeout later.
func TestIVRFirstDigitTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	const timeout = time.Second
	f := newIVRFixture(t, func(c *Config) {
		c.IVR.Session.FirstDigitTimeout = timeout
		c.IVR.Session.MaxAttempts = 1
	})
	ag := newAgent(t)
	p, code := ag.dial(f.uri(dialIn), phoneOpts{})
	if code != 200 {
		t.Fatalf("IVR call: %d", code)
	}
	p.keys("*", viaRFC4733)
	start := time.Now()
	p.waitBye(10 * time.Second)
	took := time.Since(start)
	goodbye, _ := f.gw.defaults.Duration("goodbye")
	if took < timeout || took > timeout+goodbye+3*time.Second {
		t.Errorf("BYE %v after the key; want the %v timeout plus goodbye (%v)", took, timeout, goodbye)
	}
	f.waitIdle()
	if got := f.metric("roombridge_ivr_outcomes_total", "timeout"); got != 1 {
		t.Errorf("ivr_outcomes_total{timeout} = %v", got)
	}
}

// In a wait_for_host room, a guest hears the waiting prompt and music (not
// silence) and is not in the room until the host keys the host PIN; then
// they hear each other.
func TestIVRWaitForHost(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	f := newIVRFixture(t, nil)
	f.setRoom(store.Room{Name: "demo", PIN: "1234", HostPIN: "9999", WaitForHost: true})
	ag := newAgent(t)
	guest, code := ag.dial(f.uri(dialIn), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("guest: %d", code)
	}
	guest.keys("1234#", viaRFC4733)
	waitUntil(t, 5*time.Second, "the guest's PIN", func() bool { return f.metric("roombridge_ivr_pin_checks_total", pinAccepted) == 1 })
	heard := guest.waitHeard(guest.heard.total(), 2500*time.Millisecond)
	if lvl := rms(heard); lvl < 0.01 {
		t.Errorf("the waiting guest hears silence (RMS %.4f)", lvl)
	}
	if f.inRoom(guest, "demo") {
		t.Fatal("the guest joined before the host")
	}
	// A guest who dials the room directly waits too, without a PIN.
	direct, code := ag.dial(f.uri("demo"), phoneOpts{user: "+15558880000"})
	if code != 200 {
		t.Fatalf("direct guest: %d", code)
	}
	if lvl := rms(direct.waitHeard(direct.heard.total(), time.Second)); lvl < 0.01 {
		t.Errorf("the waiting direct guest hears silence (RMS %.4f)", lvl)
	}
	if f.inRoom(guest, "demo") || f.inRoom(direct, "demo") {
		t.Fatal("a guest joined before the host")
	}
	host, code := ag.dial(f.uri(dialIn), phoneOpts{freq: 1000, user: "+15559990000"})
	if code != 200 {
		t.Fatalf("host: %d", code)
	}
	host.keys("9999#", viaINFO)
	waitUntil(t, 10*time.Second, "host and guests in demo", func() bool {
		return f.inRoom(host, "demo") && f.inRoom(guest, "demo") && f.inRoom(direct, "demo")
	})
	guest.waitHears(1000, 440)
	host.waitHears(440, 1000)
	guest.hangup()
	direct.hangup()
	host.hangup()
	f.waitIdle()
	f.gw.mu.Lock()
	defer f.gw.mu.Unlock()
	if len(f.gw.hosts) != 0 || len(f.gw.waiters) != 0 {
		t.Errorf("hosts %v, waiters %v left", f.gw.hosts, f.gw.waiters)
	}
}

// After MaxFailures wrong PINs from one source the call ends and the next
// INVITEs from that source get 403, whatever they dial.
func TestIVRLockout(t *testing.T) {
	f := newIVRFixture(t, func(c *Config) { c.IVR.MaxFailures = 2 })
	ag := newAgent(t)
	p, code := ag.dial(f.uri(dialIn), phoneOpts{})
	if code != 200 {
		t.Fatalf("IVR call: %d", code)
	}
	p.keys("1111#", viaINFO)
	waitUntil(t, 5*time.Second, "a wrong PIN", func() bool { return f.metric("roombridge_ivr_pin_checks_total", pinRejected) == 1 })
	p.keys("2222#", viaINFO)
	p.waitBye(10 * time.Second)
	f.waitIdle()
	for _, target := range []string{dialIn, "demo"} {
		if _, code := ag.dial(f.uri(target), phoneOpts{user: "+15550000001"}); code != 403 {
			t.Errorf("dial %s after the lockout: %d, want 403", target, code)
		}
	}
	f.waitIdle()
	if got := f.metric("roombridge_ivr_outcomes_total", outcomeLockedOut); got != 3 {
		t.Errorf("ivr_outcomes_total{locked_out} = %v, want 3", got)
	}
	if got := f.metric("roombridge_calls_total", resultForbidden); got != 2 {
		t.Errorf("calls_total{forbidden} = %v, want 2", got)
	}
}

// *6 mutes a phone: the room marks it muted and the other phone stops
// hearing it; *6 again brings it back.
func TestStarSixMute(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	f := newIVRFixture(t, nil)
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{freq: 1000})
	if code != 200 {
		t.Fatalf("A: %d", code)
	}
	b, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("B: %d", code)
	}
	a.waitHears(440, 1000)
	muted := func() bool {
		id := legIdentity(b.sess.InviteRequest.CallID().Value())
		for _, x := range f.sipParticipants("demo") {
			if x.ID == id {
				return x.AudioMuted
			}
		}
		return false
	}
	b.keys("*6", viaRFC4733)
	waitUntil(t, 5*time.Second, "B muted in the room", muted)
	waitUntil(t, 5*time.Second, "A no longer hearing B", func() bool {
		pw := a.power(440)
		return pw != nil && pw[0] < 1e-5
	})
	b.keys("*6", viaRFC4733)
	waitUntil(t, 5*time.Second, "B unmuted in the room", func() bool { return !muted() })
	a.waitHears(440, 1000)
	a.hangup()
	b.hangup()
	f.waitIdle()
}

// A press signalled two ways (RFC 4733 with the tones left in the audio,
// RFC 4733 and SIP INFO) counts once: the PIN opens the room.
func TestDTMFNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	for _, tc := range []struct {
		name string
		via  dtmfVia
		opts phoneOpts
	}{
		{"rfc4733+inband", viaRFC4733, phoneOpts{teTone: true}},
		{"rfc4733+info", viaRFC4733INFO, phoneOpts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newIVRFixture(t, nil)
			ag := newAgent(t)
			p, code := ag.dial(f.uri(dialIn), tc.opts)
			if code != 200 {
				t.Fatalf("IVR call: %d", code)
			}
			p.keys("1234#", tc.via)
			waitUntil(t, 10*time.Second, "the caller in demo", func() bool { return f.inRoom(p, "demo") })
			var total float64
			for _, tr := range []string{"rfc4733", "info", "inband"} {
				total += f.metric("roombridge_dtmf_digits_total", tr)
			}
			if total != 5 {
				t.Errorf("%v digits delivered, want 5", total)
			}
			p.hangup()
			f.waitIdle()
		})
	}
}

// IVR calls, joined or abandoned in the IVR, leave no goroutine, port or
// file descriptor behind.
func TestIVRNoLeaks(t *testing.T) {
	cycles := 10
	if testing.Short() {
		cycles = 3
	}
	f := newIVRFixture(t, nil)
	ag := newAgent(t)
	p, _ := ag.dial(f.uri(dialIn), phoneOpts{})
	p.hangup()
	f.waitIdle()
	fds := openFDs(t)
	ignore := goleak.IgnoreCurrent()
	for i := range cycles {
		p, code := ag.dial(f.uri(dialIn), phoneOpts{freq: 440})
		if code != 200 {
			t.Fatalf("cycle %d: %d", i, code)
		}
		if i%2 == 0 {
			p.keys("1234#", viaINFO)
			waitUntil(t, 10*time.Second, "the caller in demo", func() bool { return f.inRoom(p, "demo") })
		} else {
			waitUntil(t, 5*time.Second, "a prompt", func() bool { return p.recv.Load() > 5 })
		}
		p.hangup()
		waitUntil(t, 5*time.Second, "call ended", func() bool { return f.gw.activeCalls() == 0 })
	}
	f.waitIdle()
	leakcheck.Verify(t, 10*time.Second, ignore)
	if now := openFDs(t); now > fds+2 {
		t.Errorf("open fds: %d before, %d after", fds, now)
	}
	joined, hungUp := f.metric("roombridge_ivr_outcomes_total", "joined"), f.metric("roombridge_ivr_outcomes_total", "hung_up_in_ivr")
	if want := float64((cycles + 1) / 2); joined != want || hungUp != float64(cycles)-want+1 {
		t.Errorf("outcomes: joined %v, hung up %v", joined, hungUp)
	}
}
