package sip

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/internal/leakcheck"
)

// answeringHandler answers with testAnswer and reports the call's end cause.
func answeringHandler(causes chan<- error, calls chan<- *IncomingCall) func(*IncomingCall) {
	return func(c *IncomingCall) {
		if calls != nil {
			calls <- c
		}
		if err := c.Ringing(); err != nil {
			causes <- err
			return
		}
		if err := c.Answer([]byte(testAnswer)); err != nil {
			causes <- err
			return
		}
		<-c.Context().Done()
		causes <- context.Cause(c.Context())
	}
}

func TestInviteAnswerRemoteBye(t *testing.T) {
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			causes := make(chan error, 1)
			calls := make(chan *IncomingCall, 1)
			f := newFixture(t, Config{}, answeringHandler(causes, calls))
			p := newPeer(t, network, f.clientTLS)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			sess, err := p.call(ctx, t, f.uri("room1", network), []byte(testOffer), sipgo.AnswerOptions{})
			if err != nil {
				t.Fatalf("WaitAnswer: %v", err)
			}
			c := waitFor(t, calls, "call")
			if got := string(sess.InviteResponse.Body()); got != testAnswer {
				t.Errorf("200 body = %q", got)
			}
			if c.RequestURIUser() != "room1" || c.Transport() != network || string(c.Offer()) != testOffer {
				t.Errorf("call: user %q transport %q offer %q", c.RequestURIUser(), c.Transport(), c.Offer())
			}
			if c.From().User != "peer" || c.Trunk().Name != "local" || !c.Source().Addr().IsLoopback() {
				t.Errorf("call: from %+v trunk %q source %v", c.From(), c.Trunk().Name, c.Source())
			}
			if ct := sess.InviteResponse.Contact(); ct == nil || ct.Address.Port == 0 {
				t.Errorf("200 without a usable Contact: %v", ct)
			}
			if err := sess.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			if err := sess.Bye(ctx); err != nil {
				t.Fatalf("BYE: %v", err)
			}
			if cause := waitFor(t, causes, "handler end"); !errors.Is(cause, ErrRemoteHangup) {
				t.Errorf("cause = %v, want ErrRemoteHangup", cause)
			}
		})
	}
}

func TestInviteAnswerLocalHangup(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			done := make(chan error, 1)
			f := newFixture(t, Config{}, func(c *IncomingCall) {
				if err := c.Answer([]byte(testAnswer)); err != nil {
					done <- err
					return
				}
				done <- c.Hangup(context.Background())
			})
			p := newPeer(t, network, f.clientTLS)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sess, err := p.call(ctx, t, f.uri("room1", network), []byte(testOffer), sipgo.AnswerOptions{})
			if err != nil {
				t.Fatalf("WaitAnswer: %v", err)
			}
			if err := sess.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			bye := waitFor(t, p.byes, "BYE")
			if bye.CallID().Value() != sess.InviteRequest.CallID().Value() {
				t.Errorf("BYE for another call")
			}
			if err := waitFor(t, done, "Hangup"); err != nil {
				t.Errorf("Hangup: %v", err)
			}
		})
	}
}

// A handler that returns after answering makes the server hang up.
func TestHandlerReturnHangsUp(t *testing.T) {
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		_ = c.Answer([]byte(testAnswer))
	})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = sess.Ack(ctx)
	waitFor(t, p.byes, "BYE")
}

// A handler that returns without answering gets the INVITE a 480; one that
// rejects with a sentinel gets that sentinel's code.
func TestRejections(t *testing.T) {
	tests := []struct {
		name string
		h    func(*IncomingCall)
		code int
	}{
		{"not answered", func(*IncomingCall) {}, 480},
		{"no such room", func(c *IncomingCall) { _ = c.RejectErr(ErrNoSuchRoom) }, 404},
		{"codec", func(c *IncomingCall) { _ = c.RejectErr(errors.Join(errors.New("sdp"), ErrNoCommonCodec)) }, 488},
		{"overloaded", func(c *IncomingCall) { _ = c.RejectErr(ErrOverloaded) }, 503},
		{"busy", func(c *IncomingCall) { _ = c.Reject(486, "Busy Here") }, 486},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, tt.h)
			p := newPeer(t, "udp", nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{})
			if got := statusOf(err); got != tt.code {
				t.Errorf("status = %d (%v), want %d", got, err, tt.code)
			}
		})
	}
}

