package gateway

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
	"github.com/pion/rtcp"

	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/video"
)

// videoOpts make a test phone a room system: H.264 from an x264 file,
// 320×180 at 15 fps, with an IDR only when asked (onDemand).
type videoOpts struct {
	on bool
	// mode0 offers packetization-mode 0 only (and sends the sliced file);
	// noFeedback offers no rtcp-fb, so that keyframes are asked for by
	// SIP INFO.
	mode0, noFeedback bool
	// bitrate is the b=TIAS/b=AS of the offer's video (0: none), tmmbr
	// and remb offer "ccm tmmbr" and "goog-remb".
	bitrate     int
	tmmbr, remb bool
	// slides also offers a content stream (a=content:slides) that sends
	// the same file; bfcp adds a UDP/BFCP line for it (the phone's own
	// BFCP client socket is videoPhone.bfcp).
	slides, bfcp bool
}

// Test stream: its picture size and rate.
const (
	streamWidth, streamHeight = 320, 180
	streamFPS                 = 15
)

// readStream returns the access units of an x264 file in
// gateway/video/testdata.
func readStream(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("video", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	aus := video.SplitAccessUnits(b)
	if len(aus) == 0 || !video.IsKeyframe(aus[0]) {
		t.Fatalf("%s: no access units, or the first is not an IDR", name)
	}
	return aus
}

// videoPhone is the video half of a test room system.
type videoPhone struct {
	p      *phone
	k      videoContent // the stream: main or slides
	ports  *rtp.PortPair
	sess   *rtp.Session
	sendPT uint8
	mode   int
	aus    [][]byte

	mu     sync.Mutex
	ssrc   uint32
	depack *video.Depacketizer
	sizes  map[[2]int]int // pictures received by size (from their SPS)

	frames, keyframes atomic.Int64
	pli               atomic.Int64 // RTCP PLI/FIR received
	askedAt           atomic.Int64 // unix nanoseconds of the last PLI, FIR or INFO
	restart           atomic.Bool  // send the IDR next
	// Bit-rate messages from the gateway: the last TMMBR and REMB about
	// our stream (bit/s), and TMMBNs confirming ours (the last entry's
	// rate, and their count).
	tmmbr, remb, tmmbn atomic.Int64
	tmmbns             atomic.Int64
	gatewaySSRC        atomic.Uint32
	wg                 sync.WaitGroup
	stop               chan struct{}
}

// addVideoOffer puts a video stream into the phone's offer.
func (p *phone) addVideoOffer() {
	t := p.a.t
	ports, err := p.a.pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	p.video = &videoPhone{p: p, ports: ports, stop: make(chan struct{}), sizes: map[[2]int]int{}}
	if p.opts.video.slides {
		p.content = p.newContentPhone()
	}
	p.offer, err = sdp.Offer(p.videoPolicy())
	if err != nil {
		t.Fatal(err)
	}
	p.video.shape(p.offer.Video)
	if p.content != nil {
		p.content.shape(p.offer.Slides)
	}
	if p.opts.video.bfcp {
		p.addBFCPOffer()
	}
}

// addBFCPOffer adds the m=application UDP/BFCP line of a Cisco room
// system (floor 2 of its content stream, label 12) to the phone's offer,
// on a socket of its own.
func (p *phone) addBFCPOffer() {
	t := p.a.t
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	p.bfcp = conn
	p.offer.Slides.Attributes = append(p.offer.Slides.Attributes, sdp.Attribute{Key: "label", Value: "12"})
	p.offer.BFCP = &sdp.Media{
		Index: 3, Type: "application", Port: conn.LocalAddr().(*net.UDPAddr).Port, Proto: "UDP/BFCP", Formats: []string{"*"},
		Direction: sdp.DirectionSendRecv,
		Attributes: []sdp.Attribute{
			{Key: "floorctrl", Value: "c-s"}, {Key: "confid", Value: "1"}, {Key: "floorid", Value: "2 mstrm:12"}, {Key: "userid", Value: "2"},
		},
	}
}

// newContentPhone makes the phone's content stream (a=content:slides).
func (p *phone) newContentPhone() *videoPhone {
	ports, err := p.a.pool.Allocate()
	if err != nil {
		p.a.t.Fatal(err)
	}
	return &videoPhone{p: p, k: contentSlides, ports: ports, stop: make(chan struct{}), sizes: map[[2]int]int{}}
}

// videoPolicy is the phone's SDP policy with video.
// One crypto suite and one profile keep the INVITE within a UDP datagram.
func (p *phone) videoPolicy() sdp.Policy {
	pol := sdp.Policy{
		Codecs: []sdp.Codec{p.opts.codec}, SRTP: p.opts.srtp, Addr: netip.MustParseAddr("127.0.0.1"),
		AudioPort: int(p.ports.RTPAddr().Port()), Video: true, VideoPort: int(p.video.ports.RTPAddr().Port()),
		Suites: []sdp.CryptoSuite{sdp.AES_CM_128_HMAC_SHA1_80}, H264Profiles: []sdp.H264Profile{sdp.H264ConstrainedBaseline},
		VideoBitrate: p.opts.video.bitrate,
	}
	if p.content != nil {
		pol.Slides, pol.SlidesPort = true, int(p.content.ports.RTPAddr().Port())
	}
	return pol
}

// startVideos starts the phone's video streams once answered.
func (p *phone) startVideos(local, remote *sdp.Session, weOffered bool) {
	p.video.startVideo(local, remote, weOffered)
	if p.content != nil && !remote.Slides.Rejected() {
		p.content.startVideo(local, remote, weOffered)
	}
}

// shape applies the options to an offered or answered video stream.
func (v *videoPhone) shape(m *sdp.Media) *sdp.Media {
	o := v.p.opts.video
	if o.slides && !o.mode0 {
		// Mode 1 only, so that the INVITE with two video streams
		// stays within a UDP datagram.
		var keep []sdp.Codec
		for _, c := range m.Codecs {
			if h, ok := sdp.ParseH264Fmtp(c.Fmtp); ok && h.PacketizationMode == 1 {
				keep = append(keep, c)
			}
		}
		m.Codecs = keep
		m.RTCPFb = slices.DeleteFunc(m.RTCPFb, func(f sdp.RTCPFeedback) bool { return f.PT != strconv.Itoa(int(keep[0].PT)) })
	}
	if o.mode0 {
		var keep []sdp.Codec
		for _, c := range m.Codecs {
			if h, ok := sdp.ParseH264Fmtp(c.Fmtp); ok && h.PacketizationMode == 0 {
				keep = append(keep, c)
			}
		}
		m.Codecs = keep
	}
	if o.noFeedback {
		m.RTCPFb = nil
	}
	if o.tmmbr {
		m.RTCPFb = append(m.RTCPFb, sdp.RTCPFeedback{PT: "*", Type: "ccm", Param: "tmmbr"})
	}
	if o.remb {
		m.RTCPFb = append(m.RTCPFb, sdp.RTCPFeedback{PT: "*", Type: "goog-remb"})
	}
	return m
}

// startVideo starts the phone's video session once the call is answered:
// local and remote are the phone's SDP and the gateway's.
func (v *videoPhone) startVideo(local, remote *sdp.Session, weOffered bool) {
	t := v.p.a.t
	lv, rv := v.k.of(local), v.k.of(remote)
	if rv == nil || rv.Rejected() {
		t.Fatalf("video rejected by the gateway:\n%s", remote.Marshal())
	}
	h, ok := rv.H264()
	if !ok {
		t.Fatalf("gateway answered video %v", rv.Codecs)
	}
	v.mode, v.sendPT = h.PacketizationMode, rv.Codecs[0].PT
	name := "x264-320x180-15fps.h264"
	if v.mode == 0 {
		name = "x264-320x180-15fps-sliced.h264"
	}
	v.aus = readStream(t, name)
	offerM, answerM := rv, lv
	if weOffered {
		offerM, answerM = lv, rv
	}
	keys, err := srtpKeys(offerM, answerM, weOffered)
	if err != nil {
		t.Fatal(err)
	}
	v.depack = video.NewDepacketizer(v.onAU, 0)
	v.sess, err = rtp.NewSession(rtp.SessionConfig{
		Ports: v.ports, PayloadType: lv.Codecs[0].PT, ClockRate: video.ClockRate,
		Remote: remote.RTPAddr(rv), RemoteRTCP: remote.RTCPAddr(rv), RTCPMux: lv.RTCPMux && rv.RTCPMux,
		SRTP: keys, Timeout: rtp.NoTimeout, Handler: v,
	})
	if err != nil {
		t.Fatal(err)
	}
	v.sess.OnRTCP(func(p rtcp.Packet) {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			v.askedAt.Store(time.Now().UnixNano())
			v.pli.Add(1)
			v.restart.Store(true)
		}
		v.bitrateRTCP(p)
	})
	v.wg.Add(1)
	go v.send()
}

