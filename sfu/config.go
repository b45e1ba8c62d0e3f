package sfu

import (
	"context"
	"log/slog"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is the SFU's configuration. It is copied by New and frozen from then
// on.
type Config struct {
	// Logger receives the SFU's logs; nil discards them.
	Logger *slog.Logger
	// PionLogger receives pion's logs (ICE, DTLS, SRTP…); nil sends them
	// to Logger through package pionlog.
	PionLogger logging.LoggerFactory
	// PortMin and PortMax bound the UDP ports ICE gathers host candidates
	// on; 0 and 0 mean any ephemeral port.
	PortMin, PortMax uint16
	// ExternalIPs are advertised instead of the host addresses (1:1 NAT,
	// e.g. a cloud VM's public address).
	ExternalIPs []string
	// IncludeLoopback gathers 127.0.0.1 candidates too; the demo and the
	// tests run on loopback only.
	IncludeLoopback bool
	// ICEServers are handed to web clients in the joined message (STUN/TURN
	// for their side of the connection).
	ICEServers []webrtc.ICEServer
	// Admit is called with the join message of a web client and returns
	// what it is granted. An error refuses the join: the client gets
	// {"type":"error"} (with "reason" when the error has a Reason() string
	// method) and the socket closes. Nil admits everybody under the name
	// they asked for.
	Admit func(ctx context.Context, req JoinRequest) (Admission, error)
	// DialIn, if set, gives the dial-in details (numbers, PIN, SIP URI) the
	// joined message carries to a web client admitted to room; nil
	// leaves them out.
	DialIn func(ctx context.Context, room string) *DialInJSON
	// Registerer receives the SFU's Prometheus metrics; nil registers none.
	Registerer prometheus.Registerer
	// MaxParticipants caps each room's visible participants; 0 means no cap.
	// Hidden participants (the room audio hub, recorders) do not count.
	MaxParticipants int
}

// JoinRequest is a web client's join message as Admit sees it.
type JoinRequest struct {
	Room, Name, Token, PIN string
	// RemoteAddr is the client's address (http.Request.RemoteAddr).
	RemoteAddr string
}

// Admission is what Admit grants a web client.
type Admission struct {
	// Name is the display name others see.
	Name string
	// Attributes are the participant's key/values (e.g. role=host), as the
	// room's directory lists them.
	Attributes map[string]string
}
