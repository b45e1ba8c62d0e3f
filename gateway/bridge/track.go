package bridge

import (
	"errors"
	"io"
	"sync"

	"github.com/roombridge/roombridge/gateway/media/mixer"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/framequeue"
)

// Playout of a remote track from the backend's frame queue: playing starts
// (and restarts after an underrun) once trackPrime frames are queued, or
// after waiting trackPrime ticks for them, a little cushion for network
// jitter; more than trackQueue queued means the clock fell behind, and the
// oldest are dropped down to trackPrime, so that a stall does not turn into
// lasting latency.
const (
	trackQueue = 6
	trackPrime = 2
	// maxOpusSamples is the longest Opus packet, 120 ms, at 16 kHz.
	maxOpusSamples = 120 * wideRate / 1000
)

// remoteTrack is a remote participant's Opus track as the hub mixes it:
// the hub's clock takes its frames from the backend's queue without
// waiting (room.FramePoller) and decodes one frame's worth per tick into
// the track's mixer source, once for every listener in the room. A frame
// that follows a loss (FrameInfo.Gap) first gives the lost frame back from
// its in-band FEC; a frame that does not come in time is concealed.
type remoteTrack struct {
	rt  room.RemoteTrack
	q   room.FramePoller // rt itself, or the queue its pump fills
	src *mixer.Source
	dec *opus.Decoder
	fs  int // samples per frame at the mix rate

	// Clock goroutine state.
	playing   bool
	waited    int // ticks spent priming
	concealed int // frames concealed since the last one decoded
	ended     bool
	pkt       []byte
	pcm       []int16 // decoded audio not yet mixed
	pend      int     // samples in pcm
	drops     uint64  // frames dropped to bound latency
	errs      uint64  // frames that failed to decode
	recovered uint64  // lost frames recovered from FEC
}

func newRemoteTrack(rt room.RemoteTrack, src *mixer.Source, rate int) (*remoteTrack, error) {
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return nil, err
	}
	q, _ := rt.(room.FramePoller)
	return &remoteTrack{
		rt:  rt,
		q:   q,
		src: src,
		dec: dec,
		fs:  samples(rate),
		pkt: make([]byte, opus.MaxFrameBytes),
		// Room for a frame still pending, a frame recovered from FEC and
		// the longest Opus packet.
		pcm: make([]int16, 2*maxFrame+maxOpusSamples),
	}, nil
}

// setRate makes the track decode to the mix's new rate. The decoded audio
// not yet mixed is dropped, and the new decoder starts cold (a frame of
// concealment's worth of glitch, once per switch).
func (t *remoteTrack) setRate(rate int) error {
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return err
	}
	t.dec, t.fs, t.pend = dec, samples(rate), 0
	return nil
}

// pump serves a backend whose tracks cannot be polled: one goroutine moves
// frames from ReadFrame into a queue the clock polls, with their gap flags.
// It returns when the track ends.
func (t *remoteTrack) pump(wg *sync.WaitGroup) {
	q := framequeue.New(2 * trackQueue)
	t.q = q
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer q.Close()
		buf := make([]byte, opus.MaxFrameBytes)
		for {
			n, info, err := t.rt.ReadFrame(buf)
			if errors.Is(err, io.ErrShortBuffer) {
				continue // not an Opus frame we could decode anyway
			}
			if err != nil {
				return
			}
			q.Push(buf[:n], info)
		}
	}()
}

// poll takes the next frame into t.pkt.
func (t *remoteTrack) poll() (int, room.FrameInfo, error) {
	n, info, err := t.q.PollFrame(t.pkt)
	if errors.Is(err, io.ErrShortBuffer) {
		// Larger than any Opus frame: make room once rather than leave
		// it blocking the queue.
		t.pkt = make([]byte, 2*len(t.pkt))
		return t.q.PollFrame(t.pkt)
	}
	return n, info, err
}

// trim drops the oldest frames when the queue holds more than trackQueue.
func (t *remoteTrack) trim() {
	q := t.q.Queued()
	if q <= trackQueue {
		return
	}
	for range q - trackPrime {
		if _, _, err := t.poll(); err != nil {
			return
		}
		t.drops++
	}
}

// pull gives the mixer this tick's 20 ms of the track: decoded frames,
// else a few frames of Opus concealment after a loss, else nothing (the
// source is silent and the track primes again).
func (t *remoteTrack) pull() {
	t.trim()
	for t.pend < t.fs {
		if !t.playing {
			if q := t.q.Queued(); q > 0 && q < trackPrime && t.waited < trackPrime {
				t.waited++
				break
			}
			// Nothing queued: poll anyway, to learn whether it ended.
		}
		n, info, err := t.poll()
		if err != nil {
			t.ended = t.ended || errors.Is(err, io.EOF)
			break
		}
		t.playing, t.waited = true, 0
		frame := t.pkt[:n]
		if info.Gap && t.concealed == 0 {
			// A frame was lost while the queue still had a cushion, so
			// its slot was not concealed: this frame's FEC gives it back.
			if t.dec.DecodeLost(frame, t.pcm[t.pend:t.pend+t.fs]) == nil {
				t.pend += t.fs
				t.recovered++
			}
		}
		got, err := t.dec.Decode(frame, t.pcm[t.pend:])
		if err != nil {
			t.errs++
			continue
		}
		t.pend += got
		t.concealed = 0
	}
	if t.pend >= t.fs {
		_ = t.src.Write(t.pcm[:t.fs])
		t.pend = copy(t.pcm, t.pcm[t.fs:t.pend])
		return
	}
	if t.playing && t.concealed < maxConceal {
		t.concealed++
		if err := t.dec.DecodeLost(nil, t.pcm[t.pend:t.pend+t.fs]); err == nil {
			_ = t.src.Write(t.pcm[t.pend : t.pend+t.fs])
		}
		return
	}
	t.playing, t.waited = false, 0
}

// done reports whether the track has ended and everything it queued has
// been played.
func (t *remoteTrack) done() bool { return t.ended }
