package gateway

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/bfcp"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/video"
)

// errSRTPOff refuses a re-INVITE that would take SRTP off a video stream
// that has it.
var errSRTPOff = fmt.Errorf("%w: a re-INVITE may not turn SRTP off", sip.ErrNotAcceptable)

// callVideo is a call's video: for each stream (the main video and the
// content stream, a=content:slides) the ports reserved for it and the
// running leg, and the room participant once joined. The call's
// goroutine and re-INVITEs (on the SIP server's) reach it, under mu; the
// room's tracks reach the legs through router.
type callVideo struct {
	mu       sync.Mutex
	streams  [numContents]videoStream
	part     room.Participant
	roomName string
	// hooked is set once the participant's OnTrack goes to router.
	hooked bool
	router trackRouter
	// bfcpPorts and floor are the room system's BFCP session (RFC 8855):
	// the floor control server of its content stream, when negotiated.
	bfcpPorts *rtp.PortPair
	floor     *bfcp.Server
}

// videoStream is one video m= line of the call.
type videoStream struct {
	ports *rtp.PortPair
	leg   *videoLeg
}

// videoWanted reports whether the call should negotiate video: enabled
// for its trunk, and offered (or the offer is ours to make).
func (c *call) videoWanted() bool {
	if !c.g.videoEnabled(c.ic) {
		return false
	}
	offer := c.ic.Offer()
	return offer == nil || offersVideo(offer)
}

// reserveVideo takes RTP ports for video, and for a content stream when
// the offer has one or the offer is ours, and puts them in the call's
// policy. c.policy is the caller's to guard.
func (c *call) reserveVideo(p *sdp.Policy) error {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	port, err := c.reserveStreamLocked(contentMain)
	if err != nil {
		return err
	}
	p.Video, p.VideoPort, p.VideoBitrate = true, port, c.g.cfg.VideoBitrate
	if offer := c.ic.Offer(); offer != nil && !offersSlides(offer) {
		return nil
	}
	if port, err = c.reserveStreamLocked(contentSlides); err != nil {
		c.log.Warn("content stream not negotiated", "err", err)
		return nil
	}
	p.Slides, p.SlidesPort = true, port
	if offer := c.ic.Offer(); offer != nil && offersBFCP(offer) {
		p.BFCPPort = c.reserveBFCPLocked()
	}
	return nil
}

// reserveBFCPLocked takes a port for the BFCP floor control server,
// unless it has one, and returns it (0 when none is left: BFCP is then
// refused and the content stream goes on without floor control).
// c.vid.mu is held.
func (c *call) reserveBFCPLocked() int {
	if c.vid.bfcpPorts == nil {
		ports, err := c.g.cfg.PortPool.Allocate()
		if err != nil {
			c.log.Warn("BFCP not negotiated", "err", err)
			return 0
		}
		c.vid.bfcpPorts = ports
	}
	return int(c.vid.bfcpPorts.RTPAddr().Port())
}

// floorLocked starts, keeps or ends the BFCP floor control server as the
// SDP local (ours, offer or answer) says, and gives it to the content
// leg. c.vid.mu is held.
func (c *call) floorLocked(local *sdp.Session) {
	slides := c.vid.streams[contentSlides].leg
	params, ok := local.BFCP.BFCPParams()
	switch {
	case local.BFCP == nil || slides == nil || !ok || c.vid.bfcpPorts == nil:
		c.stopFloorLocked()
	case c.vid.floor == nil:
		c.vid.floor = bfcp.NewServer(bfcp.Config{
			Conn: c.vid.bfcpPorts.RTP, ConferenceID: params.ConferenceID, UserID: params.UserID, FloorID: params.FloorID,
			Logger: c.log.With("media", "bfcp"),
			OnFloor: func(granted bool) {
				c.log.Info("room system's content floor", "granted", granted)
			},
		})
		c.log.Info("BFCP floor control server started", "port", c.vid.bfcpPorts.RTPAddr().Port(), "floor", params.FloorID)
	}
	if slides != nil {
		slides.floor.Store(c.vid.floor)
	}
}

