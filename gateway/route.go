package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
)

// route decides where a call goes from the user part it dialled: the
// Request-URI user, or the To user when the Request-URI has none. A room's
// name, alias or numeric id joins that room directly; a dial-in number (and
// a room that wants its PIN even on direct dial) needs the PIN IVR, which is
// the next step of the project, so those calls get 480 for now. Anything
// else is 404, and a failing store 503.
func (g *Gateway) route(ctx context.Context, ic *sip.IncomingCall) (store.Room, error) {
	user := ic.RequestURIUser()
	if user == "" {
		user = ic.To().User
	}
	if user == "" {
		return store.Room{}, fmt.Errorf("%w: no user part in the Request-URI or To", sip.ErrNoSuchRoom)
	}
	if g.isDialIn(user) {
		return store.Room{}, fmt.Errorf("%q is a dial-in number: %w", user, ErrPINIVRUnavailable)
	}
	r, err := g.cfg.Store.FindBySIPUser(ctx, user)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Room{}, fmt.Errorf("%w: %q", sip.ErrNoSuchRoom, user)
	case err != nil:
		return store.Room{}, fmt.Errorf("%w: store: %w", ErrBackend, err)
	case r.PINOnDirectDial || r.WaitForHost:
		return store.Room{}, fmt.Errorf("room %s needs a PIN: %w", r.Name, ErrPINIVRUnavailable)
	}
	return r, nil
}

// isDialIn reports whether user is one of the dial-in numbers, comparing
// digits only so that "+1 555 0100" and "15550100" are the same number.
func (g *Gateway) isDialIn(user string) bool {
	d := digits(user)
	if d == "" {
		return false
	}
	return slices.ContainsFunc(g.cfg.DialInNumbers, func(n string) bool { return digits(n) == d })
}

// digits keeps the decimal digits of s; it returns "" when s has anything
// but digits and the usual separators, so that a room named "room1" is not
// taken for a number.
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == '-' || r == ' ' || r == '.' || r == '(' || r == ')':
		default:
			return ""
		}
	}
	return b.String()
}
