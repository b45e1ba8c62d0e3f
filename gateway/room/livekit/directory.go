package livekit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	lkproto "github.com/livekit/protocol/livekit"

	"github.com/roombridge/roombridge/gateway/room"
)

// Participants implements room.Directory through RoomService.ListParticipants;
// hidden participants are left out.
func (b *Backend) Participants(ctx context.Context, roomName string) ([]room.ParticipantState, error) {
	res, err := b.rs.ListParticipants(ctx, &lkproto.ListParticipantsRequest{Room: roomName})
	if err != nil {
		err = apiError("list participants", err, room.ErrRoomNotFound)
		if isNotFound(err) {
			return []room.ParticipantState{}, nil
		}
		return nil, err
	}
	out := make([]room.ParticipantState, 0, len(res.Participants))
	for _, pi := range res.Participants {
		if pi.Permission != nil && pi.Permission.Hidden {
			continue
		}
		if pi.State == lkproto.ParticipantInfo_DISCONNECTED {
			continue
		}
		out = append(out, participantState(pi))
	}
	slices.SortFunc(out, func(a, b room.ParticipantState) int {
		return cmp.Or(a.JoinedAt.Compare(b.JoinedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func isNotFound(err error) bool {
	return errors.Is(err, room.ErrRoomNotFound)
}

// participantState maps LiveKit's view of a participant to the room's.
func participantState(pi *lkproto.ParticipantInfo) room.ParticipantState {
	st := room.ParticipantState{ID: pi.Identity, Name: pi.Name, Kind: roomKind(pi.Kind)}
	st.Attributes, st.Pinned = splitPin(pi.Attributes)
	switch {
	case pi.JoinedAtMs > 0:
		st.JoinedAt = time.UnixMilli(pi.JoinedAtMs)
	case pi.JoinedAt > 0:
		st.JoinedAt = time.Unix(pi.JoinedAt, 0)
	}
	for _, ti := range pi.Tracks {
		st.Tracks = append(st.Tracks, room.TrackState{
			ID: ti.Sid, Kind: trackKind(ti.Type), Codec: ti.MimeType, Muted: ti.Muted,
			Source: trackSource(trackKind(ti.Type), ti.Source),
		})
	}
	st.AudioMuted, st.VideoMuted = mutedKinds(st.Tracks)
	return st
}

func trackKind(t lkproto.TrackType) room.TrackKind {
	switch t {
	case lkproto.TrackType_AUDIO:
		return room.TrackKindAudio
	case lkproto.TrackType_VIDEO:
		return room.TrackKindVideo
	default:
		return room.TrackKindUnknown
	}
}

// MuteParticipant implements room.Directory through
// RoomService.MutePublishedTrack on each of the participant's tracks of
// kind. The participant is told with EventMuted (a LiveKit client with its
// own mute indicator). Unmuting needs `room.enable_remote_unmute: true` in
// LiveKit's config; without it LiveKit refuses.
func (b *Backend) MuteParticipant(ctx context.Context, roomName, id string, kind room.TrackKind, muted bool) error {
	pi, err := b.rs.GetParticipant(ctx, &lkproto.RoomParticipantIdentity{Room: roomName, Identity: id})
	if err != nil {
		return apiError("get participant", err, room.ErrParticipantNotFound)
	}
	if pi.Permission != nil && pi.Permission.Hidden {
		return fmt.Errorf("%w: %q in room %q", room.ErrParticipantNotFound, id, roomName)
	}
	for _, ti := range pi.Tracks {
		if trackKind(ti.Type) != kind || ti.Muted == muted {
			continue
		}
		_, err := b.rs.MutePublishedTrack(ctx, &lkproto.MuteRoomTrackRequest{
			Room: roomName, Identity: id, TrackSid: ti.Sid, Muted: muted,
		})
		if err != nil {
			return apiError("mute track", err, room.ErrParticipantNotFound)
		}
	}
	return nil
}

// RemoveParticipant implements room.Directory through
// RoomService.RemoveParticipant. A participant of this gateway gets
// EventRemoved with reason; others see LiveKit's own notice.
func (b *Backend) RemoveParticipant(ctx context.Context, roomName, id, reason string) error {
	if reason == "" {
		reason = "removed"
	}
	if p := b.own(roomName, id); p != nil {
		p.setKickReason(reason)
	}
	_, err := b.rs.RemoveParticipant(ctx, &lkproto.RoomParticipantIdentity{Room: roomName, Identity: id})
	return apiError("remove participant", err, room.ErrParticipantNotFound)
}

// CreateRoom implements room.RoomCreator through RoomService.CreateRoom,
// which returns the room when it exists already. Rooms stay while empty
// (LiveKit's own default would delete them after a few minutes): their
// lifetime is the gateway store's.
func (b *Backend) CreateRoom(ctx context.Context, roomName string) error {
	_, err := b.rs.CreateRoom(ctx, &lkproto.CreateRoomRequest{Name: roomName, EmptyTimeout: keepEmptyRoom})
	return apiError("create room", err, room.ErrRoomNotFound)
}

var _ room.RoomCreator = (*Backend)(nil)

// keepEmptyRoom is the empty timeout of rooms the gateway creates: 30 days,
// renewed by every CreateRoom (the gateway calls it at every start).
const keepEmptyRoom = 30 * 24 * 3600

// CloseRoom implements room.Directory through RoomService.DeleteRoom: every
// participant is disconnected.
func (b *Backend) CloseRoom(ctx context.Context, roomName string) error {
	_, err := b.rs.DeleteRoom(ctx, &lkproto.DeleteRoomRequest{Room: roomName})
	return apiError("delete room", err, room.ErrRoomNotFound)
}
