package gateway

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// TokenVerifier checks a join token and says which room and name it grants.
type TokenVerifier interface {
	Verify(token string) (room, name string, err error)
}

// WebAdmission decides who may join a room from the web client.
type WebAdmission struct {
	// Public rooms can be joined by name alone; otherwise a token is needed.
	Public bool
	Tokens TokenVerifier
	// RoomExists reports whether a room is in the store.
	RoomExists func(ctx context.Context, room string) (bool, error)
}

// maxNameRunes bounds display names so a hostile client cannot fill every
// other participant's screen.
const maxNameRunes = 64

// Admit returns the display name to use, or why the join is refused. A
// token's name wins over the one the page asked for, so that a link handed
// out for "alice" cannot be used as "bob".
func (w *WebAdmission) Admit(ctx context.Context, room, name, token string) (string, error) {
	if token != "" {
		if w.Tokens == nil {
			return "", ErrTokenInvalid
		}
		tRoom, tName, err := w.Tokens.Verify(token)
		if err != nil {
			return "", ErrTokenInvalid
		}
		if tRoom != room {
			return "", ErrTokenRoom
		}
		if tName != "" {
			name = tName
		}
	} else if !w.Public {
		return "", ErrTokenRequired
	}
	ok, err := w.RoomExists(ctx, room)
	if err != nil {
		return "", fmt.Errorf("looking up room: %w", err)
	}
	if !ok {
		return "", ErrNoSuchRoom
	}
	return CleanDisplayName(name), nil
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
