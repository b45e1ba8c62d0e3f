package test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	lkproto "github.com/livekit/protocol/livekit"
	lklogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/netns"
)

// End-to-end tests of the roombridge binary with `backend: livekit`: a real
// livekit-server, the gateway started by the harness, phones made with
// gateway/caller, and a plain LiveKit client (server-sdk-go, not the
// gateway's adapter) as the WebRTC participant of the room. Everything runs
// in a network namespace (package netns) because LiveKit's SDK gathers no
// loopback candidates; SIP and the phones' RTP stay on 127.0.0.1 there.

// lkgwTones are the frequencies the parties send; each analysis asks which
// of them dominates.
var lkgwTones = []float64{440, 1000, 2000}

// lkgwEnter skips under -short and without livekit-server or unshare
// (fails with CI=true), builds the gateway once outside the namespace so
// that the re-executed test does not build it again, and enters the
// namespace. The caller returns at once when it reports false.
func lkgwEnter(t *testing.T) bool {
	t.Helper()
	if testing.Short() {
		t.Skip("gateway with livekit-server end-to-end: skipped under -short")
	}
	if netns.Inside() {
		return netns.Enter(t)
	}
	liveKitBinary(t)
	harness.RequireTool(t, "unshare")
	harness.RequireTool(t, "ip")
	if os.Getenv(harness.EnvBinary) == "" {
		t.Setenv(harness.EnvBinary, harness.Binary(t))
	}
	return netns.Enter(t)
}

// lkgwStart starts livekit-server and a gateway with backend livekit whose
// loopback trunk may call room demo (PIN 1234) directly; yaml fragments are
// merged over that config.
func lkgwStart(t *testing.T, yaml ...string) (*lkServer, *harness.Server) {
	t.Helper()
	lk := startLiveKit(t)
	backend := fmt.Sprintf("backend: livekit\nlivekit: {url: %q, api_key: %q, api_secret: %q}", lk.url(), lkKey, lkSecret)
	srv := startSIPGateway(t, append([]string{backend}, yaml...)...)
	return lk, srv
}

// lkgwReadyz returns the status of the gateway's /readyz, 0 when it does not
// answer.
func lkgwReadyz(srv *harness.Server) int {
	client := &http.Client{Timeout: time.Second}
	res, err := client.Get(srv.URL + "/readyz")
	if err != nil {
		return 0
	}
	_ = res.Body.Close()
	return res.StatusCode
}

// lkgwWindows counts the 200 ms windows of pcm (8 kHz) where freq is
// present at sipMinTonePower or more, whatever else is there: in a mix
// every party counts, not only the loudest.
func lkgwWindows(pcm []int16, freq float64) int {
	n := 0
	for i := 0; i+sipWindow <= len(pcm); i += sipWindow {
		if tone.Power(pcm[i:i+sipWindow], 8000, freq) >= sipMinTonePower {
			n++
		}
	}
	return n
}

// lkgwLevel is the median power of freq in dB relative to a full-scale
// sine over the windows lkgwWindows counts; -inf when there are none.
func lkgwLevel(pcm []int16, freq float64) float64 {
	var levels []float64
	for i := 0; i+sipWindow <= len(pcm); i += sipWindow {
		if p := tone.Power(pcm[i:i+sipWindow], 8000, freq); p >= sipMinTonePower {
			levels = append(levels, 10*math.Log10(p/0.25))
		}
	}
	if len(levels) == 0 {
		return math.Inf(-1)
	}
	slices.Sort(levels)
	return levels[len(levels)/2]
}

// lkgwSentDB is the level every party sends its tone at (-10 dBFS peak,
// caller.DefaultToneLevel), in dB relative to a full-scale sine. The bridge
// (G.711, Opus, the mixer) may lose a little of it, not half.
const lkgwSentDB = caller.DefaultToneLevel

