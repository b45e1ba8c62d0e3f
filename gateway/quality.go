package gateway

import (
	"time"

	"github.com/roombridge/roombridge/gateway/rtp"
)

// LegQuality is the media quality of one SIP leg, for the room API's
// participant listing and for logs. Loss and jitter follow RFC 3550
// Appendix A; "Remote" figures are the phone's view of what we send, from
// its RTCP receiver reports.
type LegQuality struct {
	Codec     string        `json:"codec"`
	Transport string        `json:"transport"`
	SRTP      bool          `json:"srtp"`
	OnHold    bool          `json:"on_hold"`
	Duration  time.Duration `json:"duration_ns"`

	PacketsReceived uint64        `json:"packets_received"`
	PacketsSent     uint64        `json:"packets_sent"`
	PacketsLost     int64         `json:"packets_lost"`
	LossFraction    float64       `json:"loss_fraction"`
	Jitter          time.Duration `json:"jitter_ns"`

	RemoteLossFraction float64       `json:"remote_loss_fraction"`
	RemoteJitter       time.Duration `json:"remote_jitter_ns"`
	RTT                time.Duration `json:"rtt_ns"`

	// MOS is the E-model estimate (1 to 4.5) of what the room hears from
	// the phone; RemoteMOS of what the phone hears from the room, 0 until
	// the phone sent a receiver report.
	MOS       float64 `json:"mos"`
	RemoteMOS float64 `json:"remote_mos,omitempty"`
}

// Quality returns the quality of the SIP leg that is participant
// participantID in room roomName, and false when no such leg runs on this
// gateway (a WebRTC participant, a leg of another node, a call that ended).
func (g *Gateway) Quality(roomName, participantID string) (LegQuality, bool) {
	for _, c := range g.snapshotCalls() {
		if c.id != participantID {
			continue
		}
		l, s := c.leg.Load(), c.sess.Load()
		if l == nil || s == nil || l.room != roomName {
			return LegQuality{}, false
		}
		return c.quality(l, s), true
	}
	return LegQuality{}, false
}

func (c *call) quality(l *leg, s *rtp.Session) LegQuality {
	st := s.Stats()
	q := LegQuality{
		Codec:              l.codec.String(),
		Transport:          c.ic.Transport(),
		OnHold:             l.onHold.Load(),
		PacketsReceived:    st.PacketsReceived,
		PacketsSent:        st.PacketsSent,
		PacketsLost:        st.PacketsLost,
		LossFraction:       st.LossFraction,
		Jitter:             st.Jitter,
		RemoteLossFraction: st.RemoteLossFraction,
		RemoteJitter:       st.RemoteJitter,
		RTT:                st.RTT,
		MOS:                s.MOS(),
	}
	if n := c.negotiated(); n != nil {
		q.SRTP = n.srtp != nil
	}
	if at := c.answered.Load(); at != 0 {
		q.Duration = time.Since(time.Unix(0, at)).Round(time.Millisecond)
	}
	if st.ReportsReceived > 0 {
		q.RemoteMOS = rtp.EstimateMOS(rtp.Quality{
			Codec: l.codec.rtpCodec(),
			Loss:  st.RemoteLossFraction,
			Delay: st.RTT/2 + st.RemoteJitter*2 + frameDur,
		})
	}
	return q
}
