package caller_test

import (
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

// A caller whose media loop is held up (its process short of CPU) sends
// the frames it missed when it wakes, with no gap in sequence numbers or
// timestamps; a stall past the catch-up limit loses the frames beyond it,
// counted, and its timestamps jump over them.
func TestCallerCatchesUpAfterAStall(t *testing.T) {
	noLeaks(t)
	type got struct {
		seq uint16
		ts  uint32
	}
	var mu sync.Mutex
	var pkts []got
	srv := uastest.Start(t, uastest.Config{OnRTP: func(p *rtp.Packet) {
		mu.Lock()
		pkts = append(pkts, got{p.SequenceNumber, p.Timestamp})
		mu.Unlock()
	}})
	var once1, once2 sync.Once
	t.Cleanup(caller.SetStallHook(func(tick int) {
		switch {
		case tick >= 20:
			once1.Do(func() { time.Sleep(100 * time.Millisecond) }) // 5 frames: caught up
			if tick >= 50 {
				once2.Do(func() { time.Sleep(400 * time.Millisecond) }) // 20 frames: 10 lost
			}
		}
	}))
	rep, err := run(t, caller.Options{Target: srv.URI("room", "udp"), Codec: caller.CodecPCMU, Tone: 440, Duration: 2 * time.Second})
	if err != nil || !rep.Answered {
		t.Fatalf("%v %+v", err, rep)
	}
	if rep.LateTicks < 2 || rep.SkippedFrames < 8 || rep.SkippedFrames > 14 {
		t.Errorf("late wake-ups %d, skipped frames %d; want ≥ 2 and about 10", rep.LateTicks, rep.SkippedFrames)
	}
	mu.Lock()
	defer mu.Unlock()
	jumps := 0
	for i := 1; i < len(pkts); i++ {
		if pkts[i].seq != pkts[i-1].seq+1 {
			t.Fatalf("sequence gap after %d: %d → %d", i, pkts[i-1].seq, pkts[i].seq)
		}
		if d := pkts[i].ts - pkts[i-1].ts; d != 160 {
			jumps++
			if d != uint32(160*(rep.SkippedFrames+1)) {
				t.Errorf("timestamp step %d after packet %d, want 160 or %d", d, i, 160*(rep.SkippedFrames+1))
			}
		}
	}
	if jumps != 1 {
		t.Errorf("%d timestamp jumps, want one (the long stall)", jumps)
	}
	// 2 s of frames, less the lost ones, give or take the ends.
	if want := 100 - rep.SkippedFrames; len(pkts) < want-5 || len(pkts) > want+2 {
		t.Errorf("%d packets for %d frames due", len(pkts), want)
	}
}
