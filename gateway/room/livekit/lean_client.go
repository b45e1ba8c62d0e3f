package livekit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	lkproto "github.com/livekit/protocol/livekit"
	protosignalling "github.com/livekit/protocol/signalling"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/livekit/lksignal"
)

// A lean participant is a publish-only, visible participant (a phone leg)
// joined by the adapter's own client of LiveKit's protocol rather than by
// the SDK: one WebSocket (lksignal) and one send-only PeerConnection made
// from the backend's shared leanMedia, with no data channels, no mDNS, no
// sockets of its own and no SDK view of the other participants beyond
// what the adapter needs (identity, kind, the pin attribute, tracks for
// the events). Participants that subscribe stay on the SDK.
//
// It does not resume: when the signalling connection or the
// PeerConnection is lost, the participant ends with EventRemoved
// ("backend unavailable"), as an SDK participant does once its
// ReconnectGrace has passed.

// errLeanClosed: the lean client ended while a join or publication waited.
var errLeanClosed = errors.New("livekit: connection closed")

// leanClient is a lean participant's connection to LiveKit.
type leanClient struct {
	p  *participant
	pc *webrtc.PeerConnection

	conn atomic.Pointer[lksignal.Conn]

	// negMu serializes offers: one offer/answer exchange at a time.
	negMu sync.Mutex

	mu sync.Mutex
	// answered receives the result of applying LiveKit's answer to the
	// offer in flight.
	answered chan error
	// pending are LiveKit's ICE candidates that came before its answer.
	pending []webrtc.ICECandidateInit
	// published receive LiveKit's TrackPublishedResponse, by cid.
	published map[string]chan *lkproto.TrackInfo
	pubs      map[string]*leanPub // by track SID
	// The room as LiveKit last told: other participants by identity (only
	// what the adapter uses of them, not LiveKit's whole record),
	// identities by SID (speakers name SIDs), the active speakers' levels.
	peers     map[string]leanPeer
	sids      map[string]string
	speakers  map[string]float32
	recording bool
	token     string // the latest refreshed token (kept; no resume)
	closed    bool

	connected   chan struct{} // closed when DTLS is up
	failed      chan error    // the join's end, if it fails
	joined      bool          // under mu: the join is complete
	closeOnce   sync.Once
	connectOnce sync.Once
	serverLeft  atomic.Bool
}

func newLeanClient(p *participant) *leanClient {
	return &leanClient{
		p: p, published: map[string]chan *lkproto.TrackInfo{}, pubs: map[string]*leanPub{},
		peers: map[string]leanPeer{}, sids: map[string]string{}, speakers: map[string]float32{},
		connected: make(chan struct{}), failed: make(chan error, 1),
	}
}

