package sfu

import "errors"

// Errors of package sfu. Errors that callers of room.Backend and
// room.Directory map to status codes wrap the room sentinels instead
// (room.ErrParticipantNotFound, room.ErrClosed, …), so that both backends
// answer alike.
var (
	// ErrRoomFull: the room already holds Config.MaxParticipants.
	ErrRoomFull = errors.New("sfu: room is full")
	// ErrBadMessage: a signalling message was malformed or out of order.
	ErrBadMessage = errors.New("sfu: bad signalling message")
	// ErrNotAdmitted: Config.Admit refused the join.
	ErrNotAdmitted = errors.New("sfu: not admitted")
	// ErrUnknownTrack: RequestKeyframe named a track that is not in the room.
	ErrUnknownTrack = errors.New("sfu: unknown track")
	// ErrSlowClient: the client does not read its signalling fast enough.
	ErrSlowClient = errors.New("sfu: signalling client too slow")
	// ErrSilent: the client's socket was silent for longer than the
	// keepalive allows.
	ErrSilent = errors.New("sfu: client silent")
	// ErrFrameTooLarge: a published frame does not fit the packetizer.
	ErrFrameTooLarge = errors.New("sfu: frame too large")
)

// ErrHiddenPublish: hidden participants receive only.
var ErrHiddenPublish = errors.New("sfu: hidden participant cannot publish")
