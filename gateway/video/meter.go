package video

// ClockRate is the RTP clock of H.264 (RFC 6184 §8.2.1).
const ClockRate = 90000

// meterWindow is how many frames the rates are averaged over: about two
// seconds at 30 fps, a few more at the low rates of content sharing.
const meterWindow = 64

// Meter measures the frame rate and bitrate of one stream from its RTP
// timestamps, over the last frames, so that the figures need no clock and
// follow what the sender does (a room system drops its rate under
// congestion). The zero value is ready; it does not allocate.
//
// The window runs on a timeline of its own: a timestamp that repeats,
// goes back or leaps more than ten seconds (a sender that restarts its
// clock; baresip does when its file source loops) counts as one more
// frame interval like the last one, so the figures do not collapse.
type Meter struct {
	ts    [meterWindow]uint32 // on the meter's own timeline
	bytes [meterWindow]int
	next  int // slot of the next frame
	n     int // frames in the window
	sum   int // bytes of the frames in the window

	lastIn   uint32 // last timestamp seen, as sent
	lastStep uint32 // last sane step between frames
}

// Frame records one frame of size bytes with RTP timestamp ts.
func (m *Meter) Frame(ts uint32, size int) {
	vts := ts
	if m.n > 0 {
		last := m.ts[(m.next+meterWindow-1)%meterWindow]
		step := ts - m.lastIn
		if d := int32(step); d <= 0 || d > 10*ClockRate {
			step = m.lastStep
			if step == 0 {
				step = ClockRate / 30
			}
		} else {
			m.lastStep = step
		}
		vts = last + step
	}
	m.lastIn = ts
	if m.n == meterWindow {
		m.sum -= m.bytes[m.next]
	} else {
		m.n++
	}
	m.ts[m.next], m.bytes[m.next] = vts, size
	m.sum += size
	m.next = (m.next + 1) % meterWindow
}

// Rates returns the frame rate (frames per second) and bitrate (bit/s)
// over the window, 0 and 0 until two frames are in it.
func (m *Meter) Rates() (fps float64, bitrate int) {
	if m.n < 2 {
		return 0, 0
	}
	first := (m.next + meterWindow - m.n) % meterWindow
	last := (m.next + meterWindow - 1) % meterWindow
	span := float64(m.ts[last]-m.ts[first]) / ClockRate
	if span <= 0 {
		return 0, 0
	}
	// The first frame's bytes were sent before the span began.
	bits := float64(m.sum-m.bytes[first]) * 8
	return float64(m.n-1) / span, int(bits / span)
}
