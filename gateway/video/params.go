package video

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// maxParamSet bounds a stored SPS or PPS. Real ones are 10–60 bytes; an
// SPS with scaling lists stays under a few hundred.
const maxParamSet = 512

// ParamSets keeps the latest SPS and PPS of one H.264 stream, so that an
// IDR arriving without them (room systems often send them only at the
// start, or out of band in sprop-parameter-sets) can be made decodable:
// browsers' decoders need them in front of every IDR they start from.
//
// Only the latest of each is kept, whatever its id: room systems and
// browsers use id 0 throughout. Storing copies into fixed arrays keeps
// the steady state free of allocation.
type ParamSets struct {
	sps, pps       [maxParamSet]byte
	spsLen, ppsLen int
	info           SPS
	infoOK         bool
}

// Observe stores nal if it is an SPS or PPS, and reports whether it is an
// SPS different from the one kept (a new picture size, say). Oversized
// or undecodable SPSs are not kept.
func (p *ParamSets) Observe(nal []byte) (spsChanged bool) {
	switch NALType(nal) {
	case NALSPS:
		if len(nal) > maxParamSet || bytes.Equal(nal, p.sps[:p.spsLen]) {
			return false
		}
		info, err := ParseSPS(nal)
		if err != nil {
			return false
		}
		p.spsLen = copy(p.sps[:], nal)
		p.info, p.infoOK = info, true
		return true
	case NALPPS:
		if len(nal) <= maxParamSet {
			p.ppsLen = copy(p.pps[:], nal)
		}
	}
	return false
}

// Complete reports whether both an SPS and a PPS are known.
func (p *ParamSets) Complete() bool { return p.spsLen > 0 && p.ppsLen > 0 }

// SPS returns the decoded latest SPS.
func (p *ParamSets) SPS() (SPS, bool) { return p.info, p.infoOK }

// AppendTo appends the SPS and PPS in Annex B form to dst.
func (p *ParamSets) AppendTo(dst []byte) []byte {
	if p.spsLen > 0 {
		dst = append(append(dst, startCode...), p.sps[:p.spsLen]...)
	}
	if p.ppsLen > 0 {
		dst = append(append(dst, startCode...), p.pps[:p.ppsLen]...)
	}
	return dst
}

// SetSprop seeds the parameter sets from an SDP sprop-parameter-sets value
// (RFC 6184 §8.1: base64 NAL units separated by commas).
func (p *ParamSets) SetSprop(v string) error {
	for part := range strings.SplitSeq(strings.TrimSpace(v), ",") {
		nal, err := base64.StdEncoding.DecodeString(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("%w: sprop-parameter-sets: %w", ErrMalformed, err)
		}
		switch NALType(nal) {
		case NALSPS:
			if _, err := ParseSPS(nal); err != nil {
				return err
			}
			p.Observe(nal)
		case NALPPS:
			p.Observe(nal)
		}
	}
	return nil
}

// Prepare returns au ready for a decoder that starts at it: an access
// unit with an IDR but without an SPS or PPS in front of the first IDR
// slice gets the kept ones inserted there, built in dst (reused, grown as
// needed); anything else comes back as it is, without a copy. The
// parameter sets au carries are kept for later. key reports an IDR;
// decodable is false for an IDR whose parameter sets are unknown.
//
// Room-side sources go through Prepare before the [Switcher] hands them to
// a room system, which may start decoding at any of their keyframes.
func (p *ParamSets) Prepare(au, dst []byte) (out []byte, key, decodable bool) {
	hasSPS, hasPPS := false, false
	idrAt := -1
	for nal, rest := NextNAL(au); nal != nil || rest != nil; nal, rest = NextNAL(rest) {
		switch NALType(nal) {
		case NALSPS:
			hasSPS = true
			p.Observe(nal)
		case NALPPS:
			hasPPS = true
			p.Observe(nal)
		case NALIDR:
			if idrAt < 0 {
				idrAt = prefixStart(au, nal)
			}
		}
	}
	if idrAt < 0 {
		return au, false, true
	}
	if hasSPS && hasPPS {
		return au, true, true
	}
	if !p.Complete() {
		return au, true, false
	}
	dst = append(dst[:0], au[:idrAt]...)
	dst = p.AppendTo(dst)
	dst = append(dst, au[idrAt:]...)
	return dst, true, true
}

// prefixStart returns where the start code in front of nal begins in au;
// nal must be a sub-slice of au (from NextNAL), whose offset the
// capacities tell without a search.
func prefixStart(au, nal []byte) int {
	i := cap(au) - cap(nal)
	if i >= 3 && au[i-1] == 1 && au[i-2] == 0 && au[i-3] == 0 {
		i -= 3
		if i > 0 && au[i-1] == 0 {
			i--
		}
	}
	return i
}
