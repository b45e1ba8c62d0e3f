package test

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/webhook"
	"github.com/roombridge/roombridge/test/internal/baresip"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// Dial-outs that are answered: the callee is a participant of room demo
// with audio both ways, measured by a phone in the room (gateway/caller)
// and by the callee (baresip's recordings, or sipp echoing).

// calleeNumber is the number the tests dial; the baresip callee's user
// part is the same, so that it takes the INVITE.
const calleeNumber = "+15551234567"

// dialedCall is GET /v1/calls/{id} with the fields these tests read.
type dialedCall struct {
	ID          string    `json:"id"`
	State       string    `json:"state"`
	Cause       string    `json:"cause"`
	Participant string    `json:"participant"`
	CreatedAt   time.Time `json:"created_at"`
	AnsweredAt  time.Time `json:"answered_at"`
	Quality     *struct {
		Codec           string  `json:"codec"`
		Transport       string  `json:"transport"`
		SRTP            bool    `json:"srtp"`
		OnHold          bool    `json:"on_hold"`
		PacketsReceived uint64  `json:"packets_received"`
		PacketsSent     uint64  `json:"packets_sent"`
		PacketsLost     int64   `json:"packets_lost"`
		JitterMS        float64 `json:"jitter_ms"`
		MOS             float64 `json:"mos"`
	} `json:"quality"`
}

// startDialOutGateway starts a gateway whose loopback trunk is trusted
// (the room phone calls demo directly) and whose outbound trunk "callee"
// reaches addr; hookURL, when set, receives webhooks. Extra keys go into
// the outbound trunk's entry.
func startDialOutGateway(t *testing.T, addr, hookURL string, trunk map[string]any) *harness.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end SIP test; skipped with -short")
	}
	callee := outboundTrunk("callee", addr, 1, nil)
	for k, v := range trunk {
		callee[k] = v
	}
	cfg := map[string]any{
		"sip": map[string]any{"domain": sipDomain},
		"trunks": []any{
			map[string]any{"name": "local", "allow": []any{"127.0.0.0/8"}, "trusted": true},
			callee,
		},
	}
	if hookURL != "" {
		cfg["webhooks"] = []any{map[string]any{"url": hookURL, "secret": hookSecret}}
	}
	return harness.Start(t, harness.Options{Config: cfg})
}

// getDialed is GET /v1/calls/{id}.
func getDialed(t *testing.T, srv *harness.Server, id string) dialedCall {
	t.Helper()
	var c dialedCall
	if code := apiJSON(t, srv, http.MethodGet, "/v1/calls/"+id, nil, &c); code != http.StatusOK {
		t.Fatalf("GET /v1/calls/%s: %d", id, code)
	}
	return c
}

// roomPhone puts a gateway/caller phone sending freq into room demo for
// d and waits until it is in the room.
func roomPhone(t *testing.T, srv *harness.Server, freq float64, d time.Duration) *sipCall {
	t.Helper()
	p := sipStartCaller(t, caller.Options{
		Target: "sip:demo@" + srv.SIPAddr, Tone: freq, ToneLevel: toneSourceDB, Duration: d,
	})
	if _, ok := sipWaitRoom(t, srv, "demo", 10*time.Second, p.done, "the room phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 }); !ok {
		t.Fatalf("the room phone's call ended before it joined: %v", p.err)
	}
	return p
}

// waitInRoom waits until participant id is (in) or is not (!in) in room
// demo.
func waitInRoom(t *testing.T, srv *harness.Server, id string, in bool) []sipParticipant {
	t.Helper()
	ps, _ := sipWaitRoom(t, srv, "demo", 10*time.Second, nil, "the callee in the room: "+map[bool]string{true: "joins", false: "leaves"}[in],
		func(ps []sipParticipant) bool {
			return slices.ContainsFunc(ps, func(p sipParticipant) bool { return p.ID == id }) == in
		})
	return ps
}

// waitHook waits for the webhook event typ about call id.
func waitHook(t *testing.T, recv *hookReceiver, id, typ string) webhook.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, e := range recv.callEvents(id) {
			if e.Event == typ {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s webhook for %s; got %v", typ, id, hookTypes(recv.callEvents(id)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hookTypes(evs []webhook.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Event)
	}
	return out
}

