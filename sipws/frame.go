package sipws

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// What sipgo's WebSocket transport sees of a Conn: a client opening
// handshake, then one masked text frame per SIP message (RFC 6455 §5.2; a
// server must see masked frames, and the all-zero mask leaves the payload
// as it is). What it writes back is parsed by frameDecoder.

// sipgoHandshake is the opening handshake replayed to sipgo's upgrader. The
// browser's real handshake was checked and answered already; sipgo needs
// one to start its read loop, and all it looks at is the syntax.
const sipgoHandshake = "GET / HTTP/1.1\r\n" +
	"Host: sipws\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Key: c2lwd3MtYnJpZGdlLWtleQ==\r\n" +
	"Sec-WebSocket-Protocol: sip\r\n" +
	"\r\n"

// maxFrameHeader is the largest frame header: 2 bytes, an 8-byte length
// and a 4-byte mask key.
const maxFrameHeader = 14

// appendFrameHeader appends the header of one final, masked text frame of
// n payload bytes, with the all-zero mask key.
func appendFrameHeader(b []byte, n int) []byte {
	const finText, masked = 0x81, 0x80
	switch {
	case n < 126:
		b = append(b, finText, masked|byte(n))
	case n <= 0xffff:
		b = append(b, finText, masked|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, finText, masked|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, 0, 0, 0, 0)
}

// frameDecoder turns what sipgo writes into whole messages: first its
// handshake response (which must be a 101), then frames (RFC 6455 §5.2),
// unmasked as a server sends them, possibly split across writes. Data
// frames are joined until FIN; control frames are dropped (sipgo writes
// none). It is not safe for concurrent use.
type frameDecoder struct {
	max int // largest message accepted

	handshaken bool
	line       []byte // handshake bytes so far

	hdr    [maxFrameHeader]byte
	hdrLen int // bytes of hdr filled
	need   int // header size once known, else 0

	left    uint64 // payload bytes of the current frame still to come
	fin     bool
	control bool
	msg     []byte // the message being assembled
}

// write consumes b, calling emit for every complete message. The slice
// given to emit is valid only during the call.
func (d *frameDecoder) write(b []byte, emit func(msg []byte) error) error {
	for len(b) > 0 {
		if !d.handshaken {
			n, err := d.handshake(b)
			if err != nil {
				return err
			}
			b = b[n:]
			continue
		}
		if d.left == 0 && (d.need == 0 || d.hdrLen < d.need) {
			n, done, err := d.header(b)
			if err != nil {
				return err
			}
			b = b[n:]
			if !done {
				continue
			}
			if d.left == 0 {
				if err := d.endFrame(emit); err != nil {
					return err
				}
			}
			continue
		}
		n := min(uint64(len(b)), d.left)
		chunk := b[:n]
		b = b[n:]
		d.left -= n
		if !d.control {
			// A frame that arrives whole in one write (sipgo writes the
			// payload in one call) is passed on without a copy.
			if d.left == 0 && d.fin && len(d.msg) == 0 {
				d.resetHeader()
				if err := emit(chunk); err != nil {
					return err
				}
				continue
			}
			d.msg = append(d.msg, chunk...)
		}
		if d.left == 0 {
			if err := d.endFrame(emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// handshake consumes the handshake response up to its blank line.
func (d *frameDecoder) handshake(b []byte) (int, error) {
	for i, c := range b {
		d.line = append(d.line, c)
		if len(d.line) > 4096 {
			return 0, fmt.Errorf("%w: handshake response too long", errBadFrame)
		}
		if bytes.HasSuffix(d.line, []byte("\r\n\r\n")) {
			if !bytes.HasPrefix(d.line, []byte("HTTP/1.1 101 ")) {
				return 0, fmt.Errorf("%w: handshake refused: %q", errBadFrame, firstLine(d.line))
			}
			d.handshaken, d.line = true, nil
			return i + 1, nil
		}
	}
	return len(b), nil
}

// header consumes frame header bytes; done reports a complete header.
func (d *frameDecoder) header(b []byte) (n int, done bool, err error) {
	if d.need == 0 {
		d.need = 2
	}
	for n < len(b) && d.hdrLen < d.need {
		d.hdr[d.hdrLen] = b[n]
		d.hdrLen++
		n++
		if d.hdrLen == 2 {
			d.need = 2 + maskLen(d.hdr[1]) + extLen(d.hdr[1])
		}
	}
	if d.hdrLen < d.need {
		return n, false, nil
	}
	op := d.hdr[0] & 0x0f
	d.fin = d.hdr[0]&0x80 != 0
	d.control = op >= 0x8
	switch {
	case d.hdr[0]&0x70 != 0:
		return n, false, fmt.Errorf("%w: reserved bits set", errBadFrame)
	case op != 0x0 && op != 0x1 && op != 0x2 && !d.control:
		return n, false, fmt.Errorf("%w: opcode %#x", errBadFrame, op)
	}
	switch l := d.hdr[1] & 0x7f; l {
	case 126:
		d.left = uint64(binary.BigEndian.Uint16(d.hdr[2:4]))
	case 127:
		d.left = binary.BigEndian.Uint64(d.hdr[2:10])
	default:
		d.left = uint64(l)
	}
	if !d.control && uint64(len(d.msg))+d.left > uint64(d.max) {
		return n, false, fmt.Errorf("%w: message of more than %d bytes", errBadFrame, d.max)
	}
	if d.hdr[1]&0x80 != 0 {
		return n, false, fmt.Errorf("%w: masked frame from the server side", errBadFrame)
	}
	return n, true, nil
}

// endFrame finishes a frame whose payload is all in: a final data frame
// completes the message.
func (d *frameDecoder) endFrame(emit func([]byte) error) error {
	fin, control := d.fin, d.control
	d.resetHeader()
	if control || !fin {
		return nil
	}
	msg := d.msg
	d.msg = d.msg[:0]
	return emit(msg)
}

func (d *frameDecoder) resetHeader() { d.hdrLen, d.need, d.left = 0, 0, 0 }

func maskLen(b1 byte) int {
	if b1&0x80 != 0 {
		return 4
	}
	return 0
}

func extLen(b1 byte) int {
	switch b1 & 0x7f {
	case 126:
		return 2
	case 127:
		return 8
	}
	return 0
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\r'); i >= 0 {
		return b[:i]
	}
	return b
}
