package gateway

import (
	"context"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/ivr/prompts"
)

// In-call keys of phone participants: * then a digit within commandWindow.
const (
	commandWindow = 3 * time.Second
	keyMute       = '6' // *6 mutes or unmutes the phone
	keyCount      = '1' // *1 says how many people are in the room
	// inCallPrompt marks the ids of prompts the call plays itself, apart
	// from the IVR session's.
	inCallPrompt = uint64(1) << 63
	countTimeout = 2 * time.Second
)

// command handles a digit of a joined phone: *6 and *1; other keys are
// ignored (they reach the room as audio only when sent in-band).
func (c *call) command(k byte) {
	if k == '*' {
		c.star = time.Now()
		return
	}
	if c.star.IsZero() || time.Since(c.star) > commandWindow {
		return
	}
	c.star = time.Time{}
	switch k {
	case keyMute:
		c.toggleMute()
	case keyCount:
		n := c.roomCount()
		c.log.Info("in-call key: participant count", "count", n)
		c.play(prompts.CountSequence(n)...)
	}
}

// toggleMute mutes or unmutes the phone: its leg stops (or starts again)
// feeding the mix and publishing, the room sees the track muted, and the
// phone alone hears "muted" or "unmuted" over the room.
func (c *call) toggleMute() {
	l := c.leg.Load()
	muted := !l.Muted()
	l.SetMuted(muted)
	if err := c.part.SetMuted(room.TrackKindAudio, muted); err != nil {
		c.log.Warn("in-call mute: the room did not take it", "muted", muted, "err", err)
	}
	c.log.Info("in-call key: mute", "muted", muted)
	if muted {
		c.play(prompts.Muted)
	} else {
		c.play(prompts.Unmuted)
	}
}

// play plays prompts, in order, to this leg only.
func (c *call) play(names ...string) {
	l := c.leg.Load()
	segs := make([][]int16, 0, len(names))
	for _, n := range names {
		pcm, err := c.prompts.PCM(n, l.Rate())
		if err != nil {
			c.log.Warn("prompt not played", "prompt", n, "err", err)
			continue
		}
		segs = append(segs, pcm)
	}
	c.promptSeq++
	l.Play(inCallPrompt|c.promptSeq, false, segs...)
}

// playTone plays a join or leave tone over whatever this leg hears.
func (c *call) playTone(name string) {
	l := c.leg.Load()
	pcm, err := c.prompts.PCM(name, l.Rate())
	if err != nil {
		c.log.Warn("tone not played", "tone", name, "err", err)
		return
	}
	l.PlayTone(pcm)
}

// promptDone is the leg's player callback, on its clock goroutine: the id
// of a prompt played to its end goes to the call's goroutine.
func (c *call) promptDone(id uint64) {
	if id&inCallPrompt != 0 {
		return
	}
	select {
	case c.promptEnded <- id:
	default:
	}
}

// roomCount is how many people are in the call's room, this caller
// included: from the backend's directory when there is one, else from the
// room hub (SIP legs on this node and audio tracks of the others).
func (c *call) roomCount() int {
	if d := c.g.cfg.Directory; d != nil {
		ctx, cancel := context.WithTimeout(c.ctx, countTimeout)
		defer cancel()
		ps, err := d.Participants(ctx, c.roomName)
		if err == nil {
			n, self := len(ps), false
			for _, p := range ps {
				self = self || p.ID == c.id
			}
			if !self {
				n++
			}
			return n
		}
		c.log.Debug("participant count from the directory failed", "err", err)
	}
	return c.hub.Population()
}