// TestDialOutBaresipTones: a phone in room demo sends 1000 Hz; the room
// dials a number through the outbound trunk "callee", where baresip
// answers with 600 Hz. The callee must be listed in the room, the phone
// must hear 600 Hz and baresip 1000 Hz at about the level sent, baresip
// must receive the dial's digits as RFC 4733 events, GET /v1/calls shows
// the call's quality, and the webhooks call_answered and call_ended (result
// answered, cause hangup, with quality) arrive after DELETE /v1/calls/{id}.
func TestDialOutBaresipTones(t *testing.T) {
	harness.RequireTool(t, "baresip")
	recv := newHookReceiver(t)
	src := filepath.Join(t.TempDir(), "600.wav")
	if err := baresip.WriteToneWAV(src, 600, toneAmplitude, 60); err != nil {
		t.Fatal(err)
	}
	callee := baresip.Start(t, baresip.Options{User: calleeNumber, Source: src, Duration: 60 * time.Second, Verbose: true})
	srv := startDialOutGateway(t, callee.SIPAddr, recv.URL, nil)
	phone := roomPhone(t, srv, 1000, 8*time.Second)

	id := dial(t, srv, map[string]any{"to": calleeNumber, "name": "Baresip", "dtmf": "1234#"})
	waitCall(t, srv, id, "answered", 15*time.Second)
	c := getDialed(t, srv, id)
	t.Logf("answered %v after the dial", c.AnsweredAt.Sub(c.CreatedAt).Round(time.Millisecond))
	ps := waitInRoom(t, srv, c.Participant, true)
	for _, p := range ps {
		if p.ID == c.Participant && (p.Kind != "sip" || p.Name != "Baresip") {
			t.Errorf("callee in the room: %v", p)
		}
	}

	rep := phone.wait(t, 30*time.Second)
	q := getDialed(t, srv, id).Quality
	if q == nil || q.PacketsReceived < 100 || q.PacketsSent < 100 || q.Codec != "PCMU" || q.MOS < 4 {
		t.Errorf("quality of the answered call: %+v", q)
	} else {
		t.Logf("quality: %+v", *q)
	}
	if code := apiJSON(t, srv, http.MethodDelete, "/v1/calls/"+id, nil, nil); code != http.StatusAccepted {
		t.Fatalf("DELETE: %d", code)
	}
	if c := waitCall(t, srv, id, "ended", 10*time.Second); c.Cause != "hangup" {
		t.Errorf("ended %+v", c)
	}
	waitInRoom(t, srv, c.Participant, false)

	answered := waitHook(t, recv, id, webhook.CallAnswered)
	ended := waitHook(t, recv, id, webhook.CallEnded)
	if a := answered.Call; a.Direction != "outbound" || a.AnsweredAt == nil || answered.Room != "demo" {
		t.Errorf("call_answered %+v", a)
	}
	if e := ended.Call; e.Result != "answered" || e.Cause != "hangup" || e.DurationSeconds <= 0 || e.Quality == nil || e.Quality.PacketsReceived == 0 {
		t.Errorf("call_ended %+v (quality %+v)", e, e.Quality)
	}
	joined := waitHook(t, recv, id, webhook.ParticipantJoined)
	if p := joined.Participant; p == nil || p.ID != c.Participant || p.Attributes["sip.trunk"] != "callee" || p.Attributes["sip.direction"] != "outbound" {
		t.Errorf("participant_joined %+v", joined.Participant)
	}
	waitHook(t, recv, id, webhook.ParticipantLeft)

	heard := calleeRecording(t, callee)
	if got := callee.ReceivedDigits(); got != "1234#" {
		t.Errorf("baresip received the digits %q, want 1234#", got)
	}
	sipCheckTone(t, "baresip callee (600 Hz)", heard, 1000, 600, 15)
	sipCheckTone(t, "room phone (1000 Hz)", rep.Heard, 600, 1000, 15)
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.rejected != 0 {
		t.Errorf("%d webhook requests failed signature checks", recv.rejected)
	}
}

