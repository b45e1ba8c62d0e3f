package livekit

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	lkproto "github.com/livekit/protocol/livekit"
	protosignalling "github.com/livekit/protocol/signalling"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/room"
)

// What a lean participant does with each of LiveKit's messages, on its
// read loop, in order (lean_client.go). Room events go to the
// participant's handlers the SDK callbacks use too.

// onJoinResponse takes the room as it is at the join: these participants
// were there before, so no joined events (as with the SDK).
func (c *leanClient) onJoinResponse(res *lkproto.JoinResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if res.Participant != nil {
		c.sids[res.Participant.Sid] = c.p.id
	}
	c.recording = res.Room.GetActiveRecording()
	for _, pi := range res.OtherParticipants {
		c.peers[pi.Identity] = newLeanPeer(pi)
		c.sids[pi.Sid] = pi.Identity
	}
}

// handle applies one message.
func (c *leanClient) handle(res *lkproto.SignalResponse) {
	switch m := res.Message.(type) {
	case *lkproto.SignalResponse_Answer:
		c.onAnswer(m.Answer)
	case *lkproto.SignalResponse_Trickle:
		c.onTrickle(m.Trickle)
	case *lkproto.SignalResponse_TrackPublished:
		c.mu.Lock()
		ch := c.published[m.TrackPublished.GetCid()]
		delete(c.published, m.TrackPublished.GetCid())
		c.mu.Unlock()
		if ch != nil {
			ch <- m.TrackPublished.Track
		}
	case *lkproto.SignalResponse_TrackSubscribed:
		c.p.localTrackSubscribed(m.TrackSubscribed.GetTrackSid())
	case *lkproto.SignalResponse_Update:
		c.onParticipants(m.Update.GetParticipants())
	case *lkproto.SignalResponse_SpeakersChanged:
		c.onSpeakers(m.SpeakersChanged.GetSpeakers())
	case *lkproto.SignalResponse_RoomUpdate:
		c.mu.Lock()
		c.recording = m.RoomUpdate.GetRoom().GetActiveRecording()
		c.mu.Unlock()
		c.p.recording.Store(m.RoomUpdate.GetRoom().GetActiveRecording())
	case *lkproto.SignalResponse_Mute:
		c.mu.Lock()
		pub := c.pubs[m.Mute.GetSid()]
		c.mu.Unlock()
		if pub != nil && pub.remoteMuted(m.Mute.GetMuted()) {
			c.p.mutedBy(pub.kind, m.Mute.GetMuted())
		}
	case *lkproto.SignalResponse_Leave:
		c.onLeave(m.Leave)
	case *lkproto.SignalResponse_RefreshToken:
		c.mu.Lock()
		c.token = m.RefreshToken
		c.mu.Unlock()
	case *lkproto.SignalResponse_Offer:
		// Single-PeerConnection LiveKit offers only to subscribe; a lean
		// participant never does.
		c.p.log.Debug("LiveKit offered to a publish-only participant; ignored")
	default:
		// Pongs (the read deadline has moved), connection quality,
		// stream state, subscription permissions: nothing to do.
	}
}

// onAnswer applies LiveKit's answer to the offer in flight, then the
// candidates that came before it.
func (c *leanClient) onAnswer(sd *lkproto.SessionDescription) {
	answer, _, _ := protosignalling.FromProtoSessionDescription(sd)
	err := c.pc.SetRemoteDescription(answer)
	c.mu.Lock()
	ch := c.answered
	c.answered = nil
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	if err == nil {
		for _, cand := range pending {
			c.addCandidate(cand)
		}
	}
	if ch != nil {
		ch <- err
	} else if err != nil {
		c.p.log.Warn("LiveKit's answer refused", "err", err)
	}
}

func (c *leanClient) onTrickle(t *lkproto.TrickleRequest) {
	if t.GetTarget() != lkproto.SignalTarget_PUBLISHER {
		return
	}
	cand, err := protosignalling.FromProtoTrickle(t)
	if err != nil {
		c.p.log.Debug("bad ICE candidate from LiveKit", "err", err)
		return
	}
	if c.pc.RemoteDescription() == nil {
		c.mu.Lock()
		c.pending = append(c.pending, cand)
		c.mu.Unlock()
		return
	}
	c.addCandidate(cand)
}

func (c *leanClient) addCandidate(cand webrtc.ICECandidateInit) {
	if err := c.pc.AddICECandidate(cand); err != nil {
		c.p.log.Debug("ICE candidate from LiveKit refused", "err", err)
	}
}

