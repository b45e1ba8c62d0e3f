package uac_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/internal/leakcheck"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

func TestMain(m *testing.M) {
	// Short SIP timers keep timeouts fast: 64*T1 = 3.2 s.
	sip.SetTimers(50*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	if os.Getenv("SIP_DEBUG") == "" {
		sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	} else {
		sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	os.Exit(m.Run())
}

// testLog is a debug logger with SIP_DEBUG set, else nil (discard).
func testLog() *slog.Logger {
	if os.Getenv("SIP_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var loopback = netip.MustParseAddr("127.0.0.1")

// offer is an SDP offer for a port nobody listens on: these tests are
// about signalling.
func offer(t *testing.T) []byte {
	t.Helper()
	s, err := sdp.Offer(sdp.Policy{Codecs: []sdp.Codec{sdp.PCMU}, Addr: loopback, AudioPort: 40000})
	if err != nil {
		t.Fatal(err)
	}
	return s.Marshal()
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestDialHangup(t *testing.T) {
	for _, tp := range []string{"udp", "tcp", "tls"} {
		t.Run(tp, func(t *testing.T) {
			leakcheck.Check(t)
			srv := startUAS(t, uastest.Config{})
			var progress []int
			call, err := uac.Dial(ctxT(t, 5*time.Second), uac.Config{
				Target:     srv.URI("room", tp),
				Insecure:   true,
				Offer:      offer(t),
				OnProgress: func(code int, _ string, _ []byte) { progress = append(progress, code) },
			})
			if err != nil {
				t.Fatal(err)
			}
			ans, err := sdp.Parse(call.Answer())
			if err != nil || ans.Audio == nil || ans.Audio.Codecs[0].Name != "PCMU" {
				t.Fatalf("answer %v: %s", err, call.Answer())
			}
			if call.SetupTime() <= 0 || call.CallID() == "" {
				t.Errorf("setup %v, call-id %q", call.SetupTime(), call.CallID())
			}
			if err := call.SendInfo(ctxT(t, 2*time.Second), "application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n")); err != nil {
				t.Fatalf("INFO: %v", err)
			}
			if infos := srv.Infos(); len(infos) != 1 || infos[0].ContentType != "application/dtmf-relay" || !strings.Contains(infos[0].Body, "Signal=5") {
				t.Errorf("infos %+v", infos)
			}
			if err := call.Hangup(ctxT(t, 2*time.Second)); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			if !errors.Is(context.Cause(call.Context()), uac.ErrHangup) {
				t.Errorf("cause %v", context.Cause(call.Context()))
			}
			if _, _, _, byes := srv.Counts(); byes != 1 {
				t.Errorf("server saw %d BYEs", byes)
			}
			if err := call.Hangup(context.Background()); err != nil {
				t.Errorf("second Hangup: %v", err)
			}
			srv.Close()
		})
	}
}

func TestDelayedOffer(t *testing.T) {
	leakcheck.Check(t)
	srv := startUAS(t, uastest.Config{})
	var got []byte
	call, err := uac.Dial(ctxT(t, 5*time.Second), uac.Config{
		Target: srv.URI("room", "udp"),
		OnOffer: func(o []byte) ([]byte, error) {
			got = o
			off, err := sdp.Parse(o)
			if err != nil {
				return nil, err
			}
			ans, err := sdp.Answer(off, sdp.Policy{Addr: loopback, AudioPort: 40002})
			if err != nil {
				return nil, err
			}
			return ans.Marshal(), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup(context.Background())
	if got == nil || string(call.Answer()) != string(got) {
		t.Fatalf("OnOffer saw %q, Answer %q", got, call.Answer())
	}
	if ls := call.LocalSDP(); !strings.Contains(string(ls), "m=audio 40002") {
		t.Errorf("local SDP %q", ls)
	}
	// The server starts its media on the ACK's answer.
	if srv.Active() != 1 {
		t.Errorf("active %d", srv.Active())
	}
}

func TestDelayedOfferRejected(t *testing.T) {
	leakcheck.Check(t)
	srv := startUAS(t, uastest.Config{})
	_, err := uac.Dial(ctxT(t, 5*time.Second), uac.Config{
		Target:  srv.URI("room", "udp"),
		OnOffer: func([]byte) ([]byte, error) { return nil, errors.New("no thanks") },
	})
	if err == nil || !strings.Contains(err.Error(), "no thanks") {
		t.Fatalf("err %v", err)
	}
	// ACKed and then ended with BYE.
	deadline := time.Now().Add(2 * time.Second)
	for _, _, _, byes := srv.Counts(); byes != 1; _, _, _, byes = srv.Counts() {
		if time.Now().After(deadline) {
			t.Fatal("no BYE")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDigest(t *testing.T) {
	leakcheck.Check(t)
	srv := startUAS(t, uastest.Config{Username: "alice", Password: "secret", Logger: testLog()})
	t.Run("good", func(t *testing.T) {
		call, err := uac.Dial(ctxT(t, 5*time.Second), uac.Config{Target: srv.URI("room", "tcp"), Offer: offer(t), Username: "alice", Password: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		_ = call.Hangup(ctxT(t, 2*time.Second))
	})
	for name, pw := range map[string]string{"wrong": "guess", "none": ""} {
		t.Run(name, func(t *testing.T) {
			_, err := uac.Dial(ctxT(t, 5*time.Second), uac.Config{Target: srv.URI("room", "udp"), Offer: offer(t), Username: "alice", Password: pw, Logger: testLog()})
			var se *uac.StatusError
			if !errors.As(err, &se) || se.Code != 401 || uac.StatusCode(err) != 401 {
				t.Fatalf("err %v, want 401", err)
			}
		})
	}
}

func TestBusy(t *testing.T) {
	leakcheck.Check(t)
	srv := startUAS(t, uastest.Config{Reject: 486})
	for _, tp := range []string{"udp", "tcp"} {
		_, err := uac.Dial(ctxT(t, 5*time.Second), uac.Config{Target: srv.URI("room", tp), Offer: offer(t), Logger: testLog()})
		var se *uac.StatusError
		if !errors.As(err, &se) || se.Code != 486 || se.Reason != "Busy Here" {
			t.Fatalf("%s: err %v, want 486", tp, err)
		}
	}
}

func TestRemoteHangup(t *testing.T) {
	leakcheck.Check(t)
	srv := startUAS(t, uastest.Config{HangupAfter: 200 * time.Millisecond})
	call, err := uac.Dial(ctxT(t, 5*time.Second), uac.Config{Target: srv.URI("room", "udp"), Offer: offer(t), Logger: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Context().Done():
	case <-time.After(3 * time.Second):
		t.Fatal("no BYE from the server")
	}
	if !errors.Is(context.Cause(call.Context()), uac.ErrRemoteHangup) {
		t.Errorf("cause %v", context.Cause(call.Context()))
	}
	if err := call.SendInfo(context.Background(), "text/plain", []byte("x")); !errors.Is(err, uac.ErrEnded) {
		t.Errorf("INFO after BYE: %v", err)
	}
	if err := call.Hangup(ctxT(t, time.Second)); err != nil {
		t.Errorf("Hangup after remote BYE: %v", err)
	}
	if _, _, _, byes := srv.Counts(); byes != 0 {
		t.Errorf("we sent %d BYEs after the peer's", byes)
	}
}

func TestCancel(t *testing.T) {
	leakcheck.Check(t)
	srv := startUAS(t, uastest.Config{RingFor: 10 * time.Second, Logger: testLog()})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	rang := make(chan int, 4)
	start := time.Now()
	_, err := uac.Dial(ctx, uac.Config{
		Target: srv.URI("room", "udp"), Offer: offer(t),
		OnProgress: func(code int, _ string, _ []byte) { rang <- code },
	})
	if !errors.Is(err, uac.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
	got := false
	for len(rang) > 0 {
		if <-rang == 180 {
			got = true
		}
	}
	if !got {
		t.Error("OnProgress did not see 180")
	}
	if answered, _, _, _ := srv.Counts(); answered != 0 {
		t.Errorf("answered %d", answered)
	}
}

func TestReInviteHold(t *testing.T) {
	leakcheck.Check(t)
	srv := startUAS(t, uastest.Config{})
	o := offer(t)
	call, err := uac.Dial(ctxT(t, 5*time.Second), uac.Config{Target: srv.URI("room", "tcp"), Offer: o})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup(context.Background())
	prev, _ := sdp.Parse(o)
	hold, err := sdp.Offer(sdp.Policy{Codecs: []sdp.Codec{sdp.PCMU}, Addr: loopback, AudioPort: 40000, Direction: sdp.DirectionSendOnly, Previous: prev})
	if err != nil {
		t.Fatal(err)
	}
	ansBody, err := call.ReInvite(ctxT(t, 2*time.Second), hold.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	ans, err := sdp.Parse(ansBody)
	if err != nil || ans.Audio.Direction != sdp.DirectionRecvOnly {
		t.Fatalf("hold answer %v: %s", err, ansBody)
	}
	if _, reinvites, _, _ := srv.Counts(); reinvites != 1 {
		t.Errorf("server saw %d re-INVITEs", reinvites)
	}
	// The dialog still works after the re-INVITE.
	if err := call.SendInfo(ctxT(t, 2*time.Second), "text/plain", []byte("hi")); err != nil {
		t.Fatal(err)
	}
}

func TestSessionTimerRefresh(t *testing.T) {
	for name, noUpdate := range map[string]bool{"update": false, "reinvite": true} {
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			srv := startUAS(t, uastest.Config{SessionExpires: 2 * time.Second, NoUpdate: noUpdate})
			call, err := uac.Dial(ctxT(t, 5*time.Second), uac.Config{Target: srv.URI("room", "udp"), Offer: offer(t), Logger: testLog()})
			if err != nil {
				t.Fatal(err)
			}
			defer call.Hangup(context.Background())
			if iv, we, _ := call.SessionTimer(); iv != 2*time.Second || !we {
				t.Fatalf("timer %v refresher=%v", iv, we)
			}
			time.Sleep(2300 * time.Millisecond)
			_, _, refreshes, _ := srv.Counts()
			_, _, sent := call.SessionTimer()
			if refreshes < 2 || sent < 2 {
				t.Errorf("server saw %d refreshes, we sent %d; want >= 2", refreshes, sent)
			}
			if call.Context().Err() != nil {
				t.Errorf("call ended: %v", context.Cause(call.Context()))
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]uac.Config{
		"no target":    {Offer: []byte("x")},
		"no offer":     {Target: "sip:a@127.0.0.1"},
		"bad scheme":   {Target: "sip:a@127.0.0.1;transport=sctp", Offer: []byte("x")},
		"bad resolver": {Target: "sip:a@nonexistent.invalid", Offer: []byte("x")},
	} {
		if _, err := uac.Dial(context.Background(), cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if tp, err := uac.ParseTransport("TLS"); err != nil || tp != uac.TransportTLS || tp.String() != "tls" {
		t.Errorf("ParseTransport: %v %v", tp, err)
	}
}

func startUAS(t *testing.T, cfg uastest.Config) *uastest.Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLog()
	}
	return uastest.Start(t, cfg)
}
