package baresip

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/harness"
)

// Rate is the sample rate of the phone's audio files (G.711).
const Rate = 8000

// Options describe one phone and the call it makes.
type Options struct {
	// User is the user part of the phone's address (sip:USER@127.0.0.1);
	// empty means "baresip".
	User string
	// Target is the URI to dial, e.g. sip:demo@127.0.0.1:5060 or
	// sip:demo@127.0.0.1:5060;transport=tcp. Empty makes the phone a
	// callee: it dials nothing and answers every call at once.
	Target string
	// Source is the microphone: a WAV file, 8 kHz mono 16-bit. It should
	// last longer than the call.
	Source string
	// Duration is baresip's -t: it hangs up and quits after that long.
	Duration time.Duration
	// Codecs are the audio codecs offered, in order; empty means PCMU.
	// "opus" loads baresip's opus module (mono, as a phone would send).
	Codecs []string
	// AuthUser and Password answer digest challenges (401/407).
	AuthUser, Password string
	// Video, when set, makes the phone a video room system.
	Video *Video
	// Verbose runs baresip with -v, whose debug output has the
	// telephone-events it receives (ReceivedDigits).
	Verbose bool
	// Rate is the sample rate of the phone's sound device, its Source
	// file and its recordings; 0 means Rate. An Opus phone uses 48000.
	Rate int
	// MediaEnc is the account's mediaenc, such as "srtp-mand" (SDES-keyed
	// RTP/SAVP only, baresip's srtp module); empty means plain RTP.
	MediaEnc string
}

// Video makes a phone send H.264 (baresip's avcodec module with libx264)
// and offer every video codec baresip has (H.264 in packetization modes 0
// and 1 first).
type Video struct {
	// File is the picture: a video file that the avformat module decodes
	// and loops (an .h264 elementary stream will do), at its own size.
	// Empty means fakevideo's still colour bars at Size.
	File string
	// Size is the picture size of fakevideo, such as "320x240".
	Size string
	// FPS and Bitrate (bit/s) are what the encoder aims for.
	FPS, Bitrate int
	// SnapshotRecv, when set, is where the snapshot module saves the
	// first picture decoded from the peer, as PNG. baresip keeps only 99
	// bytes of it.
	SnapshotRecv string
}

// Phone is a running baresip.
type Phone struct {
	// Dir is the configuration directory; Recordings holds sndfile's WAVs.
	Dir, Recordings string
	// SIPAddr is the loopback host:port the phone listens on (UDP and
	// TCP), where a callee is called.
	SIPAddr string
	// Args is the command line, for logs.
	Args []string
	// Rate is Options.Rate.
	Rate int

	cmd  *exec.Cmd
	out  buffer
	done chan struct{}
	err  error
}

// Start writes a configuration and starts baresip, which dials at once.
// The phone is killed, if still running, when t ends, and its output goes
// into the test log when t fails.
func Start(t testing.TB, o Options) *Phone {
	t.Helper()
	bin := harness.RequireTool(t, "baresip")
	if o.Duration <= 0 {
		t.Fatal("baresip: Options.Duration must be set")
	}
	dir := t.TempDir()
	p := &Phone{Dir: dir, Recordings: filepath.Join(dir, "rec"), Rate: o.Rate, done: make(chan struct{})}
	if err := os.Mkdir(p.Recordings, 0o755); err != nil {
		t.Fatal(err)
	}
	sipPort, err := writeConfig(dir, p.Recordings, o)
	if err != nil {
		t.Fatal(err)
	}
	p.SIPAddr = "127.0.0.1:" + strconv.Itoa(sipPort)
	secs := int((o.Duration + time.Second - 1) / time.Second)
	args := []string{"-f", dir, "-t", strconv.Itoa(secs)}
	if o.Verbose {
		args = append(args, "-v")
	}
	if o.Video != nil && o.Video.SnapshotRecv != "" {
		args = append(args, "-e", "/snapshot_recv "+o.Video.SnapshotRecv)
	}
	if o.Target != "" {
		args = append(args, "-e", "/dial "+o.Target)
	}
	p.Args = append([]string{bin}, args...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.SysProcAttr = procAttr()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("baresip %s: %s\n--- output ---\n%s", o.User, strings.Join(p.Args, " "), p.Output())
		}
	})
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("baresip: start: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// Done is closed when baresip has exited.
func (p *Phone) Done() <-chan struct{} { return p.done }

// Wait waits for baresip to quit (after its -t) or for ctx.
func (p *Phone) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("baresip: %w", p.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("baresip still running: %w", context.Cause(ctx))
	}
}

// Output returns baresip's console output, with the status line that it
// redraws several times a second squeezed out.
func (p *Phone) Output() string {
	return statusLine.ReplaceAllString(p.out.String(), "")
}

// ReceivedDigits returns the RFC 4733 digits the phone received, in
// order, one per press (baresip's debug line at each event's start; the
// phone must run Verbose).
func (p *Phone) ReceivedDigits() string {
	var b strings.Builder
	for _, m := range receivedEvent.FindAllStringSubmatch(p.out.String(), -1) {
		b.WriteString(m[1])
	}
	return b.String()
}

var receivedEvent = regexp.MustCompile(`received event: '(.)' \(end=0\)`)

var statusLine = regexp.MustCompile(`\[\d+:\d\d:\d\d\] audio=\d+/\d+ \(bit/s\) *`)

// Established reports whether baresip logged an established call.
func (p *Phone) Established() bool { return strings.Contains(p.out.String(), "Call established") }

