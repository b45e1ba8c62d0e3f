package rtp

import (
	"math/rand/v2"
	"time"

	"github.com/pion/rtcp"
)

// controlLoop sends our RTCP reports and watches for inactivity. It is the
// session's only timer, and stops when the session context is cancelled.
func (s *Session) controlLoop() {
	defer s.wg.Done()
	interval := s.cfg.RTCPInterval
	tick := interval / 4
	if s.cfg.Timeout > 0 {
		tick = min(tick, s.cfg.Timeout/4)
	}
	tick = min(max(tick, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()

	// RFC 3550 §6.2: the first report goes out after half an interval.
	next := s.nanos() + int64(jittered(interval/2))
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		now := s.nanos()
		if now >= next {
			if err := s.sendReport(false); err != nil {
				s.log.Debug("rtcp report", "err", err)
			}
			next = now + int64(jittered(interval))
		}
		s.checkTimeout(now)
	}
}

// jittered randomises an RTCP interval to [0.5, 1.5) of d so that
// endpoints started together do not report in lockstep (RFC 3550 §6.3.1).
func jittered(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// checkTimeout calls OnTimeout, once, when nothing has arrived for Timeout.
func (s *Session) checkTimeout(now int64) {
	if s.cfg.Timeout <= 0 || !s.timeoutEnabled.Load() || s.timedOut.Load() {
		return
	}
	// lastRx is zero before the first packet, so the period runs from the
	// session's start.
	if time.Duration(now-s.lastRx.Load()) < s.cfg.Timeout {
		return
	}
	if !s.timedOut.CompareAndSwap(false, true) {
		return
	}
	s.log.Warn("rtp inactivity timeout", "timeout", s.cfg.Timeout)
	if f := s.onTimeout.Load(); f != nil {
		// Its own goroutine: the handler typically sends a SIP BYE and
		// then calls Close, which waits for this loop.
		go (*f)()
	}
}

// sendReport sends a compound RTCP packet (RFC 3550 §6.1): an SR if we
// sent RTP within the last two intervals, else an RR (§6.4), with a
// reception report block about the peer's stream once it has sent any,
// then SDES CNAME, then a BYE when bye is set (§6.6).
func (s *Session) sendReport(bye bool) error {
	now := s.nanos()
	wall := s.start.Add(time.Duration(now))

	var blocks []rtcp.ReceptionReport
	s.mu.Lock()
	if s.rx.started {
		var dlsr uint32
		if s.lsrAt != 0 {
			// DLSR in 1/65536 s since that SR arrived (§6.4.1).
			dlsr = uint32((now - s.lsrAt) << 16 / int64(time.Second))
		}
		blocks = []rtcp.ReceptionReport{s.rx.report(s.lsr, dlsr)}
	}
	s.mu.Unlock()

	s.txMu.Lock()
	sending := s.lastSend != 0 && time.Duration(now-s.lastSend) < 2*s.cfg.RTCPInterval
	sr := &rtcp.SenderReport{
		SSRC:    s.ssrc,
		NTPTime: ntpTime(wall),
		// The RTP time of the same instant as NTPTime: the last timestamp
		// sent, advanced by the time since (§6.4.1).
		RTPTime:     s.lastTS + s.rtpClock(now-s.lastSend),
		PacketCount: uint32(s.sentPackets),
		OctetCount:  uint32(s.sentOctets),
		Reports:     blocks,
	}
	s.txMu.Unlock()

	pkts := make([]rtcp.Packet, 0, 3)
	if sending {
		pkts = append(pkts, sr)
	} else {
		pkts = append(pkts, &rtcp.ReceiverReport{SSRC: s.ssrc, Reports: blocks})
	}
	pkts = append(pkts, rtcp.NewCNAMESourceDescription(s.ssrc, s.cname))
	if bye {
		pkts = append(pkts, &rtcp.Goodbye{Sources: []uint32{s.ssrc}})
	}
	return s.writeRTCP(pkts)
}

// ntpEpochOffset is the seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// compactNTP is the middle 32 bits of t's NTP timestamp, the unit of LSR
// and DLSR (RFC 3550 §6.4.1).
func compactNTP(t time.Time) uint32 {
	return uint32(ntpTime(t) >> 16)
}
