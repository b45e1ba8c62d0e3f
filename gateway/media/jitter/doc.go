// Package jitter is an adaptive jitter buffer for RTP audio: packets go in
// as they arrive (out of order, duplicated, late) and come out one frame per
// tick of the leg's 20 ms clock, in sequence order, with a "lost" verdict
// where a frame is missing so that the caller can conceal it (see
// gateway/media/plc).
//
// The playout delay adapts between Config.MinDelay and Config.MaxDelay from
// the interarrival jitter estimate of RFC 3550 §6.4.1 (appendix A.8): the
// target is MinDelay + 3·J, whole frames. The buffer reaches the target by
// waiting before the first frame of a talkspurt, grows on underruns (the
// playout point stops while the network catches up) and shrinks by dropping
// a frame when it holds more than two frames above the target.
//
// The clock is the caller's: Push takes the arrival time and Pop is called
// once per frame, so tests are deterministic and nothing here starts a
// goroutine or a timer. Payloads are copied into a ring preallocated by New;
// Push and Pop do not allocate.
package jitter
