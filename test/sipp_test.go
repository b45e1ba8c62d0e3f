package test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// The sipp scenarios in test/sipp against the real gateway. Each test starts
// its own gateway; sipp must exit 0, which it does only when every message
// of the scenario arrived as scripted and every regexp check held.

// sippRun runs one scenario against srv's UDP listener as a call to room
// demo and fails t unless sipp exits 0.
func sippRun(t *testing.T, srv *harness.Server, scenario string, pause time.Duration) {
	t.Helper()
	code := sippeer.Run(t, sippeer.Options{
		Scenario: scenario,
		Remote:   srv.SIPAddr,
		Service:  "demo",
		Domain:   sipDomain,
		Pause:    pause,
		Timeout:  45 * time.Second,
	})
	if code != sippeer.ExitOK {
		t.Fatalf("sipp %s: exit %d (%s)", scenario, code, sippeer.ExitReason(code))
	}
}

// TestSippCallSpeech: a phone (sipp) calls room demo and plays 7.3 s of
// speech. While the call lasts the room lists one more participant of kind
// "sip"; after the BYE it is gone. A silent gateway/caller call in the room
// records what it hears: the speech, through the bridge.
func TestSippCallSpeech(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)

	// The listener joins first and stays until well after the speech.
	listener := sipStartCaller(t, caller.Options{
		Target:    "sip:demo@" + srv.SIPAddr,
		Transport: uac.TransportUDP,
		Duration:  11 * time.Second,
	})
	sipWaitRoom(t, srv, "demo", 10*time.Second, listener.done, "the listening caller joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })

	sippDuring(t, srv, "call_speech.xml", 8500*time.Millisecond, "the sipp call joins as a participant of kind sip",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
	sipWaitRoom(t, srv, "demo", 5*time.Second, nil, "the sipp call leaves after its BYE",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })

	rep := listener.wait(t, 20*time.Second)
	// 7.3 s of speech with pauses: at least 2 s of 200 ms windows above
	// -40 dBFS.
	if n := sipLoudWindows(rep.Heard); n < 10 {
		t.Fatalf("the listening caller heard %d loud windows of 200 ms, want >= 10 (the speech): %s", n, sipDescribe(rep.Heard))
	}
	t.Logf("listener heard: %s; caller report: RMS %.1f dBFS, %d packets, loss %.3f, jitter %v",
		sipDescribe(rep.Heard), rep.HeardRMS, rep.PacketsReceived, rep.LossFraction, rep.Jitter)
}

// TestSippDelayedOffer: INVITE without SDP, the gateway offers in the 200,
// sipp answers in the ACK and plays speech.
func TestSippDelayedOffer(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	sippRun(t, srv, "delayed_offer.xml", 3*time.Second)
}

// TestSippHoldResume: re-INVITE sendonly must be answered recvonly, and a
// re-INVITE sendrecv must resume the call.
func TestSippHoldResume(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	sippRun(t, srv, "hold_resume.xml", 0)
}

// TestSippHoldMedia: the gateway sends RTP to the phone before the hold,
// none while the phone holds (a=sendonly, answered a=recvonly), and RTP
// again after the resume. The phone's SDP points at a socket of this test;
// the phases come from sipp's message timestamps.
func TestSippHoldMedia(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var arrivals []time.Time
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[0]>>6 == 2 && buf[1]&0x7f < 64 { // RTP, not RTCP
				mu.Lock()
				arrivals = append(arrivals, time.Now())
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close() })

	p := sippeer.Start(t, sippeer.Options{
		Scenario: "hold_media.xml",
		Remote:   srv.SIPAddr,
		Service:  "demo",
		Domain:   sipDomain,
		Timeout:  30 * time.Second,
		Args:     []string{"-key", "rtp_port", strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)},
	})
	code, err := p.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if code != sippeer.ExitOK {
		t.Fatalf("sipp: exit %d (%s)", code, sippeer.ExitReason(code))
	}
	msgs := p.ParsedMessages()
	at := func(sent bool, prefix, cseq string) time.Time {
		t.Helper()
		m, ok := sippeer.Find(msgs, sent, prefix, cseq)
		if !ok {
			t.Fatalf("no %q with CSeq %q in sipp's message log", prefix, cseq)
		}
		return m.Time
	}
	answered := at(false, "SIP/2.0 200", "1 INVITE")
	hold := at(true, "INVITE", "2 INVITE")
	held := at(false, "SIP/2.0 200", "2 INVITE")
	resume := at(true, "INVITE", "3 INVITE")
	resumed := at(false, "SIP/2.0 200", "3 INVITE")
	bye := at(true, "BYE", "4 BYE")

	mu.Lock()
	defer mu.Unlock()
	count := func(from, to time.Time) int {
		n := 0
		for _, a := range arrivals {
			if a.After(from) && a.Before(to) {
				n++
			}
		}
		return n
	}
	// 20 ms packets; allow for start-up and in-flight packets at the edges.
	slack := 100 * time.Millisecond
	before := count(answered.Add(slack), hold)
	during := count(held.Add(slack), resume)
	after := count(resumed.Add(slack), bye)
	t.Logf("gateway RTP packets: %d in %v before hold, %d in %v on hold, %d in %v after resume",
		before, hold.Sub(answered).Round(time.Millisecond), during, resume.Sub(held).Round(time.Millisecond),
		after, bye.Sub(resumed).Round(time.Millisecond))
	if want := int(hold.Sub(answered)/(20*time.Millisecond)) / 2; before < want {
		t.Errorf("%d RTP packets from the gateway before the hold, want >= %d", before, want)
	}
	if during > 2 {
		t.Errorf("%d RTP packets from the gateway while the phone held the call (answered recvonly), want none", during)
	}
	if want := int(bye.Sub(resumed)/(20*time.Millisecond)) / 2; after < want {
		t.Errorf("%d RTP packets from the gateway after the resume, want >= %d", after, want)
	}
}

