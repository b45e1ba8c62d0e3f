package test

import (
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/video"
	"github.com/roombridge/roombridge/test/internal/baresip"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/videouas"
)

// baresip's picture: fakevideo's test pattern, encoded by libx264 through
// baresip's avcodec module.
const (
	baresipVideoSize = "320x240"
	baresipWidth     = 320
	baresipHeight    = 240
	baresipFPS       = 15
)

// TestBaresipVideo: baresip as a room system (H.264 from its avcodec
// module, fakevideo's picture at 320×240 and 15 fps) calls a UAS that
// answers with gateway/sdp, once with packetization-mode 1 and once with
// mode 0 (the offer's mode-1 format removed). It checks, with gateway/video:
//   - the offer carries H.264 in both modes with profile-level-id 42e01f
//     and rtcp-fb nack pli, and our answer picks the right format;
//   - the Depacketizer rebuilds baresip's RTP into whole access units at
//     baresip's size and rate, with no loss, starting with a keyframe;
//   - an RTCP PLI (BuildPLI) and a SIP INFO picture_fast_update
//     (BuildPictureFastUpdate) each make baresip send an IDR long before
//     its 10-second GOP would;
//   - what the Packetizer sends in the negotiated mode is decoded by
//     baresip: its snapshot module saves the first picture it decoded,
//     which must have the size sent: the x264 test stream (320×180), or
//     the Slate (640×360, "Room 4711 / waiting for video", in mode 0 cut
//     into slices of one packet each), whose background colour and text
//     must be where they were drawn.
func TestBaresipVideo(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	harness.RequireTool(t, "baresip")
	requireFile(t, "/usr/lib/baresip/modules/avcodec.so", "baresip-ffmpeg")
	for _, tc := range []struct {
		name   string
		mode   int
		moving bool
	}{{"fakevideo-mode1", 1, false}, {"moving-mode1", 1, true}, {"moving-mode0", 0, true}} {
		t.Run(tc.name, func(t *testing.T) { testBaresipVideo(t, tc.mode, tc.moving) })
	}
}

func requireFile(t *testing.T, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (Debian package %s) is required in CI: %v", path, pkg, err)
		}
		t.Skipf("%s not installed (Debian package %s)", path, pkg)
	}
}

// testBaresipVideo runs one call. moving makes baresip send a moving
// picture (fixtures/testsrc2-320x180-15fps-12s.mkv, decoded by its
// avformat module and encoded again at 320×180) instead of fakevideo's
// still colour bars at 320×240.
func testBaresipVideo(t *testing.T, mode int, moving bool) {
	opts := videouas.Options{}
	if mode == 0 {
		opts.Offer = func(s *sdp.Session) {
			var keep []sdp.Codec
			for _, c := range s.Video.Codecs {
				if p, ok := sdp.ParseH264Fmtp(c.Fmtp); !strings.EqualFold(c.Name, "H264") || ok && p.PacketizationMode == 0 {
					keep = append(keep, c)
				}
			}
			s.Video.Codecs = keep
		}
	}
	uas := videouas.Start(t, opts)
	dir := t.TempDir()
	src := filepath.Join(dir, "tone.wav")
	if err := baresip.WriteToneWAV(src, 600, 8000, 30); err != nil {
		t.Fatal(err)
	}
	snapshot := filepath.Join(dir, "recv.png")
	v := &baresip.Video{Size: baresipVideoSize, FPS: baresipFPS, Bitrate: 400000, SnapshotRecv: snapshot}
	width, height := baresipWidth, baresipHeight
	if moving {
		v.File, width, height = fixtureCopy(t, dir, "testsrc2-320x180-15fps-12s.mkv"), 320, 180
	}
	phone := baresip.Start(t, baresip.Options{
		User: "room", Target: "sip:room@" + uas.Addr, Source: src, Duration: 25 * time.Second, Video: v,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	call, err := uas.Wait(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, phone.Output())
	}

	// What baresip offers, and what we answered.
	offered := map[int]bool{}
	for _, c := range call.Offer.Video.Codecs {
		if p, ok := sdp.ParseH264Fmtp(c.Fmtp); strings.EqualFold(c.Name, "H264") && ok {
			offered[p.PacketizationMode] = true
			if p.ProfileIDC != 0x42 || p.ProfileIOP != 0xe0 || p.Level != 31 {
				t.Errorf("offered H.264 %s", c.Fmtp)
			}
		}
	}
	if !offered[0] || (mode == 1 && !offered[1]) {
		t.Errorf("offered modes %v\n%s", offered, call.OfferSDP)
	}
	ans := call.Answer.Video
	if p, _ := sdp.ParseH264Fmtp(ans.Codecs[0].Fmtp); p.PacketizationMode != mode || len(ans.RTCPFb) != 1 || ans.RTCPFb[0].Param != "pli" {
		t.Fatalf("answered %v %v", ans.Codecs, ans.RTCPFb)
	}
	t.Logf("baresip offered:\n%s", call.OfferSDP)

	rx := startVideoReceiver(t, call)
	rx.waitFrames(t, 2*baresipFPS, 10*time.Second, phone)
	st := rx.stats()
	if st.Width != width || st.Height != height || st.Lost != 0 || st.Dropped != 0 {
		t.Errorf("received %+v", st)
	}
	// The rate measured from RTP timestamps against the frames' arrival:
	// baresip encodes at up to 15 fps, fewer on a busy machine.
	if arrived := rx.arrivalRate(); st.FrameRate > baresipFPS+1 || st.FrameRate < 0.75*arrived || st.FrameRate > 1.25*arrived {
		t.Errorf("frame rate %.1f (%.1f by arrival), want at most %d", st.FrameRate, arrived, baresipFPS)
	}
	sum := rx.summary()
	if !sum.firstKey {
		t.Error("first access unit delivered was not a keyframe")
	}
	t.Logf("mode %d: %d×%d, %.1f fps, %d bit/s, %d packets (%d FU-A, %d STAP-A, %d single), largest payload %d",
		mode, st.Width, st.Height, st.FrameRate, st.Bitrate, st.Packets, sum.fua, sum.stapa, sum.whole, sum.largest)
	if mode == 0 && (sum.fua != 0 || sum.stapa != 0) {
		t.Errorf("mode 0: baresip sent %d FU-A and %d STAP-A", sum.fua, sum.stapa)
	}
	if moving && mode == 1 && sum.fua == 0 {
		t.Error("no FU-A from baresip's moving picture")
	}
	// Keyframes on request: RTCP PLI, then SIP INFO.
	pli, err := video.BuildPLI(0x5eed, rx.summary().ssrc)
	if err != nil {
		t.Fatal(err)
	}
	rx.keyframeAfter(t, "RTCP PLI", func() error { return call.SendRTCP(pli) })
	rx.keyframeAfter(t, "SIP INFO picture_fast_update", func() error {
		code, err := call.Info(ctx, video.MediaControlType, video.BuildPictureFastUpdate(""))
		if err == nil && code != 200 {
			err = errors.New("INFO answered " + strconv.Itoa(code))
		}
		return err
	})

	// With ROOMBRIDGE_RECORD_VIDEO=dir: baresip's offer and RTP (the
	// requested IDRs included) for gateway/video/testdata.
	if dir := os.Getenv("ROOMBRIDGE_RECORD_VIDEO"); dir != "" && mode == 1 && moving {
		rx.record(t, dir, "baresip-h264", call.OfferSDP)
	}

	// Our video to baresip: with a still picture from baresip, the slate
	// (640×360, the room's name), in mode 0 cut into slices that fit a
	// packet; with a moving one, the x264 test stream (320×180).
	next, w, h := slateSource(t, mode)
	if moving && mode == 1 {
		aus := readTestStream(t, "x264-320x180-15fps.h264")
		next = func(i int) []byte { return aus[i%len(aus)] }
		w, h = 320, 180
	}
	pk, err := video.NewPacketizer(video.PacketizerConfig{
		Mode: mode, PayloadType: ans.Codecs[0].PT, SSRC: 0x5eed, MTU: 1200,
	}, call.SendRTP)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(8 * time.Second)
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for i := 0; ; i++ {
		if _, err := os.Stat(snapshot); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip decoded nothing we sent in 8 s (snapshot %s missing)\n%s", snapshot, phone.Output())
		}
		if err := pk.Packetize(next(i), uint32(i*6000)); err != nil {
			t.Fatal(err)
		}
		<-tick.C
	}
	img := waitPNG(t, snapshot)
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("baresip decoded a %v picture, want %d×%d", b, w, h)
	}
	if w == 640 {
		checkSlatePicture(t, img)
	}
	t.Logf("baresip decoded our %d×%d stream after %d packets", w, h, pk.Stats().Packets)
}

