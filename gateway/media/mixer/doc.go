// Package mixer is the room audio hub: it mixes a room's speakers once per
// 20 ms tick and gives every listener the room minus itself (N−1 mixing),
// at a cost per listener that does not depend on the size of the room.
//
// Sources are the PCM streams entering the room: a phone leg's decoded
// G.711/G.722 audio directly, or a remote Opus track that the caller
// decodes once per room. Each source writes at most one frame per tick from
// its own goroutine (a source that wrote nothing is silent). On Tick the hub
// picks the loudest MaxSpeakers sources, sums them once in int32, and
// prepares MaxSpeakers+1 outputs: the full mix, and the mix minus each
// selected speaker. A listener whose own source is a selected speaker gets
// "sum − own"; every other listener gets "sum". Reading is a copy, so a tick
// costs O(N) bookkeeping plus O(MaxSpeakers·frame) mixing plus one frame copy
// per listener — never O(N²), and never a decode per listener.
//
// Conversion back to 16 bits saturates. Selection is sticky: a source
// selected in the last tick counts Config.StickyDB louder, so that two
// similar voices do not flap in and out of the mix.
//
// Concurrency: Source.Write may be called from any goroutine. Tick,
// Listener.Read and Speakers belong to the hub's clock goroutine, which the
// caller owns (the package starts no goroutines and keeps no timers).
// AddSource, AddListener and the Remove methods may be called from any
// goroutine. Nothing allocates per tick.
package mixer
