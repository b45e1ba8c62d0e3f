package rtp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/pion/rtcp"
	pionrtp "github.com/pion/rtp"
)

// sendBufferSize fits an MTU-sized packet plus the largest SRTP overhead.
const sendBufferSize = 2048

// WriteRTP sends one RTP packet with our SSRC and the next sequence number
// (RFC 3550 §5.1). ts is the media timestamp on the payload type's clock;
// the caller starts it at a random value, as §5.1 asks.
// It returns an error wrapping ErrNoRemote, without consuming a sequence
// number, while the peer's address is unknown.
//
// The packet is marshalled (and encrypted) under a short lock into a
// pooled buffer; the socket write happens after the lock is released, so
// a slow send never holds up another writer or the receive path. It does
// not allocate.
func (s *Session) WriteRTP(payload []byte, pt uint8, ts uint32, marker bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	dst, ok := s.rtpLatch.load()
	if !ok {
		return ErrNoRemote
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)

	s.txMu.Lock()
	h := &s.txHdr
	h.Version = 2
	h.Padding = false
	h.Extension = false
	h.Marker = marker
	h.PayloadType = pt & 0x7f
	h.SequenceNumber = s.seq
	h.Timestamp = ts
	h.SSRC = s.ssrc
	out, err := s.sealLocked(*bp, h, payload, 0)
	s.txMu.Unlock()
	if err != nil {
		return err
	}
	return s.send(s.rtpConn, out, dst)
}

// WriteRTPPacket sends a packet built elsewhere, e.g. forwarded video. Its
// sequence number, timestamp, marker, CSRCs and extensions are kept, its
// SSRC is replaced by ours; later WriteRTP calls continue its sequence.
// pkt is not modified or retained. It does not allocate.
func (s *Session) WriteRTPPacket(pkt *Packet) error {
	if s.closed.Load() {
		return ErrClosed
	}
	dst, ok := s.rtpLatch.load()
	if !ok {
		return ErrNoRemote
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)

	s.txMu.Lock()
	s.txHdr = pkt.Header // shares CSRC and extension slices read-only
	h := &s.txHdr
	h.Version = 2
	h.SSRC = s.ssrc
	var padding uint8
	if pkt.Padding {
		padding = pkt.Header.PaddingSize
	}
	out, err := s.sealLocked(*bp, h, pkt.Payload, padding)
	s.txHdr = pionrtp.Header{} // drop references to the caller's slices
	s.txMu.Unlock()
	if err != nil {
		return err
	}
	return s.send(s.rtpConn, out, dst)
}

// sealLocked marshals h and payload (with padding bytes, RFC 3550 §5.1)
// into buf, encrypts it with SRTP if on, advances the sequence number and
// counts the packet for the next SR. txMu is held.
func (s *Session) sealLocked(buf []byte, h *pionrtp.Header, payload []byte, padding uint8) ([]byte, error) {
	h.Padding = padding > 0
	h.PaddingSize = padding
	hl := h.MarshalSize()
	n := hl + len(payload) + int(padding)
	overhead := 0
	sc := s.srtp.Load()
	if sc != nil {
		overhead = sc.overhead
	}
	if n+overhead > len(buf) {
		return nil, fmt.Errorf("%w: %d bytes", ErrPacketTooLarge, n)
	}
	if _, err := h.MarshalTo(buf); err != nil {
		return nil, fmt.Errorf("rtp: marshal header: %w", err)
	}
	copy(buf[hl:], payload)
	if padding > 0 {
		clear(buf[hl+len(payload) : n-1])
		buf[n-1] = padding
	}
	out := buf[:n]
	if sc != nil {
		var err error
		// In place: buf has room for the tag, so pion does not allocate.
		out, err = sc.txRTP.EncryptRTP(out, out, &s.txEncHdr)
		if err != nil {
			return nil, fmt.Errorf("rtp: srtp encrypt: %w", err)
		}
	}
	s.seq = h.SequenceNumber + 1
	s.sentPackets++
	s.sentOctets += uint64(len(payload)) // RFC 3550 §6.4.1: payload octets only
	s.lastTS = h.Timestamp
	s.lastSend = s.nanos()
	return out, nil
}

func (s *Session) send(conn *net.UDPConn, b []byte, dst netip.AddrPort) error {
	if _, err := conn.WriteToUDPAddrPort(b, dst); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("rtp: send to %s: %w", dst, err)
	}
	return nil
}

// WriteRTCP sends pkts as one compound packet (SRTCP when SRTP is on),
// e.g. a PLI or FIR for a video leg (RFC 4585 §6.3.1, RFC 5104 §4.3.1).
// RFC 3550 §6.1 wants every compound packet to start with a report;
// feedback may go alone where RFC 5506 reduced-size RTCP was negotiated,
// and the caller decides that. RTCP is rare, so this path may allocate.
func (s *Session) WriteRTCP(pkts []rtcp.Packet) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.writeRTCP(pkts)
}

func (s *Session) writeRTCP(pkts []rtcp.Packet) error {
	dst, ok := s.rtcpLatch.load()
	if !ok {
		return ErrNoRemote
	}
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		return fmt.Errorf("rtp: marshal rtcp: %w", err)
	}
	if sc := s.srtp.Load(); sc != nil {
		s.rtcpTxMu.Lock()
		raw, err = sc.txRTCP.EncryptRTCP(nil, raw, nil)
		s.rtcpTxMu.Unlock()
		if err != nil {
			return fmt.Errorf("rtp: srtcp encrypt: %w", err)
		}
	}
	conn := s.rtcpConn
	if conn == nil {
		conn = s.rtpConn // rtcp-mux
	}
	return s.send(conn, raw, dst)
}
