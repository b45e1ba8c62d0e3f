package rtp

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtcp"
)

// receiveMTU is the largest datagram read. RTP over UDP stays under the
// path MTU; a larger datagram is truncated and then fails to parse or to
// authenticate.
const receiveMTU = 1500

// readLoop is the one goroutine that reads a socket. It owns its buffer
// and packet, so the steady state allocates nothing.
func (s *Session) readLoop(conn *net.UDPConn, rtpPort bool) {
	defer s.wg.Done()
	buf := make([]byte, receiveMTU)
	var pkt Packet
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
				return
			}
			// Linux reports ICMP errors of earlier sends here; they do
			// not end the session. Pause so a persistent error cannot spin.
			s.log.Debug("rtp read", "err", err)
			time.Sleep(time.Millisecond)
			continue
		}
		if rtpPort {
			s.receiveRTPPort(buf[:n], src, &pkt)
		} else {
			s.receiveRTCP(buf[:n], src)
		}
	}
}

// receiveRTPPort demultiplexes a datagram that arrived on the RTP port.
func (s *Session) receiveRTPPort(b []byte, src netip.AddrPort, pkt *Packet) {
	if isRTCP(b) {
		// RTCP on the RTP port without rtcp-mux was not negotiated; it
		// is dropped rather than parsed as RTP with payload type 72–76.
		if s.cfg.RTCPMux {
			s.receiveRTCP(b, src)
		}
		return
	}
	s.receiveRTP(b, src, pkt)
}

