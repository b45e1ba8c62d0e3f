// Package videouas is the far end of a room system's video call in
// end-to-end tests of gateway/video: a SIP user-agent server on loopback
// (sipgo, UDP) that answers an INVITE with audio and H.264 video through
// gateway/sdp, as the gateway will once video legs are wired, and hands
// the test the video RTP and RTCP sockets and an in-dialog INFO sender.
// It does nothing with audio beyond holding the port.
//
// It is test support, not a model of the gateway: see gateway/sip.
package videouas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
)

// Options adjust the answer.
type Options struct {
	// Policy, when set, edits the answer policy (video on, both ports
	// filled in) before the offer is answered.
	Policy func(*sdp.Policy)
	// Offer, when set, edits the parsed offer before it is answered (to
	// leave out a format, say).
	Offer func(*sdp.Session)
}

// Call is one answered call.
type Call struct {
	// OfferSDP is the INVITE's body as it arrived.
	OfferSDP []byte
	Offer    *sdp.Session
	Answer   *sdp.Session
	// Video and Audio are our sockets; RemoteVideo and RemoteVideoRTCP
	// are where the caller receives video RTP and RTCP.
	Video, Audio                 *rtp.PortPair
	RemoteVideo, RemoteVideoRTCP netip.AddrPort

	dlg *sipgo.DialogServerSession
}

// UAS is a running server; it is closed when the test ends.
type UAS struct {
	// Addr is the SIP address (host:port, UDP).
	Addr string

	opts  Options
	ua    *sipgo.UserAgent
	dsc   *sipgo.DialogServerCache
	pool  *rtp.PortPool
	calls chan *Call
	wg    sync.WaitGroup
	mu    sync.Mutex
	pairs []*rtp.PortPair
}

// Start starts a UAS on a free loopback UDP port.
func Start(t testing.TB, opts Options) *UAS {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("videouas"),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(log))
	pool, err := rtp.NewPortPool(netip.MustParseAddr("127.0.0.1"), 44000, 44998)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &UAS{Addr: pc.LocalAddr().String(), opts: opts, ua: ua, pool: pool, calls: make(chan *Call, 4)}
	u.dsc = sipgo.NewDialogServerCache(cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "room", Host: "127.0.0.1"}})
	srv.OnInvite(u.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = u.dsc.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if dlg, err := u.dsc.MatchDialogRequest(req); err == nil {
			_ = dlg.ReadBye(req, tx)
			return
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	u.wg.Add(1)
	go func() { defer u.wg.Done(); _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() {
		_ = pc.Close()
		_ = ua.Close()
		u.wg.Wait()
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, p := range u.pairs {
			_ = p.Close()
		}
	})
	return u
}

// Wait returns the next call answered, or an error when ctx ends first.
func (u *UAS) Wait(ctx context.Context) (*Call, error) {
	select {
	case c := <-u.calls:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("videouas: no call: %w", context.Cause(ctx))
	}
}

func (u *UAS) allocate() (*rtp.PortPair, error) {
	p, err := u.pool.Allocate()
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	u.pairs = append(u.pairs, p)
	u.mu.Unlock()
	return p, nil
}

func (u *UAS) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	fail := func(code int, reason string) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		fail(488, "Not Acceptable Here") // no re-INVITEs here
		return
	}
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		fail(488, "Not Acceptable Here")
		return
	}
	if u.opts.Offer != nil {
		u.opts.Offer(offer)
	}
	audio, err1 := u.allocate()
	video, err2 := u.allocate()
	if err := errors.Join(err1, err2); err != nil {
		fail(500, "Server Error")
		return
	}
	p := sdp.Policy{
		Addr:      netip.MustParseAddr("127.0.0.1"),
		AudioPort: int(audio.RTPAddr().Port()),
		Video:     true,
		VideoPort: int(video.RTPAddr().Port()),
		Username:  "videouas",
	}
	if u.opts.Policy != nil {
		u.opts.Policy(&p)
	}
	ans, err := sdp.Answer(offer, p)
	if err != nil || ans.Video == nil {
		fail(488, "Not Acceptable Here")
		return
	}
	dlg, err := u.dsc.ReadInvite(req, tx)
	if err != nil {
		fail(500, "Server Error")
		return
	}
	c := &Call{
		OfferSDP: append([]byte(nil), req.Body()...), Offer: offer, Answer: ans,
		Video: video, Audio: audio, dlg: dlg,
		RemoteVideo: offer.RTPAddr(offer.Video), RemoteVideoRTCP: offer.RTCPAddr(offer.Video),
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "room", Host: "127.0.0.1", Port: int(netip.MustParseAddrPort(u.Addr).Port())}}
	res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, ans.Marshal())
	res.AppendHeader(&contact)
	if err := dlg.WriteResponse(res); err != nil {
		return
	}
	u.calls <- c
}

// SendRTP sends one RTP packet to the caller's video port.
func (c *Call) SendRTP(b []byte) error {
	_, err := c.Video.RTP.WriteToUDPAddrPort(b, c.RemoteVideo)
	return err
}

// SendRTCP sends an RTCP packet to the caller's video RTCP port.
func (c *Call) SendRTCP(b []byte) error {
	_, err := c.Video.RTCP.WriteToUDPAddrPort(b, c.RemoteVideoRTCP)
	return err
}

// Info sends an in-dialog INFO and returns the final status.
func (c *Call) Info(ctx context.Context, contentType string, body []byte) (int, error) {
	target := c.dlg.InviteRequest.Contact()
	if target == nil {
		return 0, errors.New("videouas: INVITE without Contact")
	}
	req := sip.NewRequest(sip.INFO, target.Address)
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody(body)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := c.dlg.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}