// TestSippSessionTimer: RFC 4028 with the caller as refresher; refreshes by
// UPDATE and by re-INVITE.
func TestSippSessionTimer(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	sippRun(t, srv, "session_timer.xml", 0)
}

// TestSippSessionTimer422: a session interval below Min-SE gets 422 with
// Min-SE: 90, and the retry with 90 s is answered.
func TestSippSessionTimer422(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	sippRun(t, srv, "session_timer_422.xml", 0)
}

// TestSippRejects: calls the gateway must refuse, with the right status.
func TestSippRejects(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	for _, tc := range []struct {
		name, scenario, service string
	}{
		{"unknown-room-404", "unknown_room.xml", "no-such-room"},
		{"no-common-codec-488", "no_common_codec.xml", "demo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := sippeer.Run(t, sippeer.Options{
				Scenario: tc.scenario,
				Remote:   srv.SIPAddr,
				Service:  tc.service,
				Domain:   sipDomain,
				Timeout:  20 * time.Second,
			})
			if code != sippeer.ExitOK {
				t.Fatalf("sipp %s: exit %d (%s)", tc.scenario, code, sippeer.ExitReason(code))
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, err := sipRoomParticipants(ctx, srv, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if n := sipCountKind(ps, "sip"); n != 0 {
		t.Fatalf("room demo has %d SIP participants after refused calls: %v", n, ps)
	}
}

// TestSippPINIVR: a phone dials the dial-in number, keys room demo's PIN
// (1234#) as RFC 4733 events, and must then show in room demo.
func TestSippPINIVR(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t, "dialin: {numbers: [\"5000\"]}")
	p := sippeer.Start(t, sippeer.Options{
		Scenario: "pin_ivr.xml",
		Remote:   srv.SIPAddr,
		Service:  "5000",
		Domain:   sipDomain,
		Pause:    5 * time.Second,
		Timeout:  30 * time.Second,
	})
	_, joined := sipWaitRoom(t, srv, "demo", 15*time.Second, p.Done(), "the caller joins after keying the PIN",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	code, err := p.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if code != sippeer.ExitOK {
		t.Fatalf("sipp: exit %d (%s)", code, sippeer.ExitReason(code))
	}
	if !joined {
		t.Fatal("the call ended without joining room demo after the PIN")
	}
	sipWaitRoom(t, srv, "demo", 5*time.Second, nil, "the caller leaves after BYE",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })
}

// TestSippStarSixMute: a phone in room demo presses *6 (RFC 4733); the API
// must then show its audio muted.
func TestSippStarSixMute(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t)
	p := sippeer.Start(t, sippeer.Options{
		Scenario: "call_star6.xml",
		Remote:   srv.SIPAddr,
		Service:  "demo",
		Domain:   sipDomain,
		Pause:    4 * time.Second,
		Timeout:  30 * time.Second,
	})
	ps, joined := sipWaitRoom(t, srv, "demo", 10*time.Second, p.Done(), "the phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	if joined && ps[0].AudioMuted {
		t.Fatalf("the phone is muted before it pressed *6: %+v", ps)
	}
	_, muted := sipWaitRoom(t, srv, "demo", 8*time.Second, p.Done(), "*6 mutes the phone",
		func(ps []sipParticipant) bool {
			for _, x := range ps {
				if x.Kind == "sip" && x.AudioMuted {
					return true
				}
			}
			return false
		})
	code, err := p.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if code != sippeer.ExitOK {
		t.Fatalf("sipp: exit %d (%s)", code, sippeer.ExitReason(code))
	}
	if !joined || !muted {
		t.Fatalf("joined %v, muted after *6 %v; want both", joined, muted)
	}
}

// TestSippRTPTimeout: a call that sends no RTP is ended by the gateway
// (rtp.timeout 3s) with a BYE, and leaves the room.
func TestSippRTPTimeout(t *testing.T) {
	harness.RequireTool(t, "sipp")
	srv := startSIPGateway(t, "rtp: {timeout: 3s}")
	start := time.Now()
	p := sippeer.Start(t, sippeer.Options{
		Scenario: "rtp_timeout.xml",
		Remote:   srv.SIPAddr,
		Service:  "demo",
		Domain:   sipDomain,
		Timeout:  30 * time.Second,
	})
	_, joined := sipWaitRoom(t, srv, "demo", 10*time.Second, p.Done(), "the silent call joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	code, err := p.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if code != sippeer.ExitOK {
		t.Fatalf("sipp: exit %d (%s) after %v", code, sippeer.ExitReason(code), elapsed)
	}
	if !joined {
		t.Fatal("the call ended before it showed in room demo")
	}
	if elapsed < 3*time.Second || elapsed > 12*time.Second {
		t.Fatalf("the gateway hung up %v after the call started; want about 3 s (rtp.timeout)", elapsed)
	}
	sipWaitRoom(t, srv, "demo", 5*time.Second, nil, "the timed-out call leaves",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })
	t.Logf("the gateway hung up after %v", elapsed.Round(100*time.Millisecond))
}
