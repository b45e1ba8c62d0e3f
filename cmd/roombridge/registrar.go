package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/api"
	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
)

// sipUsers are the SIP accounts the registrar knows: sip.users from the
// config, then the short-lived ones of POST /v1/sip-credentials.
type sipUsers struct {
	static map[string]string
	minted *api.SIPCredentials
}

var _ sip.Users = sipUsers{}

func newSIPUsers(users []config.SIPUser, minted *api.SIPCredentials) sipUsers {
	u := sipUsers{static: make(map[string]string, len(users)), minted: minted}
	for _, x := range users {
		u.static[x.Username] = x.Password
	}
	return u
}

// Password implements sip.Users.
func (u sipUsers) Password(username string) (string, bool) {
	if p, ok := u.static[username]; ok {
		return p, true
	}
	if u.minted == nil {
		return "", false
	}
	return u.minted.Password(username)
}

// storeRegistrar keeps the registrar's bindings in the store, where the
// room API lists them and other nodes sharing the store see them.
type storeRegistrar struct{ s store.Store }

var _ sip.Registrar = storeRegistrar{}

// Bindings implements sip.Registrar.
func (r storeRegistrar) Bindings(ctx context.Context, aor string) ([]sip.Binding, error) {
	regs, err := r.s.ListRegistrations(ctx, aor, time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]sip.Binding, 0, len(regs))
	for _, g := range regs {
		out = append(out, sip.Binding{
			AOR: g.AOR, Contact: g.Contact, Username: g.Username, Transport: g.Transport, Source: g.Source,
			UserAgent: g.UserAgent, CallID: g.CallID, CSeq: g.CSeq, InstanceID: g.InstanceID, Expires: g.ExpiresAt,
		})
	}
	return out, nil
}

// Bind implements sip.Registrar.
func (r storeRegistrar) Bind(ctx context.Context, b sip.Binding) error {
	return r.s.PutRegistration(ctx, store.Registration{
		AOR: b.AOR, Contact: b.Contact, Username: b.Username, Transport: b.Transport, Source: b.Source,
		UserAgent: b.UserAgent, CallID: b.CallID, CSeq: b.CSeq, InstanceID: b.InstanceID, ExpiresAt: b.Expires,
	})
}

// Unbind implements sip.Registrar.
func (r storeRegistrar) Unbind(ctx context.Context, aor, contact string) error {
	return r.s.DeleteRegistrations(ctx, aor, contact)
}

// dropFlowTimeout bounds the store round trips that forget a closed
// socket's bindings.
const dropFlowTimeout = 5 * time.Second

// dropFlow returns the hook a SIP WebSocket listener calls when a socket
// closes: the bindings registered through it are removed at once. A
// browser's Contact (an .invalid host, RFC 7118 §5) is reachable only over
// the socket it registered on, so a binding outliving it would only make
// calls to that user fail until it expires; a page that is closed cannot
// finish its own un-REGISTER (it needs a digest round trip).
func (r storeRegistrar) dropFlow(log *slog.Logger) func(remote string) {
	return func(remote string) {
		ctx, cancel := context.WithTimeout(context.Background(), dropFlowTimeout)
		defer cancel()
		regs, err := r.s.ListRegistrations(ctx, "", time.Now())
		if err != nil {
			log.Warn("bindings of a closed SIP WebSocket not removed", "err", err)
			return
		}
		for _, g := range regs {
			if g.Source != remote || !strings.HasPrefix(strings.ToLower(g.Transport), "ws") {
				continue
			}
			if err := r.s.DeleteRegistrations(ctx, g.AOR, g.Contact); err != nil {
				log.Warn("binding of a closed SIP WebSocket not removed", "aor", g.AOR, "err", err)
				continue
			}
			log.Debug("binding removed with its SIP WebSocket", "aor", g.AOR, "source", remote)
		}
	}
}
