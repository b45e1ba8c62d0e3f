package test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/chrome"
)

// The click-to-call page (/call, JsSIP in Chromium) against a real gateway
// with ws:// and wss:// SIP listeners. What works before the WebRTC SIP leg
// exists: the WebSocket transport both ways, REGISTER with a configured and
// with a minted account, and a clear 488 with a Warning for the WebRTC
// offer JsSIP always sends. callPage and callDial are the harness the media
// tests will use once the gateway answers that offer.

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
func callPageBrowser(t *testing.T) *chrome.Browser {
	return bpLaunchBrowser(t, "--ignore-certificate-errors")
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
// address bar); over wss:// an unregistered page calls room demo, and both
// get 488 with the Warning that names the WebRTC transport, shown on the
// page, instead of a call that hangs. A wrong password is refused with 403.
func TestCallPageRegisterAndRoomCall(t *testing.T) {
	b := callPageBrowser(t)
	g := callPageGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

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
		callDial(ctx, t, p, "demo")
		wait(ctx, t, p, `window.roombridgeCall.call === 'failed'`)
		st := readCallState(ctx, t, p)
		t.Logf("%s: %+v %s", p.Name(), st.Response, st.Cause)
		if st.Response == nil || st.Response.Status != 488 || !strings.Contains(st.Response.Warning, `302 conf.example.com "Incompatible transport protocol`) ||
			!strings.Contains(st.Response.Warning, "UDP/TLS/RTP/SAVPF") {
			t.Errorf("%s: response %+v, want 488 with Warning 302", p.Name(), st.Response)
		}
		wait(ctx, t, p, `document.getElementById('notice').textContent.startsWith('Call failed: 488 Not Acceptable Here (Incompatible transport protocol') &&
			document.getElementById('call-state').textContent === 'Call failed' && !document.getElementById('call-button').disabled`)
		if strings.HasPrefix(p.Name(), "wss") && !strings.HasPrefix(st.URL, "wss://") {
			t.Errorf("wss page used %q", st.URL)
		}
		checkJsSIPOffer(t, st.Offer)
	}

	// A number goes to the dial-in IVR, which cannot take the offer either.
	callDial(ctx, t, wss, "+15550100")
	wait(ctx, t, wss, `window.roombridgeCall.call === 'failed' && window.roombridgeCall.response.status === 488 &&
		document.getElementById('call-peer').textContent === 'sip:+15550100@`+sipDomain+`'`)

	bad := callPage(ctx, t, b, g, "wrong-password", url.Values{"transport": {"wss"}, "user": {callPageUser}, "password": {"not-the-password"}})
	wait(ctx, t, bad, `window.roombridgeCall.registration === 'failed'`)
	if st := readCallState(ctx, t, bad); !strings.HasPrefix(st.RegistrationError, "403") {
		t.Errorf("wrong password: %q", st.RegistrationError)
	}
	// Hang-up of the registered page removes nothing; closing it
	// unregisters (JsSIP sends REGISTER with expires 0 on stop).
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

// TestCallPageMintedAccount: a page registers over wss:// with an account
// minted by POST /v1/sip-credentials.
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