// HandleRTP implements rtp.Handler: the gateway's video.
// A new SSRC (the gateway's stream added again by a re-INVITE) is a new
// stream for the depacketizer, as for a room system's decoder.
func (v *videoPhone) HandleRTP(pkt *rtp.Packet) {
	v.gatewaySSRC.Store(pkt.SSRC)
	v.mu.Lock()
	if v.ssrc != 0 && pkt.SSRC != v.ssrc {
		v.depack = video.NewDepacketizer(v.onAU, 0)
	}
	v.ssrc = pkt.SSRC
	v.depack.Push(pkt)
	v.mu.Unlock()
}

func (v *videoPhone) onAU(au video.AccessUnit) {
	v.frames.Add(1)
	if au.Keyframe {
		v.keyframes.Add(1)
	}
	if sps, ok := v.depack.Params().SPS(); ok {
		v.sizes[[2]int{sps.Width, sps.Height}]++
	}
}

// received returns what the depacketizer counted and the pictures of size
// w×h seen.
func (v *videoPhone) received(w, h int) (video.DepacketizerStats, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.depack.Stats(), v.sizes[[2]int{w, h}]
}

// send plays the stream at its rate, in a loop, from its IDR again when
// asked for a keyframe.
func (v *videoPhone) send() {
	defer v.wg.Done()
	tk := time.NewTicker(time.Second / streamFPS)
	defer tk.Stop()
	buf := make([]byte, video.DefaultMTU-12)
	ts := uint32(90000)
	var marker bool
	i := 0
	for {
		select {
		case <-v.stop:
			return
		case <-tk.C:
		}
		if v.restart.Swap(false) {
			i = 0
		}
		au := onDemand(v.aus, i)
		i++
		err := video.Payloads(au, v.mode, buf, func(payload []byte, m bool) error {
			marker = m
			return v.sess.WriteRTP(payload, v.sendPT, ts, marker)
		})
		if err != nil && !strings.Contains(err.Error(), "no remote") {
			v.p.a.t.Errorf("video send: %v", err)
			return
		}
		ts += video.ClockRate / streamFPS
	}
}

