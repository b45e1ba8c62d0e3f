package livekit

import (
	"context"
	"slices"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
)

// connect joins the LiveKit room with token, within ConnectTimeout: a
// phone leg (publish-only, visible) with the adapter's lean client
// (lean_client.go), any other participant with the SDK.
func (p *participant) connect(ctx context.Context, token string) error {
	ctx, cancel := context.WithTimeout(ctx, p.b.cfg.ConnectTimeout)
	defer cancel()
	if p.lean != nil {
		if err := p.lean.join(ctx, token); err != nil {
			p.disconnect()
			p.wait()
			return joinError(err)
		}
	} else {
		r := lksdk.NewRoom(p.callbacks())
		p.lk.Store(r)
		opts := append(slices.Clip(p.b.opts.full),
			lksdk.WithConnectTimeout(p.b.cfg.ConnectTimeout),
			lksdk.WithLogger(p.b.sdkLog.WithValues("room", p.roomName, "participant", p.id)))
		if err := r.JoinWithContextAndToken(ctx, p.b.cfg.URL, token, opts...); err != nil {
			p.disconnect()
			return joinError(err)
		}
	}
	p.recountAudience() // the participants already there came without callbacks
	p.pinAtJoin()
	if !p.publishOnly { // it has no OnTrack handler to call
		p.wg.Add(1)
		go p.dispatchLoop()
	}
	return nil
}

// callbacks are the SDK callbacks of the participant's client.
func (p *participant) callbacks() *lksdk.RoomCallback {
	return &lksdk.RoomCallback{
		OnDisconnectedWithReason: func(r lksdk.DisconnectionReason) {
			p.onDisconnected(r)
		},
		OnParticipantConnected: func(rp *lksdk.RemoteParticipant) {
			p.onParticipantConnected(rp)
		},
		OnParticipantDisconnected: func(rp *lksdk.RemoteParticipant) {
			p.onParticipantDisconnected(rp)
		},
		OnActiveSpeakersChanged: func(ps []lksdk.Participant) {
			p.onActiveSpeakers(ps)
		},
		OnReconnecting: func() {
			p.onReconnecting()
		},
		OnReconnected: func() {
			p.onReconnected()
		},
		OnLocalTrackSubscribed: func(pub *lksdk.LocalTrackPublication, lp *lksdk.LocalParticipant) {
			p.onLocalTrackSubscribed(pub, lp)
		},
		OnRecordingStatusChanged: func(rec bool) {
			p.onRecordingStatusChanged(rec)
		},
		ParticipantCallback: lksdk.ParticipantCallback{
			OnTrackMuted: func(pub lksdk.TrackPublication, lp lksdk.Participant) {
				p.onMuted(pub, lp, true)
			},
			OnTrackUnmuted: func(pub lksdk.TrackPublication, lp lksdk.Participant) {
				p.onMuted(pub, lp, false)
			},
			OnTrackPublished: func(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
				p.onTrackPublished(pub, rp)
			},
			OnTrackSubscribed: func(t *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
				p.onTrackSubscribed(t, pub, rp)
			},
			OnTrackUnsubscribed: func(t *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
				p.onTrackUnsubscribed(t, pub, rp)
			},
			OnAttributesChanged: func(changed map[string]string, lp lksdk.Participant) {
				p.onAttributesChanged(changed, lp)
			},
		},
	}
}
