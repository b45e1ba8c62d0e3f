package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/ivr/prompts"
)

// destination is where routing sends a call.
type destination struct {
	// room is the room dialled directly, joined at once unless ivr.
	room store.Room
	// ivr: the caller keys a PIN first. With only set, the PIN must open
	// that room (a room dialled directly with pin_on_direct_dial).
	ivr  bool
	only string
	// waitHost: the room holds guests until its host is in; a caller who
	// dialled it directly is a guest.
	waitHost bool
	// prompts in the language of the dialled number.
	prompts *prompts.Set
	// callOut is the number a click-to-call dials (clicktocall.go).
	callOut string
	// bridged is what another node's bridge token says of a PIN caller
	// it sent here (nodein.go); nil for other calls.
	bridged *nodeClaim
}

// route decides where a call goes from the user part it dialled: the
// Request-URI user, or the To user when the Request-URI has none. A dial-in
// number goes to the PIN IVR; a room's name, alias or numeric id joins that
// room directly (as a guest, who waits for the host in a wait_for_host
// room) when the call came over a trusted trunk or the room has no PIN,
// and otherwise through the IVR: the PIN must then open that room, and
// says whether the caller is its host. pin_on_direct_dial asks for it on
// trusted trunks too. Anything else is 404, and a failing store 503. A
// trunk that requires SRTP refuses calls whose signalling is not TLS
// (488): their SDES keys would travel in clear.
func (g *Gateway) route(ctx context.Context, ic *sip.IncomingCall) (destination, error) {
	if g.trunkSRTP(ic.Trunk()) == sdp.SRTPRequire && !sdesAllowed(ic) {
		return destination{}, fmt.Errorf("%w (%s)", ErrSRTPNeedsTLS, ic.Transport())
	}
	user := ic.RequestURIUser()
	if user == "" {
		user = ic.To().User
	}
	if user == "" {
		return destination{}, fmt.Errorf("%w: no user part in the Request-URI or To", sip.ErrNoSuchRoom)
	}
	if g.isDialIn(user) {
		return destination{ivr: true, prompts: g.promptsFor(user)}, nil
	}
	r, err := g.cfg.Store.FindBySIPUser(ctx, user)
	switch {
	case errors.Is(err, store.ErrNotFound) && g.callOutNumber(user):
		if !mayCallOut(ic.Trunk()) {
			return destination{}, fmt.Errorf("%w: %s", ErrCallOutForbidden, user)
		}
		return destination{callOut: user, prompts: g.defaults}, nil
	case errors.Is(err, store.ErrNotFound):
		return destination{}, fmt.Errorf("%w: %q", sip.ErrNoSuchRoom, user)
	case err != nil:
		return destination{}, fmt.Errorf("%w: store: %w", ErrBackend, err)
	}
	if claim, ok := g.bridgedIn(ic, r.Name); ok {
		return destination{room: r, waitHost: r.WaitForHost && !claim.host, bridged: &claim, prompts: g.defaults}, nil
	}
	if err := g.elsewhere(ctx, ic, user, r.Name); err != nil {
		return destination{}, err
	}
	if r.PINOnDirectDial || r.PIN != "" && !trusted(ic.Trunk()) {
		return destination{room: r, ivr: true, only: r.Name, prompts: g.defaults}, nil
	}
	return destination{room: r, waitHost: r.WaitForHost, prompts: g.defaults}, nil
}

// StayParam in a Request-URI ("sip:ROOM@node;rbstay") keeps the call on
// the node it reached: the Contact of our 302 carries it, so the room's
// node never sends the call on again, and so may a proxy that retries the
// redirecting node when the room's node does not answer.
const StayParam = "rbstay"

// elsewhere returns a *sip.MovedError when another node hosts room (see
// Config.RoomNode) and the call may be moved there.
func (g *Gateway) elsewhere(ctx context.Context, ic *sip.IncomingCall, user, room string) error {
	if g.cfg.RoomNode == nil {
		return nil
	}
	if _, stay := ic.RequestURIParam(StayParam); stay {
		return nil
	}
	addr, ok := g.cfg.RoomNode(ctx, room)
	if !ok {
		return nil
	}
	return fmt.Errorf("room %s is on the node at %s: %w", room, addr,
		&sip.MovedError{Contact: "sip:" + user + "@" + addr + ";" + StayParam})
}

// trusted reports whether callers of the trunk may dial a room without its
// PIN (trunks[].trusted, allowed by the config only with digest auth or a
// narrow allow list).
func trusted(t *sip.Trunk) bool { return t != nil && t.Trusted }

// promptsFor is the prompt set of a dial-in number: its own language
// (dialin.languages), else the default one.
func (g *Gateway) promptsFor(number string) *prompts.Set {
	if lang, ok := g.langs[digits(number)]; ok {
		if set := g.cfg.IVR.Prompts[lang]; set != nil {
			return set
		}
	}
	return g.defaults
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
