package livekit

import (
	"context"
	"slices"
	"strings"
	"sync"

	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/room"
)

// joinAttempts is how many times a publish-only participant starts its
// join over when the SDK lost LiveKit's SDP answer (see connect).
const joinAttempts = 3

// connect joins the LiveKit room with token, within ConnectTimeout.
//
// A publish-only participant (one PeerConnection) sends its SDP offer with
// the join request, and the SDK (v2.18.1 to v2.20.0 at least) applies
// that offer only after it has started reading the signalling connection:
// when LiveKit's answer comes quickly enough, the SDK's reader applies it
// first, pion refuses an answer in the stable state, the answer is lost
// and the join waits for its whole timeout ("could not connect after
// timeout"). The SDK says so in its log; connect watches for that line
// and at once starts the join over with a fresh client and the same
// identity (LiveKit drops the first session as a duplicate), up to
// joinAttempts times, within the same ConnectTimeout. The abandoned
// client is disconnected when its own join gives up.
func (p *participant) connect(ctx context.Context, token string) error {
	ctx, cancel := context.WithTimeout(ctx, p.b.cfg.ConnectTimeout)
	defer cancel()
	if p.lean != nil {
		if err := p.lean.join(ctx, token); err != nil {
			p.disconnect()
			p.wait()
			return joinError(err)
		}
		p.recountAudience()
		p.pinAtJoin()
		return nil
	}
	for attempt := 1; ; attempt++ {
		lost := make(chan struct{})
		r, joinAudio, done, err := p.startJoin(ctx, token, lost)
		if err != nil {
			return err
		}
		select {
		case err = <-done:
		case <-lost:
			if attempt == joinAttempts || ctx.Err() != nil {
				err = <-done
				break
			}
			p.b.m.joinRestarts.Inc()
			p.log.Debug("LiveKit's SDP answer was lost in the SDK, joining again", "attempt", attempt)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				if err := <-done; err == nil {
					p.log.Debug("an abandoned join connected after all")
				}
				r.Disconnect()
			}()
			continue
		}
		if err != nil {
			p.disconnect()
			return joinError(err)
		}
		if joinAudio != nil {
			if err := p.keepJoinTrack(joinAudio); err != nil {
				p.disconnect()
				return err
			}
		}
		break
	}
	p.recountAudience() // the participants already there came without callbacks
	p.pinAtJoin()
	if !p.publishOnly { // it has no OnTrack handler to call
		p.wg.Add(1)
		go p.dispatchLoop()
	}
	return nil
}

// startJoin makes a new SDK client, the participant's current one, and
// starts its join; done receives the join's result, lost is closed if the
// SDK lost LiveKit's answer.
func (p *participant) startJoin(ctx context.Context, token string, lost chan struct{}) (*lksdk.Room, *localTrack, chan error, error) {
	var r *lksdk.Room
	r = lksdk.NewRoom(p.callbacks(func() bool { return p.lk.Load() == r }))
	p.lk.Store(r)
	opts := p.b.opts.full
	if p.publishOnly {
		opts = p.b.opts.publishOnly
	}
	var once sync.Once
	opts = append(slices.Clip(opts),
		lksdk.WithConnectTimeout(p.b.cfg.ConnectTimeout),
		lksdk.WithLogger(answerWatch{
			Logger: p.b.sdkLog.WithValues("room", p.roomName, "participant", p.id),
			lost:   func() { once.Do(func() { close(lost) }) },
		}),
	)
	var joinAudio *localTrack
	if p.publishOnly && !p.hidden {
		// Its audio track goes with the join request (see keepJoinTrack).
		var err error
		if joinAudio, err = p.newTrack(room.TrackKindAudio, opusCapability); err != nil {
			return nil, nil, nil, err
		}
		opts = append(opts, lksdk.WithTrack(joinAudio.track, audioPublication()))
	}
	done := make(chan error, 1)
	go func() { done <- r.JoinWithContextAndToken(ctx, p.b.cfg.URL, token, opts...) }()
	return r, joinAudio, done, nil
}

// callbacks are the SDK callbacks of one of the participant's clients;
// they do nothing once current says the client is no longer the
// participant's own.
func (p *participant) callbacks(current func() bool) *lksdk.RoomCallback {
	return &lksdk.RoomCallback{
		OnDisconnectedWithReason: func(r lksdk.DisconnectionReason) {
			if current() {
				p.onDisconnected(r)
			}
		},
		OnParticipantConnected: func(rp *lksdk.RemoteParticipant) {
			if current() {
				p.onParticipantConnected(rp)
			}
		},
		OnParticipantDisconnected: func(rp *lksdk.RemoteParticipant) {
			if current() {
				p.onParticipantDisconnected(rp)
			}
		},
		OnActiveSpeakersChanged: func(ps []lksdk.Participant) {
			if current() {
				p.onActiveSpeakers(ps)
			}
		},
		OnReconnecting: func() {
			if current() {
				p.onReconnecting()
			}
		},
		OnReconnected: func() {
			if current() {
				p.onReconnected()
			}
		},
		OnLocalTrackSubscribed: func(pub *lksdk.LocalTrackPublication, lp *lksdk.LocalParticipant) {
			if current() {
				p.onLocalTrackSubscribed(pub, lp)
			}
		},
		OnRecordingStatusChanged: func(rec bool) {
			if current() {
				p.onRecordingStatusChanged(rec)
			}
		},
		ParticipantCallback: lksdk.ParticipantCallback{
			OnTrackMuted: func(pub lksdk.TrackPublication, lp lksdk.Participant) {
				if current() {
					p.onMuted(pub, lp, true)
				}
			},
			OnTrackUnmuted: func(pub lksdk.TrackPublication, lp lksdk.Participant) {
				if current() {
					p.onMuted(pub, lp, false)
				}
			},
			OnTrackPublished: func(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
				if current() {
					p.onTrackPublished(pub, rp)
				}
			},
			OnTrackSubscribed: func(t *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
				if current() {
					p.onTrackSubscribed(t, pub, rp)
				}
			},
			OnTrackUnsubscribed: func(t *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
				if current() {
					p.onTrackUnsubscribed(t, pub, rp)
				}
			},
			OnAttributesChanged: func(changed map[string]string, lp lksdk.Participant) {
				if current() {
					p.onAttributesChanged(changed, lp)
				}
			},
		},
	}
}

// lostAnswer is how the SDK logs an SDP answer that pion refused because
// the offer it answers was not applied yet (engine.go, OnAnswer).
const lostAnswer = "could not set remote description"

// answerWatch is the SDK's logger for one join: it calls lost when the SDK
// logs that it could not apply LiveKit's answer in the stable state.
type answerWatch struct {
	protologger.Logger
	lost func()
}

func (w answerWatch) Errorw(msg string, err error, kv ...any) {
	if msg == lostAnswer && err != nil && strings.Contains(err.Error(), "stable->SetRemote(answer)") {
		w.lost()
	}
	w.Logger.Errorw(msg, err, kv...)
}
