package test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/video"
)

// chromiumH264 is the one format the Go peer takes: constrained baseline,
// packetization-mode 1, what the embedded SFU negotiates with browsers.
const chromiumH264 = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// TestChromiumH264: headless Chromium sends its fake camera (640×360) as
// H.264 to a pion peer in this test, and receives the slate from it:
//   - Chromium's offer lists its H.264 formats (logged, and recorded with
//     ROOMBRIDGE_RECORD_VIDEO=dir, with its RTP, for gateway/video's
//     testdata);
//   - gateway/video's Depacketizer rebuilds Chromium's RTP (STAP-A with
//     SPS and PPS, FU-A) into access units at the size it sends, without
//     loss;
//   - RTCP PLI (BuildPLI) and FIR (FIRSender) each bring an IDR;
//   - the Slate, packetized by our Packetizer, is decoded by Chromium at
//     640×360 (its inbound-rtp stats count decoded frames).
func TestChromiumH264(t *testing.T) {
	b := launchBrowser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>h264</title>`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page, err := b.NewPage(ctx, "h264", srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	// The page: camera track out, one transceiver that also receives,
	// H.264 only.
	var offer string
	err = page.EvalInto(ctx, `(async () => {
		const s = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 360, frameRate: 15}});
		const pc = new RTCPeerConnection();
		window.pc = pc;
		const tr = pc.addTransceiver(s.getVideoTracks()[0], {direction: 'sendrecv', streams: [s]});
		const h264 = RTCRtpReceiver.getCapabilities('video').codecs.filter(c => c.mimeType === 'video/H264');
		tr.setCodecPreferences(h264);
		await pc.setLocalDescription();
		await new Promise(r => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
		return pc.localDescription.sdp;
	})()`, &offer)
	if err != nil {
		t.Fatal(err)
	}
	var formats []string
	for _, l := range strings.Split(offer, "\r\n") {
		if strings.HasPrefix(l, "a=fmtp:") && strings.Contains(l, "profile-level-id") {
			formats = append(formats, l)
		}
	}
	t.Logf("Chromium offers H.264:\n%s", strings.Join(formats, "\n"))
	if !strings.Contains(offer, "profile-level-id=42e01f") {
		t.Fatalf("no constrained baseline in Chromium's offer:\n%s", offer)
	}

	pc, local := chromiumPeer(t)
	rx := newVideoReceiver()
	var readers sync.WaitGroup
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 1500)
			for {
				n, _, err := tr.Read(buf)
				if err != nil {
					return
				}
				rx.add(buf[:n])
			}
		}()
	})
	t.Cleanup(func() {
		_ = pc.Close()
		readers.Wait()
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	ans, _ := json.Marshal(pc.LocalDescription().SDP)
	if _, err := page.Evaluate(ctx, `window.pc.setRemoteDescription({type: 'answer', sdp: `+string(ans)+`})`); err != nil {
		t.Fatal(err)
	}

	rx.waitFrames(t, 30, 15*time.Second, browserOutput{b.Stderr})
	st := rx.stats()
	sum := rx.summary()
	t.Logf("Chromium sent %d×%d, %.1f fps, %d bit/s: %d packets (%d FU-A, %d STAP-A, %d single), largest payload %d",
		st.Width, st.Height, st.FrameRate, st.Bitrate, st.Packets, sum.fua, sum.stapa, sum.whole, sum.largest)
	if st.Width != 640 || st.Height != 360 || st.Lost != 0 || st.Dropped != 0 || !sum.firstKey {
		t.Errorf("received %+v", st)
	}
	if arrived := rx.arrivalRate(); st.FrameRate < 0.75*arrived || st.FrameRate > 1.25*arrived {
		t.Errorf("frame rate %.1f, %.1f by arrival", st.FrameRate, arrived)
	}

	send := func(b []byte, err error) error {
		if err != nil {
			return err
		}
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return err
		}
		return pc.WriteRTCP(pkts)
	}
	rx.keyframeAfter(t, "RTCP PLI", func() error { return send(video.BuildPLI(1, sum.ssrc)) })
	// libwebrtc drops keyframe requests that come within 300 ms of the
	// last one it served: let a second of frames pass.
	rx.waitFrames(t, int(rx.stats().Frames)+15, 5*time.Second, browserOutput{b.Stderr})
	var fir video.FIRSender
	rx.keyframeAfter(t, "RTCP FIR", func() error { return send(fir.Build(1, sum.ssrc)) })
	if dir := os.Getenv("ROOMBRIDGE_RECORD_VIDEO"); dir != "" {
		rx.record(t, dir, "chromium-h264", []byte(offer))
	}

	// The slate to Chromium.
	slate, err := video.NewSlate(video.SlateConfig{Lines: []string{"Room 4711", "waiting for video"}})
	if err != nil {
		t.Fatal(err)
	}
	// The track rewrites payload type and SSRC to what it negotiated.
	pk, err := video.NewPacketizer(video.PacketizerConfig{Mode: 1, PayloadType: 102, SSRC: 0x5eed}, func(p []byte) error {
		_, err := local.Write(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var sender sync.WaitGroup
	sender.Add(1)
	go func() {
		defer sender.Done()
		tick := time.NewTicker(time.Second / 15)
		defer tick.Stop()
		for i := 0; ; i++ {
			// An IDR a second: Chromium asks by PLI, which this peer does
			// not read.
			_ = pk.Packetize(slate.Next(i%15 == 0), uint32(i*6000))
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { close(done); sender.Wait() }()
	err = page.WaitFor(ctx, `window.pc.getStats().then(r => [...r.values()].some(s =>
		s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 5 && s.frameWidth === 640 && s.frameHeight === 360))`, 200*time.Millisecond)
	if err != nil {
		var stats json.RawMessage
		_ = page.EvalInto(ctx, `window.pc.getStats().then(r => [...r.values()].filter(s => s.type === 'inbound-rtp'))`, &stats)
		t.Fatalf("Chromium decoded no slate: %v\n%s", err, stats)
	}
}

// browserOutput adapts the browser's stderr to waitFrames.
type browserOutput struct{ stderr func() string }

func (o browserOutput) Output() string { return o.stderr() }

// chromiumPeer is a pion peer that takes H.264 (constrained baseline,
// mode 1) with PLI/FIR feedback on loopback, and sends one H.264 track.
func chromiumPeer(t *testing.T) (*webrtc.PeerConnection, *webrtc.TrackLocalStaticRTP) {
	t.Helper()
	var m webrtc.MediaEngine
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: chromiumH264, RTCPFeedback: fb},
		PayloadType:        102,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	api := webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	local, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: chromiumH264}, "video", "slate")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(local); err != nil {
		t.Fatal(err)
	}
	return pc, local
}
