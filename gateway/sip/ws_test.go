package sip

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/sipws"
	"github.com/roombridge/roombridge/sipws/sipwstest"
)

// serveWS adds a ws:// (or, with TLS, wss://) listener to f's server and
// returns its URL.
func serveWS(t *testing.T, f *fixture, serverTLS *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := sipws.New(ln, sipws.Config{TLS: serverTLS, CheckOrigin: sipws.AllowOrigins("*"), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if serverTLS != nil {
			_ = f.srv.ServeWSS(l)
		} else {
			_ = f.srv.ServeWS(l)
		}
	}()
	t.Cleanup(func() {
		_ = f.srv.Close()
		<-done
	})
	if serverTLS != nil {
		return "wss://" + ln.Addr().String()
	}
	return "ws://" + ln.Addr().String()
}

// TestCallOverWebSocket: a browser's INVITE over ws:// and wss:// is
// answered with a Contact the browser can use (;transport=ws, RFC 7118
// §5.2), and the BYE we send later reaches it over its socket although its
// Contact is an unresolvable ".invalid" host.
func TestCallOverWebSocket(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", secure), func(t *testing.T) {
			calls := make(chan *IncomingCall, 1)
			causes := make(chan error, 1)
			f := newFixture(t, Config{}, answeringHandler(causes, calls))
			var serverTLS *tls.Config
			if secure {
				serverTLS, _ = testTLS(t)
			}
			url := serveWS(t, f, serverTLS)
			b := sipwstest.MustDial(t, url, "https://page.test", &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test certificate
			inv := "INVITE sip:room1@gw.test SIP/2.0\r\n" +
				"Via: SIP/2.0/" + b.Via + " " + sipwstest.InvalidHost + ";branch=z9hG4bKinv1\r\n" +
				"Max-Forwards: 70\r\n" +
				"To: <sip:room1@gw.test>\r\n" +
				"From: \"Alice\" <sip:alice@gw.test>;tag=ft1\r\n" +
				"Call-ID: wscall1\r\n" +
				"CSeq: 1 INVITE\r\n" +
				"Contact: <sip:k8s1@" + sipwstest.InvalidHost + ";transport=ws;ob>\r\n" +
				"Content-Type: application/sdp\r\n" +
				fmt.Sprintf("Content-Length: %d\r\n\r\n", len(testOffer)) + testOffer
			b.Send(inv)
			ok := b.Next("SIP/2.0 200 ")
			c := <-calls
			if want := "ws"; c.Transport() != strings.ToLower(b.Via) {
				t.Errorf("call transport %q, want %q (%s)", c.Transport(), strings.ToLower(b.Via), want)
			}
			contact := sipwstest.Header(ok, "Contact")
			if !strings.Contains(contact, ";transport=ws") || strings.Contains(contact, ".invalid") {
				t.Errorf("200 Contact %q", contact)
			}
			to := sipwstest.Header(ok, "To")
			b.Send("ACK sip:room1@gw.test SIP/2.0\r\n" +
				"Via: SIP/2.0/" + b.Via + " " + sipwstest.InvalidHost + ";branch=z9hG4bKack1\r\n" +
				"Max-Forwards: 70\r\nTo: " + to + "\r\nFrom: \"Alice\" <sip:alice@gw.test>;tag=ft1\r\n" +
				"Call-ID: wscall1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")

			hung := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				time.Sleep(50 * time.Millisecond) // let the ACK land first
				hung <- c.Hangup(ctx)
			}()
			bye := b.Next("BYE ")
			if !strings.HasPrefix(bye, "BYE sip:k8s1@"+sipwstest.InvalidHost+";transport=ws;ob SIP/2.0\r\n") {
				t.Errorf("BYE start line: %q", strings.SplitN(bye, "\r\n", 2)[0])
			}
			b.Send(sipwstest.Response(bye, 200, "OK", ""))
			if err := <-hung; err != nil {
				t.Errorf("Hangup: %v", err)
			}
		})
	}
}

// TestWebRTCOfferRefusedWithWarning: a handler that cannot take the offer's
// transport rejects it; the browser gets 488 at once with a Warning saying
// why (RFC 3261 §20.43, code 302), not a call that never answers.
func TestWebRTCOfferRefusedWithWarning(t *testing.T) {
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		_ = c.RejectErr(fmt.Errorf("%w: sdp: unsupported transport: %q", ErrUnsupportedTransport, "UDP/TLS/RTP/SAVPF"))
	})
	b := sipwstest.MustDial(t, serveWS(t, f, nil), "https://page.test", nil)
	offer := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	b.Send("INVITE sip:room1@gw.test SIP/2.0\r\n" +
		"Via: SIP/2.0/WS " + sipwstest.InvalidHost + ";branch=z9hG4bKw1\r\nMax-Forwards: 70\r\n" +
		"To: <sip:room1@gw.test>\r\nFrom: <sip:alice@gw.test>;tag=w1\r\nCall-ID: webrtc1\r\nCSeq: 1 INVITE\r\n" +
		"Contact: <sip:x@" + sipwstest.InvalidHost + ";transport=ws>\r\nContent-Type: application/sdp\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(offer)) + offer)
	res := b.Next("SIP/2.0 4")
	if !strings.HasPrefix(res, "SIP/2.0 488 Not Acceptable Here\r\n") {
		t.Fatalf("response %q", strings.SplitN(res, "\r\n", 2)[0])
	}
	want := `302 gw.test "Incompatible transport protocol: sdp: unsupported transport: \"UDP/TLS/RTP/SAVPF\""`
	if got := sipwstest.Header(res, "Warning"); got != want {
		t.Errorf("Warning: %s\nwant     %s", got, want)
	}
}
