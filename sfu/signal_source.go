package sfu

import "github.com/roombridge/roombridge/gateway/room"

// A web client says which of its published video tracks is a screen share
// in its "pub" offer: "sources" maps a MediaStreamTrack id (the track id of
// the offer's a=msid line) to "camera" or "screen". Tracks it does not name
// are cameras.

// setSources remembers the sources sent with an offer; the signalling
// read loop calls it before the offer is applied, so a track of that offer
// finds its source in onTrack.
func (p *rtcPeer) setSources(src map[string]string) {
	if len(src) == 0 {
		return
	}
	p.srcMu.Lock()
	defer p.srcMu.Unlock()
	if p.sources == nil {
		p.sources = map[string]room.TrackSource{}
	}
	for id, s := range src {
		if len(p.sources) >= maxSources {
			break
		}
		if ts := room.ParseTrackSource(s); ts != room.TrackSourceUnknown {
			p.sources[id] = ts
		}
	}
}

// maxSources bounds what a client can make the server remember.
const maxSources = 16

// sourceOf is the source of a published track with MediaStreamTrack id.
func (p *rtcPeer) sourceOf(kind room.TrackKind, trackID string) room.TrackSource {
	if kind != room.TrackKindVideo {
		return room.TrackSourceUnknown
	}
	p.srcMu.Lock()
	defer p.srcMu.Unlock()
	if s, ok := p.sources[trackID]; ok {
		return s
	}
	return room.TrackSourceCamera
}
