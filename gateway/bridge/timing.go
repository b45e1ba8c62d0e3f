package bridge

import "time"

// Media timing shared by legs and hubs: every stage works on 20 ms frames.
const (
	// FrameDuration is the length of every frame and of one clock tick.
	FrameDuration = 20 * time.Millisecond
	// narrowRate and wideRate are the two rates the room mix runs at.
	narrowRate = 8000
	wideRate   = 16000
	// maxFrame is one frame at the highest PCM rate a stage works at.
	maxFrame = wideRate / 50
	// maxConceal is how many frames in a row are concealed before a
	// missing stream is played as silence: PLC fades out by 60 ms anyway,
	// and repeating longer only sounds like a stuck record.
	maxConceal = 5
	// maxCatchUp is how many ticks a late clock runs back to back before
	// it gives up on the lost time and starts afresh: a few frames of
	// burst are what jitter buffers absorb, a long stall is better skipped.
	maxCatchUp = 5
)

// samples is the number of samples in one frame at rate.
func samples(rate int) int { return rate / 50 }

// tickDue reports whether the clock tick scheduled for next is due when
// the ticker fires at now. A ticker sends the time it was due, and the
// hub's schedule starts a few microseconds after its ticker, so the two
// differ by that much in either direction: comparing them exactly made
// the hub skip a fire whenever the ticker's time fell just before the
// schedule's, run that tick a whole frame late on the next fire (two back
// to back) and count it late. Half a frame of slack absorbs the
// difference and no more.
func tickDue(now, next time.Time) bool { return !now.Before(next.Add(-FrameDuration / 2)) }