// stopFloorLocked ends the BFCP server, if any, and gives its port back.
// c.vid.mu is held.
func (c *call) stopFloorLocked() {
	if l := c.vid.streams[contentSlides].leg; l != nil {
		l.floor.Store(nil)
	}
	if c.vid.floor != nil {
		if err := c.vid.floor.Close(); err != nil {
			c.log.Debug("BFCP server", "err", err)
		}
		c.vid.floor = nil
	}
	if c.vid.bfcpPorts != nil {
		if err := c.vid.bfcpPorts.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			c.log.Debug("BFCP port", "err", err)
		}
		c.vid.bfcpPorts = nil
	}
}

// reserveStreamLocked takes the ports of stream k, unless it has them,
// and returns its RTP port. c.vid.mu is held.
func (c *call) reserveStreamLocked(k videoContent) (int, error) {
	st := &c.vid.streams[k]
	if st.ports == nil {
		ports, err := c.g.cfg.PortPool.Allocate()
		if err != nil {
			return 0, fmt.Errorf("%w: video %v: %w", ErrNoPorts, k, err)
		}
		st.ports = ports
	}
	return int(st.ports.RTPAddr().Port()), nil
}

// startVideo starts the video legs the negotiation agreed on, if any; a
// video failure never fails the call, whose audio goes on.
func (c *call) startVideo(neg *negotiated, weOffered bool) {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	for k := range numContents {
		if c.vid.streams[k].ports == nil {
			continue
		}
		n, err := settleVideo(neg.local, neg.remote, weOffered, k)
		if err == nil && n != nil {
			err = c.runVideoLocked(k, n)
		}
		if err != nil {
			c.log.Warn("video not started; the call goes on without it", "content", k, "err", err)
		}
		c.releaseVideoLocked(k)
	}
	c.floorLocked(neg.local)
}

// runVideoLocked starts a leg for stream k on its reserved ports and,
// once the call is in its room, publishes it. c.vid.mu is held.
func (c *call) runVideoLocked(k videoContent, n *videoNeg) error {
	l, err := newVideoLeg(c.ctx, c, c.vid.streams[k].ports, n, k)
	if err != nil {
		return err
	}
	c.vid.streams[k].leg = l
	c.vid.router.set(k, l)
	if c.vid.part != nil {
		c.publishLocked(l)
	}
	return nil
}

// publishLocked publishes l into the call's room; the first leg also
// subscribes the participant to the room's video. c.vid.mu is held.
func (c *call) publishLocked(l *videoLeg) {
	p := c.vid.part
	if !c.vid.hooked {
		c.vid.hooked = true
		if kf, ok := p.(room.KindFilter); ok {
			// The room's audio reaches the caller through the hub.
			kf.SetKindFilter(room.TrackKindVideo)
		}
		p.OnTrack(c.vid.router.add)
	}
	if err := l.publish(p, c.vid.roomName); err != nil {
		c.log.Warn("video not published to the room", "content", l.content, "err", err)
	}
}

// releaseVideoLocked gives the ports of stream k back when no leg uses
// them, so that a later re-INVITE starts afresh. c.vid.mu is held.
func (c *call) releaseVideoLocked(k videoContent) {
	st := &c.vid.streams[k]
	if st.ports != nil && st.leg == nil {
		if err := st.ports.Close(); err != nil {
			c.log.Debug("video ports", "err", err)
		}
		st.ports = nil
	}
}

// closeStreamLocked ends the leg of stream k (which closes its ports)
// and hands the room tracks it was given to the call's other leg.
// c.vid.mu is held.
func (c *call) closeStreamLocked(k videoContent) error {
	st := &c.vid.streams[k]
	l := st.leg
	if l == nil {
		c.releaseVideoLocked(k)
		return nil
	}
	c.vid.router.set(k, nil)
	err := l.close()
	st.leg, st.ports = nil, nil
	c.vid.router.addAll(l.out.remaining())
	c.unhookLocked()
	return err
}

// unhookLocked gives back the room's video the participant subscribed to
// once the call has no video leg left (a re-INVITE removed video; on
// LiveKit a publish-only participant's receiving companion leaves); a
// leg added later subscribes afresh. c.vid.mu is held.
func (c *call) unhookLocked() {
	for _, st := range c.vid.streams {
		if st.leg != nil {
			return
		}
	}
	if !c.vid.hooked {
		return
	}
	c.vid.hooked = false
	c.vid.router.clear()
	if r, ok := c.vid.part.(room.TrackReleaser); ok {
		r.ReleaseTracks()
	}
}