// Delayed offer (RFC 3261 §13.2.1): the 200 carries our offer, the ACK the
// answer, and Answer returns after the ACK.
func TestDelayedOffer(t *testing.T) {
	type result struct {
		ackSDP []byte
		err    error
	}
	results := make(chan result, 1)
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		if c.Offer() != nil {
			results <- result{err: errors.New("offer not nil")}
			return
		}
		err := c.Answer([]byte(testAnswer))
		results <- result{c.AckSDP(), err}
		<-c.Context().Done()
	})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := p.call(ctx, t, f.uri("room1", "udp"), nil, sipgo.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sess.InviteResponse.Body()) != testAnswer {
		t.Fatalf("200 body = %q", sess.InviteResponse.Body())
	}
	select {
	case r := <-results:
		t.Fatalf("Answer returned before the ACK: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	ack := sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.SetBody([]byte(testOffer))
	if err := sess.WriteAck(ctx, ack); err != nil {
		t.Fatal(err)
	}
	r := waitFor(t, results, "Answer")
	if r.err != nil || string(r.ackSDP) != testOffer {
		t.Fatalf("Answer = %v, AckSDP = %q", r.err, r.ackSDP)
	}
	if err := sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
}

// CANCEL before the answer: 487 to the INVITE, the handler's context is
// cancelled with ErrCanceled, and nothing is left behind.
func TestCancelBeforeAnswer(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			leakcheck.Check(t)
			causes := make(chan error, 1)
			f := newFixture(t, Config{}, func(c *IncomingCall) {
				_ = c.Ringing()
				<-c.Context().Done()
				causes <- context.Cause(c.Context())
				if err := c.Answer([]byte(testAnswer)); err == nil {
					t.Error("Answer after CANCEL succeeded")
				}
			})
			p := newPeer(t, network, f.clientTLS)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			callCtx, hangUp := context.WithCancel(ctx)
			sess, err := p.call(callCtx, t, f.uri("room1", network), []byte(testOffer), sipgo.AnswerOptions{
				OnResponse: func(res *sip.Response) error {
					if res.StatusCode == 180 {
						hangUp()
					}
					return nil
				},
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("WaitAnswer = %v, want context.Canceled", err)
			}
			if sess.InviteResponse == nil || sess.InviteResponse.StatusCode != 487 {
				t.Errorf("final response = %v, want 487", sess.InviteResponse)
			}
			if cause := waitFor(t, causes, "handler"); !errors.Is(cause, ErrCanceled) {
				t.Errorf("cause = %v, want ErrCanceled", cause)
			}
			if n := f.srv.Stats().Active; n != 0 {
				t.Errorf("active calls = %d", n)
			}
		})
	}
}

// Server.Close ends calls with ErrServerClosed and hangs them up.
func TestCloseEndsCalls(t *testing.T) {
	causes := make(chan error, 1)
	f := newFixture(t, Config{}, answeringHandler(causes, nil))
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = sess.Ack(ctx)
	time.Sleep(50 * time.Millisecond)
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if cause := waitFor(t, causes, "handler"); !errors.Is(cause, ErrServerClosed) {
		t.Errorf("cause = %v", cause)
	}
	waitFor(t, p.byes, "BYE")
	if err := f.srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestMoved: a call moved elsewhere gets 302 Moved Temporarily with the
// Contact it was sent to (RFC 3261 §21.3.3), and the handler sees the
// parameters of the Request-URI.
func TestMoved(t *testing.T) {
	params := make(chan string, 1)
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		v, ok := c.RequestURIParam("rbstay")
		_, other := c.RequestURIParam("absent")
		params <- fmt.Sprintf("%q %v %v", v, ok, other)
		_ = c.RejectErr(fmt.Errorf("room elsewhere: %w", &MovedError{Contact: "sip:room1@127.0.0.1:5999;rbstay"}))
	})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	to := f.uri("room1", "udp")
	to.UriParams = sip.HeaderParams{}
	to.UriParams.Add("rbstay", "")
	_, err := p.call(ctx, t, to, []byte(testOffer), sipgo.AnswerOptions{})
	res := responseOf(err)
	if res == nil || res.StatusCode != 302 || res.Reason != "Moved Temporarily" {
		t.Fatalf("response %v (%v), want 302", res, err)
	}
	if c := res.GetHeader("Contact"); c == nil || c.Value() != "<sip:room1@127.0.0.1:5999;rbstay>" {
		t.Errorf("Contact %v", c)
	}
	if got := waitFor(t, params, "the handler"); got != `"" true false` {
		t.Errorf("RequestURIParam: %s", got)
	}
}
