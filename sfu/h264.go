package sfu

// H.264 RTP payload format (RFC 6184), packetization-mode 1: single NAL
// unit packets, STAP-A (§5.7.1) on receive, FU-A (§5.8) both ways. Access
// units travel in Annex B form (start-code prefixed NAL units).

const (
	naluTypeIDR  = 5
	naluTypeSTAP = 24
	naluTypeFUA  = 28
)

var annexBStart = []byte{0, 0, 0, 1}

// nextNAL returns the first NAL unit of au (Annex B) and the rest. It
// allocates nothing.
func nextNAL(au []byte) (nal, rest []byte) {
	// Skip the start code (3 or 4 bytes) at the beginning, if any.
	i := 0
	for i < len(au) && au[i] == 0 {
		i++
	}
	if i >= 2 && i < len(au) && au[i] == 1 {
		au = au[i+1:]
	}
	for j := 0; j+2 < len(au); j++ {
		if au[j] == 0 && au[j+1] == 0 && (au[j+2] == 1 || (au[j+2] == 0 && j+3 < len(au) && au[j+3] == 1)) {
			end := j
			return au[:end], au[j:]
		}
	}
	return au, nil
}

// packetizeH264 splits one access unit into payloads for emit: NAL units
// that fit go whole, larger ones as FU-A fragments built in scratch. The
// last payload of the access unit carries the marker bit.
func packetizeH264(au, scratch []byte, e emitter) {
	type pending struct {
		payload []byte
		ok      bool
	}
	// The marker belongs on the very last packet, so each payload is
	// emitted one step late, once we know whether another follows. FU-A
	// payloads live in scratch, so they are emitted at once except the
	// last fragment, which is held in place until the next NAL starts.
	var held pending
	flush := func(marker bool) {
		if held.ok {
			e.emit(held.payload, marker)
			held.ok = false
		}
	}
	for rest := au; len(rest) > 0; {
		var nal []byte
		nal, rest = nextNAL(rest)
		if len(nal) == 0 {
			continue
		}
		flush(false)
		if len(nal) <= len(scratch) {
			held = pending{nal, true}
			continue
		}
		hdr := nal[0]
		data := nal[1:]
		indicator := hdr&0xe0 | naluTypeFUA
		first := true
		for len(data) > 0 {
			n := min(len(data), len(scratch)-2)
			fuHeader := hdr & 0x1f
			if first {
				fuHeader |= 0x80
			}
			if n == len(data) {
				fuHeader |= 0x40
			}
			scratch[0], scratch[1] = indicator, fuHeader
			copy(scratch[2:], data[:n])
			data = data[n:]
			first = false
			if len(data) == 0 {
				// Held back for the marker decision; scratch is not
				// reused before flush.
				held = pending{scratch[:n+2], true}
				break
			}
			e.emit(scratch[:n+2], false)
		}
	}
	flush(true)
}

// h264Assembler rebuilds Annex B access units from RTP payloads into a
// reused buffer.
type h264Assembler struct {
	buf      []byte
	key      bool
	fuStart  int // index in buf where the FU-A NAL being rebuilt starts
	fuActive bool
}

func (a *h264Assembler) reset() {
	a.buf, a.key, a.fuActive = a.buf[:0], false, false
}

func (a *h264Assembler) appendNAL(nal []byte) {
	if len(nal) == 0 {
		return
	}
	if nal[0]&0x1f == naluTypeIDR {
		a.key = true
	}
	a.buf = append(a.buf, annexBStart...)
	a.buf = append(a.buf, nal...)
}

// push adds one payload; lost tells that packets were lost just before, so
// a half-built fragmented NAL is dropped.
func (a *h264Assembler) push(payload []byte, lost bool) {
	if lost && a.fuActive {
		a.buf = a.buf[:a.fuStart]
		a.fuActive = false
	}
	if len(payload) == 0 {
		return
	}
	switch typ := payload[0] & 0x1f; {
	case typ >= 1 && typ <= 23:
		a.appendNAL(payload)
	case typ == naluTypeSTAP:
		for p := payload[1:]; len(p) >= 2; {
			size := int(p[0])<<8 | int(p[1])
			if size > len(p)-2 {
				return
			}
			a.appendNAL(p[2 : 2+size])
			p = p[2+size:]
		}
	case typ == naluTypeFUA:
		if len(payload) < 2 {
			return
		}
		fu := payload[1]
		if fu&0x80 != 0 {
			a.fuStart = len(a.buf)
			a.fuActive = true
			hdr := payload[0]&0xe0 | fu&0x1f
			if fu&0x1f == naluTypeIDR {
				a.key = true
			}
			a.buf = append(a.buf, annexBStart...)
			a.buf = append(a.buf, hdr)
		}
		if !a.fuActive {
			return // middle of a NAL whose start was lost
		}
		a.buf = append(a.buf, payload[2:]...)
		if fu&0x40 != 0 {
			a.fuActive = false
		}
	}
}

// complete returns the assembled access unit without a trailing partial
// NAL.
func (a *h264Assembler) complete() []byte {
	if a.fuActive {
		return a.buf[:a.fuStart]
	}
	return a.buf
}
