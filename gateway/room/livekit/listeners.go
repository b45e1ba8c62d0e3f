package livekit

import (
	"slices"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/roombridge/roombridge/gateway/room"
)

// Whether anyone hears a leg's audio (room.ListenedWriter), so that the
// gateway encodes Opus only for legs someone receives.
//
// LiveKit tells a publisher once, the first time a visible participant
// subscribes to one of its tracks (TrackSubscribed; hidden subscribers,
// such as the gateway's own room hub, do not count), and never when
// subscribers go. The adapter completes that signal with what a
// participant sees of its room:
//
//   - subscribed and someone who could be subscribed is still in the
//     room: a visible participant that is not one of this backend's own
//     participants, or one of them that receives tracks. Once the last one
//     has left, the track is not listened to until someone joins again
//     (LiveKit's clients subscribe to everything by default);
//   - a SIP participant that is not this backend's own: another gateway
//     node's leg, whose node's hidden hub receives this leg's audio
//     without LiveKit saying so (LiveKit's own SIP participants subscribe
//     visibly anyway);
//   - the room is being recorded: egress subscribes as a hidden
//     participant.
//
// The errors all lean towards encoding: a participant that joined without
// subscribing to this leg counts once the leg has had a subscriber.

// listened says whether lt is heard by anyone.
func (p *participant) listened(lt *localTrack) bool {
	return p.recording.Load() || p.foreignSIP.Load() || (lt.subscribed.Load() && p.audience.Load() > 0)
}

// onLocalTrackSubscribed: a visible participant subscribed to one of our
// tracks for the first time. It may come before PublishTrack has returned.
func (p *participant) onLocalTrackSubscribed(pub *lksdk.LocalTrackPublication, _ *lksdk.LocalParticipant) {
	p.localTrackSubscribed(pub.SID())
}

// localTrackSubscribed: a visible participant subscribed to our track sid.
func (p *participant) localTrackSubscribed(sid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for lt := range p.writers {
		if lt.pub != nil && lt.pub.SID() == sid {
			lt.subscribed.Store(true)
			return
		}
	}
	p.subscribedEarly[sid] = true
}

func (p *participant) onRecordingStatusChanged(recording bool) {
	p.recording.Store(recording)
}

// recountAudience counts who in the room could be listening, from the
// participant's current view of it. The SDK calls back on goroutines of
// its own, so recounts are serialized and each one takes a fresh view.
func (p *participant) recountAudience() {
	p.audMu.Lock()
	defer p.audMu.Unlock()
	peers, recording, ok := p.roomView()
	if !ok {
		return
	}
	var audience int32
	foreignSIP := false
	for _, rp := range peers {
		own := p.b.own(p.roomName, rp.identity)
		if own == nil {
			audience++
			foreignSIP = foreignSIP || rp.kind == lkproto.ParticipantInfo_SIP
			continue
		}
		if own.receives(p.id) {
			audience++
		}
	}
	p.audience.Store(audience)
	p.foreignSIP.Store(foreignSIP)
	p.recording.Store(recording)
}

// peer is what the adapter needs of another participant of the room.
type peer struct {
	identity string
	kind     lkproto.ParticipantInfo_Kind
	pinned   bool
}

// roomView is the participant's current view of its room, from its SDK
// client or its lean one; ok is false before it has one.
func (p *participant) roomView() (peers []peer, recording, ok bool) {
	if p.lean != nil {
		return p.lean.roomView()
	}
	lk := p.lk.Load()
	if lk == nil {
		return nil, false, false
	}
	for _, rp := range lk.GetRemoteParticipants() {
		peers = append(peers, peer{
			identity: rp.Identity(), kind: lkproto.ParticipantInfo_Kind(rp.Kind()),
			pinned: rp.Attributes()[attrPinned] != "",
		})
	}
	return peers, lk.IsRecording(), true
}

// receives says whether this participant, one of the backend's own, is a
// visible one that subscribes to publisher's audio (a room system's leg
// takes video only).
func (p *participant) receives(publisher string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wantTracks && !p.hidden && !p.closed && (p.filter == nil || p.filter(publisher)) &&
		(p.kinds == nil || slices.Contains(p.kinds, room.TrackKindAudio))
}

// audienceChanged makes the backend's participants in roomName recount
// their audience: one of them started receiving tracks.
func (b *Backend) audienceChanged(roomName string) {
	b.mu.Lock()
	var ps []*participant
	for k, p := range b.parts {
		if k.room == roomName {
			ps = append(ps, p)
		}
	}
	b.mu.Unlock()
	for _, p := range ps {
		p.recountAudience()
	}
}