// join publishes the participant's audio track with its join request
// (the track rides in the offer and needs no renegotiation after) and
// waits, within ctx, until LiveKit has answered, published the track and
// DTLS is up. The offer is set locally and its candidates gathered (at
// once: host candidates only, no STUN) before the request goes, so that
// LiveKit's answer, however fast, always finds it and no trickle is
// needed our way; the SDK applied its offer only after the join response
// and lost answers that came sooner.
func (c *leanClient) join(ctx context.Context, token string) error {
	pc, err := c.p.b.media.newPeerConnection()
	if err != nil {
		return fmt.Errorf("livekit: peer connection: %w", err)
	}
	c.mu.Lock()
	closed := c.closed
	c.pc = pc
	c.mu.Unlock()
	if closed { // the backend closed while the participant joined
		return errors.Join(errLeanClosed, pc.Close())
	}
	pc.OnConnectionStateChange(c.onState)
	lt, tr, err := c.addTrack(room.TrackKindAudio, opusCapability)
	if err != nil {
		return err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("livekit: offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("livekit: offer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return ctx.Err()
	}
	answered := c.expectAnswer()
	pubCh := c.expectPublished(lt.sink.(*leanTrack).id)
	req := addTrackRequest(lt.sink.(*leanTrack), room.TrackKindAudio, audioPublication())
	conn, res, err := lksignal.Dial(ctx, c.p.b.cfg.URL, token, &lkproto.JoinRequest{
		ConnectionSettings: &lkproto.ConnectionSettings{AutoSubscribe: false},
		AddTrackRequests:   []*lkproto.AddTrackRequest{req},
		PublisherOffer:     protosignalling.ToProtoSessionDescription(*pc.LocalDescription(), 0, nil),
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	closed = c.closed
	c.conn.Store(conn)
	c.mu.Unlock()
	if closed {
		return errors.Join(errLeanClosed, conn.Close())
	}
	c.onJoinResponse(res)
	c.p.wg.Add(1)
	go c.readLoop(conn)

	var info *lkproto.TrackInfo
	connected := c.connected
	for info == nil || answered != nil || connected != nil {
		select {
		case err := <-answered:
			if err != nil {
				return fmt.Errorf("livekit: answer: %w", err)
			}
			answered = nil
		case ti, ok := <-pubCh:
			if !ok {
				return errLeanClosed
			}
			info, pubCh = ti, nil
		case <-connected:
			connected = nil
		case err := <-c.failed:
			return err
		case <-ctx.Done():
			return fmt.Errorf("livekit join: %w", ctx.Err())
		}
	}
	lt.pub = c.newPub(info, room.TrackKindAudio)
	c.readRTCP(lt, tr.Sender())
	c.p.mu.Lock()
	c.p.joinTrack = lt
	c.p.mu.Unlock()
	// Whatever ended the session from here on ends the participant, not
	// the join; what ended it before is the join's failure.
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case err := <-c.failed:
		return err
	default:
	}
	c.joined = true
	return nil
}

// endJoin fails the join in progress with err and says so; false once
// the join is complete.
func (c *leanClient) endJoin(err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.joined {
		return false
	}
	select {
	case c.failed <- err:
	default:
	}
	return true
}

// addTrack makes a local track of kind and its send-only transceiver,
// with the track's codec preferred.
func (c *leanClient) addTrack(kind room.TrackKind, cp webrtc.RTPCodecCapability) (*localTrack, *webrtc.RTPTransceiver, error) {
	lt := newLocalTrack(c.p, kind, cp.ClockRate, nil)
	lt.mime = cp.MimeType
	t := newLeanTrack(kind, cp, &lt.levelID)
	lt.sink = t
	tr, err := c.pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, nil, fmt.Errorf("livekit: add %v track: %w", kind, err)
	}
	// The track's own format first (an H.264 profile among several),
	// as the SDK does, so that LiveKit answers with it.
	codecs := append([]webrtc.RTPCodecParameters{}, tr.Sender().GetParameters().Codecs...)
	for i, pc := range codecs {
		if pc.MimeType == cp.MimeType && (cp.SDPFmtpLine == "" || pc.SDPFmtpLine == cp.SDPFmtpLine) {
			codecs[0], codecs[i] = codecs[i], codecs[0]
			break
		}
	}
	if err := tr.SetCodecPreferences(codecs); err != nil {
		c.p.log.Debug("codec preferences not set", "err", err)
	}
	return lt, tr, nil
}

// addTrackRequest asks LiveKit to publish t.
func addTrackRequest(t *leanTrack, kind room.TrackKind, opts *lksdk.TrackPublicationOptions) *lkproto.AddTrackRequest {
	req := &lkproto.AddTrackRequest{Cid: t.id, Name: opts.Name, Source: opts.Source, Type: lkproto.TrackType_AUDIO}
	if kind == room.TrackKindVideo {
		req.Type = lkproto.TrackType_VIDEO
		req.Width, req.Height = uint32(opts.VideoWidth), uint32(opts.VideoHeight)
		req.Layers = []*lkproto.VideoLayer{{Quality: lkproto.VideoQuality_HIGH, Width: req.Width, Height: req.Height}}
	}
	return req
}

// newPub records the publication LiveKit made of a track.
func (c *leanClient) newPub(info *lkproto.TrackInfo, kind room.TrackKind) *leanPub {
	pub := &leanPub{c: c, sid: info.Sid, kind: kind}
	pub.muted.Store(info.Muted)
	c.mu.Lock()
	c.pubs[info.Sid] = pub
	c.mu.Unlock()
	return pub
}

// publish publishes a track after the join (video a re-INVITE added):
// AddTrackRequest, LiveKit's TrackPublishedResponse, then the
// renegotiation that carries the new transceiver.
func (c *leanClient) publish(kind room.TrackKind, cp webrtc.RTPCodecCapability, opts *lksdk.TrackPublicationOptions) (*localTrack, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.p.b.cfg.ConnectTimeout*2)
	defer cancel()
	lt, tr, err := c.addTrack(kind, cp)
	if err != nil {
		return nil, err
	}
	t := lt.sink.(*leanTrack)
	pubCh := c.expectPublished(t.id)
	fail := func(err error) (*localTrack, error) {
		c.mu.Lock()
		delete(c.published, t.id)
		c.mu.Unlock()
		_ = c.pc.RemoveTrack(tr.Sender())
		if c.p.isClosed() {
			return nil, fmt.Errorf("%w: participant %q has left: %w", room.ErrClosed, c.p.id, err)
		}
		return nil, fmt.Errorf("livekit: publish %v: %w", kind, err)
	}
	if err := c.send(&lkproto.SignalRequest{Message: &lkproto.SignalRequest_AddTrack{AddTrack: addTrackRequest(t, kind, opts)}}); err != nil {
		return fail(err)
	}
	var info *lkproto.TrackInfo
	select {
	case info = <-pubCh:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if info == nil {
		return fail(errLeanClosed)
	}
	lt.pub = c.newPub(info, kind)
	if err := c.negotiate(ctx); err != nil {
		return fail(err)
	}
	c.readRTCP(lt, tr.Sender())
	return lt, nil
}

// unpublish takes lt off the PeerConnection and off LiveKit.
func (c *leanClient) unpublish(lt *localTrack) error {
	sid := lt.pub.SID()
	c.mu.Lock()
	delete(c.pubs, sid)
	c.mu.Unlock()
	for _, tr := range c.pc.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Track() == lt.sink.(*leanTrack) {
			if err := c.pc.RemoveTrack(s); err != nil {
				return fmt.Errorf("livekit: unpublish: %w", err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.p.b.cfg.ConnectTimeout)
	defer cancel()
	if err := c.negotiate(ctx); err != nil && !c.p.isClosed() {
		return fmt.Errorf("livekit: unpublish: %w", err)
	}
	return nil
}

// readRTCP drains the RTCP LiveKit sends about lt (the interceptors see
// it there: NACKs for the responder) and passes keyframe requests on.
func (c *leanClient) readRTCP(lt *localTrack, s *webrtc.RTPSender) {
	c.p.wg.Add(1)
	go func() {
		defer c.p.wg.Done()
		for {
			pkts, _, err := s.ReadRTCP()
			if err != nil {
				return
			}
			if lt.kind != room.TrackKindVideo {
				continue
			}
			for _, pkt := range pkts {
				lt.onRTCP(pkt)
			}
		}
	}()
}

// negotiate sends a new offer and waits for its answer.
func (c *leanClient) negotiate(ctx context.Context) error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	answered := c.expectAnswer()
	if err := c.send(&lkproto.SignalRequest{Message: &lkproto.SignalRequest_Offer{
		Offer: protosignalling.ToProtoSessionDescription(offer, 0, nil),
	}}); err != nil {
		return err
	}
	select {
	case err := <-answered:
		return err
	case <-ctx.Done():
		return fmt.Errorf("answer: %w", ctx.Err())
	}
}

// expectAnswer makes the channel the next answer's result goes to.
func (c *leanClient) expectAnswer() chan error {
	ch := make(chan error, 1)
	c.mu.Lock()
	c.answered = ch
	c.mu.Unlock()
	return ch
}

// expectPublished makes the channel LiveKit's publication of cid goes
// to (nil if the client closes first).
func (c *leanClient) expectPublished(cid string) chan *lkproto.TrackInfo {
	ch := make(chan *lkproto.TrackInfo, 1)
	c.mu.Lock()
	c.published[cid] = ch
	c.mu.Unlock()
	return ch
}

// send sends a request if the connection is up.
func (c *leanClient) send(req *lkproto.SignalRequest) error {
	conn := c.conn.Load()
	if conn == nil {
		return errLeanClosed
	}
	return conn.Send(req)
}

// readLoop handles LiveKit's messages until the connection ends; a lost
// connection ends the participant (or its join).
func (c *leanClient) readLoop(conn *lksignal.Conn) {
	defer c.p.wg.Done()
	err := conn.Run(c.handle)
	if err == nil {
		return // closed by us
	}
	c.lost(err)
}

// lost ends the join in progress or the participant: LiveKit is gone.
func (c *leanClient) lost(err error) {
	if c.endJoin(fmt.Errorf("%w: livekit join: %w", room.ErrUnavailable, err)) {
		return
	}
	c.p.log.Warn("connection to LiveKit lost", "err", err)
	c.p.b.requestCheck()
	c.p.remove("backend unavailable", true)
}

// onState follows the PeerConnection: DTLS up completes the join; a
// failed connection (ICE gave up) is a lost one.
func (c *leanClient) onState(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		c.connectOnce.Do(func() { close(c.connected) })
	case webrtc.PeerConnectionStateFailed:
		c.lost(errors.New("media connection failed"))
	default:
	}
}

// close leaves LiveKit (unless LiveKit ended the session) and closes the
// connection and the PeerConnection, once. It does not wait for the read
// loop, which may be its caller; the participant's wait group does.
func (c *leanClient) close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		pc := c.pc
		c.mu.Unlock()
		if conn := c.conn.Load(); conn != nil {
			if !c.serverLeft.Load() {
				_ = conn.Send(&lkproto.SignalRequest{Message: &lkproto.SignalRequest_Leave{Leave: &lkproto.LeaveRequest{
					Reason: lkproto.DisconnectReason_CLIENT_INITIATED, Action: lkproto.LeaveRequest_DISCONNECT,
				}}})
			}
			_ = conn.Close()
		}
		if pc != nil {
			_ = pc.Close()
		}
		// Whoever waits for LiveKit (a publication, an answer) stops.
		c.mu.Lock()
		for cid, ch := range c.published {
			close(ch)
			delete(c.published, cid)
		}
		if c.answered != nil {
			c.answered <- errLeanClosed
			c.answered = nil
		}
		c.mu.Unlock()
	})
}
