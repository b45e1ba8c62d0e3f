package gateway

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"
	"github.com/pion/srtp/v3"

	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/media/g711"
	"github.com/roombridge/roombridge/gateway/media/g722"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
)

// agent is a test SIP phone's user agent: a sipgo client and server on one
// loopback UDP socket, which can place several calls.
type agent struct {
	t    *testing.T
	ua   *sipgo.UserAgent
	cli  *sipgo.Client
	dc   *sipgo.DialogClientCache
	pool *rtp.PortPool
	byes sync.Map // Call-ID → chan struct{}
	// infos finds the phone an INFO is for: Call-ID → *phone.
	infos sync.Map
}

var phonePorts = struct {
	once sync.Once
	pool *rtp.PortPool
}{}

func newAgent(t *testing.T) *agent {
	t.Helper()
	phonePorts.once.Do(func() {
		phonePorts.pool, _ = rtp.NewPortPool(netip.MustParseAddr("127.0.0.1"), 42000, 43999)
	})
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("testphone"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	a := &agent{t: t, ua: ua, pool: phonePorts.pool}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeUDP(pc) }()
	// The client sends from the listener once sipgo has pooled it.
	for i := 0; ; i++ {
		if c, err := ua.TransportLayer().GetConnection("udp", pc.LocalAddr().String()); err == nil {
			_, _ = c.TryClose()
			break
		}
		if i > 200 {
			t.Fatal("phone UDP listener not ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	host, p, _ := net.SplitHostPort(pc.LocalAddr().String())
	port, _ := strconv.Atoi(p)
	a.cli, err = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(pc.LocalAddr().String()), sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	a.dc = sipgo.NewDialogClientCache(a.cli, sipgosip.ContactHeader{Address: sipgosip.Uri{Scheme: "sip", User: "phone", Host: host, Port: port}})
	srv.OnInfo(a.onInfo)
	srv.OnBye(func(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
		if err := a.dc.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sipgosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
		if ch, ok := a.byes.Load(req.CallID().Value()); ok {
			close(ch.(chan struct{}))
		}
	})
	t.Cleanup(func() {
		_ = pc.Close()
		_ = ua.Close()
		<-done
	})
	return a
}

// phoneOpts shape a call.
type phoneOpts struct {
	codec   sdp.Codec
	srtp    sdp.SRTPMode // SRTPRequire offers RTP/SAVP
	freq    float64      // tone sent; 0 sends silence
	from    string       // From display name
	delayed bool         // INVITE without SDP
	noTE    bool         // offer no telephone-event (in-band DTMF only)
	teTone  bool         // with each RFC 4733 event, the tones in the audio too
	user    string       // From user (the caller number); +15551230100 when empty
	// bestEffort with srtp: RTP/AVP carrying a=crypto, as Asterisk and
	// FreeSWITCH offer SRTP they can do without.
	bestEffort bool
	// video makes the phone a room system.
	video videoOpts
}

// phone is one call of an agent: it sends a tone every 20 ms and records
// what it hears, decoded.
type phone struct {
	a      *agent
	opts   phoneOpts
	sess   *sipgo.DialogClientSession
	bye    chan struct{}
	ports  *rtp.PortPair
	rtp    *rtp.Session
	offer  *sdp.Session
	answer *sdp.Session
	sendPT uint8
	heard  syncBuf
	rate   int
	dec722 *g722.Decoder
	recv   atomic.Uint64
	stop   chan struct{}
	wg     sync.WaitGroup
	sendOn atomic.Bool
	// refusal is the final response of a call that was not answered.
	refusal *sipgosip.Response

	// DTMF the sender goroutine plays: RFC 4733 events (tePT, from the
	// answer) and in-band tones; pending counts keys not yet finished.
	tePT     int // -1: none negotiated
	teKeys   chan byte
	toneKeys chan byte
	pending  atomic.Int32

	video *videoPhone
	// content is the room system's content stream (videoOpts.slides);
	// bfcp its BFCP client socket (videoOpts.bfcp).
	content *videoPhone
	bfcp    *net.UDPConn
	infos   atomic.Int64 // INFO picture_fast_update received
}

// dial calls target and returns the answer's status code (200 when the
// call is up; the phone is then sending).
func (a *agent) dial(target string, o phoneOpts) (*phone, int) {
	t := a.t
	t.Helper()
	if o.codec.Name == "" {
		o.codec = sdp.PCMU
	}
	p := &phone{
		a: a, opts: o, bye: make(chan struct{}), stop: make(chan struct{}), rate: 8000,
		tePT: -1, teKeys: make(chan byte, 64), toneKeys: make(chan byte, 64),
	}
	if o.codec.Name == "G722" {
		p.rate, p.dec722 = 16000, g722.NewDecoder()
	}
	p.heard.max = p.rate * 3
	var err error
	p.ports, err = a.pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	p.offer, err = sdp.Offer(sdp.Policy{Codecs: []sdp.Codec{o.codec}, SRTP: o.srtp, Addr: netip.MustParseAddr("127.0.0.1"), AudioPort: int(p.ports.RTPAddr().Port())})
	if err != nil {
		t.Fatal(err)
	}
	if o.video.on {
		p.addVideoOffer()
	}
	if o.noTE {
		p.offer.Audio.TelephoneEvent, p.offer.Audio.TelephoneEvents = nil, nil
	}
	if o.bestEffort {
		p.offer.Audio.Proto = "RTP/AVP"
	}
	var uri sipgosip.Uri
	if err := sipgosip.ParseUri(target, &uri); err != nil {
		t.Fatal(err)
	}
	var body []byte
	hdrs := []sipgosip.Header{}
	if !o.delayed {
		body = p.offer.Marshal()
		hdrs = append(hdrs, sipgosip.NewHeader("Content-Type", "application/sdp"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := sipgosip.NewRequest(sipgosip.INVITE, uri)
	user := o.user
	if user == "" {
		user = "+15551230100"
	}
	from := &sipgosip.FromHeader{DisplayName: o.from, Address: sipgosip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}, Params: sipgosip.NewParams()}
	from.Params.Add("tag", sipgosip.GenerateTagN(16))
	req.AppendHeader(from)
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	req.SetBody(body)
	p.sess, err = a.dc.WriteInvite(ctx, req)
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	a.byes.Store(req.CallID().Value(), p.bye)
	a.infos.Store(req.CallID().Value(), p)
	if err := p.sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			p.refusal = de.Res
			return p, de.Res.StatusCode
		}
		t.Fatalf("WaitAnswer: %v", err)
	}
	remote, err := sdp.Parse(p.sess.InviteResponse.Body())
	if err != nil {
		t.Fatal(err)
	}
	if o.delayed {
		// The gateway offered in its 200; we answer in the ACK.
		pol := sdp.Policy{Codecs: []sdp.Codec{o.codec}, SRTP: o.srtp, Addr: netip.MustParseAddr("127.0.0.1"), AudioPort: int(p.ports.RTPAddr().Port())}
		if p.video != nil {
			pol = p.videoPolicy()
			remote.Video = p.video.shape(remote.Video)
			if p.content != nil && remote.Slides != nil {
				remote.Slides = p.content.shape(remote.Slides)
			}
		}
		ans, err := sdp.Answer(remote, pol)
		if err != nil {
			t.Fatal(err)
		}
		ack := sipgosip.NewRequest(sipgosip.ACK, p.sess.InviteResponse.Contact().Address)
		ack.AppendHeader(sipgosip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody(ans.Marshal())
		if err := p.sess.WriteAck(ctx, ack); err != nil {
			t.Fatal(err)
		}
		p.offer, p.answer = ans, remote // local, remote
		p.startRTP(remote, ans, remote.Audio, ans.Audio, false)
		if p.video != nil {
			p.startVideos(ans, remote, false)
		}
	} else {
		if err := sdp.AcceptAnswer(p.offer, remote); err != nil {
			t.Fatal(err)
		}
		if err := p.sess.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		p.answer = remote
		p.startRTP(remote, p.offer, p.offer.Audio, remote.Audio, true)
		if p.video != nil {
			p.startVideos(p.offer, remote, true)
		}
	}
	return p, 200
}

// startRTP starts the phone's RTP session and its sender.
func (p *phone) startRTP(remote, local *sdp.Session, offerM, answerM *sdp.Media, weOffered bool) {
	t := p.a.t
	codec := remote.Audio.Codecs[0]
	p.sendPT = codec.PT
	if te := remote.Audio.TelephoneEvent; te != nil && local.Audio.TelephoneEvent != nil {
		p.tePT = int(te.PT)
	}
	var keys *rtp.SRTPKeys
	if answerM.Secure() {
		ok, ak, match := sdp.MatchCrypto(offerM, answerM)
		if !match {
			t.Fatal("no crypto match")
		}
		mine, theirs := ak, ok
		if weOffered {
			mine, theirs = ok, ak
		}
		keys = &rtp.SRTPKeys{Profile: srtp.ProtectionProfile(mine.Suite.ProfileID()), LocalKey: mine.MasterKey(), LocalSalt: mine.MasterSalt(), RemoteKey: theirs.MasterKey(), RemoteSalt: theirs.MasterSalt()}
	}
	var err error
	p.rtp, err = rtp.NewSession(rtp.SessionConfig{
		Ports: p.ports, PayloadType: local.Audio.Codecs[0].PT, ClockRate: 8000,
		Remote: remote.RTPAddr(remote.Audio), SRTP: keys, Timeout: rtp.NoTimeout,
		RTCPInterval: time.Hour, // no RTCP: the RTP-timeout test relies on silence
		Handler:      rtp.HandlerFunc(p.handle),
	})
	if err != nil {
		t.Fatal(err)
	}
	p.sendOn.Store(true)
	p.wg.Add(1)
	go p.send()
}

func (p *phone) handle(pkt *rtp.Packet) {
	p.recv.Add(1)
	pcm := make([]int16, len(pkt.Payload)*2)
	var n int
	switch p.opts.codec.Name {
	case "PCMU":
		n = g711.DecodeUlaw(pcm, pkt.Payload)
	case "PCMA":
		n = g711.DecodeAlaw(pcm, pkt.Payload)
	case "G722":
		n = p.dec722.Decode(pcm, pkt.Payload)
	}
	p.heard.append(pcm[:n])
}

// send is the phone's 20 ms sender. A key from teKeys is sent as an
// RFC 4733 event of 100 ms instead of audio (as phones do), a key from
// toneKeys as 100 ms of DTMF tones in the audio; 100 ms pass between keys.
func (p *phone) send() {
	defer p.wg.Done()
	gen := tone.NewGenerator(p.opts.freq, p.rate, 10000)
	pcm := make([]int16, p.rate/50)
	out := make([]byte, 160)
	enc722 := g722.NewEncoder()
	ts := uint32(1234)
	te, _ := dtmf.NewSender(dtmf.SenderConfig{})
	teBuf := make([]byte, 4)
	var key *dtmf.Tone
	toneLeft, gap := 0, 0
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tk.C:
		}
		if te.Busy() {
			if pkt, err := te.Next(teBuf); err == nil && p.sendOn.Load() {
				_ = p.rtp.WriteRTP(teBuf, uint8(p.tePT), pkt.Timestamp, pkt.Marker)
			}
			if p.opts.teTone && key != nil {
				key.Fill(pcm)
				p.sendAudio(pcm, out, enc722, ts)
			}
			if !te.Busy() {
				gap = 5
				p.pending.Add(-1)
			}
			ts += 160
			continue
		}
		if gap > 0 {
			gap--
		} else if toneLeft == 0 {
			select {
			case k := <-p.teKeys:
				if p.tePT >= 0 && te.Start(k, ts) == nil {
					if pkt, err := te.Next(teBuf); err == nil && p.sendOn.Load() {
						_ = p.rtp.WriteRTP(teBuf, uint8(p.tePT), pkt.Timestamp, pkt.Marker)
					}
					if p.opts.teTone {
						key, _ = dtmf.NewTone(k, p.rate, -6)
						key.Fill(pcm)
						p.sendAudio(pcm, out, enc722, ts)
					}
					ts += 160
					continue
				}
				p.pending.Add(-1)
			case k := <-p.toneKeys:
				key, _ = dtmf.NewTone(k, p.rate, -6)
				toneLeft = 5
			default:
			}
		}
		switch {
		case toneLeft > 0:
			key.Fill(pcm)
			if toneLeft--; toneLeft == 0 {
				gap = 5
				p.pending.Add(-1)
			}
		case p.opts.freq > 0:
			gen.Fill(pcm)
		default:
			clear(pcm)
		}
		p.sendAudio(pcm, out, enc722, ts)
		ts += 160
	}
}

// sendAudio encodes and sends one frame.
func (p *phone) sendAudio(pcm []int16, out []byte, enc722 *g722.Encoder, ts uint32) {
	var n int
	switch p.opts.codec.Name {
	case "PCMU":
		n = g711.EncodeUlaw(out, pcm)
	case "PCMA":
		n = g711.EncodeAlaw(out, pcm)
	case "G722":
		n = enc722.Encode(out, pcm)
	}
	if p.sendOn.Load() {
		_ = p.rtp.WriteRTP(out[:n], p.sendPT, ts, false)
	}
}

// power measures freqs over the last 400 ms heard; nil until 400 ms were.
func (p *phone) power(freqs ...float64) []float64 {
	pcm := p.heard.last(p.rate * 2 / 5)
	if len(pcm) < p.rate*2/5 {
		return nil
	}
	out := make([]float64, len(freqs))
	for i, f := range freqs {
		out[i] = tone.Power(pcm, p.rate, f)
	}
	return out
}

// waitHears waits until the phone hears want clearly and none of avoid.
func (p *phone) waitHears(want float64, avoid ...float64) {
	t := p.a.t
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pw := p.power(append([]float64{want}, avoid...)...)
		ok := pw != nil && pw[0] > 0.002
		for i := 1; ok && i < len(pw); i++ {
			ok = pw[i] < pw[0]/100
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("phone sending %v Hz: powers at %v and %v: %v (heard %d samples)", p.opts.freq, want, avoid, pw, p.heard.total())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hangup sends BYE.
func (p *phone) hangup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.sess.Bye(ctx); err != nil {
		p.a.t.Errorf("BYE: %v", err)
	}
	p.close()
}

// waitBye waits for the gateway's BYE.
func (p *phone) waitBye(d time.Duration) {
	p.a.t.Helper()
	select {
	case <-p.bye:
	case <-time.After(d):
		p.a.t.Fatal("no BYE from the gateway")
	}
}

// reinvite sends a re-INVITE with our offer in direction dir and returns
// the gateway's answer.
func (p *phone) reinvite(dir sdp.Direction) *sdp.Session {
	p.a.t.Helper()
	var ans *sdp.Session
	if code := p.reinviteRaw(func(o *sdp.Session) { o.Audio.Direction = dir }, func(_, a *sdp.Session) { ans = a }); code != 200 {
		p.a.t.Fatalf("re-INVITE: %d", code)
	}
	return ans
}

// reinviteRaw re-offers the phone's SDP as edit changes it and returns the
// status; done, when given, sees the offer and the answer of a 200.
func (p *phone) reinviteRaw(edit func(*sdp.Session), done ...func(offer, answer *sdp.Session)) int {
	t := p.a.t
	t.Helper()
	pol := sdp.Policy{
		Codecs: []sdp.Codec{p.opts.codec}, SRTP: p.opts.srtp, Addr: netip.MustParseAddr("127.0.0.1"),
		AudioPort: int(p.ports.RTPAddr().Port()),
	}
	if p.video != nil {
		pol = p.videoPolicy() // a room system re-offers its video
	}
	pol.Previous = p.offer
	offer, err := sdp.Offer(pol)
	if err != nil {
		t.Fatal(err)
	}
	edit(offer)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := sipgosip.NewRequest(sipgosip.INVITE, p.sess.InviteResponse.Contact().Address)
	req.AppendHeader(sipgosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer.Marshal())
	res, err := p.sess.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode == 200 {
		if err := p.sess.WriteRequest(sipgosip.NewRequest(sipgosip.ACK, p.sess.InviteResponse.Contact().Address)); err != nil {
			t.Fatal(err)
		}
		ans, err := sdp.Parse(res.Body())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range done {
			d(offer, ans)
		}
		p.offer = offer
	}
	return res.StatusCode
}

// close stops the phone's media.
func (p *phone) close() {
	select {
	case <-p.stop:
		return
	default:
		close(p.stop)
	}
	p.wg.Wait()
	if p.video != nil {
		p.video.close()
	}
	if p.content != nil {
		p.content.close()
	}
	if p.rtp != nil {
		_ = p.rtp.Close()
	} else if p.ports != nil {
		_ = p.ports.Close()
	}
	if p.sess != nil {
		_ = p.sess.Close()
	}
}
