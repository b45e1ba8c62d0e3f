package bridge

import (
	"github.com/roombridge/roombridge/gateway/media/mixer"
	"github.com/roombridge/roombridge/gateway/media/resample"
)

// mixPort is a leg's place in its hub's mixer: its voice goes in and its
// N−1 mix comes out at the mix rate, converted from and to the leg's own
// rate when the two differ (a G.711 leg in a 16 kHz mix). It is used on
// the hub's clock only.
type mixPort struct {
	rate    int // the leg's PCM rate
	mixRate int
	src     *mixer.Source
	lis     *mixer.Listener
	// up and down convert leg ↔ mix rate. A narrowband leg has them from
	// the start, since its room may switch to wideband at any tick; a
	// wideband leg makes them only if its mix ever runs narrower.
	up, down *resample.Resampler
	buf      []int16 // one frame at the mix rate
	wasVoice bool
}

func newMixPort(rate int) (*mixPort, error) {
	m := &mixPort{rate: rate, buf: make([]int16, 0, maxFrame)}
	if rate == narrowRate {
		if err := m.makeResamplers(wideRate); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *mixPort) makeResamplers(mixRate int) error {
	up, err := resample.New(m.rate, mixRate)
	if err != nil {
		return err
	}
	down, err := resample.New(mixRate, m.rate)
	if err != nil {
		return err
	}
	m.up, m.down = up, down
	return nil
}

// join connects the port to a hub's mixer running at mixRate.
func (m *mixPort) join(mix *mixer.Hub, id string, mixRate int) error {
	if err := m.setMixRate(mixRate); err != nil {
		return err
	}
	m.src = mix.AddSource(id)
	m.lis = mix.AddListener(m.src)
	return nil
}

// leave disconnects the port from its mixer.
func (m *mixPort) leave(mix *mixer.Hub) {
	if m.lis != nil {
		mix.RemoveListener(m.lis)
		mix.RemoveSource(m.src)
		m.src, m.lis = nil, nil
	}
}

// setMixRate follows the hub to a new mix rate; the filters start afresh.
func (m *mixPort) setMixRate(r int) error {
	if r != m.rate && (m.up == nil || m.up.OutRate() != r) {
		if err := m.makeResamplers(r); err != nil {
			return err
		}
	}
	m.mixRate = r
	m.buf = m.buf[:samples(r)]
	if m.up != nil {
		m.up.Reset()
		m.down.Reset()
	}
	return nil
}

// write puts this tick's voice frame (at the leg's rate) into the mix; a
// frame that is not voice is not mixed at all.
func (m *mixPort) write(pcm []int16, voice bool) {
	if !voice {
		m.wasVoice = false
		return
	}
	in := pcm
	if m.mixRate != m.rate {
		if !m.wasVoice {
			// The filter's history is from before the pause; start clean.
			m.up.Reset()
		}
		_, _ = m.up.Process(m.buf, pcm)
		in = m.buf
	}
	m.wasVoice = true
	_ = m.src.Write(in)
}

// read copies this tick's N−1 mix, at the leg's rate, into dst.
func (m *mixPort) read(dst []int16) {
	if m.mixRate == m.rate {
		m.lis.Read(dst)
		return
	}
	m.lis.Read(m.buf)
	_, _ = m.down.Process(dst, m.buf)
}
