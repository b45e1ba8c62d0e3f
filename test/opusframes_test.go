package test

import (
	"context"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/sipws/sipwstest"
)

// browserSIPCall is a browser's SIP call as JsSIP would make it (a pion
// PeerConnection behind an INVITE over ws://): it dials target and returns
// the track its microphone writes to; the call hangs up when the test ends.
func browserSIPCall(ctx context.Context, t *testing.T, target string) *webrtc.TrackLocalStaticRTP {
	t.Helper()
	browser, track := sipwstest.Browser(t)
	offer := sipwstest.Offer(ctx, t, browser)
	call, err := uac.Dial(ctx, uac.Config{
		Target: target, Transport: uac.TransportWS, LocalIP: netip.MustParseAddr("127.0.0.1"),
		FromUser: "browser", Offer: []byte(offer), Logger: testLogger(t),
	})
	if err != nil {
		t.Fatalf("INVITE over ws://: %v", err)
	}
	t.Cleanup(func() { _ = call.Hangup(context.Background()) })
	t.Logf("INVITE→200 OK %v", call.SetupTime().Round(time.Millisecond))
	if err := browser.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(call.Answer())}); err != nil {
		t.Fatal(err)
	}
	return track
}

// sendOpusTone writes 20 ms Opus frames of a 440 Hz tone to track, as a
// browser's microphone, until received() reaches want, and returns the
// set of frames it sent.
func sendOpusTone(ctx context.Context, t *testing.T, track *webrtc.TrackLocalStaticRTP, received func() int, want int) map[string]bool {
	t.Helper()
	sent := map[string]bool{}
	enc, err := opus.NewEncoder(48000, 1, opus.EncoderConfig{Bitrate: 32000})
	if err != nil {
		t.Fatal(err)
	}
	gen := tone.NewGenerator(440, 48000, 32767*math.Pow(10, lkgwSentDB/20))
	pcm := make([]int16, 960)
	out := make([]byte, opus.MaxFrameBytes)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; received() < want; i++ {
		select {
		case <-ctx.Done():
			t.Fatalf("%d of the leg's frames received after %d sent", received(), i)
		case <-tick.C:
		}
		gen.Fill(pcm)
		n, err := enc.Encode(pcm, out)
		if err != nil {
			t.Fatal(err)
		}
		sent[string(out[:n])] = true
		if err := track.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960), Marker: i == 0},
			Payload: out[:n],
		}); err != nil {
			t.Fatal(err)
		}
	}
	return sent
}

// foreignFrames counts the frames of got that are not in sent.
func foreignFrames(got [][]byte, sent map[string]bool) int {
	n := 0
	for _, f := range got {
		if !sent[string(f)] {
			n++
		}
	}
	return n
}
