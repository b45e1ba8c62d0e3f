package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/ivr"
	"github.com/roombridge/roombridge/ivr/prompts"
)

// digitQueue is how many digits may wait between the media path and the
// call's goroutine; a caller cannot type faster than the call reads.
const digitQueue = 32

// serve runs the answered call on its handler goroutine until its context
// ends (BYE, session timer, RTP timeout, Gateway.Close), the room removes
// the participant (a kick through the API, the room closed), or the IVR
// hangs up; the SIP server sends BYE once HandleCall returns. It is the
// one goroutine that owns the call's state: DTMF from every source is
// merged here and goes to the IVR session s while the caller is in it
// (nil for a direct call), to the in-call commands once joined.
func (c *call) serve(s *ivrRun) error {
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	defer flush.Stop()
	var events <-chan room.Event
	if c.part != nil {
		events = c.part.Events()
	}
	var actions <-chan ivr.Action
	if s != nil {
		actions = s.sess.Actions()
	}
	for {
		select {
		case <-c.ctx.Done():
			return context.Cause(c.ctx)

		case d := <-c.digits:
			c.merged = c.merged[:0]
			if !c.dtmfMode.Accepts(d.Source, c.negotiated().te != nil) {
				continue
			}
			var err error
			if c.merged, err = c.merger.Push(c.merged, d); err != nil {
				continue
			}
			c.keys(s)
			c.armFlush(flush)
		case now := <-flush.C:
			c.merged = c.merger.Flush(c.merged[:0], now)
			c.keys(s)
			c.armFlush(flush)

		case id := <-c.promptEnded:
			if s != nil {
				s.sess.PromptDone(id)
			}

		case a, ok := <-actions:
			if !ok {
				// The IVR is over: joined (and announced), or about to
				// hang up, which the Hangup action already did.
				actions = nil
				if c.part == nil && c.node == nil {
					return s.end()
				}
				s.finish()
				continue
			}
			done, err := c.act(s, a)
			if err != nil || done {
				return err
			}
			if c.part != nil && events == nil {
				events = c.part.Events()
			}

		case ev, ok := <-events:
			if !ok {
				return ErrRemoved
			}
			if err := c.roomEvent(ev); err != nil {
				return err
			}
		}
	}
}

// keys hands the digits just merged to the IVR, or to in-call commands.
func (c *call) keys(s *ivrRun) {
	for _, d := range c.merged {
		c.g.m.dtmfDigits.WithLabelValues(d.Source.String()).Inc()
		if c.node != nil {
			c.node.digit(c.ctx, d.Key)
			continue
		}
		if s != nil && c.part == nil {
			// In the IVR: never logged, they may be a PIN.
			s.sess.Digit(rune(d.Key))
			continue
		}
		c.command(d.Key)
	}
}

// armFlush sets the timer for the merger's next waiting digit.
func (c *call) armFlush(t *time.Timer) {
	if at, ok := c.merger.Deadline(); ok {
		t.Reset(max(time.Until(at), 0))
	}
}

// roomEvent handles an event of the call's room participant.
func (c *call) roomEvent(ev room.Event) error {
	l := c.leg.Load()
	switch ev.Type {
	case room.EventRemoved:
		return fmt.Errorf("%w: %s", ErrRemoved, ev.Reason)
	case room.EventMuted:
		if ev.Kind == room.TrackKindAudio {
			l.SetMuted(ev.Muted)
			c.log.Info("muted by the room", "muted", ev.Muted)
		}
	case room.EventKeyframeRequested, room.EventActiveSpeakers, room.EventPinned, room.EventVideoBitrate:
		c.videoEvent(ev)
	case room.EventParticipantJoined:
		if c.g.cfg.IVR.JoinTones {
			c.playTone(prompts.JoinTone)
		}
	case room.EventParticipantLeft:
		if c.g.cfg.IVR.JoinTones {
			c.playTone(prompts.LeaveTone)
		}
	}
	return nil
}

// info handles SIP INFO in the call's dialog (RFC 6086) on the SIP
// server's goroutine: a DTMF digit (application/dtmf-relay or
// application/dtmf) joins the call's digits; anything else (such as a
// picture_fast_update for an audio-only leg) is acknowledged and ignored.
func (c *call) info(contentType string, body []byte) int {
	const ok = 200 // the INFO was received, whatever became of it
	if isMediaControl(contentType) {
		return c.videoInfo(body)
	}
	if contentType != sip.ContentTypeDTMFRelay && contentType != sip.ContentTypeDTMF {
		return ok
	}
	key, _, err := sip.ParseDTMFRelay(body)
	if err != nil {
		c.log.Debug("INFO without a DTMF digit", "content_type", contentType, "err", err)
		return sip.StatusCode(err)
	}
	select {
	case c.digits <- dtmf.Digit{Key: byte(key), Source: dtmf.SourceINFO, At: time.Now()}:
	default:
	}
	return ok
}
