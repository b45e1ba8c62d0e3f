package baresip

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestPhoneEcho calls sipp's built-in UAS with RTP echo: the phone must
// hear its own 600 Hz tone in its recording, and its sent audio must be
// that tone too.
func TestPhoneEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("starts baresip and sipp; skipped with -short")
	}
	sipp := harness.RequireTool(t, "sipp")
	harness.RequireTool(t, "baresip")
	port, err := freeDualPort()
	if err != nil {
		t.Fatal(err)
	}
	media, err := freeUDPRange(4)
	if err != nil {
		t.Fatal(err)
	}
	uas := exec.Command(sipp, "-sn", "uas", "-i", "127.0.0.1", "-mi", "127.0.0.1",
		"-p", strconv.Itoa(port), "-mp", strconv.Itoa(media), "-rtp_echo", "-m", "1", "-nostdin", "-timeout", "30s")
	var uasOut buffer
	uas.Stdout, uas.Stderr = &uasOut, &uasOut
	uas.Dir = t.TempDir()
	uas.SysProcAttr = procAttr()
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	uasDone := make(chan struct{})
	go func() {
		_ = uas.Wait()
		close(uasDone)
	}()
	t.Cleanup(func() {
		kill(uas)
		<-uasDone
		if t.Failed() {
			t.Logf("sipp uas:\n%s", uasOut.String())
		}
	})

	src := filepath.Join(t.TempDir(), "600.wav")
	if err := WriteToneWAV(src, 600, 16000, 20); err != nil {
		t.Fatal(err)
	}
	// sipp needs a moment to bind; baresip retransmits the INVITE anyway.
	p := Start(t, Options{User: "echo", Target: "sip:echo@127.0.0.1:" + strconv.Itoa(port), Source: src, Duration: 4 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if !p.Established() {
		t.Fatalf("no call established:\n%s", p.Output())
	}
	for name, read := range map[string]func() ([]int16, error){"heard": p.Heard, "sent": p.Sent} {
		pcm, err := read()
		if err != nil {
			t.Fatal(err)
		}
		if len(pcm) < Rate {
			t.Fatalf("%s: %d samples, want at least a second", name, len(pcm))
		}
		mid := pcm[len(pcm)/4 : 3*len(pcm)/4]
		if f, pw := tone.Dominant(mid, Rate, []float64{400, 600, 1000}); f != 600 || pw < 1e-3 {
			t.Fatalf("%s: dominant %.0f Hz at power %.4f, want 600 Hz (peaks %v)", name, f, pw, tone.Peaks(mid, Rate, 3))
		}
	}
}

func TestWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.wav")
	if err := WriteToneWAV(path, 1000, 8000, 0.5); err != nil {
		t.Fatal(err)
	}
	pcm, rate, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rate != Rate || len(pcm) != Rate/2 {
		t.Fatalf("rate %d, %d samples; want %d, %d", rate, len(pcm), Rate, Rate/2)
	}
	if f, _ := tone.Dominant(pcm, Rate, []float64{600, 1000}); f != 1000 {
		t.Fatalf("dominant %.0f Hz, want 1000", f)
	}
}
