package sfu

import "github.com/roombridge/roombridge/gateway/room"

// SetKindFilter implements room.KindFilter: a bot that takes only audio
// (the room hub) is never given video tracks, so nothing depacketizes
// video for it; a room system's leg that takes only video leaves the
// audio to the hub.
func (b *bot) SetKindFilter(kinds ...room.TrackKind) {
	b.mu.Lock()
	b.kinds = append([]room.TrackKind{}, kinds...)
	b.mu.Unlock()
}
