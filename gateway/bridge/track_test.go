package bridge

import (
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/mixer"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/framequeue"
)

// queueTrack is a remote track backed by a framequeue, as both backends'
// are; it can be polled (room.FramePoller) or not.
type queueTrack struct {
	*framequeue.Queue
}

func (queueTrack) ID() string                                        { return "t1" }
func (queueTrack) Kind() room.TrackKind                              { return room.TrackKindAudio }
func (queueTrack) Codec() string                                     { return "audio/opus" }
func (queueTrack) ParticipantID() string                             { return "web" }
func (q queueTrack) ReadFrame(b []byte) (int, room.FrameInfo, error) { return q.Read(b) }

// blockingTrack hides PollFrame: only ReadFrame, which waits.
type blockingTrack struct{ q queueTrack }

func (b blockingTrack) ID() string            { return b.q.ID() }
func (b blockingTrack) Kind() room.TrackKind  { return b.q.Kind() }
func (b blockingTrack) Codec() string         { return b.q.Codec() }
func (b blockingTrack) ParticipantID() string { return b.q.ParticipantID() }

func (b blockingTrack) ReadFrame(buf []byte) (int, room.FrameInfo, error) { return b.q.ReadFrame(buf) }

var (
	_ room.FramePoller = queueTrack{}
	_ room.RemoteTrack = blockingTrack{}
)

// opusTone makes n 20 ms Opus frames of a tone as a browser sends them:
// complexity 9 (Chrome's on desktops), with in-band FEC (the encoder is
// told to expect loss, as a browser's is when its peer reports some).
func opusTone(t testing.TB, freq float64, n int) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(wideRate, 1, opus.EncoderConfig{Complexity: 9, LossPercent: 20})
	if err != nil {
		t.Fatal(err)
	}
	gen := tone.NewGenerator(freq, wideRate, 10000)
	pcm := make([]int16, samples(wideRate))
	frames := make([][]byte, n)
	for i := range frames {
		gen.Fill(pcm)
		buf := make([]byte, opus.MaxFrameBytes)
		k, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = buf[:k]
	}
	return frames
}

// trackRig is a remote track in a one-listener mix, ticked by hand.
type trackRig struct {
	t   *testing.T
	mix *mixer.Hub
	tr  *remoteTrack
	lis *mixer.Listener
	out []int16
}

func newTrackRig(t *testing.T, rt room.RemoteTrack, pumps *sync.WaitGroup) *trackRig {
	mix, err := mixer.New(mixer.Config{Rate: wideRate})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := newRemoteTrack(rt, mix.AddSource("web"), wideRate)
	if err != nil {
		t.Fatal(err)
	}
	if tr.q == nil {
		tr.pump(pumps)
	}
	return &trackRig{t: t, mix: mix, tr: tr, lis: mix.AddListener(nil), out: make([]int16, samples(wideRate))}
}

// tick runs one clock tick and returns the power of freq in what the
// listener hears.
func (r *trackRig) tick(freq float64) float64 {
	r.tr.pull()
	r.mix.Tick()
	r.lis.Read(r.out)
	return tone.Power(r.out, wideRate, freq)
}

// A polled track plays straight from the backend's queue; a frame that
// follows a loss the queue absorbed brings the lost frame back from its
// FEC, so that the listener hears the tone in every 20 ms frame; the
// track ends when the queue does.
func TestRemoteTrackPolledGapRecoversFEC(t *testing.T) {
	q := queueTrack{framequeue.New(50)}
	r := newTrackRig(t, q, nil)
	if r.tr.q == nil {
		t.Fatal("a FramePoller track got a pump")
	}
	frames := opusTone(t, 1000, 40)
	// Three frames queued: the track plays at once.
	for _, f := range frames[:3] {
		q.Push(f, room.FrameInfo{})
	}
	i := 3
	quiet := 0
	for tick := range 30 {
		// One frame arrives per tick; frame 15 is lost on the way, and
		// frame 16 says so.
		if i == 15 {
			i++
			q.Push(frames[i], room.FrameInfo{Gap: true})
		} else {
			q.Push(frames[i], room.FrameInfo{})
		}
		i++
		if p := r.tick(1000); tick > 3 && p < 0.01 {
			quiet++
			t.Logf("tick %d: power %.4f", tick, p)
		}
	}
	if r.tr.recovered != 1 {
		t.Errorf("recovered %d frames from FEC, want 1", r.tr.recovered)
	}
	if quiet > 0 {
		t.Errorf("%d frames without the tone", quiet)
	}
	q.Close()
	for range 10 {
		r.tick(1000)
	}
	if !r.tr.done() {
		t.Error("the track did not end with its queue")
	}
	if n := testing.AllocsPerRun(50, func() {
		q2 := r.tr
		q2.pull()
	}); n != 0 {
		t.Errorf("pull allocates %v", n)
	}
}

// A queue that grew past trackQueue (the clock stalled) is cut back to
// trackPrime frames: fresh audio, not lasting delay. A loss whose slot was
// already concealed is not recovered a second time.
func TestRemoteTrackTrimAndConcealedGap(t *testing.T) {
	q := queueTrack{framequeue.New(50)}
	r := newTrackRig(t, q, nil)
	frames := opusTone(t, 440, 20)
	for _, f := range frames[:12] {
		q.Push(f, room.FrameInfo{})
	}
	r.tick(440)
	if r.tr.drops != 10 || q.Queued() != 1 {
		t.Fatalf("after a stall: %d dropped, %d queued; want 10 dropped and 1 left", r.tr.drops, q.Queued())
	}
	r.tick(440) // plays the last one
	r.tick(440) // nothing came: concealed
	if r.tr.concealed != 1 {
		t.Fatalf("concealed %d", r.tr.concealed)
	}
	q.Push(frames[13], room.FrameInfo{Gap: true})
	r.tick(440)
	if r.tr.recovered != 0 {
		t.Errorf("a loss already concealed was recovered again from FEC")
	}
}

// A backend whose tracks cannot be polled gets one pump goroutine per
// track, which carries the gap flag through and ends with the track.
func TestRemoteTrackPump(t *testing.T) {
	q := queueTrack{framequeue.New(50)}
	var pumps sync.WaitGroup
	r := newTrackRig(t, blockingTrack{q}, &pumps)
	frames := opusTone(t, 1000, 30)
	// moved waits until the pump has moved everything pushed so far.
	moved := func(want int) {
		deadline := time.Now().Add(5 * time.Second)
		for q.Queued() > 0 || r.tr.q.Queued() < want {
			if time.Now().After(deadline) {
				t.Fatalf("the pump did not move the frames: %d left, %d moved", q.Queued(), r.tr.q.Queued())
			}
			time.Sleep(time.Millisecond)
		}
	}
	for _, f := range frames[:3] {
		q.Push(f, room.FrameInfo{})
	}
	moved(3)
	heard := 0
	for i := 3; i < len(frames); i++ {
		n := r.tr.q.Queued()
		q.Push(frames[i], room.FrameInfo{Gap: i == 15})
		moved(n + 1)
		if r.tick(1000) > 0.01 {
			heard++
		}
	}
	q.Close()
	pumps.Wait() // the pump ends with the track
	for range 10 {
		r.tick(1000)
	}
	if heard < 25 || r.tr.recovered != 1 || !r.tr.done() {
		t.Errorf("through the pump: %d of 27 frames heard, %d recovered, done %v", heard, r.tr.recovered, r.tr.done())
	}
	if _, _, err := r.tr.q.PollFrame(make([]byte, 10)); !errors.Is(err, io.EOF) {
		t.Errorf("pump queue after the end: %v", err)
	}
}