// lkgwCheckLevel fails t when freq in pcm is far from the level it was
// sent at.
func lkgwCheckLevel(t *testing.T, what string, pcm []int16, freq float64) {
	t.Helper()
	l := lkgwLevel(pcm, freq)
	t.Logf("%s: %.0f Hz at %.1f dB (sent at %.1f dB)", what, freq, l, lkgwSentDB)
	if l < lkgwSentDB-6 || l > lkgwSentDB+3 {
		t.Errorf("%s: %.0f Hz at %.1f dB (median of its windows), sent at %.1f dB", what, freq, l, lkgwSentDB)
	}
}

// lkgwCheckMix checks that a phone heard every frequency of want in at
// least minWindows windows, at about the level it was sent, and its own
// tone in at most one.
func lkgwCheckMix(t *testing.T, who string, heard []int16, own float64, want []float64, minWindows int) {
	t.Helper()
	for _, f := range want {
		if n := lkgwWindows(heard, f); n < minWindows {
			t.Errorf("%s heard %.0f Hz in %d windows of 200 ms, want ≥ %d: %s", who, f, n, minWindows, sipDescribe(heard))
		} else {
			lkgwCheckLevel(t, who, heard, f)
		}
	}
	if n := lkgwWindows(heard, own); n > 1 {
		t.Errorf("%s heard its own %.0f Hz in %d windows of 200 ms: %s", who, own, n, sipDescribe(heard))
	}
}

// lkgwPhone places a call to the room (or number) target on the gateway.
func lkgwPhone(t *testing.T, srv *harness.Server, target string, freq float64, d time.Duration) *sipCall {
	t.Helper()
	return sipStartCaller(t, caller.Options{
		Target: "sip:" + target + "@" + srv.SIPAddr, Transport: uac.TransportUDP,
		Codec: caller.CodecPCMU, Tone: freq, Duration: d,
	})
}

// lkgwSIPIDs returns the ids of the SIP participants in ps.
func lkgwSIPIDs(ps []sipParticipant) []string {
	var ids []string
	for _, p := range ps {
		if p.Kind == "sip" {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

// lkPeer is a LiveKit client in a room, as a browser with LiveKit's own
// SDK would be: it publishes an Opus track with a tone and decodes every
// audio track it receives to 8 kHz PCM, kept per publisher.
type lkPeer struct {
	t    *testing.T
	id   string
	room *lksdk.Room
	freq atomic.Uint64 // math.Float64bits of the tone sent

	mu    sync.Mutex
	heard map[string][]int16 // by publisher identity
	kinds map[string]lksdk.ParticipantKind

	stop   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool
}

// lkgwSDKLog routes the SDK's process-wide logs once.
var lkgwSDKLog sync.Once

// joinLKPeer connects identity to room roomName on lk and starts sending a
// tone of freq Hz. It leaves when the test ends, or at close.
func joinLKPeer(t *testing.T, lk *lkServer, roomName, identity string, freq float64) *lkPeer {
	t.Helper()
	p := &lkPeer{
		t: t, id: identity,
		heard: map[string][]int16{}, kinds: map[string]lksdk.ParticipantKind{},
		stop: make(chan struct{}),
	}
	p.setFreq(freq)
	lkgwSDKLog.Do(func() {
		// The SDK (and pion under it) logs to stderr unless told otherwise.
		lksdk.SetLogger(lklogger.LogRLogger(logr.FromSlogHandler(testLogger(t).Handler())))
	})
	cb := &lksdk.RoomCallback{ParticipantCallback: lksdk.ParticipantCallback{OnTrackSubscribed: p.onTrack}}
	r, err := lksdk.ConnectToRoom(lk.url(), lksdk.ConnectInfo{
		APIKey: lkKey, APISecret: lkSecret, RoomName: roomName,
		ParticipantIdentity: identity, ParticipantName: identity,
	}, cb)
	if err != nil {
		t.Fatalf("LiveKit client %s: %v", identity, err)
	}
	p.room = r
	t.Cleanup(p.close)
	track, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: "mic", Source: lkproto.TrackSource_MICROPHONE, DisableDTX: true,
	}); err != nil {
		t.Fatalf("LiveKit client %s: publish: %v", identity, err)
	}
	p.wg.Add(1)
	go p.send(track)
	return p
}

func (p *lkPeer) setFreq(f float64) { p.freq.Store(math.Float64bits(f)) }

// send writes one Opus frame of the current tone every 20 ms.
func (p *lkPeer) send(track *lksdk.LocalTrack) {
	defer p.wg.Done()
	enc, err := opus.NewEncoder(48000, 1, opus.EncoderConfig{})
	if err != nil {
		p.t.Errorf("opus encoder: %v", err)
		return
	}
	amplitude := 32767 * math.Pow(10, lkgwSentDB/20) // as the caller's tones
	var freq float64
	var gen *tone.Generator
	pcm := make([]int16, 960)
	out := make([]byte, opus.MaxFrameBytes)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		if f := math.Float64frombits(p.freq.Load()); f != freq || gen == nil {
			freq, gen = f, tone.NewGenerator(f, 48000, amplitude)
		}
		gen.Fill(pcm)
		n, err := enc.Encode(pcm, out)
		if err != nil {
			p.t.Errorf("opus encode: %v", err)
			return
		}
		_ = track.WriteSample(media.Sample{Data: slices.Clone(out[:n]), Duration: 20 * time.Millisecond}, nil)
	}
}

