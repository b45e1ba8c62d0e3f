package video

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

const (
	rtpHeaderLen = 12
	// DefaultMTU is the RTP packet size (header and payload) a Packetizer
	// makes by default: room for SRTP's tag, IP and UDP headers, and a
	// VPN or tunnel under 1500 bytes.
	DefaultMTU = 1200
	minMTU     = rtpHeaderLen + 3 + 64
)

// PacketizerConfig sets up one outgoing H.264 stream.
type PacketizerConfig struct {
	SSRC        uint32
	PayloadType uint8
	// MTU is the largest RTP packet (12-byte header plus payload);
	// DefaultMTU when 0.
	MTU int
	// Mode is the packetization-mode the room system accepted: 1
	// (non-interleaved: STAP-A and FU-A, RFC 6184 §6.3) or 0 (single NAL
	// unit packets only, §6.2).
	Mode int
	// FirstSequence is the first sequence number; random when 0
	// (RFC 3550 §5.1).
	FirstSequence uint16
}

// PacketizerStats counts what a Packetizer sent.
type PacketizerStats struct {
	Packets uint64
	// Octets counts payload bytes, as RTCP sender reports want them
	// (RFC 3550 §6.4.1).
	Octets uint64
	Frames uint64
	// TooLarge counts access units not sent because, in mode 0, one of
	// their NAL units did not fit the MTU; Skipped counts the access
	// units after one of those that were not sent either, because they
	// depend on it (until the next IDR).
	TooLarge, Skipped uint64
}

// Packetizer turns access units into RTP packets towards a room system.
// One Packetizer serves one outgoing stream for its whole life, which is
// what keeps the SSRC and sequence numbers continuous whatever source the
// [Switcher] picks.
//
// Mode 1 aggregates runs of small NAL units (typically SPS and PPS in
// front of an IDR) into STAP-A packets (RFC 6184 §5.7.1) and splits large
// ones into FU-A fragments of even size (§5.8). Mode 0 sends each NAL
// unit in one packet; an access unit with a NAL unit larger than the MTU
// cannot be sent at all, and Packetize returns ErrNALTooLarge so that the
// caller asks the source for a keyframe (and, better, a smaller picture:
// max-fs and b=AS towards the room). The RTP marker is set on the last
// packet of each access unit (§5.1).
//
// Packets are built in a buffer owned by the Packetizer and handed to the
// send function given to NewPacketizer, which must not keep the slice: it
// encrypts or writes it before returning. No allocation per packet.
type Packetizer struct {
	cfg   PacketizerConfig
	send  func(packet []byte) error
	buf   []byte
	seq   uint16
	ts    uint32
	skip  bool // in mode 0, after a dropped access unit: until an IDR
	stats PacketizerStats
}

// NewPacketizer returns a Packetizer that hands each packet to send.
func NewPacketizer(cfg PacketizerConfig, send func(packet []byte) error) (*Packetizer, error) {
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.MTU < minMTU || cfg.MTU > 65535 {
		return nil, fmt.Errorf("%w: MTU %d, want %d–65535", ErrBufferTooSmall, cfg.MTU, minMTU)
	}
	if cfg.Mode != 0 && cfg.Mode != 1 {
		return nil, fmt.Errorf("%w: packetization-mode %d", ErrUnsupported, cfg.Mode)
	}
	if cfg.PayloadType > 127 {
		return nil, fmt.Errorf("%w: payload type %d", ErrMalformed, cfg.PayloadType)
	}
	seq := cfg.FirstSequence
	if seq == 0 {
		seq = uint16(rand.Uint32())
	}
	return &Packetizer{cfg: cfg, send: send, buf: make([]byte, cfg.MTU), seq: seq}, nil
}

// Stats returns the counters so far.
func (p *Packetizer) Stats() PacketizerStats { return p.stats }

// Next returns the sequence number of the next packet and the timestamp of
// the last access unit sent, for RTCP sender reports.
func (p *Packetizer) Next() (seq uint16, lastTimestamp uint32) { return p.seq, p.ts }

