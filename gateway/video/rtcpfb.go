package video

import (
	"fmt"

	"github.com/pion/rtcp"
)

// BuildPLI returns an RTCP Picture Loss Indication (RFC 4585 §6.3.1) from
// senderSSRC about mediaSSRC: how to ask a room system that negotiated
// "a=rtcp-fb:<pt> nack pli" for a keyframe.
func BuildPLI(senderSSRC, mediaSSRC uint32) ([]byte, error) {
	b, err := (&rtcp.PictureLossIndication{SenderSSRC: senderSSRC, MediaSSRC: mediaSSRC}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: PLI: %w", ErrMalformed, err)
	}
	return b, nil
}

// FIRSender builds RTCP Full Intra Requests (RFC 5104 §4.3.1) for a room
// system that negotiated "ccm fir". Each new request carries the next
// command sequence number; a retransmission of the same request (none is
// needed here: the limiter repeats requests instead) would keep it.
type FIRSender struct {
	seq uint8
}

// Build returns the next FIR from senderSSRC about mediaSSRC.
func (f *FIRSender) Build(senderSSRC, mediaSSRC uint32) ([]byte, error) {
	f.seq++
	b, err := (&rtcp.FullIntraRequest{
		SenderSSRC: senderSSRC,
		FIR:        []rtcp.FIREntry{{SSRC: mediaSSRC, SequenceNumber: f.seq}},
	}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: FIR: %w", ErrMalformed, err)
	}
	return b, nil
}

// rtcpLegacyFIR is the FIR of RFC 2032 §5.2.1 (RTCP packet type 192),
// which older H.261/H.263-era room systems still send.
const rtcpLegacyFIR = 192

// FIRReceiver recognises keyframe requests in RTCP a room system sends
// about the stream it receives from us: PLI, FIR (RFC 5104, counted once
// per command sequence number: a repeated one is a retransmission of a
// request already served) and the legacy FIR of RFC 2032. Requests about
// another SSRC are ignored, except media SSRC 0, which some devices send
// when they do not know ours yet.
type FIRReceiver struct {
	seq     uint8
	seqSeen bool
}

// Parse decodes a compound RTCP packet and reports whether it asks for a
// keyframe of mediaSSRC. RTCP arrives a few times a second, so its
// allocations (pion/rtcp) do not matter.
func (r *FIRReceiver) Parse(compound []byte, mediaSSRC uint32) (bool, error) {
	pkts, err := rtcp.Unmarshal(compound)
	if err != nil {
		// pion refuses the whole compound for one unknown or bad
		// packet; a legacy FIR alone is still worth seeing.
		if len(compound) >= 8 && compound[1] == rtcpLegacyFIR {
			return true, nil
		}
		return false, fmt.Errorf("%w: RTCP: %w", ErrMalformed, err)
	}
	return r.Check(pkts, mediaSSRC), nil
}

// Check is Parse for packets already decoded.
func (r *FIRReceiver) Check(pkts []rtcp.Packet, mediaSSRC uint32) bool {
	want := false
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication:
			want = want || p.MediaSSRC == mediaSSRC || p.MediaSSRC == 0
		case *rtcp.FullIntraRequest:
			for _, e := range p.FIR {
				if e.SSRC != mediaSSRC && e.SSRC != 0 {
					continue
				}
				if r.seqSeen && e.SequenceNumber == r.seq {
					continue // a retransmission of a request already seen
				}
				r.seq, r.seqSeen = e.SequenceNumber, true
				want = true
			}
		case *rtcp.RawPacket:
			if len(*p) >= 2 && (*p)[1] == rtcpLegacyFIR {
				want = true
			}
		}
	}
	return want
}