// bitrateRTCP records the gateway's TMMBR, REMB and TMMBN.
func (v *videoPhone) bitrateRTCP(p rtcp.Packet) {
	if t, ok := video.AsTMMB(p); ok && t.Format == video.FormatTMMBN {
		for _, e := range t.Entries {
			if e.SSRC == v.sess.SSRC() {
				v.tmmbn.Store(int64(e.Bitrate))
				v.tmmbns.Add(1)
			}
		}
		return
	}
	for _, r := range video.BitrateRequests([]rtcp.Packet{p}, v.sess.SSRC()) {
		if r.TMMBR {
			v.tmmbr.Store(int64(r.Bitrate))
		} else {
			v.remb.Store(int64(r.Bitrate))
		}
	}
}

// sendBitrate asks the gateway to send at most bitrate bit/s, by TMMBR
// or REMB.
func (v *videoPhone) sendBitrate(bitrate int, tmmbr bool) error {
	var fb rtcp.Packet = &rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: v.sess.SSRC(), Bitrate: float32(bitrate), SSRCs: []uint32{v.gatewaySSRC.Load()}}
	if tmmbr {
		fb = &video.TMMB{Format: video.FormatTMMBR, SenderSSRC: v.sess.SSRC(), Entries: []video.TMMBEntry{
			{SSRC: v.gatewaySSRC.Load(), Bitrate: uint64(bitrate), Overhead: 40},
		}}
	}
	return v.sess.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: v.sess.SSRC()}, fb})
}

