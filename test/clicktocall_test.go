package test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/sipws/sipwstest"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// Click-to-call: a SIP caller with an account (sip.users) dials a number,
// which the gateway bridges to a sipp carrier through the outbound trunks,
// with the carrier's registration, early media, failover and final
// failures, and DTMF both ways.

// c2cNumber is the number the callers dial.
const c2cNumber = "+15551234567"

// c2cGateway starts a gateway with WebSocket listeners, the account
// callPageUser, a PBX trunk on 127.0.0.2 that may not call out, and the
// given outbound trunks.
func c2cGateway(t *testing.T, outbound ...map[string]any) *sipWSGateway {
	t.Helper()
	trunks := []any{map[string]any{"name": "pbx", "allow": []any{"127.0.0.2/32"}, "trusted": true}}
	for _, o := range outbound {
		trunks = append(trunks, o)
	}
	b, err := json.Marshal(map[string]any{
		"trunks": trunks,
		"sip": map[string]any{
			"users": []any{map[string]any{"username": callPageUser, "password": callPagePassword}},
			// uac's WebSocket client answers no pings: at 2 s the gateway
			// would close its socket as silent while the call lasts.
			"ws_ping_interval": "30s",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return startSIPWSGateway(t, string(b))
}

// c2cCarrierTrunk is an outbound trunk to a carrier of carrier_c2c.xml:
// registered with digest, the caller's keys sent as INFO.
func c2cCarrierTrunk(name, addr string, prio int) map[string]any {
	tr := outboundTrunk(name, addr, prio, map[string]any{
		"username": "roombridge", "password": "carrier-secret", "register": true, "invite_timeout": "5s",
	})
	tr["dtmf"] = "info"
	return tr
}

// c2cStartCarrier starts carrier_c2c.xml (echoing RTP from the answer on,
// expecting key 5) and a gateway calling out through it, and waits for
// the trunk's registration.
func c2cStartCarrier(t *testing.T) (*sippeer.UAS, *sipWSGateway) {
	t.Helper()
	carrier := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_c2c.xml", Args: []string{"-rtp_echo"}})
	g := c2cGateway(t, c2cCarrierTrunk("carrier", carrier.Addr, 1))
	deadline := time.Now().Add(10 * time.Second)
	for trunks(t, g.srv)["carrier"].Registration.State != "registered" {
		if time.Now().After(deadline) {
			t.Fatalf("trunk not registered: %+v; carrier got %q", trunks(t, g.srv)["carrier"], requests(carrier, false))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return carrier, g
}

// c2cWaitListed waits until GET /v1/calls lists the click-to-call in
// state, and returns it; with state "" until it lists no call.
func c2cWaitListed(t *testing.T, srv *harness.Server, state string) c2cListedCall {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct{ Calls []c2cListedCall }
		apiJSON(t, srv, http.MethodGet, "/v1/calls", nil, &list)
		if state == "" && len(list.Calls) == 0 {
			return c2cListedCall{}
		}
		for _, c := range list.Calls {
			if c.State == state {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v1/calls: no call %s in %+v", state, list.Calls)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type c2cListedCall struct {
	apiCall
	To     string `json:"to"`
	Room   string `json:"room"`
	Name   string `json:"name"`
	Origin string `json:"origin"`
}

// TestClickToCallPhone: a SIP phone (G.711 over UDP) authenticated as a
// sip.users account dials +15551234567; the carrier, reached through a
// registered outbound trunk, answers after early media and echoes the
// caller's audio. The caller is answered, hears its own 1 kHz tone come
// back through the carrier, its key 5 reaches the carrier as INFO, the
// carrier's key 7 reaches the caller as an RFC 4733 event, GET /v1/calls
// lists the call (origin click-to-call, caller id the account's), and the
// caller's BYE ends the carrier's call.
func TestClickToCallPhone(t *testing.T) {
	carrier, g := c2cStartCarrier(t)
	call := sipStartCaller(t, caller.Options{
		Target: "sip:" + c2cNumber + "@" + g.udp, Username: callPageUser, Password: callPagePassword,
		From: "+19995550000", Tone: 1000, DTMF: "5", DTMFVia: caller.DTMFInfo, DTMFDelay: time.Second,
		Duration: 9 * time.Second, // the announcement (7.3 s from the 183) interleaves with the echo at first
	})
	c := c2cWaitListed(t, g.srv, "answered")
	if c.Origin != "click-to-call" || c.To != c2cNumber || c.Trunk != "carrier" || c.Room != "" || c.Name != callPageUser {
		t.Errorf("listed %+v", c)
	}
	rep := call.wait(t, 30*time.Second)
	if rep.Status != 200 {
		t.Fatalf("caller got %d %s", rep.Status, rep.Reason)
	}
	if n := sipToneWindows(rep.Heard, 1000, []float64{440, 1000, 2000}); n < 3 {
		t.Errorf("the caller heard its tone back through the carrier in %d windows (peaks %v, %.1f dBFS)", n, rep.Peaks, rep.HeardRMS)
	}
	if !strings.Contains(rep.DTMFReceived, "7") {
		t.Errorf("the caller received keys %q, want the carrier's 7", rep.DTMFReceived)
	}
	waitLog(t, carrier, false, "BYE", 5*time.Second)
	msgs := carrier.Messages()
	if !strings.Contains(msgs, "Signal=5") {
		t.Errorf("the carrier got no INFO with the caller's key 5")
	}
	// The caller's From (+19995550000) is not the caller id: the trunk's
	// from_number is, with the account's name.
	if inv := c2cInvite(msgs); !strings.Contains(inv, "From: \""+callPageUser+"\" <sip:+15550100@") {
		t.Errorf("INVITE to the carrier:\n%s", inv)
	}
	if got := requests(carrier, false); !strings.HasPrefix(got, "REGISTER REGISTER") || !strings.Contains(got, "INVITE ACK INFO") {
		t.Errorf("carrier got %q", got)
	}
}

// c2cInvite is the first INVITE in a sipp message log.
func c2cInvite(log string) string {
	i := strings.Index(log, "INVITE sip:")
	if i < 0 {
		return ""
	}
	s := log[i:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j]
	}
	return s
}

// TestClickToCallForbidden: a caller whose trunk may not call out (the
// PBX trunk, trusted for rooms, without click_to_call) dialling a number
// gets 403, and the carrier hears nothing of it.
func TestClickToCallForbidden(t *testing.T) {
	carrier := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_answer.xml"})
	g := c2cGateway(t, outboundTrunk("carrier", carrier.Addr, 1, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := uac.Dial(ctx, uac.Config{
		Target: "sip:" + c2cNumber + "@" + g.udp, LocalIP: netip.MustParseAddr("127.0.0.2"),
		FromUser: "+15557770000", Offer: c2cG711Offer("127.0.0.2"), Logger: testLogger(t),
	})
	if code := uac.StatusCode(err); code != 403 {
		t.Fatalf("the PBX's call to a number: %v (status %d), want 403", err, code)
	}
	if got := requests(carrier, false); got != "" {
		t.Errorf("carrier got %q", got)
	}
}

// c2cG711Offer is a PCMU offer on a port nobody listens on.
func c2cG711Offer(ip string) []byte {
	return []byte("v=0\r\no=- 1 1 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\n" +
		"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")
}

// TestClickToCallFailover: the first carrier answers 503, the second
// answers: the caller is answered through the second. DELETE
// /v1/calls/{id} then hangs up both sides: the carrier and the caller get
// BYE.
func TestClickToCallFailover(t *testing.T) {
	bad := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_503.xml"})
	good := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_answer.xml"})
	g := c2cGateway(t, outboundTrunk("a", bad.Addr, 1, nil), outboundTrunk("b", good.Addr, 2, nil))
	call := sipStartCaller(t, caller.Options{
		Target: "sip:" + c2cNumber + "@" + g.udp, Username: callPageUser, Password: callPagePassword, Duration: 20 * time.Second,
	})
	c := c2cWaitListed(t, g.srv, "answered")
	if c.Trunk != "b" {
		t.Errorf("answered %+v", c)
	}
	if code := apiJSON(t, g.srv, http.MethodDelete, "/v1/calls/"+c.ID, nil, nil); code != http.StatusAccepted {
		t.Fatalf("DELETE: %d", code)
	}
	rep := call.wait(t, 10*time.Second)
	if rep.Status != 200 || !rep.RemoteHangup {
		t.Fatalf("caller: %d %s, remote hangup %v", rep.Status, rep.Reason, rep.RemoteHangup)
	}
	waitLog(t, good, false, "INVITE ACK BYE", 5*time.Second)
	if got := requests(bad, true); got != "100 503" {
		t.Errorf("first carrier sent %q", got)
	}
}

// TestClickToCallCancel: the caller's CANCEL while the carrier rings
// cancels the INVITE out.
func TestClickToCallCancel(t *testing.T) {
	ringing := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_no_answer.xml"})
	g := c2cGateway(t, outboundTrunk("a", ringing.Addr, 1, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := uac.Dial(ctx, uac.Config{
		Target: "sip:" + c2cNumber + "@" + g.udp, LocalIP: netip.MustParseAddr("127.0.0.1"),
		Username: callPageUser, Password: callPagePassword, Offer: c2cG711Offer("127.0.0.1"), Logger: testLogger(t),
		OnProgress: func(code int, _ string, _ []byte) {
			if code == 180 {
				cancel()
			}
		},
	})
	if !errors.Is(err, uac.ErrCanceled) {
		t.Fatalf("dial: %v, want it cancelled after the 180", err)
	}
	waitLog(t, ringing, false, "INVITE CANCEL ACK", 5*time.Second)
	if c := c2cWaitListed(t, g.srv, ""); c.ID != "" {
		t.Errorf("still listed: %+v", c)
	}
}

// TestClickToCallBusy: the carrier's 486 is the caller's final response.
func TestClickToCallBusy(t *testing.T) {
	busy := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_busy.xml"})
	g := c2cGateway(t, outboundTrunk("a", busy.Addr, 1, nil))
	call := sipStartCaller(t, caller.Options{
		Target: "sip:" + c2cNumber + "@" + g.udp, Username: callPageUser, Password: callPagePassword, Duration: time.Second,
	})
	select {
	case <-call.done:
	case <-time.After(20 * time.Second):
		t.Fatal("caller still running")
	}
	if call.report == nil || call.report.Status != 486 {
		t.Fatalf("caller: %+v, %v; want 486", call.report, call.err)
	}
}

// TestClickToCallBrowserEarlyMedia: a browser SIP leg (pion behind an
// INVITE over ws://, authenticated as the account) dials the number. The
// carrier's 183 early media (speech) is heard in the browser before the
// 200; after it the browser's 440 Hz comes back through the carrier's
// echo (Opus ↔ G.711 both ways), its key 5 reaches the carrier as INFO,
// the carrier's 7 reaches the browser as INFO, and the browser's BYE ends
// the carrier's call.
func TestClickToCallBrowserEarlyMedia(t *testing.T) {
	carrier, g := c2cStartCarrier(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	browser, track := sipwstest.Browser(t)
	heard := &c2cHeard{}
	browser.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { heard.read(t, tr) })
	offer := sipwstest.Offer(ctx, t, browser)
	var (
		mu        sync.Mutex
		earlySDP  []byte
		earlyAt   time.Time
		infoGot   []string
		remoteSet bool
	)
	setRemote := func(sdp []byte) {
		mu.Lock()
		defer mu.Unlock()
		if remoteSet || len(sdp) == 0 {
			return
		}
		remoteSet = true
		if err := browser.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(sdp)}); err != nil {
			t.Error(err)
		}
	}
	start := time.Now()
	call, err := uac.Dial(ctx, uac.Config{
		Target: "sip:" + c2cNumber + "@" + g.ws, Transport: uac.TransportWS, LocalIP: netip.MustParseAddr("127.0.0.1"),
		FromUser: callPageUser, Username: callPageUser, Password: callPagePassword, Offer: []byte(offer), Logger: testLogger(t),
		OnProgress: func(code int, _ string, sdp []byte) {
			if code == 183 && sdp != nil {
				mu.Lock()
				earlySDP, earlyAt = sdp, time.Now()
				mu.Unlock()
				setRemote(sdp)
			}
		},
		OnInfo: func(_ string, body []byte) {
			mu.Lock()
			infoGot = append(infoGot, string(body))
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("click-to-call over ws://: %v", err)
	}
	answeredAt := time.Now()
	t.Cleanup(func() { _ = call.Hangup(context.Background()) })
	mu.Lock()
	early := earlySDP != nil
	t.Logf("INVITE→183 with early media %v; 183→200 OK %v (the carrier answers 2.5 s after its 183)",
		earlyAt.Sub(start).Round(time.Millisecond), answeredAt.Sub(earlyAt).Round(time.Millisecond))
	mu.Unlock()
	if !early {
		t.Fatal("no 183 with SDP before the answer")
	}
	setRemote(call.Answer())
	if n := heard.speechBefore(answeredAt); n < 2 {
		t.Errorf("early media: %d windows of sound before the answer, want the carrier's announcement", n)
	}
	// The browser's tone, through the carrier's echo, back to the browser.
	sendOpusTone(ctx, t, track, func() int { return heard.toneAfter(answeredAt, 440) }, 3)
	if err := call.SendInfo(ctx, "application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(infoGot, "|")
		mu.Unlock()
		if strings.Contains(got, "Signal=7") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser got INFO %q, want the carrier's key 7", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitLog(t, carrier, false, "INVITE ACK INFO 200 BYE", 5*time.Second)
	if !strings.Contains(carrier.Messages(), "Signal=5") {
		t.Error("the carrier got no INFO with the browser's key 5")
	}
}

// c2cHeard is what a pion browser heard: its Opus decoded at 8 kHz, in
// sipWindow windows with the time each ended.
type c2cHeard struct {
	mu      sync.Mutex
	windows [][]int16
	at      []time.Time
}

func (h *c2cHeard) read(t *testing.T, tr *webrtc.TrackRemote) {
	dec, err := opus.NewDecoder(8000, 1)
	if err != nil {
		t.Error(err)
		return
	}
	pcm := make([]int16, 960)
	var cur []int16
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		n, err := dec.Decode(pkt.Payload, pcm)
		if err != nil {
			continue
		}
		cur = append(cur, pcm[:n]...)
		if len(cur) >= sipWindow {
			h.mu.Lock()
			h.windows = append(h.windows, cur[:sipWindow])
			h.at = append(h.at, time.Now())
			h.mu.Unlock()
			cur = append([]int16(nil), cur[sipWindow:]...)
		}
	}
}

// speechBefore counts the windows with sound that ended before at.
func (h *c2cHeard) speechBefore(at time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for i, w := range h.windows {
		if h.at[i].Before(at) && tone.RMS(w) >= sipMinSpeechRMS {
			n++
		}
	}
	return n
}

// toneAfter counts the windows after at where freq dominates.
func (h *c2cHeard) toneAfter(at time.Time, freq float64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for i, w := range h.windows {
		if h.at[i].After(at) && sipToneWindows(w, freq, []float64{440, 1000, 2000}) == 1 {
			n++
		}
	}
	return n
}

// TestCallPageClickToCall: the /call page (JsSIP in Chromium), registered
// with the account, dials +15551234567. The carrier's early media plays in
// the page while it rings (audio with sound arrives before the 200), the
// page's microphone (2 kHz) comes back through the carrier's echo, its
// keypad's 5 reaches the carrier as INFO and the carrier's 7 reaches the
// page as INFO, and Hang up sends the carrier BYE.
func TestCallPageClickToCall(t *testing.T) {
	wav := t.TempDir() + "/mic-2000hz.wav"
	bpWriteTone(t, wav, bpToneBrowser, 48000, 30*time.Second)
	b := callPageBrowser(t, "--use-file-for-fake-audio-capture="+wav)
	carrier, g := c2cStartCarrier(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := callPage(ctx, t, b, g, "c2c", url.Values{"user": {callPageUser}, "password": {callPagePassword}})
	wait(ctx, t, p, `window.roombridgeCall.registration === 'registered'`)
	// Until the answer, the loudest audio level of what the page receives.
	mustEval(ctx, t, p, `(() => {
		window.c2cEarly = 0;
		const poll = setInterval(async () => {
			const d = window.roombridgeCall;
			if (d.call === 'answered' || d.call === 'ended' || d.call === 'failed') { clearInterval(poll); return; }
			const pc = d.session && d.session.connection;
			if (!pc) return;
			(await pc.getStats()).forEach((r) => {
				if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.audioLevel > window.c2cEarly) window.c2cEarly = r.audioLevel;
			});
		}, 50);
	})()`)
	callDial(ctx, t, p, c2cNumber)
	wait(ctx, t, p, `window.roombridgeCall.call === 'answered' || window.roombridgeCall.call === 'failed'`)
	st := readCallState(ctx, t, p)
	if st.Call != "answered" {
		t.Fatalf("call %s: %+v %s", st.Call, st.Response, st.Cause)
	}
	var early float64
	if err := p.EvalInto(ctx, `window.c2cEarly`, &early); err != nil {
		t.Fatal(err)
	}
	var times struct{ Invite, Ringing, Answered float64 }
	if err := p.EvalInto(ctx, `window.roombridgeCall.times`, &times); err != nil {
		t.Fatal(err)
	}
	t.Logf("page: INVITE→ringing (183 with early media) %.0f ms, →200 OK %.0f ms (the carrier answers 2.5 s after its 183)",
		times.Ringing-times.Invite, times.Answered-times.Invite)
	// audioLevel is linear, 1 at full scale: 0.01 is -40 dBFS.
	if early < 0.01 {
		t.Errorf("loudest audio before the answer %.4f: the carrier's early media was not heard", early)
	}
	// JsSIP takes an INFO application/dtmf-relay as a key (newDTMF).
	mustEval(ctx, t, p, `(() => { window.c2cKeys = '';
		window.roombridgeCall.session.on('newDTMF', (e) => { if (e.originator === 'remote') window.c2cKeys += e.dtmf.tone; }); })()`)
	mustEval(ctx, t, p, `window.bpPC = () => window.roombridgeCall.session.connection`)
	callWaitHears(ctx, t, p, bpToneBrowser)
	mustEval(ctx, t, p, `document.querySelector('#keypad button[data-key="5"]').click()`)
	wait(ctx, t, p, `window.c2cKeys === '7'`)
	mustEval(ctx, t, p, `document.getElementById('hangup').click()`)
	waitLog(t, carrier, false, "INVITE ACK INFO 200 BYE", 5*time.Second)
	if !strings.Contains(carrier.Messages(), "Signal=5") {
		t.Error("the carrier got no INFO with the page's key 5")
	}
}
