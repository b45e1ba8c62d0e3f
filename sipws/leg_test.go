package sipws

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/sipws/sipwstest"
)

func newTestMedia(t *testing.T) *Media {
	t.Helper()
	m, err := NewMedia(MediaConfig{IncludeLoopback: true, PortMin: 41000, PortMax: 41999})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLegAnswersJsSIPOffer: the offer JsSIP sends from Chromium gets an
// answer with everything a browser needs (DTLS fingerprint and role, ICE
// credentials and candidates, rtcp-mux, BUNDLE) and Opus under the
// offer's payload type, with telephone-event at 8 kHz.
func TestLegAnswersJsSIPOffer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	offer, err := os.ReadFile("testdata/jssip-chromium-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	l, answer, err := newTestMedia(t).Answer(t.Context(), offer, LegOptions{Handler: func(*rtp.Packet) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}()
	for _, want := range []string{
		"m=audio ", " UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=fingerprint:sha-256 ", "a=setup:active",
		"a=ice-ufrag:", "a=ice-pwd:", "a=rtcp-mux", "a=group:BUNDLE 0", "a=candidate:", " 127.0.0.1 ", "a=sendrecv",
		"a=rtpmap:126 telephone-event/8000",
	} {
		if !bytes.Contains(answer, []byte(want)) {
			t.Errorf("answer has no %q:\n%s", want, answer)
		}
	}
	if a := l.Audio(); a.PT != 111 || a.EventPT != 126 || a.EventRate != 8000 || a.Hold {
		t.Errorf("audio %+v", a)
	}
}

// TestLegRefusesOffers: offers a WebRTC leg cannot answer fail with the
// error the SIP side turns into 488, before any media starts.
func TestLegRefusesOffers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	good, err := os.ReadFile("testdata/jssip-chromium-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	m := newTestMedia(t)
	for _, tc := range []struct {
		name  string
		offer string
		want  error
	}{
		{"garbage", "not sdp", ErrOffer},
		{"no fingerprint", dropLines(string(good), "a=fingerprint:"), ErrOffer},
		{"no ICE", dropLines(string(good), "a=ice-ufrag:"), ErrOffer},
		{"no audio", strings.Replace(string(good), "m=audio ", "m=video ", 1), ErrOffer},
		{"no Opus", dropLines(string(good), "a=rtpmap:111 ", "a=fmtp:111 ", "a=rtcp-fb:111 ", "a=rtpmap:63 ", "a=fmtp:63 "), ErrNoOpus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, err := m.Answer(t.Context(), []byte(tc.offer), LegOptions{Handler: func(*rtp.Packet) {}})
			if !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
			if l != nil {
				_ = l.Close()
			}
		})
	}
}

func dropLines(sdp string, prefixes ...string) string {
	var out []string
	for ln := range strings.SplitSeq(sdp, "\n") {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(ln, p) {
				keep = false
			}
		}
		if keep {
			out = append(out, ln)
		}
	}
	return strings.Join(out, "\n")
}

// TestLegMediaAndHold: a pion PeerConnection in the role of the browser
// offers Opus; the leg answers, hands every packet the browser sends to the
// handler with its payload as sent, and what the leg writes reaches the
// browser. A re-offer with a=sendonly is answered a=recvonly and reported
// as hold; sendrecv again resumes. Closing ends every goroutine.
func TestLegMediaAndHold(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	browser, track := sipwstest.Browser(t)
	heard := make(chan []byte, 100)
	browser.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case heard <- p.Payload:
			default:
			}
		}
	})
	offer := sipwstest.Offer(ctx, t, browser)

	var mu sync.Mutex
	var got [][]byte
	l, answer, err := newTestMedia(t).Answer(ctx, []byte(offer), LegOptions{Handler: func(p *rtp.Packet) {
		mu.Lock()
		got = append(got, bytes.Clone(p.Payload))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := browser.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}

	// Browser → leg: distinct payloads arrive byte for byte.
	sent := map[string]bool{}
	for i := 0; ; i++ {
		payload := []byte{0x78, byte(i), byte(i >> 8), 0xAB, 0xCD}
		sent[string(payload)] = true
		if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: payload}); err != nil {
			t.Fatal(err)
		}
		// Leg → browser.
		if err := l.WriteRTP([]byte{0xF8, 0xFF, 0xFE, byte(i)}, 111, uint32(i*960), i == 0); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 10 && len(heard) >= 10 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("leg got %d packets, browser %d", n, len(heard))
		case <-time.After(20 * time.Millisecond):
		}
	}
	mu.Lock()
	for _, p := range got {
		if !sent[string(p)] {
			t.Errorf("leg got payload %x, never sent", p)
		}
	}
	mu.Unlock()
	if p := <-heard; len(p) != 4 || p[0] != 0xF8 {
		t.Errorf("browser heard %x", p)
	}
	if l.FirstPacket().IsZero() {
		t.Error("FirstPacket is zero after packets arrived")
	}

	for _, step := range []struct {
		dir, wantDir string
		hold         bool
	}{{"a=sendonly", "a=recvonly", true}, {"a=sendrecv", "a=sendrecv", false}, {"a=inactive", "a=inactive", true}} {
		re := sipwstest.Offer(ctx, t, browser)
		re = strings.ReplaceAll(re, "a=sendrecv", step.dir)
		ans, hold, err := l.Reoffer(ctx, []byte(re))
		if err != nil {
			t.Fatal(err)
		}
		if hold != step.hold || !strings.Contains(string(ans), step.wantDir+"\r\n") || l.Audio().Hold != step.hold {
			t.Errorf("re-offer %s: hold %v, answer:\n%s", step.dir, hold, ans)
		}
		if err := browser.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(ans)}); err != nil {
			t.Fatal(err)
		}
	}
	if ans, hold, err := l.Reoffer(ctx, nil); err != nil || len(ans) == 0 || !hold {
		t.Errorf("refresh without SDP: %v %v %s", hold, err, ans)
	}
}
