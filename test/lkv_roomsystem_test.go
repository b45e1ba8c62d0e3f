package test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/gateway/video"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// lkvRoomSystem is the room system: audio (PCMU, which it never sends; the
// gateway's RTP timeout is longer than the test) and, when asked, H.264
// video with rtcp-mux.
type lkvRoomSystem struct {
	t            *testing.T
	call         *uac.Call
	audio, video *net.UDPConn
	aus          [][]byte
	ssrc         uint32
	keyNow       atomic.Bool  // the next picture sent is the IDR
	plis         atomic.Int64 // RTCP PLI/FIR received
	stop         chan struct{}
	wg           sync.WaitGroup

	mu      sync.Mutex
	last    *sdp.Session // our last offer
	remote  netip.AddrPort
	sendPT  uint8
	mode    int
	sending bool
	gwSSRC  uint32
	rx      *lkvPictures
	packets int
}

// dialLKVRoomSystem calls room demo, with video or without.
func dialLKVRoomSystem(t *testing.T, srv *harness.Server, withVideo bool) *lkvRoomSystem {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "gateway", "video", "testdata", "x264-320x180-15fps.h264"))
	if err != nil {
		t.Fatal(err)
	}
	rs := &lkvRoomSystem{t: t, aus: video.SplitAccessUnits(b), ssrc: 0x5eed0001, stop: make(chan struct{}), rx: newLKVPictures()}
	for _, c := range []**net.UDPConn{&rs.audio, &rs.video} {
		*c, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
	}
	rs.wg.Add(2)
	go rs.readVideo()
	go rs.sendVideo()
	t.Cleanup(rs.close)
	offer := rs.offer(withVideo)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs.call, err = uac.Dial(ctx, uac.Config{
		Target: "sip:demo@" + srv.SIPAddr, LocalIP: netip.MustParseAddr("127.0.0.1"),
		FromUser: "roomsystem", Offer: offer.Marshal(),
	})
	if err != nil {
		t.Fatalf("room system: INVITE: %v", err)
	}
	rs.answered(offer, rs.call.Answer())
	return rs
}

// offer is our SDP, with video or without (port 0).
func (rs *lkvRoomSystem) offer(withVideo bool) *sdp.Session {
	rs.t.Helper()
	rs.mu.Lock()
	prev := rs.last
	rs.mu.Unlock()
	p := sdp.Policy{
		Codecs: []sdp.Codec{sdp.PCMU}, Addr: netip.MustParseAddr("127.0.0.1"),
		AudioPort: rs.audio.LocalAddr().(*net.UDPAddr).Port, RTCPMux: true,
		H264Profiles: []sdp.H264Profile{sdp.H264ConstrainedBaseline},
		Video:        true, VideoPort: rs.video.LocalAddr().(*net.UDPAddr).Port,
		Previous: prev, Username: "roomsystem",
	}
	o, err := sdp.Offer(p)
	if err != nil {
		rs.t.Fatal(err)
	}
	if !withVideo {
		if prev == nil {
			o.Video = nil // an audio call
		} else {
			o.Video.Port = 0 // video removed (RFC 3264 §8.2)
		}
	}
	return o
}

