package livekit

import (
	"fmt"
	"strings"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/roombridge/roombridge/gateway/room"
)

// DTMFTopic is the data topic DTMF digits are published on.
const DTMFTopic = "dtmf"

// DataPublisher is implemented by participants that can send data messages
// to the other participants of their room. The gateway type-asserts a
// room.Participant to it: the embedded SFU has no data channel.
type DataPublisher interface {
	// PublishData sends payload on topic to everybody in the room, reliably
	// (ordered, retransmitted) or not.
	PublishData(topic string, payload []byte, reliable bool) error
	// PublishDTMF sends digits (0-9, *, #, A-D) a caller pressed: each digit
	// as a LiveKit SIP DTMF packet (what LiveKit's client SDKs report as
	// "SIP DTMF received", as for LiveKit's own SIP participants) and the
	// whole string as a reliable user packet on topic DTMFTopic.
	PublishDTMF(digits string) error
}

// PublishData implements DataPublisher.
func (p *participant) PublishData(topic string, payload []byte, reliable bool) error {
	if p.isClosed() {
		return fmt.Errorf("%w: participant %q has left", room.ErrClosed, p.id)
	}
	if p.hidden {
		return fmt.Errorf("%w: %q", ErrHiddenPublish, p.id)
	}
	err := p.lk.Load().LocalParticipant.PublishDataPacket(lksdk.UserData(payload),
		lksdk.WithDataPublishTopic(topic), lksdk.WithDataPublishReliable(reliable))
	if err != nil {
		return fmt.Errorf("livekit: publish data on %q: %w", topic, err)
	}
	return nil
}

// PublishDTMF implements DataPublisher.
func (p *participant) PublishDTMF(digits string) error {
	for _, d := range digits {
		code, ok := dtmfCode(d)
		if !ok {
			return fmt.Errorf("livekit: %q is not a DTMF digit", d)
		}
		if p.isClosed() {
			return fmt.Errorf("%w: participant %q has left", room.ErrClosed, p.id)
		}
		pkt := &lkproto.SipDTMF{Code: code, Digit: string(d)}
		if err := p.lk.Load().LocalParticipant.PublishDataPacket(pkt, lksdk.WithDataPublishReliable(true)); err != nil {
			return fmt.Errorf("livekit: publish DTMF: %w", err)
		}
	}
	return p.PublishData(DTMFTopic, []byte(digits), true)
}

// dtmfCode is the RFC 4733 event code of a digit.
func dtmfCode(d rune) (uint32, bool) {
	switch {
	case d >= '0' && d <= '9':
		return uint32(d - '0'), true
	case d == '*':
		return 10, true
	case d == '#':
		return 11, true
	}
	if i := strings.IndexRune("ABCD", d); i >= 0 {
		return uint32(12 + i), true
	}
	return 0, false
}