// isRTCP tells RTCP from RTP on a multiplexed port by the second octet
// (RFC 5761 §4): RTCP packet types 192–223 fall where RTP would carry
// payload types 64–95, which are therefore never used.
func isRTCP(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// receiveRTP authenticates, decrypts and parses one RTP datagram in
// place, updates statistics and latching, and hands it to the Handler.
func (s *Session) receiveRTP(b []byte, src netip.AddrPort, pkt *Packet) {
	// The first two bits tell RTP from STUN, DTLS and ZRTP (RFC 7983).
	if len(b) < 12 || b[0]>>6 != 2 {
		return
	}
	if sc := s.srtp.Load(); sc != nil {
		plain, err := sc.decryptRTP(b, &pkt.Header, s.nanos())
		if err != nil {
			// Wrong key, replay, or garbage: not from our peer, so it
			// neither latches nor keeps the call alive (RFC 3711 §3.3).
			s.mu.Lock()
			s.decryptErrors++
			s.mu.Unlock()
			return
		}
		b = plain
	}
	if err := pkt.Unmarshal(b); err != nil {
		return
	}
	now := s.nanos()
	src = normalize(src)

	s.mu.Lock()
	changedSSRC, oldSSRC := s.trackSource(pkt, now)
	var moved bool
	var oldAddr netip.AddrPort
	if !s.cfg.DisableLatching {
		oldAddr, moved = s.rtpLatch.observe(src)
		if moved && !s.cfg.RTCPMux && !s.rtcpSelfLatched {
			// Until RTCP arrives on its own, expect it next to RTP, as
			// RFC 3550 §11 pairs the ports; NATs tend to keep the pairing.
			s.rtcpLatch.set(s.defaultRTCPAddr(src, netip.AddrPort{}))
		}
		if moved && s.cfg.RTCPMux {
			s.rtcpLatch.set(src)
		}
	}
	s.mu.Unlock()
	s.lastRx.Store(now)

	if changedSSRC {
		s.log.Info("rtp remote ssrc changed", "old_ssrc", oldSSRC, "new_ssrc", pkt.SSRC)
		if f := s.onSSRC.Load(); f != nil {
			(*f)(oldSSRC, pkt.SSRC)
		}
	}
	if moved {
		s.log.Info("rtp latched", "from", oldAddr, "to", src)
	}
	s.handler.HandleRTP(pkt)
}

// trackSource updates reception state for one packet; s.mu is held. It
// reports an SSRC change, which restarts the statistics of RFC 3550
// Appendix A for the new source while keeping the session's totals.
func (s *Session) trackSource(pkt *Packet, now int64) (changed bool, old uint32) {
	r := &s.rx
	switch {
	case !r.started:
		r.init(pkt.SSRC, pkt.SequenceNumber)
	case r.ssrc != pkt.SSRC:
		changed, old = true, r.ssrc
		s.lostBefore += max(r.lost(), 0)
		s.expectedBefore += int64(r.expected())
		s.ssrcChanges++
		s.lsr, s.lsrAt = 0, 0 // the old source's SR says nothing of the new one
		r.init(pkt.SSRC, pkt.SequenceNumber)
	}
	if !r.update(pkt.SequenceNumber) {
		// Far out of sequence: delivered, but not counted (A.1).
		return changed, old
	}
	s.rxPackets++
	s.rxOctets += uint64(len(pkt.Payload))
	s.lastRTP = now
	if pkt.PayloadType == s.cfg.PayloadType {
		r.updateJitter(s.rtpClock(now), pkt.Timestamp)
	}
	return changed, old
}

// rtpClock converts nanos() to the RTP clock, for jitter (A.8) and the SR
// timestamp. Split into seconds so long calls cannot overflow.
func (s *Session) rtpClock(nanos int64) uint32 {
	rate := int64(s.cfg.ClockRate)
	sec, frac := nanos/1e9, nanos%1e9
	return uint32(sec*rate + frac*rate/1e9)
}

// receiveRTCP authenticates and parses an RTCP compound packet, takes what
// the session needs from it and passes each packet to the OnRTCP hook.
func (s *Session) receiveRTCP(b []byte, src netip.AddrPort) {
	if !isRTCP(b) {
		return
	}
	if sc := s.srtp.Load(); sc != nil {
		// RTCP arrives on one goroutine only: the RTCP reader, or the RTP
		// reader with rtcp-mux. So rxRTCP is never used concurrently.
		plain, err := sc.decryptRTCP(b, s.nanos())
		if err != nil {
			s.mu.Lock()
			s.decryptErrors++
			s.mu.Unlock()
			return
		}
		b = plain
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	now := s.nanos()
	wall := s.start.Add(time.Duration(now))
	src = normalize(src)

	s.mu.Lock()
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			// Keep the middle 32 bits of its NTP time and when it came,
			// for LSR and DLSR in our next report (RFC 3550 §6.4.1).
			s.lsr = uint32(p.NTPTime >> 16)
			s.lsrAt = now
			s.peerBlocks(p.Reports, wall)
		case *rtcp.ReceiverReport:
			s.peerBlocks(p.Reports, wall)
		}
	}
	var moved bool
	var oldAddr netip.AddrPort
	// With rtcp-mux the RTP latch decides for both.
	if !s.cfg.DisableLatching && !s.cfg.RTCPMux {
		oldAddr, moved = s.rtcpLatch.observe(src)
		s.rtcpSelfLatched = s.rtcpLatch.latched
	}
	s.mu.Unlock()
	s.lastRx.Store(now)

	if moved {
		s.log.Info("rtcp latched", "from", oldAddr, "to", src)
	}
	for _, p := range pkts {
		if bye, ok := p.(*rtcp.Goodbye); ok {
			s.log.Debug("rtcp bye", "sources", bye.Sources, "reason", bye.Reason)
		}
	}
	if f := s.onRTCP.Load(); f != nil {
		for _, p := range pkts {
			(*f)(p)
		}
	}
}

// peerBlocks takes the report block about our stream from an SR or RR:
// the loss and jitter the peer sees, and the round-trip time, which RFC
// 3550 §6.4.1 defines as arrival − LSR − DLSR in 1/65536 s. s.mu is held.
func (s *Session) peerBlocks(blocks []rtcp.ReceptionReport, wall time.Time) {
	for _, rr := range blocks {
		if rr.SSRC != s.ssrc {
			continue
		}
		s.peer = peerReport{
			have:     true,
			reports:  s.peer.reports + 1,
			fraction: rr.FractionLost,
			lost:     signed24(rr.TotalLost),
			jitter:   rr.Jitter,
		}
		if rr.LastSenderReport == 0 {
			continue // the peer has no SR of ours yet
		}
		rtt := int32(compactNTP(wall) - rr.LastSenderReport - rr.Delay)
		if rtt < 0 || rtt > 60<<16 {
			continue // clock step or a bogus report
		}
		s.rtt = time.Duration(int64(rtt) * int64(time.Second) >> 16)
	}
}
