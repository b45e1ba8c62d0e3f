package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/test/internal/chrome"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// The click-to-call page (/call, JsSIP in Chromium) against a real gateway
// with ws:// and wss:// SIP listeners: the WebSocket transport both ways,
// REGISTER with a configured and with a minted account, and calls whose
// WebRTC offer the gateway answers with a PeerConnection (the WebRTC SIP
// leg).

// callPageUser is the SIP account of sip.users in these tests.
const callPageUser, callPagePassword = "alice", "correct-horse"

// callPageGateway starts a gateway with WebSocket listeners, a SIP user and
// the loopback trunk (so unregistered pages may call too).
func callPageGateway(t *testing.T) *sipWSGateway {
	t.Helper()
	return startSIPWSGateway(t, `
sip:
  users: [ { username: `+callPageUser+`, password: `+callPagePassword+` } ]
`)
}

// callPageBrowser is Chromium that accepts the gateway's self-signed
// certificate for wss://.
func callPageBrowser(t *testing.T, args ...string) *chrome.Browser {
	return bpLaunchBrowser(t, append([]string{"--ignore-certificate-errors"}, args...)...)
}

// callPage opens /call with the given query (transport, user, password,
// target) and waits for its WebSocket to connect.
func callPage(ctx context.Context, t *testing.T, b *chrome.Browser, g *sipWSGateway, name string, q url.Values) *chrome.Page {
	t.Helper()
	p, err := b.NewPage(ctx, name, g.srv.URL+"/call?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, p, `window.roombridgeCall && window.roombridgeCall.connection === 'connected'`)
	return p
}

// callDial types target into the page's dial box and presses Call.
func callDial(ctx context.Context, t *testing.T, p *chrome.Page, target string) {
	t.Helper()
	mustEval(ctx, t, p, `(() => { const f = document.getElementById('dial');
		f.elements.target.value = `+jsString(target)+`; f.requestSubmit(); })()`)
}

// callState is the page's debug handle.
type callState struct {
	URL               string `json:"url"`
	Connection        string `json:"connection"`
	Registration      string `json:"registration"`
	RegistrationError string `json:"registrationError"`
	Call              string `json:"call"`
	Cause             string `json:"cause"`
	Offer             string `json:"offer"`
	Response          *struct {
		Status  int    `json:"status"`
		Reason  string `json:"reason"`
		Warning string `json:"warning"`
	} `json:"response"`
}

func readCallState(ctx context.Context, t *testing.T, p *chrome.Page) callState {
	t.Helper()
	var s callState
	if err := p.EvalInto(ctx, `(() => { const d = window.roombridgeCall;
		return {url: d.url, connection: d.connection, registration: d.registration, registrationError: d.registrationError,
			call: d.call, cause: d.cause, offer: d.offer, response: d.response}; })()`, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCallPageRegisterAndRoomCall: over ws:// the page registers with a
// sip.users account (the API lists the binding, the password leaves the
// address bar) and calls room demo, where a phone sends 440 Hz; over wss://
// an unregistered page calls demo too. Both pages' fake microphone sends
// 2000 Hz. The gateway answers JsSIP's WebRTC offer: each page hears the
// phone (a WebAudio analyser on the call's remote audio), the phone hears
// the pages, the room lists three SIP participants. The ws page then puts
// the call on hold (JsSIP's re-INVITE, a=sendonly): the gateway answers
// recvonly and stops sending; on unhold the page hears the phone again. A
// wrong password is refused with 403.
func TestCallPageRegisterAndRoomCall(t *testing.T) {
	wav := filepath.Join(t.TempDir(), "mic-2000hz.wav")
	bpWriteTone(t, wav, bpToneBrowser, 48000, 30*time.Second)
	b := callPageBrowser(t, "--use-file-for-fake-audio-capture="+wav)
	g := callPageGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	phone := sipStartCaller(t, caller.Options{
		Target: "sip:demo@" + g.udp, Transport: uac.TransportUDP,
		Codec: caller.CodecPCMU, Tone: bpToneA, Duration: 40 * time.Second,
	})
	sipWaitRoom(t, g.srv, "demo", 15*time.Second, phone.done, "the phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })

	ws := callPage(ctx, t, b, g, "ws", url.Values{"transport": {"ws"}, "user": {callPageUser}, "password": {callPagePassword}})
	wait(ctx, t, ws, `window.roombridgeCall.registration === 'registered'`)
	wait(ctx, t, ws, `!location.search.includes('password') && document.getElementById('reg-status').textContent === 'Registered as alice'`)
	if st := readCallState(ctx, t, ws); !strings.HasPrefix(st.URL, "ws://127.0.0.1:") {
		t.Errorf("page URL %q", st.URL)
	}
	regs := callRegistrations(ctx, t, g, callPageUser)
	if len(regs) != 1 || regs[0].Transport != "ws" || !strings.Contains(regs[0].UserAgent, "JsSIP 3.13.8") ||
		!strings.HasSuffix(strings.SplitN(regs[0].Contact, ";", 2)[0], ".invalid") || time.Until(regs[0].ExpiresAt) < time.Minute {
		t.Errorf("registrations %+v", regs)
	}

	wss := callPage(ctx, t, b, g, "wss", url.Values{"transport": {"wss"}})
	for _, p := range []*chrome.Page{ws, wss} {
		callAnswered(ctx, t, p, "demo")
		spec := callWaitHears(ctx, t, p, bpToneA)
		t.Logf("%s hears: %s", p.Name(), spec)
		if strings.HasPrefix(p.Name(), "wss") && !strings.HasPrefix(readCallState(ctx, t, p).URL, "wss://") {
			t.Errorf("wss page used %q", readCallState(ctx, t, p).URL)
		}
	}
	sipWaitRoom(t, g.srv, "demo", 10*time.Second, phone.done, "the phone and both pages in demo",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 3 })

	// Hold: the gateway answers the re-INVITE and stops sending.
	mustEval(ctx, t, ws, `window.roombridgeCall.session.hold()`)
	wait(ctx, t, ws, `window.roombridgeCall.session.isOnHold().local &&
		/a=(recvonly|inactive)/.test(window.roombridgeCall.session.connection.remoteDescription.sdp)`)
	callWaitSilent(ctx, t, ws)
	mustEval(ctx, t, ws, `window.roombridgeCall.session.unhold()`)
	wait(ctx, t, ws, `!window.roombridgeCall.session.isOnHold().local &&
		/a=sendrecv/.test(window.roombridgeCall.session.connection.remoteDescription.sdp)`)
	t.Logf("after unhold, ws hears: %s", callWaitHears(ctx, t, ws, bpToneA))

	for _, p := range []*chrome.Page{ws, wss} {
		mustEval(ctx, t, p, `document.getElementById('hangup').click()`)
		wait(ctx, t, p, `window.roombridgeCall.call === 'ended'`)
	}
	sipWaitRoom(t, g.srv, "demo", 10*time.Second, phone.done, "the pages leave demo",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	rep := phone.wait(t, 60*time.Second)
	if n := sipToneWindows(rep.Heard, bpToneBrowser, []float64{bpToneA, bpToneBrowser}); n < 10 {
		t.Errorf("the phone heard the pages' %.0f Hz in %d windows of 200 ms: %s", bpToneBrowser, n, sipDescribe(rep.Heard))
	}

	bad := callPage(ctx, t, b, g, "wrong-password", url.Values{"transport": {"wss"}, "user": {callPageUser}, "password": {"not-the-password"}})
	wait(ctx, t, bad, `window.roombridgeCall.registration === 'failed'`)
	if st := readCallState(ctx, t, bad); !strings.HasPrefix(st.RegistrationError, "403") {
		t.Errorf("wrong password: %q", st.RegistrationError)
	}
	// Closing the registered page unregisters (JsSIP sends REGISTER with
	// expires 0 on stop, and the socket's bindings go with it).
	if err := ws.Close(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(callRegistrations(ctx, t, g, callPageUser)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the binding stayed after the page closed")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// callAnswered dials target from the page and waits for the gateway's
// answer; it logs how long the INVITE took to be answered and the first
// audio packet to arrive (the page's own clock).
func callAnswered(ctx context.Context, t *testing.T, p *chrome.Page, target string) {
	t.Helper()
	mustEval(ctx, t, p, callFirstMediaJS)
	callDial(ctx, t, p, target)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := p.WaitFor(wctx, `window.roombridgeCall.call === 'answered' || window.roombridgeCall.call === 'failed'`, 0); err != nil {
		t.Fatal(err)
	}
	st := readCallState(ctx, t, p)
	if st.Call != "answered" {
		t.Fatalf("%s: call %s: %+v %s", p.Name(), st.Call, st.Response, st.Cause)
	}
	checkJsSIPOffer(t, st.Offer)
	wait(ctx, t, p, `window.cpFirstMedia > 0`)
	var times struct{ Invite, Answered, Media float64 }
	if err := p.EvalInto(ctx, `({invite: window.roombridgeCall.times.invite, answered: window.roombridgeCall.times.answered, media: window.cpFirstMedia})`, &times); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: INVITE→200 OK %.0f ms, INVITE→first audio packet %.0f ms", p.Name(), times.Answered-times.Invite, times.Media-times.Invite)
}

// callFirstMediaJS records in window.cpFirstMedia when (performance.now())
// the call's first audio packet arrives, and points the analyser of
// bpAnalyserJS at the call's PeerConnection.
const callFirstMediaJS = `(() => {
	window.cpFirstMedia = 0;
	window.bpPC = () => window.roombridgeCall.session && window.roombridgeCall.session.connection;
	const poll = setInterval(async () => {
		const pc = window.bpPC();
		if (!pc) return;
		const stats = await pc.getStats();
		stats.forEach((r) => {
			if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.packetsReceived > 0 && !window.cpFirstMedia) {
				window.cpFirstMedia = performance.now();
				clearInterval(poll);
			}
		});
	}, 5);
})()`

// callWaitHears waits until the page's call audio carries freq at least
// bpMinBinRise above the band's median and returns that spectrum.
func callWaitHears(ctx context.Context, t *testing.T, p *chrome.Page, freq float64) bpSpectrum {
	t.Helper()
	mustEval(ctx, t, p, bpAnalyserJS)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	js := fmt.Sprintf("window.bpSpectrum([%g, %g, %g, %g], 100, 3900)", bpFreqs[0], bpFreqs[1], bpFreqs[2], bpFreqs[3])
	i := slices.Index(bpFreqs, freq)
	var last bpSpectrum
	for {
		var s bpSpectrum
		err := p.EvalInto(ctx, js, &s)
		if err == nil {
			last = s
			if len(s.Levels) == len(bpFreqs) && s.Levels[i]-s.Median >= bpMinBinRise {
				return s
			}
		}
		select {
		case <-ctx.Done():
			stats, _ := p.Evaluate(context.Background(), `(async () => { const out = [];
				(await window.bpPC().getStats()).forEach((r) => { if (r.type === 'inbound-rtp') out.push(r); }); return out; })()`)
			t.Fatalf("%s does not hear %.0f Hz (%v, last error %v): %s; inbound-rtp %s", p.Name(), freq, ctx.Err(), err, last, stats)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// callWaitSilent waits until the call's inbound audio has stopped: no
// packet for a second.
func callWaitSilent(ctx context.Context, t *testing.T, p *chrome.Page) {
	t.Helper()
	mustEval(ctx, t, p, `(() => {
		window.cpSilent = false;
		let last = -1, since = performance.now();
		const poll = setInterval(async () => {
			const stats = await window.roombridgeCall.session.connection.getStats();
			stats.forEach((r) => {
				if (r.type !== 'inbound-rtp' || r.kind !== 'audio') return;
				if (r.packetsReceived !== last) { last = r.packetsReceived; since = performance.now(); }
				else if (performance.now() - since > 1000) { window.cpSilent = true; clearInterval(poll); }
			});
		}, 50);
	})()`)
	wait(ctx, t, p, `window.cpSilent === true`)
}

// TestCallPageMintedAccount: a page registers over wss:// with an account
// minted by POST /v1/sip-credentials and calls room demo.
func TestCallPageMintedAccount(t *testing.T) {
	b := callPageBrowser(t)
	g := callPageGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status, body, err := g.srv.API(ctx, http.MethodPost, "/v1/sip-credentials", map[string]any{"name": "kiosk", "ttl_seconds": 600})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("mint: %d %s %v", status, body, err)
	}
	var cred struct{ Username, Password, AOR string }
	if err := json.Unmarshal(body, &cred); err != nil {
		t.Fatal(err)
	}
	p := callPage(ctx, t, b, g, "minted", url.Values{"transport": {"wss"}, "user": {cred.Username}, "password": {cred.Password}})
	wait(ctx, t, p, `window.roombridgeCall.registration === 'registered'`)
	regs := callRegistrations(ctx, t, g, cred.Username)
	if len(regs) != 1 || regs[0].Transport != "wss" || regs[0].AOR != cred.AOR {
		t.Fatalf("registrations %+v (AOR %s)", regs, cred.AOR)
	}
	// Registered with it, the page calls room demo and is in it.
	callAnswered(ctx, t, p, "demo")
	sipWaitRoom(t, g.srv, "demo", 10*time.Second, nil, "the minted account's call in demo",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
}

type callRegistration struct {
	AOR       string    `json:"aor"`
	Contact   string    `json:"contact"`
	Transport string    `json:"transport"`
	UserAgent string    `json:"user_agent"`
	ExpiresAt time.Time `json:"expires_at"`
}

func callRegistrations(ctx context.Context, t *testing.T, g *sipWSGateway, user string) []callRegistration {
	t.Helper()
	status, body, err := g.srv.API(ctx, http.MethodGet, "/v1/registrations?user="+url.QueryEscape(user), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /v1/registrations: %d %s %v", status, body, err)
	}
	var out struct {
		Registrations []callRegistration `json:"registrations"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Registrations
}

// checkJsSIPOffer checks that the INVITE's SDP has the shape the WebRTC SIP
// leg will have to answer, and with ROOMBRIDGE_CAPTURE_SDP=path saves it
// (sipws/testdata/jssip-chromium-offer.sdp was captured this way).
func checkJsSIPOffer(t *testing.T, sdp string) {
	t.Helper()
	for _, want := range []string{
		"m=audio ", " UDP/TLS/RTP/SAVPF 111 ", "a=rtpmap:111 opus/48000/2", "a=fingerprint:sha-256 ", "a=setup:actpass",
		"a=ice-ufrag:", "a=ice-pwd:", "a=rtcp-mux", "a=group:BUNDLE", "a=candidate:",
	} {
		if !strings.Contains(sdp, want) {
			t.Errorf("JsSIP's offer has no %q:\n%s", want, sdp)
		}
	}
	if path := os.Getenv("ROOMBRIDGE_CAPTURE_SDP"); path != "" {
		if err := os.WriteFile(path, []byte(sdp), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// TestCallPageDialInPIN: unregistered pages call the dial-in number; the
// PIN IVR answers and the page keys room demo's PIN on its keypad, once as
// SIP INFO (JsSIP's default) and once as RFC 4733 events in the audio. Each
// lands in demo, as a SIP participant.
func TestCallPageDialInPIN(t *testing.T) {
	b := callPageBrowser(t)
	g := callPageGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i, via := range []string{"INFO", "RFC2833"} {
		p := callPage(ctx, t, b, g, "dialin-"+via, url.Values{"transport": {"wss"}})
		if via == "RFC2833" {
			mustEval(ctx, t, p, `document.getElementById('rfc4733').checked = true`)
		}
		callAnswered(ctx, t, p, "+15550100")
		for _, k := range harness.DemoPIN + "#" {
			mustEval(ctx, t, p, `document.querySelector('#keypad button[data-key="`+string(k)+`"]').click()`)
		}
		wait(ctx, t, p, `document.getElementById('sent-keys').textContent === `+jsString(harness.DemoPIN+"#"))
		sipWaitRoom(t, g.srv, "demo", 20*time.Second, nil, via+": the page lands in demo",
			func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == i+1 })
		if st := readCallState(ctx, t, p); st.Call != "answered" {
			t.Fatalf("%s: call %s after the PIN", via, st.Call)
		}
	}
}