// SSRC returns the stream's SSRC.
func (p *Packetizer) SSRC() uint32 { return p.cfg.SSRC }

// nextNonEmpty skips empty NAL units.
func nextNonEmpty(b []byte) (nal, rest []byte) {
	for {
		nal, rest = NextNAL(b)
		if len(nal) > 0 || rest == nil {
			return nal, rest
		}
		b = rest
	}
}

// Packetize sends one Annex B access unit with RTP timestamp ts. An error
// from send stops the access unit and is returned.
func (p *Packetizer) Packetize(au []byte, ts uint32) error {
	maxPayload := p.cfg.MTU - rtpHeaderLen
	if p.cfg.Mode == 0 {
		key := false
		for nal, rest := nextNonEmpty(au); nal != nil; nal, rest = nextNonEmpty(rest) {
			if len(nal) > maxPayload {
				p.stats.TooLarge++
				p.skip = true
				return fmt.Errorf("%w: %d bytes, MTU payload %d", ErrNALTooLarge, len(nal), maxPayload)
			}
			key = key || NALType(nal) == NALIDR
		}
		if p.skip && !key {
			p.stats.Skipped++
			return nil
		}
		p.skip = false
	}
	p.ts = ts
	p.stats.Frames++
	nal, rest := nextNonEmpty(au)
	for nal != nil {
		next, after := nextNonEmpty(rest)
		switch {
		case p.cfg.Mode == 1 && next != nil && 1+2+len(nal)+2+len(next) <= maxPayload:
			// STAP-A: as many NAL units as fit.
			pl := p.buf[rtpHeaderLen:]
			pl[0] = nalSTAPA
			n := 1
			for nal != nil && n+2+len(nal) <= maxPayload {
				pl[0] |= nal[0] & 0x80 // F: any
				if nri := nal[0] & 0x60; nri > pl[0]&0x60 {
					pl[0] = pl[0]&^0x60 | nri // NRI: the highest
				}
				binary.BigEndian.PutUint16(pl[n:], uint16(len(nal)))
				n += 2 + copy(pl[n+2:], nal)
				nal, rest = nextNonEmpty(rest)
			}
			if err := p.emit(n, nal == nil); err != nil {
				return err
			}
			continue
		case len(nal) <= maxPayload:
			copy(p.buf[rtpHeaderLen:], nal)
			if err := p.emit(len(nal), next == nil); err != nil {
				return err
			}
		default:
			if err := p.fragment(nal, maxPayload, next == nil); err != nil {
				return err
			}
		}
		nal, rest = next, after
	}
	return nil
}

// fragment sends one NAL unit as FU-A packets of even size, so the last
// one is not a runt.
func (p *Packetizer) fragment(nal []byte, maxPayload int, lastNAL bool) error {
	hdr, data := nal[0], nal[1:]
	room := maxPayload - 2
	count := (len(data) + room - 1) / room
	size := (len(data) + count - 1) / count
	for first := true; len(data) > 0; first = false {
		n := min(size, len(data))
		pl := p.buf[rtpHeaderLen:]
		pl[0] = hdr&0xe0 | nalFUA
		pl[1] = hdr & 0x1f
		if first {
			pl[1] |= 0x80
		}
		end := n == len(data)
		if end {
			pl[1] |= 0x40
		}
		copy(pl[2:], data[:n])
		data = data[n:]
		if err := p.emit(2+n, end && lastNAL); err != nil {
			return err
		}
	}
	return nil
}

// emit writes the RTP header in front of a payload of n bytes already in
// place, and sends the packet.
func (p *Packetizer) emit(n int, marker bool) error {
	b := p.buf
	b[0] = 0x80 // version 2, no padding, extension or CSRC
	b[1] = p.cfg.PayloadType
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], p.seq)
	binary.BigEndian.PutUint32(b[4:], p.ts)
	binary.BigEndian.PutUint32(b[8:], p.cfg.SSRC)
	p.seq++
	p.stats.Packets++
	p.stats.Octets += uint64(n)
	return p.send(b[:rtpHeaderLen+n])
}
