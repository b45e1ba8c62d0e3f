package gateway

import (
	"encoding/json"
	"time"

	"github.com/roombridge/roombridge/gateway/bridge"
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
	Duration  time.Duration `json:"-"`

	PacketsReceived uint64        `json:"packets_received"`
	PacketsSent     uint64        `json:"packets_sent"`
	PacketsLost     int64         `json:"packets_lost"`
	LossFraction    float64       `json:"loss_fraction"`
	Jitter          time.Duration `json:"-"`

	RemoteLossFraction float64       `json:"remote_loss_fraction"`
	RemoteJitter       time.Duration `json:"-"`
	RTT                time.Duration `json:"-"`

	// MOS is the E-model estimate (1 to 4.5) of what the room hears from
	// the phone; RemoteMOS of what the phone hears from the room, 0 until
	// the phone sent a receiver report.
	MOS       float64 `json:"mos"`
	RemoteMOS float64 `json:"remote_mos,omitempty"`

	// Video is a room system's H.264 video (quality_video.go), nil
	// without one.
	Video *VideoQuality `json:"video,omitempty"`
	// Content is the room system's content stream (a=content:slides):
	// the screen it shares and the room's shared screen sent to it; nil
	// without one.
	Content *VideoQuality `json:"content,omitempty"`
}

// MarshalJSON writes the durations in milliseconds (duration in seconds),
// the units people read them in.
func (q LegQuality) MarshalJSON() ([]byte, error) {
	type plain LegQuality
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return json.Marshal(struct {
		plain
		DurationS      float64 `json:"duration_s"`
		JitterMS       float64 `json:"jitter_ms"`
		RemoteJitterMS float64 `json:"remote_jitter_ms"`
		RTTMS          float64 `json:"rtt_ms"`
	}{plain(q), q.Duration.Seconds(), ms(q.Jitter), ms(q.RemoteJitter), ms(q.RTT)})
}

// ParticipantQuality is Quality with a result the room API can embed in a
// participant's JSON without importing this package: wire it as
// `func(room, id string) (any, bool)`.
func (g *Gateway) ParticipantQuality(roomName, participantID string) (any, bool) {
	q, ok := g.Quality(roomName, participantID)
	if !ok {
		return nil, false
	}
	return q, true
}

// Quality returns the quality of the SIP leg that is participant
// participantID in room roomName, and false when no such leg runs on this
// gateway (a WebRTC participant, a leg of another node, a call that ended).
func (g *Gateway) Quality(roomName, participantID string) (LegQuality, bool) {
	for _, c := range g.snapshotCalls() {
		if c.id != participantID {
			continue
		}
		l, s, r := c.leg.Load(), c.sess.Load(), c.room.Load()
		if l == nil || s == nil || r == nil || *r != roomName {
			return LegQuality{}, false
		}
		return c.quality(l, s), true
	}
	return LegQuality{}, false
}

func (c *call) quality(l *bridge.Leg, s *rtp.Session) LegQuality {
	q := c.legQuality(l, s, c.ic.Transport())
	q.Video = c.videoQuality(contentMain)
	q.Content = c.videoQuality(contentSlides)
	return q
}