// onParticipants applies a participant update: joins, leaves, and the
// pin attribute's changes of those who stay.
func (c *leanClient) onParticipants(infos []*lkproto.ParticipantInfo) {
	for _, pi := range infos {
		if pi.Identity == c.p.id {
			continue // ourselves: our mutes are told by Mute messages
		}
		c.mu.Lock()
		old, known := c.peers[pi.Identity]
		if known && pi.Version < old.version && pi.State != lkproto.ParticipantInfo_DISCONNECTED {
			c.mu.Unlock()
			continue // stale
		}
		if pi.State == lkproto.ParticipantInfo_DISCONNECTED {
			delete(c.peers, pi.Identity)
			delete(c.sids, pi.Sid)
			delete(c.speakers, pi.Sid)
		} else {
			c.peers[pi.Identity] = newLeanPeer(pi)
			c.sids[pi.Sid] = pi.Identity
		}
		c.mu.Unlock()
		switch {
		case pi.State == lkproto.ParticipantInfo_DISCONNECTED:
			if known {
				c.p.peerLeft(infoState(pi))
			}
		case !known:
			c.p.peerJoined(infoState(pi))
			if pi.Attributes[attrPinned] != "" {
				c.p.pinChanged(pi.Identity, true)
			}
		default:
			if is := pi.Attributes[attrPinned] != ""; old.pinned != is {
				c.p.pinChanged(pi.Identity, is)
			}
		}
	}
}

// onSpeakers applies a change of active speakers (a delta) and emits the
// whole list, loudest first.
func (c *leanClient) onSpeakers(changed []*lkproto.SpeakerInfo) {
	c.mu.Lock()
	for _, si := range changed {
		if si.Active {
			c.speakers[si.Sid] = si.Level
		} else {
			delete(c.speakers, si.Sid)
		}
	}
	sids := slices.SortedFunc(maps.Keys(c.speakers), func(a, b string) int { return cmp.Compare(c.speakers[b], c.speakers[a]) })
	ids := make([]string, 0, len(sids))
	for _, sid := range sids {
		if id, ok := c.sids[sid]; ok {
			ids = append(ids, id)
		}
	}
	c.mu.Unlock()
	c.p.emit(room.Event{Type: room.EventActiveSpeakers, Speakers: ids})
}

// onLeave: LiveKit ends the session (kick, room closed, shutdown,
// duplicate identity). A request to resume or reconnect elsewhere ends it
// too: the lean client does not resume.
func (c *leanClient) onLeave(l *lkproto.LeaveRequest) {
	c.serverLeft.Store(true)
	if c.endJoin(leaveError(l)) {
		return
	}
	c.p.log.Info("LiveKit ended the session", "reason", l.GetReason().String(), "action", l.GetAction().String())
	c.p.disconnectedBy(l.GetReason(), true)
}

// roomView implements participant.roomView for a lean participant.
func (c *leanClient) roomView() ([]peer, bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	peers := make([]peer, 0, len(c.peers))
	for _, lp := range c.peers {
		peers = append(peers, lp.peer)
	}
	return peers, c.recording, true
}

// leanPeer is what a lean participant keeps of another: what the adapter
// uses, and the version of LiveKit's record it came from.
type leanPeer struct {
	peer
	version uint32
}

func newLeanPeer(pi *lkproto.ParticipantInfo) leanPeer {
	return leanPeer{peer: peer{identity: pi.Identity, kind: pi.Kind, pinned: pi.Attributes[attrPinned] != ""}, version: pi.Version}
}

// infoState is the room's view of another participant from its
// ParticipantInfo.
func infoState(pi *lkproto.ParticipantInfo) room.ParticipantState {
	st := room.ParticipantState{ID: pi.Identity, Name: pi.Name, Kind: roomKind(pi.Kind)}
	st.Attributes, st.Pinned = splitPin(pi.Attributes)
	for _, ti := range pi.Tracks {
		ts := room.TrackState{ID: ti.Sid, Kind: room.TrackKindAudio, Codec: ti.MimeType, Muted: ti.Muted}
		if ti.Type == lkproto.TrackType_VIDEO {
			ts.Kind = room.TrackKindVideo
		}
		ts.Source = trackSource(ts.Kind, ti.Source)
		st.Tracks = append(st.Tracks, ts)
	}
	st.AudioMuted, st.VideoMuted = mutedKinds(st.Tracks)
	return st
}

// leaveError is a join LiveKit ended with a LeaveRequest before it was
// complete.
func leaveError(l *lkproto.LeaveRequest) error {
	return fmt.Errorf("%w: livekit join: LiveKit sent leave (%s)", room.ErrUnavailable, reasonText(l.GetReason()))
}
