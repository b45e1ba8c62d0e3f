package bridge

import (
	"errors"
	"io"
	"sync"

	"github.com/roombridge/roombridge/gateway/media/mixer"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/room"
)

// Queueing of a remote track's frames between its reader goroutine and the
// hub clock: playing starts (and restarts after an underrun) with
// trackPrime frames queued, a little cushion for network jitter, and the
// queue never holds more than trackQueue, so a stalled clock does not turn
// into lasting latency.
const (
	trackQueue = 6
	trackPrime = 2
	// maxOpusSamples is the longest Opus packet, 120 ms, at 16 kHz.
	maxOpusSamples = 120 * wideRate / 1000
)

// remoteTrack is a remote participant's Opus track as the hub mixes it: a
// reader goroutine moves frames from the backend into a small ring, and the
// hub clock decodes one frame's worth per tick into the track's mixer
// source, once for every listener in the room.
type remoteTrack struct {
	rt  room.RemoteTrack
	src *mixer.Source
	dec *opus.Decoder
	fs  int // samples per frame at the mix rate

	mu    sync.Mutex
	ring  [trackQueue]trackFrame
	head  int
	n     int
	ended bool

	// Clock goroutine state.
	playing bool
	lost    int
	pkt     []byte
	pcm     []int16 // decoded audio not yet mixed
	pend    int     // samples in pcm
	drops   uint64  // frames dropped to bound latency
	errs    uint64  // frames that failed to decode

	readBuf []byte // reader goroutine's buffer
}

type trackFrame struct {
	buf []byte
	n   int
}

func newRemoteTrack(rt room.RemoteTrack, src *mixer.Source, rate int) (*remoteTrack, error) {
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return nil, err
	}
	t := &remoteTrack{
		rt:      rt,
		src:     src,
		dec:     dec,
		fs:      samples(rate),
		pkt:     make([]byte, opus.MaxFrameBytes),
		pcm:     make([]int16, maxFrame+maxOpusSamples),
		readBuf: make([]byte, opus.MaxFrameBytes),
	}
	for i := range t.ring {
		t.ring[i].buf = make([]byte, opus.MaxFrameBytes)
	}
	return t, nil
}

// read moves frames into the ring until the track ends (its publisher
// left, or the hub left the room).
func (t *remoteTrack) read() {
	defer func() {
		t.mu.Lock()
		t.ended = true
		t.mu.Unlock()
	}()
	for {
		n, _, err := t.rt.ReadFrame(t.readBuf)
		if errors.Is(err, io.ErrShortBuffer) {
			continue // not an Opus frame we could decode anyway
		}
		if err != nil {
			return
		}
		t.mu.Lock()
		if t.n == trackQueue {
			t.head = (t.head + 1) % trackQueue
			t.n--
			t.drops++
		}
		f := &t.ring[(t.head+t.n)%trackQueue]
		f.n = copy(f.buf, t.readBuf[:n])
		t.n++
		t.mu.Unlock()
	}
}

// pop copies the next frame into t.pkt, unless the track is (re)priming.
func (t *remoteTrack) pop() (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 || !t.playing && t.n < trackPrime && !t.ended {
		return 0, false
	}
	t.playing = true
	f := &t.ring[t.head]
	n := copy(t.pkt, f.buf[:f.n])
	t.head = (t.head + 1) % trackQueue
	t.n--
	return n, true
}

// pull gives the mixer this tick's 20 ms of the track: decoded frames,
// else a few frames of Opus concealment after a loss, else nothing (the
// source is silent and the track primes again).
func (t *remoteTrack) pull() {
	for t.pend < t.fs {
		n, ok := t.pop()
		if !ok {
			break
		}
		got, err := t.dec.Decode(t.pkt[:n], t.pcm[t.pend:])
		if err != nil {
			t.errs++
			continue
		}
		t.pend += got
		t.lost = 0
	}
	if t.pend >= t.fs {
		_ = t.src.Write(t.pcm[:t.fs])
		t.pend = copy(t.pcm, t.pcm[t.fs:t.pend])
		return
	}
	if t.playing && t.lost < maxConceal {
		t.lost++
		if err := t.dec.DecodeLost(nil, t.pcm[t.pend:t.pend+t.fs]); err == nil {
			_ = t.src.Write(t.pcm[t.pend : t.pend+t.fs])
		}
		return
	}
	t.playing = false
}

// done reports whether the track has ended and everything it queued has
// been played.
func (t *remoteTrack) done() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ended && t.n == 0
}
