package gateway

import (
	"sync"

	"github.com/roombridge/roombridge/gateway/room"
)

// maxSpareTracks bounds the tracks a call keeps while it has no video
// leg to give them to; ended ones are only found out by a leg's poll.
const maxSpareTracks = 32

// trackRouter hands the room's video tracks to a call's video legs: a
// shared screen to the content leg (a=content:slides) when the room
// system has one, every other track, and screens when it has none, to
// the main leg. A track no leg can take waits in spare for the next leg.
//
// Its lock is a leaf: add runs on the backend's OnTrack goroutine and on
// the main leg's out loop (a hand-over), set and addAll under
// callVideo.mu.
type trackRouter struct {
	mu    sync.Mutex
	self  string // the call's participant identity
	legs  [numContents]*videoLeg
	spare []room.RemoteTrack
}

// add routes one track of the room; it is the participant's OnTrack
// handler.
func (r *trackRouter) add(t room.RemoteTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if wantVideoTrack(t, r.self) {
		r.placeLocked(t)
	}
}

// addAll routes the tracks a leg that ended was given.
func (r *trackRouter) addAll(ts []room.RemoteTrack) {
	for _, t := range ts {
		r.add(t)
	}
}

func (r *trackRouter) placeLocked(t room.RemoteTrack) {
	main, slides := r.legs[contentMain], r.legs[contentSlides]
	switch {
	case slides != nil && isScreen(t):
		slides.out.onTrack(t)
	case main != nil:
		main.out.onTrack(t)
	default:
		if len(r.spare) == maxSpareTracks {
			r.spare = r.spare[1:]
		}
		r.spare = append(r.spare, t)
	}
}

// set makes l the leg of stream k (nil: none). A leg gets the tracks
// that waited for one; a content leg also takes the screens from the
// main leg, whose loop hands them over.
func (r *trackRouter) set(k videoContent, l *videoLeg) {
	r.mu.Lock()
	r.legs[k] = l
	spare := r.spare
	r.spare = nil
	for _, t := range spare {
		r.placeLocked(t)
	}
	main := r.legs[contentMain]
	r.mu.Unlock()
	if k == contentSlides && l != nil && main != nil {
		main.out.handOff(isScreen, r.add)
	}
}

// clear forgets the tracks waiting for a leg: the participant released
// them (they have ended).
func (r *trackRouter) clear() {
	r.mu.Lock()
	r.spare = nil
	r.mu.Unlock()
}