// answered starts or stops sending by the gateway's answer to offer.
func (rs *lkvRoomSystem) answered(offer *sdp.Session, answer []byte) {
	rs.t.Helper()
	a, err := sdp.Parse(answer)
	if err != nil {
		rs.t.Fatalf("room system: the gateway's answer: %v\n%s", err, answer)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.last = offer
	if offer.Video == nil || offer.Video.Port == 0 || a.Video == nil || a.Video.Port == 0 || len(a.Video.Codecs) == 0 {
		rs.sending = false
		return
	}
	c := a.Video.Codecs[0]
	h, ok := sdp.ParseH264Fmtp(c.Fmtp)
	if !ok {
		rs.t.Fatalf("room system: answered video %v", c)
	}
	// The payload type of our offer for the format answered.
	rs.sendPT, rs.mode = c.PT, h.PacketizationMode
	for _, oc := range offer.Video.Codecs {
		if oh, ok := sdp.ParseH264Fmtp(oc.Fmtp); ok && oh.PacketizationMode == h.PacketizationMode {
			rs.sendPT = oc.PT
			break
		}
	}
	rs.remote = a.RTPAddr(a.Video)
	rs.sending = true
	rs.keyNow.Store(true)
}

// reinvite sends a re-INVITE adding or removing video.
func (rs *lkvRoomSystem) reinvite(withVideo bool) {
	rs.t.Helper()
	offer := rs.offer(withVideo)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := rs.call.ReInvite(ctx, offer.Marshal())
	if err != nil {
		rs.t.Fatalf("room system: re-INVITE (video %v): %v", withVideo, err)
	}
	rs.answered(offer, answer)
}

// sendVideo sends the file at 15 frames a second while video is on,
// from its IDR when asked.
func (rs *lkvRoomSystem) sendVideo() {
	defer rs.wg.Done()
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	var seq uint16
	var ts uint32
	buf := make([]byte, video.DefaultMTU)
	for i := 0; ; i++ {
		select {
		case <-rs.stop:
			return
		case <-tick.C:
		}
		ts += 90000 / 15
		rs.mu.Lock()
		on, to, pt, mode := rs.sending, rs.remote, rs.sendPT, rs.mode
		rs.mu.Unlock()
		if !on {
			continue
		}
		if rs.keyNow.Swap(false) {
			i = 0
		}
		_ = video.Payloads(rs.aus[i%len(rs.aus)], mode, buf[:video.DefaultMTU-12], func(payload []byte, marker bool) error {
			seq++
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: rs.ssrc, Marker: marker}, Payload: payload}
			b, err := pkt.Marshal()
			if err == nil {
				_, err = rs.video.WriteToUDPAddrPort(b, to)
			}
			return err
		})
	}
}

// readVideo depacketizes the gateway's RTP and counts its keyframe
// requests (RTCP on the same port: rtcp-mux).
func (rs *lkvRoomSystem) readVideo() {
	defer rs.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, err := rs.video.Read(buf)
		if err != nil {
			return
		}
		b := append([]byte(nil), buf[:n]...)
		if n > 1 && b[1] >= 192 && b[1] <= 223 { // RTCP (RFC 5761 §4)
			pkts, err := rtcp.Unmarshal(b)
			if err != nil {
				continue
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					rs.plis.Add(1)
					rs.keyNow.Store(true)
				}
			}
			continue
		}
		var p rtp.Packet
		if p.Unmarshal(b) != nil {
			continue
		}
		rs.mu.Lock()
		rs.gwSSRC = p.SSRC
		rs.packets++
		rs.rx.d.Push(&p)
		rs.mu.Unlock()
	}
}

// received returns a copy of what the room system received.
func (rs *lkvRoomSystem) received() (lkvPictures, int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.rx.snapshot(), rs.packets
}

// askKeyframe sends an RTCP PLI for the gateway's stream.
func (rs *lkvRoomSystem) askKeyframe() {
	rs.mu.Lock()
	to, media := rs.remote, rs.gwSSRC
	rs.mu.Unlock()
	b, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: rs.ssrc},
		&rtcp.PictureLossIndication{SenderSSRC: rs.ssrc, MediaSSRC: media},
	})
	if err != nil {
		rs.t.Fatal(err)
	}
	if _, err := rs.video.WriteToUDPAddrPort(b, to); err != nil {
		rs.t.Fatal(err)
	}
}

func (rs *lkvRoomSystem) hangup() {
	rs.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rs.call.Hangup(ctx); err != nil {
		rs.t.Errorf("room system: BYE: %v", err)
	}
}

// close ends the call if it still runs and stops the room system's
// goroutines, when the test ends.
func (rs *lkvRoomSystem) close() {
	close(rs.stop)
	if rs.call != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = rs.call.Hangup(ctx)
		cancel()
	}
	_ = rs.audio.Close()
	_ = rs.video.Close()
	rs.wg.Wait()
}
