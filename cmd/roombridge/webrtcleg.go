package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	pionrtp "github.com/pion/rtp"

	"github.com/roombridge/roombridge/gateway"
	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/gateway/pionlog"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/sipws"
)

// newWebRTCMedia builds the media of browser SIP legs (WebRTC offers in
// INVITEs) from the webrtc.* keys, the same ICE ports and candidates as the
// embedded SFU, and rtp.external_ip.
func newWebRTCMedia(cfg config.Config, log *slog.Logger) (gateway.WebRTCMedia, error) {
	var external []string
	if cfg.RTP.ExternalIP != "" {
		external = []string{cfg.RTP.ExternalIP}
	}
	m, err := sipws.NewMedia(sipws.MediaConfig{
		Logger:          log,
		PionLogger:      pionlog.New(log),
		PortMin:         cfg.WebRTC.PortMin,
		PortMax:         cfg.WebRTC.PortMax,
		ExternalIPs:     external,
		IncludeLoopback: cfg.WebRTC.IncludeLoopback,
	})
	if err != nil {
		return nil, fmt.Errorf("webrtc: %w", err)
	}
	return webrtcMedia{m}, nil
}

// webrtcMedia is sipws's WebRTC leg behind the gateway's interface; it maps
// the offer's faults to the SIP errors that answer them with 488.
type webrtcMedia struct{ m *sipws.Media }

func (w webrtcMedia) AnswerWebRTC(ctx context.Context, offer []byte, handler func(*pionrtp.Packet), failed func(error)) (gateway.WebRTCLeg, []byte, error) {
	l, answer, err := w.m.Answer(ctx, offer, sipws.LegOptions{Handler: handler, OnFailed: failed})
	if err != nil {
		return nil, nil, sipError(err)
	}
	return webrtcLeg{l}, answer, nil
}

type webrtcLeg struct{ *sipws.Leg }

func (l webrtcLeg) Audio() gateway.WebRTCAudio {
	a := l.Leg.Audio()
	return gateway.WebRTCAudio{PT: a.PT, EventPT: a.EventPT, EventRate: a.EventRate, Hold: a.Hold}
}

func (l webrtcLeg) Reoffer(ctx context.Context, offer []byte) ([]byte, bool, error) {
	answer, hold, err := l.Leg.Reoffer(ctx, offer)
	return answer, hold, sipError(err)
}

func sipError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sipws.ErrNoOpus):
		return fmt.Errorf("%w: %w", sip.ErrNoCommonCodec, err)
	case errors.Is(err, sipws.ErrOffer):
		return fmt.Errorf("%w: %w", sip.ErrNotAcceptable, err)
	}
	return err
}