// slateSource returns the slate's access units (an IDR first, then
// repeats) for mode 0 or 1, and its size.
func slateSource(t *testing.T, mode int) (next func(int) []byte, w, h int) {
	t.Helper()
	cfg := video.SlateConfig{Lines: []string{"Room 4711", "waiting for video"}}
	if mode == 0 {
		cfg.MaxNALSize = 1200 - 12
	}
	s, err := video.NewSlate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w, h = s.Size()
	return func(i int) []byte { return s.Next(i == 0) }, w, h
}

// checkSlatePicture looks at the slate as baresip decoded it: the
// background colour (RGB about 30, 40, 60) in the corners, light text
// (baresip's conversion shows it at about 235) in the middle band and
// none above it.
func checkSlatePicture(t *testing.T, img image.Image) {
	t.Helper()
	near := func(x, y int, r0, g0, b0 uint32) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		d := func(a, b uint32) bool { return a>>8+12 >= b && b+12 >= a>>8 }
		return d(r, r0) && d(g, g0) && d(b, b0)
	}
	for _, p := range [][2]int{{4, 4}, {635, 4}, {4, 355}, {635, 355}} {
		if !near(p[0], p[1], 30, 40, 60) {
			r, g, b, _ := img.At(p[0], p[1]).RGBA()
			t.Errorf("slate background at %v is %d,%d,%d", p, r>>8, g>>8, b>>8)
		}
	}
	light := func(y0, y1 int) int {
		n := 0
		for y := y0; y < y1; y++ {
			for x := 0; x < 640; x++ {
				if r, g, b, _ := img.At(x, y).RGBA(); r>>8 > 200 && g>>8 > 200 && b>>8 > 200 {
					n++
				}
			}
		}
		return n
	}
	if middle, top := light(130, 230), light(0, 100); middle < 500 || top != 0 {
		t.Errorf("slate text: %d light pixels in the middle band, %d at the top", middle, top)
	}
}

// waitPNG reads a PNG that baresip may still be writing.
func waitPNG(t *testing.T, path string) image.Image {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		f, err := os.Open(path)
		if err == nil {
			img, derr := png.Decode(f)
			_ = f.Close()
			if derr == nil {
				return img
			}
			err = derr
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fixtureCopy copies a file of test/fixtures into dir: baresip's config
// cannot hold long paths.
func fixtureCopy(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readTestStream reads one of gateway/video's test streams as access
// units.
func readTestStream(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "gateway", "video", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return video.SplitAccessUnits(b)
}
