package video

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/pion/rtcp"
)

// RTCP transport-layer feedback formats of RFC 5104 §4.2 (pion/rtcp has
// no types for them and hands them over as rtcp.RawPacket).
const (
	FormatTMMBR uint8 = 3
	FormatTMMBN uint8 = 4
)

// TMMBEntry is one FCI entry of a TMMBR or TMMBN (RFC 5104 §4.2.1.1 and
// §4.2.2.1): the media sender it is about, the maximum total media bit
// rate in bit/s and the per-packet overhead in bytes the requester
// measured.
type TMMBEntry struct {
	SSRC     uint32
	Bitrate  uint64
	Overhead uint16 // 9 bits
}

// TMMB is a Temporary Maximum Media Stream Bit Rate Request (Format
// FormatTMMBR) or Notification (FormatTMMBN), RFC 5104 §4.2.1 and
// §4.2.2. It implements rtcp.Packet, so it goes into a compound with
// pion's packets. The media source SSRC of its common header is 0, as
// §4.2.1.2 and §4.2.2.2 require.
type TMMB struct {
	Format     uint8 // FormatTMMBR or FormatTMMBN
	SenderSSRC uint32
	Entries    []TMMBEntry
}

var _ rtcp.Packet = (*TMMB)(nil)

// maxMantissa is the largest 17-bit mantissa of the MxTBR field.
const maxMantissa = 1<<17 - 1

// encodeMxTBR packs a bit rate into the 6-bit exponent and 17-bit
// mantissa of the MxTBR field, rounding down (a cap is never raised by
// encoding), and the 9-bit overhead after them.
func encodeMxTBR(bitrate uint64, overhead uint16) uint32 {
	exp := 0
	if n := bits.Len64(bitrate); n > 17 {
		exp = n - 17
	}
	exp = min(exp, 63)
	mant := min(bitrate>>exp, maxMantissa)
	return uint32(exp)<<26 | uint32(mant)<<9 | uint32(overhead&0x1ff)
}

// decodeMxTBR is encodeMxTBR's inverse; rates beyond 64 bits saturate.
func decodeMxTBR(v uint32) (bitrate uint64, overhead uint16) {
	exp := v >> 26
	mant := uint64(v>>9) & maxMantissa
	if mant != 0 && bits.Len64(mant)+int(exp) > 64 {
		return ^uint64(0), uint16(v & 0x1ff)
	}
	return mant << exp, uint16(v & 0x1ff)
}

// MarshalSize implements rtcp.Packet.
func (t *TMMB) MarshalSize() int { return 12 + 8*len(t.Entries) }

// Marshal implements rtcp.Packet.
func (t *TMMB) Marshal() ([]byte, error) {
	if t.Format != FormatTMMBR && t.Format != FormatTMMBN {
		return nil, fmt.Errorf("%w: TMMB format %d", ErrMalformed, t.Format)
	}
	if len(t.Entries) > 8000 {
		return nil, fmt.Errorf("%w: %d TMMB entries", ErrTooLarge, len(t.Entries))
	}
	b := make([]byte, 0, t.MarshalSize())
	b = append(b, 0x80|t.Format, byte(rtcp.TypeTransportSpecificFeedback))
	b = binary.BigEndian.AppendUint16(b, uint16(t.MarshalSize()/4-1))
	b = binary.BigEndian.AppendUint32(b, t.SenderSSRC)
	b = binary.BigEndian.AppendUint32(b, 0)
	for _, e := range t.Entries {
		b = binary.BigEndian.AppendUint32(b, e.SSRC)
		b = binary.BigEndian.AppendUint32(b, encodeMxTBR(e.Bitrate, e.Overhead))
	}
	return b, nil
}

