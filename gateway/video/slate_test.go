package video

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// requireFFmpeg returns ffmpeg's path; without it the test skips, or
// fails under CI=true (deploy/install-deps.sh installs it).
func requireFFmpeg(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ffmpeg is required in CI: %v", err)
		}
		t.Skipf("ffmpeg not installed: %v", err)
	}
	return p
}

// decodeYUV decodes an Annex B stream with ffmpeg's H.264 decoder into
// raw 4:2:0 frames of w×h (Y, then Cb, then Cr), the samples as coded.
func decodeYUV(t *testing.T, stream []byte, w, h int) [][]byte {
	t.Helper()
	ffmpeg := requireFFmpeg(t)
	in := filepath.Join(t.TempDir(), "in.h264")
	if err := os.WriteFile(in, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-xerror", "-err_detect", "explode",
		"-f", "h264", "-i", in, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Fatalf("ffmpeg: %v\n%s", err, errb.String())
	}
	b, size := out.Bytes(), w*h*3/2
	if len(b)%size != 0 {
		t.Fatalf("ffmpeg gave %d bytes, not whole %d×%d frames", len(b), w, h)
	}
	var frames [][]byte
	for ; len(b) > 0; b = b[size:] {
		frames = append(frames, b[:size])
	}
	return frames
}

// TestSlateDecodes: ffmpeg decodes the slate's IDRs (both idr_pic_ids)
// and repeat frames, in one slice and in slices for mode 0, without an
// error, and every frame is exactly the picture rendered (the coding is
// lossless), with the text where it was drawn.
func TestSlateDecodes(t *testing.T) {
	for _, tc := range []struct {
		cfg  SlateConfig
		w, h int
	}{
		{SlateConfig{Lines: []string{"Room 4711", "waiting for video"}}, 640, 360},
		{SlateConfig{Lines: []string{"Sales weekly (Zürich) — a very long room name that cannot fit", "waiting for video"}, MaxNALSize: 1188}, 640, 360},
		{SlateConfig{Width: 320, Height: 180, Lines: []string{"demo"}, MaxNALSize: 512}, 320, 180},
		{SlateConfig{Width: 1280, Height: 720}, 1280, 720},
	} {
		s, err := NewSlate(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if w, h := s.Size(); w != tc.w || h != tc.h {
			t.Fatalf("size %d×%d", w, h)
		}
		var stream []byte
		keys := []bool{true, false, false, false, true, false, false}
		for _, k := range keys {
			au := s.Next(k)
			if IsKeyframe(au) != k {
				t.Fatalf("keyframe %v, asked %v", IsKeyframe(au), k)
			}
			for _, n := range nals(au) {
				if tc.cfg.MaxNALSize > 0 && len(n) > tc.cfg.MaxNALSize {
					t.Errorf("NAL unit of %d bytes over %d", len(n), tc.cfg.MaxNALSize)
				}
				if NALType(n) == NALSPS {
					if sps, err := ParseSPS(n); err != nil || sps.Width != tc.w || sps.Height != tc.h || sps.ProfileIDC != 66 || sps.Constraints != 0xe0 {
						t.Errorf("SPS %+v %v", sps, err)
					}
				}
			}
			stream = append(stream, au...)
		}
		idr := s.Next(true)
		t.Logf("%d×%d, %d lines, max NAL %d: IDR %d bytes in %d NAL units, repeat %d bytes",
			tc.w, tc.h, len(tc.cfg.Lines), tc.cfg.MaxNALSize, len(idr), len(nals(idr)), len(s.Next(false)))

		frames := decodeYUV(t, stream, tc.w, tc.h)
		if len(frames) != len(keys) {
			t.Fatalf("%d frames decoded, want %d", len(frames), len(keys))
		}
		want := renderedYUV(t, tc.cfg, tc.w, tc.h)
		for i, f := range frames {
			if !bytes.Equal(f, want) {
				t.Errorf("frame %d differs from the picture rendered", i)
			}
		}
		// Text was drawn: bright pixels in the middle band, background at
		// the corners.
		bright := 0
		for _, v := range want[:tc.w*tc.h] {
			if v > 200 {
				bright++
			}
		}
		if (len(tc.cfg.Lines) > 0) != (bright > 100) || want[0] != slateBgY || want[tc.w*tc.h-1] != slateBgY {
			t.Errorf("%d bright pixels, corners %d %d", bright, want[0], want[tc.w*tc.h-1])
		}
	}
}

// renderedYUV is the slate's picture as rendered, cropped to w×h, in the
// layout of decodeYUV.
func renderedYUV(t *testing.T, cfg SlateConfig, w, h int) []byte {
	t.Helper()
	f, err := loadSlateFont()
	if err != nil {
		t.Fatal(err)
	}
	p := newSlatePicture((w+15)/16, (h+15)/16)
	p.drawLines(f, w, h, cfg.Lines)
	out := make([]byte, 0, w*h*3/2)
	for y := range h {
		out = append(out, p.y[y*p.mbw*16:y*p.mbw*16+w]...)
	}
	for _, plane := range [][]byte{p.cb, p.cr} {
		for y := range h / 2 {
			out = append(out, plane[y*p.mbw*8:y*p.mbw*8+w/2]...)
		}
	}
	return out
}

func TestSlateConfig(t *testing.T) {
	for _, cfg := range []SlateConfig{{Width: 641, Height: 360}, {Width: -2, Height: 2}, {Width: 4096, Height: 4096}, {MaxNALSize: 100}} {
		if _, err := NewSlate(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := parseFont([]byte("RBSF\x01")); err == nil {
		t.Error("truncated font accepted")
	}
	if _, err := parseFont(slateFontFile[:100]); err == nil {
		t.Error("truncated font accepted")
	}
}

// BenchmarkSlateNext: the slate's frames cost nothing once made.
func BenchmarkSlateNext(b *testing.B) {
	s, err := NewSlate(SlateConfig{Lines: []string{"Room 4711", "waiting for video"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_ = s.Next(i%100 == 0)
	}
}
