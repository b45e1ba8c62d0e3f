package livekit

import (
	"context"
	"errors"
	"fmt"
	"maps"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/roombridge/roombridge/gateway/room"
)

// The pin of a LiveKit room is an attribute of the pinned participant, set
// and cleared through RoomService.UpdateParticipant: it lives in LiveKit,
// so every gateway node sharing the room sees the same pin, and it ends by
// itself when the participant leaves. Participants learn of it from the
// attribute updates LiveKit sends everyone.
const attrPinned = "roombridge.pinned"

var _ room.Pinner = (*Backend)(nil)

// splitPin takes the pin attribute out of a participant's attributes.
func splitPin(attrs map[string]string) (map[string]string, bool) {
	v, ok := attrs[attrPinned]
	if !ok {
		return attrs, false
	}
	out := maps.Clone(attrs)
	delete(out, attrPinned)
	return out, v != ""
}

// Pin implements room.Pinner: the new pin is set before the old one is
// cleared, so that participants never see a moment with no pin.
func (b *Backend) Pin(ctx context.Context, roomName, id string) error {
	pi, err := b.rs.GetParticipant(ctx, &lkproto.RoomParticipantIdentity{Room: roomName, Identity: id})
	if err != nil {
		return apiError("get participant", err, room.ErrParticipantNotFound)
	}
	if pi.Permission != nil && pi.Permission.Hidden {
		return fmt.Errorf("%w: %q in room %q", room.ErrParticipantNotFound, id, roomName)
	}
	if err := b.setPinAttr(ctx, roomName, id, "1"); err != nil {
		return err
	}
	res, err := b.rs.ListParticipants(ctx, &lkproto.ListParticipantsRequest{Room: roomName})
	if err != nil {
		return apiError("list participants", err, room.ErrRoomNotFound)
	}
	for _, o := range res.Participants {
		if o.Identity != id && o.Attributes[attrPinned] != "" {
			if err := b.setPinAttr(ctx, roomName, o.Identity, ""); err != nil && !isNotFoundErr(err) {
				return err
			}
		}
	}
	return nil
}

// Unpin implements room.Pinner.
func (b *Backend) Unpin(ctx context.Context, roomName, id string) error {
	pi, err := b.rs.GetParticipant(ctx, &lkproto.RoomParticipantIdentity{Room: roomName, Identity: id})
	if err != nil {
		if err = apiError("get participant", err, room.ErrParticipantNotFound); isNotFoundErr(err) {
			return nil // gone: its pin went with it
		}
		return err
	}
	if pi.Attributes[attrPinned] == "" {
		return nil
	}
	if err := b.setPinAttr(ctx, roomName, id, ""); err != nil && !isNotFoundErr(err) {
		return err
	}
	return nil
}

// Pinned implements room.Pinner.
func (b *Backend) Pinned(ctx context.Context, roomName string) (string, error) {
	res, err := b.rs.ListParticipants(ctx, &lkproto.ListParticipantsRequest{Room: roomName})
	if err != nil {
		if err = apiError("list participants", err, room.ErrRoomNotFound); isNotFound(err) {
			return "", nil
		}
		return "", err
	}
	for _, pi := range res.Participants {
		if pi.Attributes[attrPinned] != "" && pi.State != lkproto.ParticipantInfo_DISCONNECTED {
			return pi.Identity, nil
		}
	}
	return "", nil
}

// setPinAttr sets (v "1") or clears (v "") the pin attribute; LiveKit
// merges attributes, and an empty value deletes one.
func (b *Backend) setPinAttr(ctx context.Context, roomName, id, v string) error {
	_, err := b.rs.UpdateParticipant(ctx, &lkproto.UpdateParticipantRequest{
		Room: roomName, Identity: id, Attributes: map[string]string{attrPinned: v},
	})
	return apiError("update participant", err, room.ErrParticipantNotFound)
}

// isNotFoundErr: the participant or its room is gone.
func isNotFoundErr(err error) bool {
	return isNotFound(err) || errors.Is(err, room.ErrParticipantNotFound)
}

// onAttributesChanged turns changes of the pin attribute into EventPinned.
func (p *participant) onAttributesChanged(changed map[string]string, who lksdk.Participant) {
	if v, ok := changed[attrPinned]; ok {
		p.pinChanged(who.Identity(), v != "")
	}
}

// pinChanged: the pin attribute of who was set or cleared.
func (p *participant) pinChanged(who string, pinned bool) {
	if pinned {
		p.setPinned(who, "")
		return
	}
	p.setPinned("", who)
}

// setPinned records the room's pin (or with id "", clears the pin of
// only) and emits EventPinned when it changed.
func (p *participant) setPinned(id, only string) {
	p.mu.Lock()
	if (only != "" && p.pinned != only) || p.pinned == id {
		p.mu.Unlock()
		return
	}
	p.pinned = id
	p.mu.Unlock()
	p.emit(room.Event{Type: room.EventPinned, Pinned: id})
}

// pinAtJoin tells a participant that joins a room with a pin.
func (p *participant) pinAtJoin() {
	peers, _, _ := p.roomView()
	for _, rp := range peers {
		if rp.pinned {
			p.setPinned(rp.identity, "")
			return
		}
	}
}