// Unmarshal implements rtcp.Packet: one TMMBR or TMMBN packet, padding
// allowed (RFC 3550 §6.4.1), anything else refused with ErrMalformed.
func (t *TMMB) Unmarshal(b []byte) error {
	if len(b) < 12 {
		return fmt.Errorf("%w: TMMB of %d bytes", ErrMalformed, len(b))
	}
	if b[0]>>6 != 2 || b[1] != byte(rtcp.TypeTransportSpecificFeedback) {
		return fmt.Errorf("%w: not RTCP transport-layer feedback", ErrMalformed)
	}
	f := b[0] & 0x1f
	if f != FormatTMMBR && f != FormatTMMBN {
		return fmt.Errorf("%w: feedback format %d is not TMMBR/TMMBN", ErrMalformed, f)
	}
	n := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
	if n > len(b) || n < 12 {
		return fmt.Errorf("%w: TMMB length %d of %d bytes", ErrMalformed, n, len(b))
	}
	b = b[:n]
	if b[0]&0x20 != 0 { // padding: its count is the last byte
		pad := int(b[n-1])
		if pad == 0 || pad > n-12 {
			return fmt.Errorf("%w: TMMB padding %d", ErrMalformed, pad)
		}
		b = b[:n-pad]
	}
	if (len(b)-12)%8 != 0 {
		return fmt.Errorf("%w: TMMB FCI of %d bytes", ErrMalformed, len(b)-12)
	}
	t.Format = f
	t.SenderSSRC = binary.BigEndian.Uint32(b[4:])
	t.Entries = t.Entries[:0]
	for fci := b[12:]; len(fci) >= 8; fci = fci[8:] {
		rate, oh := decodeMxTBR(binary.BigEndian.Uint32(fci[4:]))
		t.Entries = append(t.Entries, TMMBEntry{SSRC: binary.BigEndian.Uint32(fci), Bitrate: rate, Overhead: oh})
	}
	return nil
}

// DestinationSSRC implements rtcp.Packet: the media senders named.
func (t *TMMB) DestinationSSRC() []uint32 {
	out := make([]uint32, len(t.Entries))
	for i, e := range t.Entries {
		out[i] = e.SSRC
	}
	return out
}

// AsTMMB reads a TMMBR or TMMBN out of a packet pion/rtcp decoded as
// raw; ok is false for any other packet.
func AsTMMB(p rtcp.Packet) (*TMMB, bool) {
	raw, isRaw := p.(*rtcp.RawPacket)
	if !isRaw || len(*raw) < 2 || (*raw)[1] != byte(rtcp.TypeTransportSpecificFeedback) {
		return nil, false
	}
	t := &TMMB{}
	if err := t.Unmarshal(*raw); err != nil {
		return nil, false
	}
	return t, true
}

// BitrateRequest is a receiver's limit on the bit rate of a stream sent
// to it, from RTCP: a TMMBR entry about that stream, or a REMB
// (draft-alvestrand-rmcat-remb) naming it.
type BitrateRequest struct {
	// Bitrate is the limit in bit/s; 0 is a TMMBR asking to pause,
	// which callers may treat as the smallest rate they send.
	Bitrate uint64
	// TMMBR is set for a TMMBR, whose entry the sender must confirm
	// with a TMMBN (RFC 5104 §4.2.2); Entry is that entry and From the
	// requester's SSRC, which the TMMBN's entry names.
	TMMBR bool
	Entry TMMBEntry
	From  uint32
}

// BitrateRequests returns the limits in a compound RTCP packet on the
// stream mediaSSRC: TMMBR entries naming it, and REMBs listing it (or
// listing no SSRC at all, which some devices send before they know
// ours).
func BitrateRequests(pkts []rtcp.Packet, mediaSSRC uint32) []BitrateRequest {
	var out []BitrateRequest
	for _, p := range pkts {
		if r, ok := p.(*rtcp.ReceiverEstimatedMaximumBitrate); ok {
			if len(r.SSRCs) == 0 || containsSSRC(r.SSRCs, mediaSSRC) {
				out = append(out, BitrateRequest{Bitrate: uint64(r.Bitrate)})
			}
			continue
		}
		t, ok := AsTMMB(p)
		if !ok || t.Format != FormatTMMBR {
			continue
		}
		for _, e := range t.Entries {
			if e.SSRC == mediaSSRC {
				out = append(out, BitrateRequest{Bitrate: e.Bitrate, TMMBR: true, Entry: e, From: t.SenderSSRC})
			}
		}
	}
	return out
}

func containsSSRC(ssrcs []uint32, s uint32) bool {
	for _, x := range ssrcs {
		if x == s {
			return true
		}
	}
	return false
}
