package gateway

import (
	"github.com/roombridge/roombridge/gateway/bridge"
)

// roomHub is a room's audio hub (gateway/bridge) with the count of the
// calls using it, so that it lives from the room's first leg on this node
// to its last (Gateway.joinHub, leaveHub).
type roomHub struct {
	*bridge.Hub
	users int // legs joined or joining; guarded by g.mu
}

func (g *Gateway) newHub(roomName string) *roomHub {
	return &roomHub{Hub: bridge.NewHub(bridge.HubConfig{
		Room:        roomName,
		Backend:     g.backendOf(roomName),
		MaxSpeakers: g.cfg.MaxSpeakers,
		Logger:      g.log.With("room", roomName, "hub", true), // the gateway logger already names the component
		Observer:    clockObserver{g.m, g.head},
	})}
}
