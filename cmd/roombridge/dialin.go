package main

import (
	"context"
	"time"

	"github.com/roombridge/roombridge/sfu"
)

// dialInTimeout bounds the store read behind a web client's join.
const dialInTimeout = 2 * time.Second

// dialIn tells a web client admitted to room how to join it by phone: the
// dial-in numbers, the room's PIN (the guest PIN, never the host PIN), its
// SIP URI and numeric id. Only admitted participants get it, as a
// participant of a PIN-protected meeting already knows the PIN.
func (a *app) dialIn(ctx context.Context, room string) *sfu.DialInJSON {
	ctx, cancel := context.WithTimeout(ctx, dialInTimeout)
	defer cancel()
	r, err := a.store.GetRoom(ctx, room)
	if err != nil {
		a.log.Debug("dial-in details", "room", room, "err", err)
		return nil
	}
	d := &sfu.DialInJSON{SIPURI: "sip:" + r.Name + "@" + a.cfg.SIP.Domain, NumericID: r.NumericID}
	if r.PIN != "" {
		d.Numbers = append([]string(nil), a.cfg.DialIn.Numbers...)
		d.PIN = r.PIN
	}
	return d
}
