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
	if p.cfg.Mode == 0 {
		key := false
		maxPayload := p.cfg.MTU - rtpHeaderLen
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
	return Payloads(au, p.cfg.Mode, p.buf[rtpHeaderLen:], p.emit)
}

// Payloads splits one Annex B access unit into RTP payloads (RFC 6184) of
// at most len(buf) bytes, built in buf, and hands each to emit with the
// marker bit it needs (set on the last payload of the access unit): in
// mode 1, runs of small NAL units as STAP-A (§5.7.1), large ones as FU-A
// fragments of even size (§5.8); in mode 0, each NAL unit whole, and
// ErrNALTooLarge, before anything is emitted, if one does not fit. The
// payload slice is only valid during emit. It allocates nothing.
//
// It is the payload half of [Packetizer], for senders whose RTP headers
// are written elsewhere (the embedded SFU's bot tracks).
func Payloads(au []byte, mode int, buf []byte, emit func(payload []byte, marker bool) error) error {
	maxPayload := len(buf)
	if maxPayload < 3 {
		return fmt.Errorf("%w: payload buffer of %d bytes", ErrBufferTooSmall, maxPayload)
	}
	if mode == 0 {
		for nal, rest := nextNonEmpty(au); nal != nil; nal, rest = nextNonEmpty(rest) {
			if len(nal) > maxPayload {
				return fmt.Errorf("%w: %d bytes, payload %d", ErrNALTooLarge, len(nal), maxPayload)
			}
		}
	}
	nal, rest := nextNonEmpty(au)
	for nal != nil {
		next, after := nextNonEmpty(rest)
		switch {
		case mode == 1 && next != nil && 1+2+len(nal)+2+len(next) <= maxPayload:
			// STAP-A: as many NAL units as fit.
			buf[0] = nalSTAPA
			n := 1
			for nal != nil && n+2+len(nal) <= maxPayload {
				buf[0] |= nal[0] & 0x80 // F: any
				if nri := nal[0] & 0x60; nri > buf[0]&0x60 {
					buf[0] = buf[0]&^0x60 | nri // NRI: the highest
				}
				binary.BigEndian.PutUint16(buf[n:], uint16(len(nal)))
				n += 2 + copy(buf[n+2:], nal)
				nal, rest = nextNonEmpty(rest)
			}
			if err := emit(buf[:n], nal == nil); err != nil {
				return err
			}
			continue
		case len(nal) <= maxPayload:
			n := copy(buf, nal)
			if err := emit(buf[:n], next == nil); err != nil {
				return err
			}
		default:
			if err := fragment(nal, buf, next == nil, emit); err != nil {
				return err
			}
		}
		nal, rest = next, after
	}
	return nil
}

// fragment sends one NAL unit as FU-A payloads of even size, so the last
// one is not a runt.
func fragment(nal, buf []byte, lastNAL bool, emit func([]byte, bool) error) error {
	hdr, data := nal[0], nal[1:]
	room := len(buf) - 2
	count := (len(data) + room - 1) / room
	size := (len(data) + count - 1) / count
	for first := true; len(data) > 0; first = false {
		n := min(size, len(data))
		buf[0] = hdr&0xe0 | nalFUA
		buf[1] = hdr & 0x1f
		if first {
			buf[1] |= 0x80
		}
		end := n == len(data)
		if end {
			buf[1] |= 0x40
		}
		copy(buf[2:], data[:n])
		data = data[n:]
		if err := emit(buf[:2+n], end && lastNAL); err != nil {
			return err
		}
	}
	return nil
}

// emit writes the RTP header in front of a payload already in place (at
// p.buf[12:]), and sends the packet.
func (p *Packetizer) emit(payload []byte, marker bool) error {
	n := len(payload)
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