// Heard returns what the phone received and decoded: sndfile's …-dec.wav.
// Call it after the phone has quit, when the file is complete.
func (p *Phone) Heard() ([]int16, error) { return p.recording("-dec.wav") }

// Sent returns what the phone encoded and sent: sndfile's …-enc.wav.
func (p *Phone) Sent() ([]int16, error) { return p.recording("-enc.wav") }

func (p *Phone) recording(suffix string) ([]int16, error) {
	return p.recordingAt(suffix, p.rate())
}

// rate is the sample rate of the phone's audio files: Options.Rate, or
// Rate.
func (p *Phone) rate() int {
	if p.Rate != 0 {
		return p.Rate
	}
	return Rate
}

func (p *Phone) recordingAt(suffix string, want int) ([]int16, error) {
	files, err := filepath.Glob(filepath.Join(p.Recordings, "*"+suffix))
	if err != nil {
		return nil, err
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("baresip: %d recordings *%s in %s (was a call established?)", len(files), suffix, p.Recordings)
	}
	pcm, rate, err := ReadWAV(files[0])
	if err != nil {
		return nil, err
	}
	if rate != want {
		return nil, fmt.Errorf("baresip: %s is %d Hz, want %d", files[0], rate, want)
	}
	return pcm, nil
}

func (p *Phone) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	kill(p.cmd)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// writeConfig writes config, accounts and contacts into dir and returns
// the SIP port the phone listens on.
func writeConfig(dir, rec string, o Options) (int, error) {
	if strings.ContainsAny(o.Source, " \t\n") {
		return 0, fmt.Errorf("baresip: source path %q has blanks, which baresip's config cannot hold", o.Source)
	}
	if _, _, err := ReadWAVHeader(o.Source); err != nil {
		return 0, err
	}
	user := o.User
	if user == "" {
		user = "baresip"
	}
	rate := o.Rate
	if rate == 0 {
		rate = Rate
	}
	codecs := o.Codecs
	if len(codecs) == 0 {
		codecs = []string{"PCMU"}
	}
	sipPort, err := freeDualPort()
	if err != nil {
		return 0, err
	}
	rtpLo, err := freeUDPRange(16)
	if err != nil {
		return 0, err
	}
	cfg := strings.Join([]string{
		"poll_method\t\tepoll",
		"sip_listen\t\t127.0.0.1:" + strconv.Itoa(sipPort),
		"call_local_timeout\t30",
		"call_max_calls\t\t1",
		"audio_player\t\taubridge,nowhere-" + user,
		"audio_alert\t\taubridge,nowhere-" + user,
		"audio_source\t\taufile," + o.Source,
		"ausrc_srate\t\t" + strconv.Itoa(rate),
		"auplay_srate\t\t" + strconv.Itoa(rate),
		"ausrc_channels\t\t1",
		"auplay_channels\t\t1",
		"audio_level\t\tno",
		"rtp_tos\t\t\t184",
		fmt.Sprintf("rtp_ports\t\t%d-%d", rtpLo, rtpLo+15),
		"rtp_timeout\t\t0",
		"net_interface\t\t127.0.0.1",
		"snd_path\t\t" + rec,
		"module_path\t\t/usr/lib/baresip/modules",
		"module\t\t\taubridge.so",
		"module\t\t\taufile.so",
		"module\t\t\tg711.so",
		"module\t\t\topus.so",
		"opus_stereo\t\tno",
		"opus_sprop_stereo\tno",
		"module\t\t\tsndfile.so",
		"module\t\t\tmenu.so",
		"module_app\t\taccount.so",
		"",
	}, "\n")
	if v := o.Video; v != nil {
		if len(v.SnapshotRecv) > 99 {
			return 0, fmt.Errorf("baresip: snapshot path %q is longer than baresip keeps", v.SnapshotRecv)
		}
		// fakevideo is also the display, which draws nothing.
		source, modules := "fakevideo,nil", []string{"avcodec.so", "fakevideo.so", "snapshot.so"}
		if v.File != "" {
			if strings.ContainsAny(v.File, " \t\n,") {
				return 0, fmt.Errorf("baresip: video file path %q has blanks or commas", v.File)
			}
			source, modules = "avformat,"+v.File, append(modules, "avformat.so")
		}
		lines := []string{
			"video_source\t\t" + source,
			"video_display\t\tfakevideo,nil",
			"video_size\t\t" + v.Size,
			"video_fps\t\t" + strconv.Itoa(v.FPS),
			"video_bitrate\t\t" + strconv.Itoa(v.Bitrate),
			"avcodec_h264enc\t\tlibx264",
		}
		for _, m := range modules {
			lines = append(lines, "module\t\t\t"+m)
		}
		cfg += strings.Join(lines, "\n") + "\n"
	}
	auth := ""
	if o.AuthUser != "" {
		auth = fmt.Sprintf(";auth_user=%s;auth_pass=%s", o.AuthUser, o.Password)
	}
	answer := ""
	if o.Target == "" {
		answer = ";answermode=auto"
	}
	if o.MediaEnc != "" {
		cfg += "module\t\t\tsrtp.so\n"
		auth += ";mediaenc=" + o.MediaEnc
	}
	account := fmt.Sprintf("\"%s\" <sip:%s@127.0.0.1>%s;regint=0;audio_codecs=%s%s\n", user, user, auth, strings.Join(codecs, ","), answer)
	for name, body := range map[string]string{"config": cfg, "accounts": account, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return 0, err
		}
	}
	return sipPort, nil
}

// buffer collects a process's stdout and stderr.
type buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var errNotWAV = errors.New("baresip: not a PCM WAV file")
