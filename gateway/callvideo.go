package gateway

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/video"
)

// errSRTPOff refuses a re-INVITE that would take SRTP off a video stream
// that has it.
var errSRTPOff = fmt.Errorf("%w: a re-INVITE may not turn SRTP off", sip.ErrNotAcceptable)

// callVideo is a call's video: the ports reserved for it, the running
// leg, and the room participant once joined. The call's goroutine and
// re-INVITEs (on the SIP server's) reach it, under mu.
type callVideo struct {
	mu       sync.Mutex
	ports    *rtp.PortPair
	leg      *videoLeg
	part     room.Participant
	roomName string
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

// reserveVideo takes RTP ports for video and puts them in the call's
// policy. c.policy is the caller's to guard.
func (c *call) reserveVideo(p *sdp.Policy) error {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	if c.vid.ports == nil {
		ports, err := c.g.cfg.PortPool.Allocate()
		if err != nil {
			return fmt.Errorf("%w: video: %w", ErrNoPorts, err)
		}
		c.vid.ports = ports
	}
	p.Video, p.VideoPort, p.VideoBitrate = true, int(c.vid.ports.RTPAddr().Port()), c.g.cfg.VideoBitrate
	return nil
}

// startVideo starts the video leg the negotiation agreed on, if any; a
// video failure never fails the call, whose audio goes on.
func (c *call) startVideo(neg *negotiated, weOffered bool) {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	if c.vid.ports == nil {
		return
	}
	n, err := settleVideo(neg.local, neg.remote, weOffered)
	if err == nil && n != nil {
		err = c.runVideoLocked(n)
	}
	if err != nil {
		c.log.Warn("video not started; the call goes on with audio", "err", err)
	}
	if c.vid.leg == nil {
		c.releaseVideoLocked()
	}
}

// runVideoLocked starts a leg on the reserved ports and, once the call is
// in its room, publishes it. c.vid.mu is held.
func (c *call) runVideoLocked(n *videoNeg) error {
	l, err := newVideoLeg(c.ctx, c, c.vid.ports, n)
	if err != nil {
		return err
	}
	c.vid.leg = l
	if c.vid.part != nil {
		if err := l.publish(c.vid.part, c.vid.roomName); err != nil {
			c.log.Warn("video not published to the room", "err", err)
		}
	}
	return nil
}

// releaseVideoLocked gives the ports back when no leg uses them and takes
// video out of the policy, so that a later re-INVITE starts afresh.
func (c *call) releaseVideoLocked() {
	if c.vid.ports != nil && c.vid.leg == nil {
		if err := c.vid.ports.Close(); err != nil {
			c.log.Debug("video ports", "err", err)
		}
		c.vid.ports = nil
	}
}

// joinVideo publishes the call's video, if any, into the room it joined.
func (c *call) joinVideo(p room.Participant, roomName string) {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	c.vid.part, c.vid.roomName = p, roomName
	if c.vid.leg == nil {
		return
	}
	if err := c.vid.leg.publish(p, roomName); err != nil {
		c.log.Warn("video not published to the room", "err", err)
	}
}

// stopVideo ends the call's video and releases its ports.
func (c *call) stopVideo() error {
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	var err error
	if c.vid.leg != nil {
		err = c.vid.leg.close() // closes the ports too
		c.vid.leg, c.vid.ports = nil, nil
	}
	c.releaseVideoLocked()
	return err
}

// reinviteVideoPolicy prepares p for a re-INVITE's offer o: ports for a
// video stream being added. c.mu is held.
func (c *call) reinviteVideoPolicy(o *sdp.Session, p *sdp.Policy) {
	p.Video, p.VideoPort = false, 0 // the ports of the first offer may be gone
	if o.Video == nil || o.Video.Rejected() || !c.g.videoEnabled(c.ic) {
		return
	}
	if err := c.reserveVideo(p); err != nil {
		c.log.Warn("video not added by re-INVITE", "err", err)
	}
}

// reinviteVideo applies the answer a to a re-INVITE's offer o: video
// added, changed (hold, address, keys) or removed. c.mu is held.
func (c *call) reinviteVideo(o, a *sdp.Session) error {
	n, err := settleVideo(a, o, false)
	if err != nil {
		return err
	}
	c.vid.mu.Lock()
	defer c.vid.mu.Unlock()
	switch {
	case n == nil && c.vid.leg != nil:
		c.log.Info("video removed by re-INVITE")
		err := c.vid.leg.close()
		c.vid.leg, c.vid.ports = nil, nil
		return err
	case n == nil:
		c.releaseVideoLocked()
		return nil
	case c.vid.leg != nil:
		prev := c.vid.leg.neg.Load()
		if err := c.vid.leg.update(n); err != nil {
			return err
		}
		if prev.send != n.send || prev.recv != n.recv {
			c.log.Info("video direction changed by re-INVITE", "send", n.send, "recv", n.recv)
		}
		return nil
	}
	c.log.Info("video added by re-INVITE")
	return c.runVideoLocked(n)
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
		c.vid.mu.Lock()
		l := c.vid.leg
		c.vid.mu.Unlock()
		if l != nil {
			l.out.roomSystemWantsKeyframe()
		}
	}
	return 200
}

// videoEvent handles the room events that concern video: a subscriber
// wants a keyframe of the room system's picture, or the speakers changed.
func (c *call) videoEvent(ev room.Event) {
	c.vid.mu.Lock()
	l := c.vid.leg
	c.vid.mu.Unlock()
	if l == nil {
		return
	}
	switch ev.Type {
	case room.EventKeyframeRequested:
		l.askRoomSystemForRoom(time.Now())
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
	return c.vid.ports != nil
}

// isMediaControl reports whether an INFO's Content-Type is RFC 5168's,
// parameters and case aside.
func isMediaControl(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), video.MediaControlType)
}

// offerPolicy is the call's policy for an offer of ours (a delayed-offer
// INVITE): H.264 in constrained baseline only, in modes 1 and 0. Every
// room system takes it, and the 200 OK that carries the offer stays
// within a UDP datagram (sipgo refuses more than 1300 bytes).
func (c *call) offerPolicy() sdp.Policy {
	p := c.policy
	p.H264Profiles = []sdp.H264Profile{sdp.H264ConstrainedBaseline}
	return p
}
