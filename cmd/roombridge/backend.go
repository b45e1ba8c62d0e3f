package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/gateway/pionlog"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/livekit"
	"github.com/roombridge/roombridge/sfu"
)

type admitFunc = func(ctx context.Context, j sfu.JoinRequest) (sfu.Admission, error)

// openBackend starts the room backend named by the backend key: the
// embedded SFU (which also serves the web client), or a LiveKit cluster,
// checked at start so that a wrong URL or key fails now, naming its key.
func (a *app) openBackend(ctx context.Context, cfg config.Config, reg prometheus.Registerer, admit admitFunc) (room.Backend, room.Directory, error) {
	if cfg.Backend == config.BackendLiveKit {
		lk, err := livekit.New(ctx, livekit.Config{
			URL:       cfg.LiveKit.URL,
			APIKey:    cfg.LiveKit.APIKey,
			APISecret: cfg.LiveKit.APISecret,
			Logger:    a.log,

			ConnectTimeout: cfg.LiveKit.ConnectTimeout,
			HealthInterval: cfg.LiveKit.HealthInterval,
			ReconnectGrace: cfg.LiveKit.ReconnectGrace,
			Registerer:     reg,
			// A restarted LiveKit has forgotten the rooms; make them again
			// so that LiveKit's own clients find them before a phone joins.
			OnReachable: a.recreateLiveKitRooms,
		})
		switch {
		case errors.Is(err, livekit.ErrBadCredentials):
			return nil, nil, fmt.Errorf("livekit.api_key/livekit.api_secret: %w", err)
		case err != nil:
			return nil, nil, fmt.Errorf("livekit.url: %w", err)
		}
		a.lk = lk
		a.lkReady.Store(lk)
		if err := a.createLiveKitRooms(ctx); err != nil {
			return nil, nil, fmt.Errorf("rooms: %w", err)
		}
		return lk, lk, nil
	}

	var ice []webrtc.ICEServer
	if len(cfg.WebRTC.STUNServers) > 0 {
		ice = []webrtc.ICEServer{{URLs: cfg.WebRTC.STUNServers}}
	}
	var external []string
	if cfg.RTP.ExternalIP != "" {
		external = []string{cfg.RTP.ExternalIP}
	}
	s, err := sfu.New(sfu.Config{
		Logger:          a.log,
		PionLogger:      pionlog.New(a.log.With("component", "sfu")), // ICE, DTLS, SRTP: pion's Info at Debug
		PortMin:         cfg.WebRTC.PortMin,
		PortMax:         cfg.WebRTC.PortMax,
		ExternalIPs:     external,
		IncludeLoopback: cfg.WebRTC.IncludeLoopback,
		ICEServers:      ice,
		Admit:           admit,
		DialIn:          a.dialIn,
		Registerer:      reg,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sfu: %w", err)
	}
	a.sfu = s
	return s, s, nil
}

// signalHandler serves the web client's signalling; with LiveKit the rooms
// are LiveKit's, which browsers join with LiveKit's own clients.
func (a *app) signalHandler() http.Handler {
	if a.sfu != nil {
		return a.sfu.SignalHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"the web client needs backend: embedded; with backend: livekit, join rooms with a LiveKit client","field":"backend"}` + "\n"))
	})
}

// roomCreated creates a room made through the API in backends whose rooms
// exist apart from their participants.
func roomCreated(b room.Backend) func(ctx context.Context, name string) error {
	rc, ok := b.(room.RoomCreator)
	if !ok {
		return nil
	}
	return rc.CreateRoom
}

// createLiveKitRooms creates every room of the store (config and API rooms)
// in LiveKit.
func (a *app) createLiveKitRooms(ctx context.Context) error {
	rooms, err := a.store.ListRooms(ctx)
	if err != nil {
		return err
	}
	lk := a.lkReady.Load()
	var errs []error
	for _, r := range rooms {
		if err := lk.CreateRoom(ctx, r.Name); err != nil {
			errs = append(errs, fmt.Errorf("creating %q in LiveKit: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (a *app) recreateLiveKitRooms(ctx context.Context) {
	if a.lkReady.Load() == nil {
		return
	}
	if err := a.createLiveKitRooms(ctx); err != nil {
		a.log.Warn("LiveKit is back but some rooms could not be created again", "err", err)
		return
	}
	a.log.Info("rooms created again in LiveKit")
}
