package test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/loadgen"
)

// TestAdmissionMaxLegs runs the gateway with limits.max_legs 2: with two
// calls up /readyz turns 503 and a third caller gets 503, counted in the
// metrics, while the two keep hearing each other; once one hangs up,
// /readyz is 200 again and a new call is answered.
func TestAdmissionMaxLegs(t *testing.T) {
	srv := startSIPGateway(t, "limits: { max_legs: 2 }")
	target := "sip:demo@" + srv.SIPAddr
	a := sipStartCaller(t, caller.Options{Target: target, Codec: caller.CodecPCMU, Tone: 440, Duration: 5 * time.Second})
	b := sipStartCaller(t, caller.Options{Target: target, Codec: caller.CodecPCMU, Tone: 1000, Duration: 12 * time.Second, PortMin: 35000, PortMax: 35999})

	readyz := func() int {
		res, err := (&http.Client{Timeout: 2 * time.Second}).Get(srv.URL + "/readyz")
		if err != nil {
			return 0
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	waitUntil(t, 10*time.Second, "/readyz 503 with two legs up", func() bool { return readyz() == http.StatusServiceUnavailable })
	third, err := caller.Run(t.Context(), caller.Options{Target: target, Codec: caller.CodecPCMU, Duration: time.Second, PortMin: 34000, PortMax: 34999})
	if third == nil || third.Status != 503 {
		t.Fatalf("third call at max_legs 2: report %+v, err %v; want 503", third, err)
	}

	ra := a.wait(t, 30*time.Second)
	if !ra.HeardFrequency(1000, 5) {
		t.Errorf("the first caller did not hear the second (peaks %v)", ra.Peaks)
	}
	waitUntil(t, 10*time.Second, "/readyz 200 after a call ended", func() bool { return readyz() == http.StatusOK })
	fourth, err := caller.Run(t.Context(), caller.Options{Target: target, Codec: caller.CodecPCMU, Tone: 700, Duration: 2 * time.Second, PortMin: 33000, PortMax: 33999})
	if err != nil || fourth == nil || !fourth.Answered {
		t.Fatalf("a call after one ended: report %+v, err %v", fourth, err)
	}
	b.wait(t, 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := loadgen.Scrape(ctx, http.DefaultClient, srv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Value("roombridge_admission_refusals_total"); v != 1 {
		t.Errorf("admission refusals %v, want 1", v)
	}
}
