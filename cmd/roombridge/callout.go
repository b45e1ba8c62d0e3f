package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway"
	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip/outbound"
	"github.com/roombridge/roombridge/gateway/webhook"
)

// callout is the calling-out side: the outbound trunks and the registry
// of API dial-outs. Both are nil when no trunk has an outbound section.
type callout struct {
	trunks *outbound.Manager
	calls  *dialout.Registry
}

// newCallout builds the outbound trunks (registering and pinging once
// started) and the dial-out registry over them.
func newCallout(cfg config.Config, side *sipSide, hooks *webhook.Dispatcher, reg prometheus.Registerer, log *slog.Logger) (*callout, error) {
	var trunks []outbound.Trunk
	for _, t := range cfg.Trunks {
		o := t.Outbound
		if o == nil {
			continue
		}
		trunks = append(trunks, outbound.Trunk{
			Name: t.Name, URI: o.URI, Username: o.Username, Password: o.Password, Realm: o.Realm,
			FromNumber: o.FromNumber, FromDomain: o.FromDomain, Register: o.Register,
			RegisterExpires: o.RegisterExpires, Priority: o.Priority, Numbers: o.Numbers,
			OptionsInterval: o.OptionsInterval, InviteTimeout: o.InviteTimeout,
		})
	}
	if len(trunks) == 0 {
		return &callout{}, nil
	}
	contacts := make([]string, 0, len(side.srv.Addrs()))
	for _, a := range side.srv.Addrs() {
		contacts = append(contacts, a.String())
	}
	contactHost := ""
	if external, err := netip.ParseAddr(cfg.RTP.ExternalIP); err == nil {
		contactHost = external.String()
	}
	m, err := outbound.New(outbound.Config{
		Trunks:         trunks,
		Contacts:       contacts,
		ContactHost:    contactHost,
		UserAgent:      "roombridge/" + version,
		SessionExpires: cfg.SIP.SessionExpires,
		Logger:         log.With("component", "outbound"),
		Registerer:     reg,
	})
	if err != nil {
		return nil, fmt.Errorf("trunks: %w", err)
	}
	calls, err := dialout.New(dialout.Config{
		Dialer:  m,
		Media:   side.gw.DialMedia(dialTrunks(cfg.Trunks)),
		OnEvent: dialEvents(hooks),
		Logger:  log.With("component", "dialout"),
	})
	if err != nil {
		_ = m.Close(context.Background())
		return nil, err
	}
	// Callers with a SIP account (or on a click_to_call trunk) who dial a
	// number these trunks serve are bridged to it.
	side.gw.EnableClickToCall(clickToCall{Registry: calls, trunks: m}, dialTrunks(cfg.Trunks))
	return &callout{trunks: m, calls: calls}, nil
}

// clickToCall is the gateway's view of the calling-out side: the
// registry places the calls, the trunks say which numbers they serve.
type clickToCall struct {
	*dialout.Registry
	trunks *outbound.Manager
}

func (c clickToCall) Routes(number string) bool { return c.trunks.Routes(number) }

var _ gateway.ClickToCall = clickToCall{}

// start begins the trunks' registrations and pings.
func (c *callout) start() {
	if c.trunks != nil {
		c.trunks.Start()
	}
}

// close hangs up the dial-outs and removes the registrations, within ctx.
func (c *callout) close(ctx context.Context, log *slog.Logger) {
	if c.calls != nil {
		logErr(log, "dial-outs close", c.calls.Close(ctx))
	}
	if c.trunks != nil {
		logErr(log, "outbound trunks close", c.trunks.Close(ctx))
	}
}

// dialTrunks are the media policies of the outbound trunks: trunks[].srtp
// (with srtp_over_plain) and trunks[].dtmf.
func dialTrunks(ts []config.Trunk) map[string]gateway.DialTrunk {
	out := map[string]gateway.DialTrunk{}
	for _, t := range ts {
		if t.Outbound == nil {
			continue
		}
		srtp, _ := sdp.ParseSRTPMode(t.SRTP)
		mode, _ := dtmf.ParseMode(t.DTMF)
		out[t.Name] = gateway.DialTrunk{SRTP: srtp, SRTPOverPlain: t.SRTPOverPlain, DTMF: mode}
	}
	return out
}