// calleeRecording waits for baresip to close the recording of the call it
// answered (it does when the call ends) and returns it.
func calleeRecording(t *testing.T, p *baresip.Phone) []int16 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if strings.Contains(p.Output(), "terminated") {
			if pcm, err := p.Heard(); err == nil && len(pcm) > 0 {
				return pcm
			}
		}
		if time.Now().After(deadline) {
			pcm, err := p.Heard()
			t.Fatalf("baresip's recording: %d samples, %v", len(pcm), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDialOutEchoInRoom: the callee (sipp with -rtp_echo) sends back every
// packet it gets; the phone in room demo, which never hears itself from
// the room's mix, must hear its own 1000 Hz come back through the callee.
func TestDialOutEchoInRoom(t *testing.T) {
	harness.RequireTool(t, "sipp")
	echo := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_echo.xml", Args: []string{"-rtp_echo"}})
	srv := startDialOutGateway(t, echo.Addr, "", nil)
	phone := roomPhone(t, srv, 1000, 6*time.Second)
	id := dial(t, srv, map[string]any{"to": calleeNumber})
	waitCall(t, srv, id, "answered", 15*time.Second)
	rep := phone.wait(t, 30*time.Second)
	apiJSON(t, srv, http.MethodDelete, "/v1/calls/"+id, nil, nil)
	waitCall(t, srv, id, "ended", 10*time.Second)
	waitLog(t, echo, false, "INVITE ACK BYE", 5*time.Second)

	candidates := []float64{1000, 600}
	got, level := sipToneWindows(rep.Heard, 1000, candidates), sipToneLevel(rep.Heard, 1000, candidates)
	t.Logf("the room phone heard itself back in %d windows at %.1f dB: %s", got, level, sipDescribe(rep.Heard))
	if got < 10 {
		t.Errorf("the room phone heard its 1000 Hz back in %d windows of 200 ms, want >= 10", got)
	}
	// Out through the mix and G.711 and back: a little lost, not half.
	if got > 0 && (level < toneSourceDB-6 || level > toneSourceDB+3) {
		t.Errorf("echo at %.1f dB; the source is %.1f dB", level, toneSourceDB)
	}
}

// TestDialOutKicked: removing the answered callee from the room through
// the API hangs up the call (BYE to the callee), which ends with cause
// kicked.
func TestDialOutKicked(t *testing.T) {
	harness.RequireTool(t, "sipp")
	carrier := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_answer.xml"})
	srv := startDialOutGateway(t, carrier.Addr, "", nil)
	id := dial(t, srv, map[string]any{"to": calleeNumber})
	waitCall(t, srv, id, "answered", 15*time.Second)
	c := getDialed(t, srv, id)
	waitInRoom(t, srv, c.Participant, true)
	if code := apiJSON(t, srv, http.MethodDelete, "/v1/rooms/demo/participants/"+c.Participant, nil, nil); code/100 != 2 {
		t.Fatalf("kick: %d", code)
	}
	if c := waitCall(t, srv, id, "ended", 10*time.Second); c.Cause != "kicked" {
		t.Errorf("ended %+v", c)
	}
	waitLog(t, carrier, false, "INVITE ACK BYE", 5*time.Second)
	waitInRoom(t, srv, c.Participant, false)
}

// TestDialOutReinviteRekeys: the callee's re-INVITEs follow the rules of
// calls that came in. The trunk requires SRTP (over UDP: srtp_over_plain,
// a lab), so the offer is RTP/SAVP with SDES keys; the callee (sipp)
// answers with a key, then re-INVITEs on hold with a new key (answered
// recvonly with our key; the call shows on hold with SRTP), then with
// plain RTP (refused: 488, SRTP may not be turned off).
func TestDialOutReinviteRekeys(t *testing.T) {
	harness.RequireTool(t, "sipp")
	callee := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_srtp_reinvite.xml"})
	srv := startDialOutGateway(t, callee.Addr, "", map[string]any{"srtp": "require", "srtp_over_plain": true})
	id := dial(t, srv, map[string]any{"to": calleeNumber})
	waitCall(t, srv, id, "answered", 15*time.Second)
	waitLog(t, callee, false, "INVITE ACK 200 488", 10*time.Second)
	c := getDialed(t, srv, id)
	if c.State != "answered" || c.Quality == nil || !c.Quality.SRTP || !c.Quality.OnHold {
		t.Errorf("after the re-INVITEs: %+v quality %+v", c, c.Quality)
	}
	if !strings.Contains(srv.Logs(), "SRTP re-keyed by re-INVITE") {
		t.Error("the gateway did not log the re-key")
	}
	apiJSON(t, srv, http.MethodDelete, "/v1/calls/"+id, nil, nil)
	waitCall(t, srv, id, "ended", 10*time.Second)
	waitLog(t, callee, false, "BYE", 5*time.Second)
	// sipp logs a failed check of an answer (check_it) as a failed
	// regexp match; its overload warnings on a busy machine are no fault.
	if e := callee.Errors(); strings.Contains(strings.ToLower(e), "regexp") {
		t.Errorf("sipp's checks of the answers failed:\n%s", e)
	}
	if !strings.Contains(callee.Messages(), "RTP/SAVP") || !strings.Contains(callee.Messages(), "a=crypto:1 AES_CM_128_HMAC_SHA1_80") {
		t.Error("the offer was not RTP/SAVP with an AES_CM_128_HMAC_SHA1_80 key")
	}
}
