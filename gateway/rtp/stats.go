package rtp

import (
	"net/netip"
	"time"
)

// Stats is a snapshot of a session's counters, for logs, metrics and the
// per-call quality in the API. Loss and jitter follow RFC 3550 Appendix A.
type Stats struct {
	LocalSSRC  uint32
	RemoteSSRC uint32 // the source we receive now; 0 before any packet

	PacketsSent     uint64
	BytesSent       uint64 // payload octets, as the SR counts them
	PacketsReceived uint64
	BytesReceived   uint64 // payload octets

	// PacketsLost is the cumulative loss of what we receive (A.3),
	// over all sources the peer used; LossFraction is it over the packets
	// expected (0..1).
	PacketsLost  int64
	LossFraction float64
	// Jitter is the interarrival jitter of what we receive (A.8).
	Jitter time.Duration

	// The peer's view of our stream, from its last report block about our
	// SSRC: fraction lost over its last interval (0..1), cumulative loss,
	// jitter. ReportsReceived counts those blocks; zero means none yet.
	RemoteLossFraction float64
	RemotePacketsLost  int64
	RemoteJitter       time.Duration
	ReportsReceived    uint64

	// RTT is the round-trip time from the peer's last report (RFC 3550
	// §6.4.1), zero until one with an LSR arrived. Its resolution is
	// 1/65536 s, so a LAN may read as zero.
	RTT time.Duration

	// RemoteAddr is where we send RTP: the latched source of the peer's
	// packets, or the SDP address until one arrived. Latched says which.
	RemoteAddr netip.AddrPort
	Latched    bool

	// LastPacket is when the last RTP packet arrived, zero before any.
	LastPacket time.Time

	SSRCChanges   int
	DecryptErrors uint64 // SRTP/SRTCP packets that failed authentication
	TimedOut      bool
}

// Stats returns a snapshot of the session's counters.
func (s *Session) Stats() Stats {
	var st Stats
	st.LocalSSRC = s.ssrc
	st.TimedOut = s.timedOut.Load()

	s.txMu.Lock()
	st.PacketsSent = s.sentPackets
	st.BytesSent = s.sentOctets
	s.txMu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	st.PacketsReceived = s.rxPackets
	st.BytesReceived = s.rxOctets
	lost, expected := s.lostBefore, s.expectedBefore
	if s.rx.started {
		st.RemoteSSRC = s.rx.ssrc
		lost += max(s.rx.lost(), 0)
		expected += int64(s.rx.expected())
		st.Jitter = s.rtpDuration(s.rx.jitter)
	}
	st.PacketsLost = lost
	if expected > 0 {
		st.LossFraction = float64(lost) / float64(expected)
	}
	if s.peer.have {
		st.RemoteLossFraction = float64(s.peer.fraction) / 256
		st.RemotePacketsLost = int64(s.peer.lost)
		st.RemoteJitter = s.rtpDuration(float64(s.peer.jitter))
		st.ReportsReceived = s.peer.reports
	}
	st.RTT = s.rtt
	st.RemoteAddr, _ = s.rtpLatch.load()
	st.Latched = s.rtpLatch.latched
	if s.lastRTP != 0 {
		st.LastPacket = s.start.Add(time.Duration(s.lastRTP))
	}
	st.SSRCChanges = s.ssrcChanges
	st.DecryptErrors = s.decryptErrors
	return st
}

// rtpDuration converts RTP clock units to a duration.
func (s *Session) rtpDuration(units float64) time.Duration {
	return time.Duration(units * float64(time.Second) / float64(s.cfg.ClockRate))
}
