package livekit

import (
	"slices"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/roombridge/roombridge/gateway/room"
)

var (
	_ room.KindFilter   = (*participant)(nil)
	_ room.SourcedTrack = (*remoteTrack)(nil)
)

// SetKindFilter implements room.KindFilter: LiveKit is asked to forward
// only tracks of kinds, so that a participant taking audio only (the room
// hub) costs no video forwarding at all.
func (p *participant) SetKindFilter(kinds ...room.TrackKind) {
	p.mu.Lock()
	p.kinds = append([]room.TrackKind{}, kinds...)
	p.mu.Unlock()
}

// wantsKind applies the kind filter to a publication.
func (p *participant) wantsKind(pub lksdk.TrackPublication) bool {
	p.mu.Lock()
	kinds := p.kinds
	p.mu.Unlock()
	return kinds == nil || slices.Contains(kinds, kindOf(pub.Kind()))
}

func kindOf(k lksdk.TrackKind) room.TrackKind {
	if k == lksdk.TrackKindVideo {
		return room.TrackKindVideo
	}
	return room.TrackKindAudio
}

// Source implements room.SourcedTrack.
func (t *remoteTrack) Source() room.TrackSource { return t.source }

// trackSource maps LiveKit's track source to the room's (video only).
func trackSource(kind room.TrackKind, s lkproto.TrackSource) room.TrackSource {
	if kind != room.TrackKindVideo {
		return room.TrackSourceUnknown
	}
	if s == lkproto.TrackSource_SCREEN_SHARE {
		return room.TrackSourceScreen
	}
	return room.TrackSourceCamera
}

// publicationOptions names and sources a published video track as
// LiveKit's clients expect: "camera" or "screen" with the matching source,
// so that LiveKit's own clients lay a screen share out as one.
func videoPublicationOptions(src room.TrackSource) *lksdk.TrackPublicationOptions {
	if src == room.TrackSourceScreen {
		return &lksdk.TrackPublicationOptions{Name: "screen", Source: lkproto.TrackSource_SCREEN_SHARE, VideoWidth: 1920, VideoHeight: 1080}
	}
	return &lksdk.TrackPublicationOptions{Name: "camera", Source: lkproto.TrackSource_CAMERA, VideoWidth: 1280, VideoHeight: 720}
}