// joinVideo publishes the call's video, if any, into the room it joined.
func (c *call) joinVideo(p room.Participant, roomName string) {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	c.vid.part, c.vid.roomName = p, roomName
	c.vid.router.self = c.id
	for _, st := range c.vid.streams {
		if st.leg != nil {
			c.publishLocked(st.leg)
		}
	}
}

// stopVideo ends the call's video and releases its ports.
func (c *call) stopVideo() error {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	c.stopFloorLocked()
	var errs []error
	for k := range numContents {
		errs = append(errs, c.closeStreamLocked(k))
	}
	return errors.Join(errs...)
}

// reinviteVideoPolicy prepares p for a re-INVITE's offer o: ports for a
// video or content stream being added. c.mu is held.
func (c *call) reinviteVideoPolicy(o *sdp.Session, p *sdp.Policy) {
	// The ports of the first offer may be gone.
	p.Video, p.VideoPort, p.Slides, p.SlidesPort, p.BFCPPort = false, 0, false, 0, 0
	if o.Video == nil || o.Video.Rejected() || !c.g.videoEnabled(c.ic) {
		return
	}
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	port, err := c.reserveStreamLocked(contentMain)
	if err != nil {
		c.log.Warn("video not added by re-INVITE", "err", err)
		return
	}
	p.Video, p.VideoPort, p.VideoBitrate = true, port, c.g.cfg.VideoBitrate
	if o.Slides == nil || o.Slides.Rejected() {
		return
	}
	if port, err = c.reserveStreamLocked(contentSlides); err != nil {
		c.log.Warn("content stream not added by re-INVITE", "err", err)
		return
	}
	p.Slides, p.SlidesPort = true, port
	if o.BFCP != nil && o.BFCP.Proto == "UDP/BFCP" {
		p.BFCPPort = c.reserveBFCPLocked()
	}
}

// reinviteVideo applies the answer a to a re-INVITE's offer o: a video
// or content stream added, changed (hold, address, keys) or removed.
// c.mu is held.
func (c *call) reinviteVideo(o, a *sdp.Session) error {
	var negs [numContents]*videoNeg
	for k := range numContents {
		n, err := settleVideo(a, o, false, k)
		if err != nil {
			return err
		}
		negs[k] = n
	}
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	var errs []error
	for k, n := range negs {
		errs = append(errs, c.reinviteStreamLocked(videoContent(k), n))
	}
	c.floorLocked(a)
	return errors.Join(errs...)
}

// reinviteStreamLocked applies a re-INVITE's outcome n (nil: no such
// stream) to stream k. c.vid.mu is held.
func (c *call) reinviteStreamLocked(k videoContent, n *videoNeg) error {
	l := c.vid.streams[k].leg
	switch {
	case n == nil && l != nil:
		c.log.Info("video removed by re-INVITE", "content", k)
		return c.closeStreamLocked(k)
	case n == nil:
		c.releaseVideoLocked(k)
		return nil
	case l != nil:
		prev := l.neg.Load()
		if err := l.update(n); err != nil {
			return err
		}
		if prev.send != n.send || prev.recv != n.recv {
			c.log.Info("video direction changed by re-INVITE", "content", k, "send", n.send, "recv", n.recv)
		}
		return nil
	}
	c.log.Info("video added by re-INVITE", "content", k)
	return c.runVideoLocked(k, n)
}

// legs returns the running legs, main first.
func (c *call) videoLegs() []*videoLeg {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	out := make([]*videoLeg, 0, numContents)
	for _, st := range c.vid.streams {
		if st.leg != nil {
			out = append(out, st.leg)
		}
	}
	return out
}

// videoLeg returns the running leg of stream k, nil when none.
func (c *call) videoLeg(k videoContent) *videoLeg {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	return c.vid.streams[k].leg
}

// videoInfo handles an INFO application/media_control+xml: a
// picture_fast_update asks for a keyframe of what we send; a body that is
// not a media_control document is refused with 400.
func (c *call) videoInfo(body []byte) int {
	mc, err := video.ParseMediaControl(body)
	if err != nil {
		c.log.Info("INFO media_control refused", "err", err)
		return 400
	}
	if mc.GeneralError != "" {
		c.log.Info("room system reports a media_control error", "error", mc.GeneralError)
	}
	if mc.PictureFastUpdate {
		// RFC 5168 §3: stream_id names streams by their a=label; none
		// (or none we know) means every video stream.
		legs := c.videoLegs()
		named := slices.DeleteFunc(slices.Clone(legs), func(l *videoLeg) bool {
			label := l.neg.Load().label
			return label == "" || !slices.Contains(mc.StreamIDs, label)
		})
		if len(named) > 0 {
			legs = named
		}
		for _, l := range legs {
			l.out.roomSystemWantsKeyframe()
		}
	}
	return 200
}

