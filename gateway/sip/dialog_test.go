package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// rawInvite is an INVITE from a hand-driven UDP peer at laddr.
func rawInvite(laddr, target, callID string, extra ...string) string {
	body := testOffer
	return fmt.Sprintf("INVITE sip:room1@%[2]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[1]s;branch=z9hG4bK-%[3]s\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:raw@%[1]s>;tag=rawtag\r\n"+
		"To: <sip:room1@%[2]s>\r\n"+
		"Call-ID: %[3]s\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"Contact: <sip:raw@%[1]s>\r\n"+
		"%[4]s"+
		"Content-Type: application/sdp\r\n"+
		"Content-Length: %[5]d\r\n\r\n%[6]s",
		laddr, target, callID, strings.Join(extra, ""), len(body), body)
}

// rawResponse answers a request read by a raw peer with 200 OK.
func rawResponse(req string) string {
	var hs []string
	for _, l := range strings.Split(req, "\r\n")[1:] {
		if l == "" {
			break
		}
		name := strings.ToLower(strings.TrimSpace(strings.SplitN(l, ":", 2)[0]))
		switch name {
		case "via", "from", "to", "call-id", "cseq":
			hs = append(hs, l)
		}
	}
	return "SIP/2.0 200 OK\r\n" + strings.Join(hs, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
}

// RFC 3261 §13.3.1.4: over UDP the 200 is retransmitted until the ACK; a
// peer that never ACKs sees several 200s, then a BYE after 64*T1.
func TestNoAckRetransmitsThenBye(t *testing.T) {
	answerErr := make(chan error, 1)
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		answerErr <- c.Answer([]byte(testAnswer))
		<-c.Context().Done()
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, _ := net.ResolveUDPAddr("udp", f.udp)
	if _, err := conn.WriteTo([]byte(rawInvite(conn.LocalAddr().String(), f.udp, "noack-1")), dst); err != nil {
		t.Fatal(err)
	}
	oks, start := 0, time.Now()
	buf := make([]byte, 65536)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("read: %v (200s seen: %d)", err, oks)
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, "SIP/2.0 200") {
			oks++
			continue
		}
		if strings.HasPrefix(msg, "BYE ") {
			if oks < 3 {
				t.Errorf("only %d 200 OK before BYE", oks)
			}
			if el := time.Since(start); el < 32*sip.T1 {
				t.Errorf("BYE after %v, before 64*T1", el)
			}
			_, _ = conn.WriteTo([]byte(rawResponse(msg)), from)
			break
		}
	}
	if err := waitFor(t, answerErr, "Answer"); !errors.Is(err, ErrNoAck) {
		t.Errorf("Answer = %v, want ErrNoAck", err)
	}
}

// A re-INVITE putting the call on hold reaches OnReInvite and its answer
// goes back in the 200.
func TestReInviteHold(t *testing.T) {
	offers := make(chan string, 1)
	const holdAnswer = "v=0\r\no=gw 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=recvonly\r\n"
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		c.OnReInvite(func(offer []byte) ([]byte, error) {
			offers <- string(offer)
			return []byte(holdAnswer), nil
		})
		if err := c.Answer([]byte(testAnswer)); err != nil {
			return
		}
		<-c.Context().Done()
	})
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	reinv := sip.NewRequest(sip.INVITE, sess.InviteResponse.Contact().Address)
	reinv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reinv.SetBody([]byte(testHold))
	res, err := sess.Do(ctx, reinv)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || string(res.Body()) != holdAnswer {
		t.Fatalf("re-INVITE: %d %q", res.StatusCode, res.Body())
	}
	if got := waitFor(t, offers, "OnReInvite"); got != testHold {
		t.Errorf("offer = %q", got)
	}
	ack := sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)
	if err := sess.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}
	if err := sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
}

// An OnReInvite error rejects the offer (488 by default) and keeps the call.
func TestReInviteRejected(t *testing.T) {
	ended := make(chan error, 1)
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		c.OnReInvite(func([]byte) ([]byte, error) { return nil, errors.New("no video") })
		if err := c.Answer([]byte(testAnswer)); err != nil {
			return
		}
		<-c.Context().Done()
		ended <- context.Cause(c.Context())
	})
	p := newPeer(t, "tcp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := p.call(ctx, t, f.uri("room1", "tcp"), []byte(testOffer), sipgo.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = sess.Ack(ctx)
	reinv := sip.NewRequest(sip.INVITE, sess.InviteResponse.Contact().Address)
	reinv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reinv.SetBody([]byte(testHold))
	res, err := sess.Do(ctx, reinv)
	if err != nil || res.StatusCode != 488 {
		t.Fatalf("re-INVITE = %v, %v; want 488", res, err)
	}
	_ = sess.WriteRequest(sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address))
	if err := sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if cause := waitFor(t, ended, "end"); !errors.Is(cause, ErrRemoteHangup) {
		t.Errorf("cause = %v", cause)
	}
}

