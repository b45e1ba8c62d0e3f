package bridge

// The room mix runs at the lowest rate its legs can hear: 8 kHz while
// every leg of the hub is narrowband (G.711), so that a room of phones
// mixes their PCM as it comes and never resamples 8→16→8 kHz, and 16 kHz
// as soon as one leg hears wideband (G.722, Opus). WebRTC participants do
// not hear the mix (they receive each leg's own Opus track), so they do not
// count; their speech is decoded straight to the mix rate, which libopus
// does natively.

// wantRate is the mix rate legs need.
func wantRate(legs []*Leg) int {
	for _, l := range legs {
		if l.wideband() {
			return wideRate
		}
	}
	return narrowRate
}

// setRate switches the mix to rate between two ticks: the mixer, every
// leg's mix port (the resampling filters start afresh) and every remote
// track's decoder follow. h.mu is held, so that no leg or track joins at
// the old rate meanwhile. A switch allocates (a decoder per remote track),
// but only when a wideband leg arrives or the last one leaves.
func (h *Hub) setRate(rate int) {
	if err := h.mix.SetRate(rate); err != nil {
		h.log.Warn("mix rate not changed", "rate", rate, "err", err)
		return
	}
	for _, l := range h.legs {
		if err := l.port.setMixRate(rate); err != nil {
			h.log.Warn("leg does not follow the mix rate", "leg", l.cfg.ID, "rate", rate, "err", err)
		}
	}
	for _, t := range h.tracks {
		if err := t.setRate(rate); err != nil {
			h.log.Warn("remote track does not follow the mix rate", "track", t.rt.ID(), "rate", rate, "err", err)
		}
	}
	h.rateChanges++
	h.log.Debug("mix rate changed", "rate", rate, "legs", len(h.legs), "tracks", len(h.tracks))
}