// sendKeyframeRequest sends an RTCP PLI about the gateway's stream.
func (v *videoPhone) sendKeyframeRequest() error {
	return v.sess.WriteRTCP([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: v.sess.SSRC()},
		&rtcp.PictureLossIndication{SenderSSRC: v.sess.SSRC()},
	})
}

func (v *videoPhone) close() {
	select {
	case <-v.stop:
		return
	default:
		close(v.stop)
	}
	v.wg.Wait()
	if v.sess != nil {
		_ = v.sess.Close()
	} else {
		_ = v.ports.Close()
	}
}

// onInfo counts INFO picture_fast_update requests by Call-ID and makes
// that call's phone send its IDR.
func (a *agent) onInfo(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	if ct := req.ContentType(); ct != nil && strings.HasPrefix(ct.Value(), video.MediaControlType) {
		if mc, err := video.ParseMediaControl(req.Body()); err == nil && mc.PictureFastUpdate {
			if v, ok := a.infos.Load(req.CallID().Value()); ok {
				ph := v.(*phone)
				ph.infos.Add(1)
				for _, v := range []*videoPhone{ph.video, ph.content} {
					if v != nil {
						v.askedAt.Store(time.Now().UnixNano())
						v.restart.Store(true)
					}
				}
			}
		}
	}
	_ = tx.Respond(sipgosip.NewResponseFromRequest(req, 200, "OK", nil))
}

// sendInfo sends an INFO in the phone's dialog and returns the status.
func (p *phone) sendInfo(contentType string, body []byte) int {
	t := p.a.t
	t.Helper()
	req := sipgosip.NewRequest(sipgosip.INFO, p.sess.InviteResponse.Contact().Address)
	req.AppendHeader(sipgosip.NewHeader("Content-Type", contentType))
	req.SetBody(body)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.sess.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

// reinviteVideo re-offers the phone's SDP with video (ports taken on the
// first call), as edit changes it, and returns the status and the
// gateway's answer; the phone's video starts with the first answer that
// accepts it.
func (p *phone) reinviteVideo(edit func(*sdp.Session)) (int, *sdp.Session) {
	t := p.a.t
	t.Helper()
	if p.video == nil {
		ports, err := p.a.pool.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		p.video = &videoPhone{p: p, ports: ports, stop: make(chan struct{}), sizes: map[[2]int]int{}}
	}
	var ans *sdp.Session
	code := p.reinviteRaw(func(o *sdp.Session) {
		p.video.shape(o.Video)
		if p.content != nil {
			p.content.shape(o.Slides)
		}
		if edit != nil {
			edit(o)
		}
	}, func(offer, a *sdp.Session) {
		if err := sdp.AcceptAnswer(offer, a); err != nil {
			t.Fatal(err)
		}
		ans, p.answer = a, a
		if p.video.sess == nil && a.Video != nil && !a.Video.Rejected() {
			p.video.startVideo(offer, a, true)
		}
		if c := p.content; c != nil && a.Slides != nil && !a.Slides.Rejected() {
			if c.sess == nil {
				c.startVideo(offer, a, true)
			} else {
				// The gateway's ports of a content stream added again
				// are new ones.
				c.sess.SetRemote(a.RTPAddr(a.Slides), a.RTCPAddr(a.Slides))
			}
		}
	})
	return code, ans
}

// framesNow is how many pictures the phone has received.
func (v *videoPhone) framesNow() int64 { return v.frames.Load() }