// INFO reaches OnInfo; SendInfo reaches the peer.
func TestInfo(t *testing.T) {
	digits := make(chan rune, 1)
	sent := make(chan error, 1)
	f := newFixture(t, Config{}, func(c *IncomingCall) {
		c.OnInfo(func(ct string, body []byte) int {
			if ct != ContentTypeDTMFRelay {
				return 415
			}
			d, _, err := ParseDTMFRelay(body)
			if err != nil {
				return 400
			}
			digits <- d
			return 200
		})
		if err := c.Answer([]byte(testAnswer)); err != nil {
			return
		}
		sent <- c.SendInfo(c.Context(), ContentTypeMediaControl, []byte(pfuBody))
		<-c.Context().Done()
	})
	p := newPeer(t, "udp", nil)
	infos := make(chan *sip.Request, 1)
	p.srv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) {
		infos <- req
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = sess.Ack(ctx)
	info := sip.NewRequest(sip.INFO, sess.InviteResponse.Contact().Address)
	info.AppendHeader(sip.NewHeader("Content-Type", ContentTypeDTMFRelay))
	info.SetBody([]byte("Signal=5\r\nDuration=160\r\n"))
	res, err := sess.Do(ctx, info)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO = %v, %v", res, err)
	}
	if d := waitFor(t, digits, "digit"); d != '5' {
		t.Errorf("digit = %q", d)
	}
	if err := waitFor(t, sent, "SendInfo"); err != nil {
		t.Errorf("SendInfo: %v", err)
	}
	if !IsPictureFastUpdate(waitFor(t, infos, "INFO at peer").Body()) {
		t.Error("peer got no picture_fast_update")
	}
	_ = sess.Bye(ctx)
}

// RFC 4028: a caller that asked to refresh and never does is hung up with
// BYE before the interval runs out.
func TestSessionTimerExpires(t *testing.T) {
	causes := make(chan error, 1)
	f := newFixture(t, Config{SessionExpires: 2 * time.Second, MinSE: time.Second}, answeringHandler(causes, nil))
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	sess, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{},
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "2;refresher=uac"))
	if err != nil {
		t.Fatal(err)
	}
	se := sess.InviteResponse.GetHeader("Session-Expires")
	if se == nil || se.Value() != "2;refresher=uac" || sess.InviteResponse.GetHeader("Require") == nil {
		t.Fatalf("200 session timer headers: %v", se)
	}
	_ = sess.Ack(ctx)
	waitFor(t, p.byes, "BYE")
	if el := time.Since(start); el < time.Second || el > 2*time.Second {
		t.Errorf("BYE after %v, want interval - interval/3", el)
	}
	if cause := waitFor(t, causes, "handler"); !errors.Is(cause, ErrSessionExpired) {
		t.Errorf("cause = %v", cause)
	}
}

// RFC 4028 §6: Session-Expires below Min-SE gets 422 with our Min-SE.
func TestSessionTimerTooSmall(t *testing.T) {
	f := newFixture(t, Config{MinSE: 90 * time.Second}, func(*IncomingCall) { t.Error("handler called") })
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{},
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "30"))
	res := responseOf(err)
	if res == nil || res.StatusCode != 422 {
		t.Fatalf("got %v, want 422", err)
	}
	if h := res.GetHeader("Min-SE"); h == nil || h.Value() != "90" {
		t.Errorf("Min-SE = %v", h)
	}
}

// A caller without timer support leaves the refreshing to us: we send
// UPDATE at half the interval (it allows UPDATE) and the call stays up.
func TestSessionTimerWeRefresh(t *testing.T) {
	causes := make(chan error, 1)
	f := newFixture(t, Config{SessionExpires: 2 * time.Second, MinSE: time.Second}, answeringHandler(causes, nil))
	p := newPeer(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := p.call(ctx, t, f.uri("room1", "udp"), []byte(testOffer), sipgo.AnswerOptions{},
		sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, UPDATE"))
	if err != nil {
		t.Fatal(err)
	}
	if se := sess.InviteResponse.GetHeader("Session-Expires"); se == nil || se.Value() != "2;refresher=uas" {
		t.Fatalf("Session-Expires = %v", se)
	}
	if sess.InviteResponse.GetHeader("Require") != nil {
		t.Error("Require: timer sent to a caller without timer support")
	}
	_ = sess.Ack(ctx)
	for i := 0; i < 2; i++ {
		upd := waitFor(t, p.updates, "UPDATE")
		if upd.GetHeader("Session-Expires") == nil {
			t.Error("refresh without Session-Expires")
		}
	}
	select {
	case <-p.byes:
		t.Fatal("BYE although the session was refreshed")
	default:
	}
	_ = sess.Bye(ctx)
	if cause := waitFor(t, causes, "handler"); !errors.Is(cause, ErrRemoteHangup) {
		t.Errorf("cause = %v", cause)
	}
}

// Malformed requests get 400 or are dropped by sipgo's parser; the server
// neither panics nor stops serving.
func TestMalformed(t *testing.T) {
	f := newFixture(t, Config{}, func(*IncomingCall) { t.Error("handler called") })
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, _ := net.ResolveUDPAddr("udp", f.udp)
	la := conn.LocalAddr().String()
	noContact := strings.Replace(rawInvite(la, f.udp, "bad-1"), "Contact: <sip:raw@"+la+">\r\n", "", 1)
	noTag := strings.Replace(rawInvite(la, f.udp, "bad-2"), ";tag=rawtag", "", 1)
	for _, msg := range []string{
		"garbage\r\n\r\n",
		"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n",
		"INVITE sip:room1@127.0.0.1 SIP/2.0\r\nContent-Length: 99999\r\n\r\nx",
		"\x00\x01\x02",
		noContact,
		noTag,
	} {
		_, _ = conn.WriteTo([]byte(msg), dst)
	}
	buf := make([]byte, 65536)
	got400 := 0
	for got400 < 2 {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("read: %v (400s: %d)", err, got400)
		}
		if strings.HasPrefix(string(buf[:n]), "SIP/2.0 400") {
			got400++
		}
	}
	// Still serving: TCP garbage, then OPTIONS.
	p := newPeer(t, "tcp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := net.Dial("tcp", f.tcp); err == nil {
		_, _ = c.Write([]byte("INVITE nonsense\r\nContent-Length: -1\r\n\r\n"))
		_ = c.Close()
	}
	res, err := p.cli.Do(ctx, sip.NewRequest(sip.OPTIONS, f.uri("", "tcp")))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS after garbage: %v %v", res, err)
	}
}
