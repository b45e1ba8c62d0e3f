package test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sipprobe"
)

// TestDrainKeepsCallsUntilHangup: SIGTERM to a gateway carrying a call
// refuses new calls (503) and turns /readyz and OPTIONS to 503 at once,
// while the two phones in progress keep hearing each other until they hang
// up; then the process exits with status 0 by itself.
func TestDrainKeepsCallsUntilHangup(t *testing.T) {
	srv := startSIPGateway(t, "shutdown: { drain_timeout: 2m }")
	target := "sip:demo@" + srv.SIPAddr
	const hold = 9 * time.Second
	a := sipStartCaller(t, caller.Options{Target: target, Tone: 440, Duration: hold})
	b := sipStartCaller(t, caller.Options{Target: target, Tone: 880, Duration: hold, PortMin: 32000, PortMax: 33999})
	sipWaitRoom(t, srv, "demo", 10*time.Second, nil, "both phones join",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
	if code := sipOptions(t, srv.SIPAddr); code != 200 {
		t.Fatalf("OPTIONS before the drain: %d, want 200", code)
	}

	if err := srv.Terminate(); err != nil {
		t.Fatal(err)
	}
	termAt := time.Now()
	body := waitReadyz(t, srv, http.StatusServiceUnavailable, 5*time.Second)
	if !strings.Contains(body, "draining: 2 calls") {
		t.Errorf("/readyz while draining says %q, want the calls remaining", body)
	}
	if code := sipOptions(t, srv.SIPAddr); code != 503 {
		t.Errorf("OPTIONS while draining: %d, want 503", code)
	}
	late, err := caller.Run(t.Context(), caller.Options{Target: target, Duration: time.Second, PortMin: 34000, PortMax: 34999})
	if err == nil && late.Answered || late == nil || late.Status != 503 {
		t.Errorf("a new call while draining: %+v %v, want 503", late, err)
	}
	metrics := httpGet(t, srv.URL+"/metrics")
	for _, want := range []string{"roombridge_draining 1", `roombridge_drain_remaining{kind="sip_calls"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics while draining lacks %q", want)
		}
	}
	if _, body, err := srv.API(t.Context(), http.MethodGet, "/v1/admin/drain", nil); err != nil ||
		!strings.Contains(string(body), `"draining":true`) || !strings.Contains(string(body), `"calls":2`) {
		t.Errorf("GET /v1/admin/drain: %s %v", body, err)
	}
	select {
	case <-srv.Exited():
		t.Fatal("the gateway exited with calls in progress")
	default:
	}

	checkCallsOutlastDrain(t, a, b, hold)
	if err := srv.WaitExit(10 * time.Second); err != nil {
		t.Fatalf("after the last hang-up: %v", err)
	}
	t.Logf("exited %v after SIGTERM, once both calls had ended", time.Since(termAt).Round(time.Millisecond))
	if !strings.Contains(srv.Logs(), "drained: no call or web session left") {
		t.Error("the gateway did not log the end of the drain")
	}
}

// checkCallsOutlastDrain waits for a pair of callers (a sends 440 Hz, b
// 880 Hz, each for hold) that were up when their node began to drain: both
// must have stayed up until they hung up, hearing each other to the end.
func checkCallsOutlastDrain(t *testing.T, a, b *sipCall, hold time.Duration) {
	t.Helper()
	for _, c := range []struct {
		call  *sipCall
		other float64
	}{{a, 880}, {b, 440}} {
		rep := c.call.wait(t, hold+10*time.Second)
		// Heard's analysis window is its second half: audio from after
		// the drain began.
		if rep.RemoteHangup || rep.Duration < hold-time.Second || !rep.HeardFrequency(c.other, 20) {
			t.Errorf("a call during the drain: hung up by the gateway %v after %v, heard %v (want %v Hz)",
				rep.RemoteHangup, rep.Duration, rep.Peaks, c.other)
		}
	}
}

// TestDrainTimeoutEndsCalls: a call still up when shutdown.drain_timeout
// passes gets BYE, and the gateway exits 0.
func TestDrainTimeoutEndsCalls(t *testing.T) {
	srv := startSIPGateway(t, "shutdown: { drain_timeout: 2s }")
	call := sipStartCaller(t, caller.Options{Target: "sip:demo@" + srv.SIPAddr, Tone: 440, Duration: 20 * time.Second})
	sipWaitRoom(t, srv, "demo", 10*time.Second, nil, "the phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	if err := srv.Terminate(); err != nil {
		t.Fatal(err)
	}
	rep := call.wait(t, 15*time.Second)
	if !rep.RemoteHangup || rep.Duration > 10*time.Second {
		t.Errorf("call after the drain timeout: hung up by the gateway %v after %v, want BYE about 2 s after SIGTERM", rep.RemoteHangup, rep.Duration)
	}
	if err := srv.WaitExit(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestDrainThroughAPI: POST /v1/admin/drain does what SIGTERM does; with
// nothing in progress the node exits at once, with status 0.
func TestDrainThroughAPI(t *testing.T) {
	srv := startSIPGateway(t)
	status, body, err := srv.API(t.Context(), http.MethodPost, "/v1/admin/drain", nil)
	if err != nil || status != http.StatusAccepted || !strings.Contains(string(body), `"draining":true`) {
		t.Fatalf("POST /v1/admin/drain: %d %s %v", status, body, err)
	}
	if err := srv.WaitExit(15 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestDrainCommand: `roombridge health` answers for a running gateway, and
// `roombridge drain --wait` (the Kubernetes preStop hook) starts the drain
// and returns only once the call in progress has ended; the gateway then
// exits 0.
func TestDrainCommand(t *testing.T) {
	srv := startSIPGateway(t)
	bin := harness.Binary(t)
	if out, err := exec.Command(bin, "health", "--config", srv.ConfigPath).CombinedOutput(); err != nil {
		t.Fatalf("roombridge health: %v\n%s", err, out)
	}
	const hold = 5 * time.Second
	call := sipStartCaller(t, caller.Options{Target: "sip:demo@" + srv.SIPAddr, Tone: 440, Duration: hold})
	sipWaitRoom(t, srv, "demo", 10*time.Second, nil, "the phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	drain := exec.Command(bin, "drain", "--config", srv.ConfigPath, "--wait")
	out, err := drain.CombinedOutput()
	if err != nil {
		t.Fatalf("roombridge drain --wait: %v\n%s", err, out)
	}
	select {
	case <-call.done:
	default:
		t.Fatalf("drain --wait returned with the call still up:\n%s", out)
	}
	if rep := call.wait(t, time.Second); rep.RemoteHangup {
		t.Error("the drain hung up the call")
	}
	if err := srv.WaitExit(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "health", "--config", srv.ConfigPath, "--timeout", "1s").CombinedOutput(); err == nil {
		t.Fatalf("roombridge health after the exit succeeded:\n%s", out)
	}
}

// httpGet returns the body of a GET that must answer 200.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return string(b)
}

// waitReadyz polls /readyz until it answers want and returns its body.
func waitReadyz(t *testing.T, srv *harness.Server, want int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	var last string
	for time.Now().Before(deadline) {
		res, err := client.Get(srv.URL + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode == want {
				return string(b)
			}
			last = fmt.Sprintf("%d %s", res.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz did not answer %d within %v; last %s", want, timeout, last)
	return ""
}

// sipOptions sends one OPTIONS over UDP to addr, as a dispatcher's probe
// does, and returns the response's status code.
func sipOptions(t *testing.T, addr string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	code, err := sipprobe.Options(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	return code
}
