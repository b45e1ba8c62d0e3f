package gateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/lockout"
	"github.com/roombridge/roombridge/gateway/store"
)

// TokenVerifier checks a join token and says which room and name it grants.
type TokenVerifier interface {
	Verify(token string) (room, name string, err error)
}

// RoomGetter looks a room up by name; store.ErrNotFound when there is
// none. *store.SQLite implements it.
type RoomGetter interface {
	GetRoom(ctx context.Context, name string) (store.Room, error)
}

// JoinRequest is a web client's request to join a room.
type JoinRequest struct {
	Room, Name, Token, PIN string
	// Client is the address the request came from (the client behind a
	// trusted proxy); wrong PINs count against it.
	Client netip.Addr
}

// Admitted is what a web join is granted.
type Admitted struct {
	Name string // display name
	Host bool   // joined with the room's host PIN
}

// WebAdmission decides who may join a room from the web client, by the
// rule README's "Who gets into a room" states: a valid join token for the
// room always; else a room with a PIN needs its PIN (the host PIN makes
// the joiner host); a room without one is open when Public. Wrong PINs
// count per client address in the same lockout table as phone PINs.
type WebAdmission struct {
	Public  bool
	Tokens  TokenVerifier
	Rooms   RoomGetter
	Lockout *lockout.Table

	joins *prometheus.CounterVec
}

// Web join results, the label of roombridge_web_joins_total.
const (
	webAdmitted = "admitted"
	webHost     = "host"
	webRefused  = "refused"
	webWrongPIN = "wrong_pin"
	webLocked   = "locked_out"
)

// NewWebAdmission makes a WebAdmission and registers its metric with reg
// (nil: none).
func NewWebAdmission(w WebAdmission, reg prometheus.Registerer) (*WebAdmission, error) {
	if w.Rooms == nil {
		return nil, fmt.Errorf("%w: WebAdmission needs Rooms", ErrInvalidConfig)
	}
	if w.Lockout == nil {
		w.Lockout = lockout.New(lockout.Config{})
	}
	w.joins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roombridge_web_joins_total",
		Help: "Web client joins, by result: admitted, host, refused (no room, no token or PIN), wrong_pin, locked_out.",
	}, []string{"result"})
	if reg != nil {
		if err := reg.Register(w.joins); err != nil {
			return nil, err
		}
	}
	return &w, nil
}

// maxNameRunes bounds display names so a hostile client cannot fill every
// other participant's screen.
const maxNameRunes = 64

// Admit returns what the join is granted, or why it is refused (an
// *AdmitError the web client can act on). A token's name wins over the one
// the page asked for, so that a link handed out for "alice" cannot be used
// as "bob". PINs are compared in constant time and never logged.
func (w *WebAdmission) Admit(ctx context.Context, j JoinRequest) (Admitted, error) {
	a, err := w.admit(ctx, j)
	result := webAdmitted
	switch {
	case errors.Is(err, ErrPINWrong):
		result = webWrongPIN
	case errors.Is(err, ErrWebLockedOut):
		result = webLocked
	case err != nil:
		result = webRefused
	case a.Host:
		result = webHost
	}
	w.joins.WithLabelValues(result).Inc()
	return a, err
}

func (w *WebAdmission) admit(ctx context.Context, j JoinRequest) (Admitted, error) {
	name := j.Name
	if j.Token != "" {
		if w.Tokens == nil {
			return Admitted{}, ErrTokenInvalid
		}
		tRoom, tName, err := w.Tokens.Verify(j.Token)
		if err != nil {
			return Admitted{}, ErrTokenInvalid
		}
		if tRoom != j.Room {
			return Admitted{}, ErrTokenRoom
		}
		if tName != "" {
			name = tName
		}
	}
	r, err := w.Rooms.GetRoom(ctx, j.Room)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Admitted{}, ErrNoSuchRoom
	case err != nil:
		return Admitted{}, fmt.Errorf("looking up room: %w", err)
	}
	a := Admitted{Name: CleanDisplayName(name)}
	if j.PIN != "" {
		host, err := w.checkPIN(r, j)
		if err != nil {
			return Admitted{}, err
		}
		a.Host = host
		return a, nil
	}
	switch {
	case j.Token != "":
	case r.PIN != "":
		return Admitted{}, ErrPINRequired
	case !w.Public:
		return Admitted{}, ErrTokenRequired
	}
	return a, nil
}

// checkPIN checks a PIN the joiner gave: the room's PIN, or its host PIN
// (host). A wrong one counts against the client address, and a locked
// address is refused before its PIN is looked at.
func (w *WebAdmission) checkPIN(r store.Room, j JoinRequest) (host bool, err error) {
	var keys []string
	if j.Client.IsValid() {
		keys = []string{lockout.SourceKey(j.Client)}
	}
	if _, locked := w.Lockout.Locked(keys...); locked {
		return false, ErrWebLockedOut
	}
	switch {
	case r.HostPIN != "" && samePIN(j.PIN, r.HostPIN):
		return true, nil
	case r.PIN != "" && samePIN(j.PIN, r.PIN):
		return false, nil
	}
	if w.Lockout.Fail(keys...) {
		return false, ErrWebLockedOut
	}
	return false, ErrPINWrong
}

func samePIN(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// CleanDisplayName strips control characters, trims, bounds the length, and
// falls back to "guest".
func CleanDisplayName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > maxNameRunes {
		name = string(r[:maxNameRunes])
	}
	if name == "" {
		return "guest"
	}
	return name
}
