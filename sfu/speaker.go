package sfu

import (
	"cmp"
	"slices"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// Active-speaker detection from RFC 6464 audio levels: the forwarder sums
// each audio track's levels, and every speakerInterval the room averages
// them, smooths them over ticks (so that one loud packet or a breath pause
// does not flip the list) and announces the list when it changes.
const (
	speakerInterval = 300 * time.Millisecond
	// speakerThreshold is the smoothed loudness (127 - dBov) above which a
	// participant counts as speaking: louder than -50 dBov.
	speakerThreshold = 127 - 50
	speakerSmoothing = 0.5
)

// speakerLoop runs for the room's lifetime.
func (r *roomState) speakerLoop() {
	defer r.sfu.wg.Done()
	tick := time.NewTicker(speakerInterval)
	defer tick.Stop()
	smoothed := map[*pubTrack]float64{}
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			r.speakerTick(smoothed)
		}
	}
}

func (r *roomState) speakerTick(smoothed map[*pubTrack]float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var speakers []SpeakerJSON
	seen := make(map[*pubTrack]bool, len(smoothed))
	for _, m := range r.members {
		if m.hidden {
			continue
		}
		best := 0.0
		for _, t := range m.tracks {
			if t.kind != room.TrackKindAudio {
				continue
			}
			seen[t] = true
			s := smoothed[t]*speakerSmoothing + t.takeLevel()*(1-speakerSmoothing)
			smoothed[t] = s
			best = max(best, s)
		}
		if best >= speakerThreshold {
			speakers = append(speakers, SpeakerJSON{ID: m.id, Level: best / 127})
		}
	}
	for t := range smoothed {
		if !seen[t] {
			delete(smoothed, t)
		}
	}
	slices.SortFunc(speakers, func(a, b SpeakerJSON) int {
		return cmp.Or(cmp.Compare(b.Level, a.Level), cmp.Compare(a.ID, b.ID))
	})
	ids := make([]string, len(speakers))
	for i, s := range speakers {
		ids[i] = s.ID
	}
	if slices.Equal(ids, r.speakers) {
		return
	}
	r.speakers = ids
	for _, m := range r.members {
		m.peer.notify(note{kind: noteSpeakers, speakers: speakers})
	}
}