// videoEvent handles the room events that concern video: a subscriber
// wants a keyframe of the room system's picture, or the speakers changed.
func (c *call) videoEvent(ev room.Event) {
	if ev.Type == room.EventKeyframeRequested || ev.Type == room.EventVideoBitrate {
		// The request names the track: the camera's or the content's.
		legs := c.videoLegs()
		for _, l := range legs {
			if id := l.trackID(); id != "" && id == ev.TrackID {
				legs = []*videoLeg{l}
				break
			}
		}
		for _, l := range legs {
			if ev.Type == room.EventVideoBitrate {
				l.roomLimits(ev.Bitrate)
			} else {
				l.askRoomSystemForRoom(time.Now())
			}
		}
		return
	}
	l := c.videoLeg(contentMain)
	if l == nil {
		return
	}
	switch ev.Type {
	case room.EventActiveSpeakers:
		l.out.activeSpeakers(ev.Speakers)
	case room.EventPinned:
		l.out.pin(ev.Pinned)
	case room.EventVideoBitrate:
		l.roomLimits(ev.Bitrate)
	}
}

// videoTeardown is stopVideo for teardown's error list.
func (c *call) videoTeardown() error {
	if err := c.stopVideo(); err != nil && !errors.Is(err, rtp.ErrClosed) {
		return err
	}
	return nil
}

// hasVideo reports whether the call has negotiated (or is negotiating)
// video.
func (c *call) hasVideo() bool {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	return c.vid.streams[contentMain].ports != nil || c.vid.streams[contentSlides].ports != nil
}

// isMediaControl reports whether an INFO's Content-Type is RFC 5168's,
// parameters and case aside.
func isMediaControl(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), video.MediaControlType)
}

// dropContent takes out of p what makes an answer too large for the
// 200 OK to fit a UDP datagram: BFCP first, then the content stream; it
// reports false when nothing is left to take (the answer is then sent as
// it is, and sipgo refuses it if it is still too large).
func (c *call) dropContent(p *sdp.Policy) bool {
	switch {
	case p.BFCPPort != 0:
		p.BFCPPort = 0
		c.log.Info("BFCP left out of the answer: the 200 OK would not fit a UDP datagram")
	case p.Slides:
		p.Slides, p.SlidesPort = false, 0
		c.log.Info("content stream left out of the answer: the 200 OK would not fit a UDP datagram")
	default:
		return false
	}
	return true
}

// fitAnswer answers a re-INVITE's offer o under p, leaving out BFCP and
// then the content stream while the 200 OK would not fit a UDP datagram.
func (c *call) fitAnswer(o *sdp.Session, p *sdp.Policy) (*sdp.Session, error) {
	for {
		a, err := sdp.Answer(o, *p)
		if err != nil || c.ic.AnswerFits(a.Marshal()) || !c.dropContent(p) {
			return a, err
		}
	}
}

// offerPolicy is the call's policy for an offer of ours (a delayed-offer
// INVITE): H.264 in constrained baseline only, in modes 1 and 0. Every
// room system takes it, and the 200 OK that carries the offer stays
// within a UDP datagram (sipgo refuses more than 1300 bytes). The content
// stream (a=content:slides) is offered only when the 200 OK with it still
// fits (over UDP it mostly does not: the two video lines take 900 bytes;
// over TCP and TLS it always does); its ports are released otherwise.
func (c *call) offerPolicy() sdp.Policy {
	p := c.policy
	p.H264Profiles = []sdp.H264Profile{sdp.H264ConstrainedBaseline}
	if !p.Slides {
		return p
	}
	if s, err := sdp.Offer(c.ownOffer(p)); err == nil && c.ic.AnswerFits(s.Marshal()) {
		return p
	}
	c.log.Info("content stream left out of our offer: the 200 OK would not fit a UDP datagram")
	p.Slides, p.SlidesPort = false, 0
	c.vid.mu.Lock()
	c.releaseVideoLocked(contentSlides)
	c.vid.mu.Unlock()
	return p
}
