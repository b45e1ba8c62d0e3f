package livekit

import (
	"context"
	"slices"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/roombridge/roombridge/gateway/room"
)

// companionSuffix ends the identity of a publish-only participant's
// companion: the hidden participant that receives for it.
const companionSuffix = "~rx"

var _ room.TrackReleaser = (*participant)(nil)

// A publish-only participant (a phone leg) joins with one PeerConnection,
// whose lean PeerConnection never receives. When it asks for tracks after
// all (a re-INVITE added video to an audio call, so the room system wants
// the room's video), a companion receives for it: a hidden participant of
// its own identity plus companionSuffix, joined with the SDK's two
// PeerConnections and the participant's kind and track filters, whose
// tracks go to the participant's OnTrack handler and whose keyframe
// requests go through it. Hidden, it is not listed, not announced to
// others and counts for nobody's audience; it publishes nothing. It
// leaves at ReleaseTracks (the re-INVITE that removes video) or when the
// participant does.
//
// One goroutine per companion, counted in the participant's wait group,
// joins it, drains its events and makes it leave; a companion asked for
// while the previous one is still leaving waits for it, so that the two
// never hold the identity at once.
type companion struct {
	ctx  context.Context // ended to make it leave
	stop context.CancelFunc
	done chan struct{} // closed once it has left (or never joined)
	// part is the joined companion, nil before; under the participant's mu.
	part *participant
}

// startCompanionLocked starts a companion for p unless one runs. p.mu is
// held.
func (p *participant) startCompanionLocked() {
	if p.comp != nil || p.closed {
		return
	}
	c := &companion{done: make(chan struct{})}
	c.ctx, c.stop = context.WithCancel(context.Background())
	prev := p.compPrev
	p.comp = c
	p.wg.Add(1)
	go p.runCompanion(c, prev)
}

// stopCompanionLocked makes the running companion leave, if any. p.mu is
// held.
func (p *participant) stopCompanionLocked() {
	if p.comp == nil {
		return
	}
	p.comp.stop()
	p.compPrev, p.comp = p.comp, nil
}

// runCompanion joins c, hands its tracks to p's handler until c is
// stopped (ReleaseTracks, or p ended) or LiveKit removes it, and makes it
// leave.
func (p *participant) runCompanion(c *companion, prev *companion) {
	defer p.wg.Done()
	defer close(c.done)
	defer c.stop()
	ctx := c.ctx
	if prev != nil {
		select {
		case <-prev.done:
		case <-ctx.Done():
			return
		}
	}
	p.mu.Lock()
	kinds, filter := slices.Clone(p.kinds), p.filter
	p.mu.Unlock()
	joined, err := p.b.Join(ctx, p.roomName, room.ParticipantInfo{
		Identity: p.id + companionSuffix, Name: p.id, Kind: room.ParticipantKindBot, Hidden: true,
	})
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("livekit: the participant's receiving companion did not join; it receives no tracks", "err", err)
		}
		return
	}
	cp := joined.(*participant)
	defer func() {
		if err := cp.Leave("released"); err != nil {
			p.log.Debug("companion leave", "err", err)
		}
	}()
	if kinds != nil {
		cp.SetKindFilter(kinds...)
	}
	// Not the participant's own tracks, which it would otherwise receive.
	cp.SetTrackFilter(func(id string) bool { return id != p.id && (filter == nil || filter(id)) })
	p.mu.Lock()
	if p.comp != c {
		p.mu.Unlock()
		return // released while joining
	}
	c.part = cp
	p.mu.Unlock()
	cp.OnTrack(p.deliver)
	p.log.Info("receiving through a companion participant", "companion", cp.id)
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-cp.Events():
			if !ok {
				p.log.Warn("livekit: the participant's receiving companion was removed; it receives no more tracks")
				return
			}
		}
	}
}

// deliver hands a companion's track to p's handler, on the companion's
// dispatch goroutine.
func (p *participant) deliver(rt room.RemoteTrack) {
	p.mu.Lock()
	fn := p.handler
	ok := !p.closed && p.wantTracks
	p.mu.Unlock()
	if ok && fn != nil {
		fn(rt)
	}
}

// companionPart is the joined companion, nil when none.
func (p *participant) companionPart() *participant {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.comp == nil {
		return nil
	}
	return p.comp.part
}

// ReleaseTracks implements room.TrackReleaser: the participant's remote
// tracks end, LiveKit is asked to stop forwarding them (a publish-only
// participant's companion leaves) and nothing more is subscribed until
// OnTrack is called again.
func (p *participant) ReleaseTracks() {
	p.mu.Lock()
	was := p.wantTracks
	p.handler, p.wantTracks = nil, false
	remote := p.remote
	p.remote = map[string]*remoteTrack{}
	p.queue = nil
	p.stopCompanionLocked()
	closed := p.closed
	for id, rt := range remote {
		p.released[id] = rt
	}
	p.mu.Unlock()
	for _, rt := range remote {
		rt.release()
	}
	if !was || closed || p.publishOnly {
		return
	}
	// Every publication it may have asked for, subscribed or on its way.
	for _, rp := range p.lk.Load().GetRemoteParticipants() {
		if !p.wants(rp) {
			continue
		}
		for _, pub := range rp.TrackPublications() {
			if rpub, ok := pub.(*lksdk.RemoteTrackPublication); ok && p.wantsKind(rpub) {
				if err := rpub.SetSubscribed(false); err != nil {
					p.log.Debug("unsubscribe failed", "track", rpub.SID(), "err", err)
				}
			}
		}
	}
	if !p.hidden {
		p.b.audienceChanged(p.roomName) // a visible listener fewer
	}
}

// trackEnded runs when a subscribed track's RTP has ended. LiveKit
// applies subscriptions as a wanted state, so an unsubscription of
// ReleaseTracks followed at once by a subscription of OnTrack would change
// nothing on the server while the adapter has ended the track: a track
// released is subscribed again only once its old RTP has ended (LiveKit
// took it off the PeerConnection), here.
func (p *participant) trackEnded(rt *remoteTrack, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	p.mu.Lock()
	if p.released[rt.id] != rt {
		p.mu.Unlock()
		return
	}
	delete(p.released, rt.id)
	again := p.wantTracks && !p.closed
	p.mu.Unlock()
	if again && p.wants(rp) && p.wantsKind(pub) {
		p.subscribe(pub)
	}
}