// onTrack decodes a subscribed audio track until it ends.
func (p *lkPeer) onTrack(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if track.Kind() != webrtc.RTPCodecTypeAudio || p.closed.Load() {
		return
	}
	from := rp.Identity()
	p.mu.Lock()
	p.kinds[from] = rp.Kind()
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		dec, err := opus.NewDecoder(8000, 1)
		if err != nil {
			p.t.Errorf("opus decoder: %v", err)
			return
		}
		pcm := make([]int16, 960) // 120 ms at 8 kHz, the longest Opus packet
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			if len(pkt.Payload) == 0 {
				continue
			}
			n, err := dec.Decode(pkt.Payload, pcm)
			if err != nil {
				continue
			}
			p.mu.Lock()
			p.heard[from] = append(p.heard[from], pcm[:n]...)
			p.mu.Unlock()
		}
	}()
}

// heardFrom returns a copy of what the peer decoded from identity.
func (p *lkPeer) heardFrom(identity string) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.heard[identity])
}

// kindOf is how LiveKit presented identity to the peer.
func (p *lkPeer) kindOf(identity string) lksdk.ParticipantKind {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kinds[identity]
}

// waitTone waits until the peer heard freq dominate in minWindows windows of
// what identity sent.
func (p *lkPeer) waitTone(t *testing.T, identity string, freq float64, minWindows int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pcm := p.heardFrom(identity)
		if sipToneWindows(pcm, freq, lkgwTones) >= minWindows {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("LiveKit client %s: %.0f Hz from %s not in %d windows within %v: %s", p.id, freq, identity, minWindows, timeout, sipDescribe(pcm))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkFrom checks that the peer heard identity's tone, as a SIP
// participant, and none of the others (a phone's track is its own voice,
// not the room's mix).
func (p *lkPeer) checkFrom(t *testing.T, identity string, freq float64, minWindows int) {
	t.Helper()
	pcm := p.heardFrom(identity)
	if n := sipToneWindows(pcm, freq, lkgwTones); n < minWindows {
		t.Errorf("LiveKit client %s heard %.0f Hz from %s in %d windows of 200 ms, want ≥ %d: %s", p.id, freq, identity, n, minWindows, sipDescribe(pcm))
	} else {
		lkgwCheckLevel(t, "LiveKit client "+p.id+" from "+identity, pcm, freq)
	}
	for _, f := range lkgwTones {
		if f == freq {
			continue
		}
		if n := lkgwWindows(pcm, f); n > 1 {
			t.Errorf("LiveKit client %s heard %.0f Hz in %s's track (%d windows): %s", p.id, f, identity, n, sipDescribe(pcm))
		}
	}
	if k := p.kindOf(identity); k != lksdk.ParticipantSIP {
		t.Errorf("LiveKit client %s sees %s as kind %v, want SIP", p.id, identity, k)
	}
}

// close leaves the room and waits for the peer's goroutines.
func (p *lkPeer) close() {
	if p.closed.Swap(true) {
		return
	}
	close(p.stop)
	p.room.Disconnect()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("LiveKit client %s: goroutines still running 10 s after leaving", p.id)
	}
}

// TestLiveKitGatewayPhoneAndParticipant: with backend livekit, a phone
// (PCMU, 440 Hz) that dials room demo is heard by a LiveKit client of the
// room, which it hears (1000 Hz). Then two phones (440 and 1000 Hz) and the
// client (now 2000 Hz): everyone hears everyone but themselves, and the
// room API lists both phones as "sip" and the client as "webrtc".
func TestLiveKitGatewayPhoneAndParticipant(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t)
	peer := joinLKPeer(t, lk, "demo", "web", 1000)

	// One phone and the client.
	a := lkgwPhone(t, srv, "demo", 440, 6*time.Second)
	ps, _ := sipWaitRoom(t, srv, "demo", 10*time.Second, a.done, "the phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	ids := lkgwSIPIDs(ps)
	if len(ps) != 2 || !slices.ContainsFunc(ps, func(p sipParticipant) bool { return p.ID == "web" && p.Kind == "webrtc" }) {
		t.Errorf("GET /v1/rooms/demo/participants: %v, want the phone (sip) and web (webrtc) only", ps)
	}
	repA := a.wait(t, 20*time.Second)
	if repA.RemoteHangup {
		t.Errorf("the gateway hung up on the phone")
	}
	lkgwCheckMix(t, "the phone", repA.Heard, 440, []float64{1000}, 10)
	peer.checkFrom(t, ids[0], 440, 10)
	sipWaitRoom(t, srv, "demo", 10*time.Second, nil, "the phone leaves",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })

	// Two phones and the client.
	peer.setFreq(2000)
	a = lkgwPhone(t, srv, "demo", 440, 8*time.Second)
	b := lkgwPhone(t, srv, "demo", 1000, 8*time.Second)
	ps, _ = sipWaitRoom(t, srv, "demo", 10*time.Second, b.done, "both phones join",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
	if len(ps) != 3 || sipCountKind(ps, "webrtc") != 1 || !slices.ContainsFunc(ps, func(p sipParticipant) bool { return p.ID == "web" && p.Kind == "webrtc" }) {
		t.Errorf("GET /v1/rooms/demo/participants: %v, want the two phones (sip) and web (webrtc) only", ps)
	}
	ids = lkgwSIPIDs(ps)
	repA = a.wait(t, 20*time.Second)
	repB := b.wait(t, 20*time.Second)
	lkgwCheckMix(t, "phone A", repA.Heard, 440, []float64{1000, 2000}, 10)
	lkgwCheckMix(t, "phone B", repB.Heard, 1000, []float64{440, 2000}, 10)
	// Which id is which phone: the one whose track carries 440 Hz is A.
	heard440 := func(id string) bool { return sipToneWindows(peer.heardFrom(id), 440, lkgwTones) > 0 }
	if len(ids) == 2 && heard440(ids[1]) {
		ids[0], ids[1] = ids[1], ids[0]
	}
	if len(ids) == 2 {
		peer.checkFrom(t, ids[0], 440, 10)
		peer.checkFrom(t, ids[1], 1000, 10)
	}
}

// TestLiveKitGatewayIVR: a phone that dials the dial-in number and keys
// room demo's PIN (RFC 4733) ends up in the LiveKit room: listed by the
// API, hearing the LiveKit client (1000 Hz) and heard by it (440 Hz).
func TestLiveKitGatewayIVR(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t, "dialin: {numbers: [\"5000\"]}\nivr: {join_tones: false}")
	peer := joinLKPeer(t, lk, "demo", "web", 1000)
	c := sipStartCaller(t, caller.Options{
		Target: "sip:5000@" + srv.SIPAddr, Transport: uac.TransportUDP,
		Codec: caller.CodecPCMU, Tone: 440, Duration: 12 * time.Second,
		DTMF: "1234#", DTMFVia: caller.DTMFRFC4733, DTMFDelay: 500 * time.Millisecond,
	})
	ps, _ := sipWaitRoom(t, srv, "demo", 15*time.Second, c.done, "the IVR caller joins demo",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	ids := lkgwSIPIDs(ps)
	rep := c.wait(t, 25*time.Second)
	if rep.DTMFSent != "1234#" || len(ids) != 1 {
		t.Fatalf("DTMF sent %q, SIP participants %v", rep.DTMFSent, ps)
	}
	if n := sipToneWindows(rep.Heard, 1000, lkgwTones); n < 10 {
		t.Errorf("the IVR caller heard the LiveKit client's 1000 Hz in %d windows of 200 ms: %s", n, sipDescribe(rep.Heard))
	} else {
		lkgwCheckLevel(t, "the IVR caller", rep.Heard, 1000)
	}
	peer.checkFrom(t, ids[0], 440, 10)
}

// TestLiveKitGatewayOutage: livekit-server stops under a call as a
// service manager stops it: SIGTERM, which starts LiveKit's graceful drain
// (it waits for its participants to leave), then SIGKILL. During the drain
// the call goes on and a new INVITE is answered promptly; after the kill the
// gateway hangs up with a BYE within seconds, /readyz turns 503 and a new
// INVITE gets 503 promptly. Once livekit-server is back (same config),
// /readyz is 200 again and a new call works.
func TestLiveKitGatewayOutage(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t)
	peer := joinLKPeer(t, lk, "demo", "web0", 1000)
	c := lkgwPhone(t, srv, "demo", 440, 60*time.Second)
	ps, _ := sipWaitRoom(t, srv, "demo", 10*time.Second, c.done, "the phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	id := lkgwSIPIDs(ps)[0]
	peer.waitTone(t, id, 440, 5, 10*time.Second)

	// SIGTERM: LiveKit drains.
	if err := lk.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	before := len(peer.heardFrom(id))
	waitUntil(t, 5*time.Second, "the phone's audio still reaching the client during the drain", func() bool {
		pcm := peer.heardFrom(id)
		return len(pcm)-before >= 8000 && sipToneWindows(pcm[before:], 440, lkgwTones) >= 3
	})
	select {
	case <-c.done:
		t.Fatalf("the call ended during LiveKit's drain: %+v", c.report)
	default:
	}
	// LiveKit 1.13 still admits participants into a room while it drains
	// (one node has nowhere else to send them), so the gateway may answer;
	// whatever it does, it must do it promptly.
	rep, took := lkgwTryCall(t, srv)
	t.Logf("draining: INVITE %d %q after %v; /readyz %d", rep.Status, rep.Reason, took.Round(time.Millisecond), lkgwReadyz(srv))
	if took > 5*time.Second || (!rep.Answered && rep.Status != http.StatusServiceUnavailable) {
		t.Errorf("INVITE while LiveKit drains: answered %v, status %d after %v; want 200 or 503 within 5 s", rep.Answered, rep.Status, took)
	}

	// SIGKILL: LiveKit is gone.
	killed := time.Now()
	lk.stop(syscall.SIGKILL)
	peer.close()
	var bye, unready time.Duration
	deadline := killed.Add(20 * time.Second)
	for bye == 0 || unready == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("20 s after livekit-server died: call ended after %v (0: not), /readyz 503 after %v (0: not)", bye, unready)
		}
		select {
		case <-c.done:
			if bye == 0 {
				bye = time.Since(killed)
			}
		default:
		}
		if unready == 0 && lkgwReadyz(srv) == http.StatusServiceUnavailable {
			unready = time.Since(killed)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("after the kill: call ended %v, /readyz 503 %v", bye.Round(time.Millisecond), unready.Round(time.Millisecond))
	if rep := c.wait(t, time.Second); !rep.RemoteHangup {
		t.Errorf("the call ended after %v without a BYE from the gateway", rep.Duration)
	}
	if bye > 10*time.Second {
		t.Errorf("BYE %v after livekit-server died, want within 10 s", bye)
	}
	rep, took = lkgwTryCall(t, srv)
	t.Logf("down: INVITE %d %q after %v", rep.Status, rep.Reason, took.Round(time.Millisecond))
	if rep.Answered || rep.Status != http.StatusServiceUnavailable || took > 5*time.Second {
		t.Errorf("INVITE while LiveKit is down: answered %v, status %d after %v; want 503 within 5 s", rep.Answered, rep.Status, took)
	}

	// LiveKit back.
	restarted := time.Now()
	lk.start()
	waitUntil(t, 15*time.Second, "/readyz 200 after the restart", func() bool { return lkgwReadyz(srv) == http.StatusOK })
	t.Logf("/readyz 200 %v after livekit-server was started again", time.Since(restarted).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ps, err := sipRoomParticipants(ctx, srv, "demo"); err != nil || len(ps) != 0 {
		t.Errorf("after the restart, before anyone joined: participants %v, error %v; want an empty list", ps, err)
	}
	// The restarted server forgot its rooms; the gateway makes them again,
	// so LiveKit's own clients find demo before any phone joins.
	rs := lksdk.NewRoomServiceClient(lk.url(), lkKey, lkSecret)
	waitUntil(t, 10*time.Second, "LiveKit to have room demo again", func() bool {
		lctx, lcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer lcancel()
		rooms, err := rs.ListRooms(lctx, &lkproto.ListRoomsRequest{Names: []string{"demo"}})
		return err == nil && len(rooms.GetRooms()) == 1
	})
	peer = joinLKPeer(t, lk, "demo", "web1", 1000)
	c = lkgwPhone(t, srv, "demo", 440, 6*time.Second)
	ps, _ = sipWaitRoom(t, srv, "demo", 10*time.Second, c.done, "the phone joins after the restart",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	rep = c.wait(t, 20*time.Second)
	if n := sipToneWindows(rep.Heard, 1000, lkgwTones); n < 10 {
		t.Errorf("after the restart the phone heard 1000 Hz in %d windows of 200 ms: %s", n, sipDescribe(rep.Heard))
	}
	peer.checkFrom(t, lkgwSIPIDs(ps)[0], 440, 10)
}

// lkgwTryCall dials room demo and returns the report and how long the
// INVITE took to be answered or refused (an answered call lasts 2 s).
func lkgwTryCall(t *testing.T, srv *harness.Server) (*caller.Report, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	rep, err := caller.Run(ctx, caller.Options{
		Target: "sip:demo@" + srv.SIPAddr, Transport: uac.TransportUDP, Tone: 440,
		Duration: 2 * time.Second, LocalIP: netip.MustParseAddr("127.0.0.1"), PortMin: 36100, PortMax: 39999,
	})
	took := time.Since(start)
	if rep == nil {
		t.Fatalf("caller: %v", err)
	}
	var se *uac.StatusError
	if rep.Answered {
		took = rep.SetupTime
	} else if !errors.As(err, &se) {
		t.Errorf("INVITE: %v, want a SIP status", err)
	}
	return rep, took
}

// TestLiveKitGatewayKick: removing a phone through the room API
// (DELETE /v1/rooms/demo/participants/{id}) hangs it up with a BYE.
func TestLiveKitGatewayKick(t *testing.T) {
	if !lkgwEnter(t) {
		return
	}
	lk, srv := lkgwStart(t)
	peer := joinLKPeer(t, lk, "demo", "web", 1000)
	c := lkgwPhone(t, srv, "demo", 440, 30*time.Second)
	ps, _ := sipWaitRoom(t, srv, "demo", 10*time.Second, c.done, "the phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	id := lkgwSIPIDs(ps)[0]
	peer.waitTone(t, id, 440, 5, 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	status, body, err := srv.API(ctx, http.MethodDelete, "/v1/rooms/demo/participants/"+id, nil)
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("DELETE participant %s: %d %s %v", id, status, body, err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the phone still in the call 10 s after the kick")
	}
	t.Logf("BYE %v after the kick", time.Since(start).Round(time.Millisecond))
	rep := c.wait(t, time.Second)
	if !rep.RemoteHangup {
		t.Errorf("the call ended without a BYE from the gateway: %+v", rep)
	}
	sipWaitRoom(t, srv, "demo", 5*time.Second, nil, "the kicked phone is gone",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 0 })
}
