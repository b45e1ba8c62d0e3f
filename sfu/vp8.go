package sfu

// VP8 RTP payload format (RFC 7741): a payload descriptor (§4.2) before
// each piece of a frame.

// packetizeVP8 splits one frame into payloads with a minimal one-byte
// descriptor (S set on the first, partition 0), built in scratch.
func packetizeVP8(frame, scratch []byte, e emitter) {
	first := true
	for len(frame) > 0 {
		n := min(len(frame), len(scratch)-1)
		scratch[0] = 0
		if first {
			scratch[0] = 0x10
		}
		copy(scratch[1:], frame[:n])
		frame = frame[n:]
		first = false
		e.emit(scratch[:n+1], len(frame) == 0)
	}
}

// vp8Payload strips the payload descriptor; start reports the first packet
// of a frame (S=1, PID=0).
func vp8Payload(p []byte) (data []byte, start, ok bool) {
	if len(p) < 1 {
		return nil, false, false
	}
	b0 := p[0]
	i := 1
	if b0&0x80 != 0 { // X: extension byte follows
		if len(p) < 2 {
			return nil, false, false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture id, 1 or 2 bytes
			if len(p) <= i {
				return nil, false, false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX byte
			i++
		}
	}
	if i > len(p) {
		return nil, false, false
	}
	return p[i:], b0&0x10 != 0 && b0&0x07 == 0, true
}
