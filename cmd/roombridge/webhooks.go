package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway"
	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/webhook"
)

// newWebhooks starts the dispatcher of webhooks[]; nil when none is
// configured (Emit on nil is a no-op).
func newWebhooks(cfg []config.Webhook, reg prometheus.Registerer, log *slog.Logger) (*webhook.Dispatcher, error) {
	if len(cfg) == 0 {
		return nil, nil
	}
	eps := make([]webhook.Endpoint, 0, len(cfg))
	for _, w := range cfg {
		eps = append(eps, webhook.Endpoint{URL: w.URL, Secret: w.Secret, Events: w.Events})
	}
	return webhook.New(webhook.Config{Endpoints: eps, Logger: log.With("component", "webhook"), Registerer: reg})
}

// callObserver turns the gateway's call events into webhooks.
type callObserver struct{ d *webhook.Dispatcher }

var _ gateway.CallObserver = callObserver{}

func (o callObserver) ObserveCall(e gateway.CallEvent) {
	typ := e.Type.String()
	if !o.d.Wants(typ) {
		return
	}
	dir := "inbound"
	if e.Direction != "" {
		dir = e.Direction
	}
	c := &webhook.Call{
		ID: e.ID, SIPCallID: e.SIPCallID, Direction: dir, From: e.From, To: e.To,
		Trunk: e.Trunk, Transport: e.Transport, StartedAt: e.StartedAt,
		Result: e.Result, Cause: e.Cause, Status: e.Status,
	}
	if !e.AnsweredAt.IsZero() {
		at := e.AnsweredAt
		c.AnsweredAt = &at
	}
	if e.Type == gateway.CallEnded {
		end := e.Time
		c.EndedAt = &end
		if c.AnsweredAt != nil {
			c.DurationSeconds = end.Sub(*c.AnsweredAt).Round(time.Millisecond).Seconds()
		}
		if q := e.Quality; q != nil {
			c.Quality = hookQuality(*q)
		}
	}
	ev := webhook.Event{Event: typ, Time: e.Time, Room: e.Room, Call: c}
	if e.Room != "" {
		p := e.Participant
		ev.Participant = &webhook.Participant{ID: p.Identity, Name: p.Name, Kind: p.Kind.String(), Attributes: p.Attributes}
	}
	o.d.Emit(ev)
}

// dialEvents turns dial-out state changes into webhooks.
func dialEvents(d *webhook.Dispatcher) func(dialout.Event) {
	return func(e dialout.Event) {
		if !d.Wants(e.Type) {
			return
		}
		i := e.Info
		c := &webhook.Call{
			ID: i.ID, SIPCallID: i.SIPCallID, Direction: "outbound", From: i.From, To: i.To, Trunk: i.Trunk,
			State: string(i.State), Status: i.Status, Cause: i.Cause, StartedAt: i.CreatedAt,
		}
		if !i.AnsweredAt.IsZero() {
			at := i.AnsweredAt
			c.AnsweredAt = &at
		}
		if !i.EndedAt.IsZero() {
			end := i.EndedAt
			c.EndedAt = &end
			c.Result = i.Cause
			if c.AnsweredAt != nil {
				c.Result = "answered"
				c.DurationSeconds = end.Sub(*c.AnsweredAt).Round(time.Millisecond).Seconds()
			}
		} else if i.State == dialout.StateAnswered {
			c.Result = "answered"
		}
		if q, ok := i.Quality.(gateway.LegQuality); ok {
			c.Quality = hookQuality(q)
		}
		d.Emit(webhook.Event{
			Event: e.Type, Room: i.Room, Call: c,
			Participant: &webhook.Participant{ID: i.Participant, Name: i.Name, Kind: "sip", Attributes: i.Attributes},
		})
	}
}

// hookQuality is a leg's quality as webhooks carry it.
func hookQuality(q gateway.LegQuality) *webhook.Quality {
	return &webhook.Quality{
		PacketsReceived: q.PacketsReceived, PacketsSent: q.PacketsSent, PacketsLost: q.PacketsLost,
		JitterMS: ms(q.Jitter), RTTMS: ms(q.RTT), MOS: q.MOS,
	}
}

// roomEvents wraps the API's room hooks so that room_created and
// room_deleted go out as webhooks, after what the hooks did before.
func roomEvents(d *webhook.Dispatcher, created func(context.Context, string) error) (func(context.Context, string) error, func(string)) {
	onCreated := func(ctx context.Context, name string) error {
		d.Emit(webhook.Event{Event: webhook.RoomCreated, Room: name})
		if created != nil {
			return created(ctx, name)
		}
		return nil
	}
	onDeleted := func(name string) { d.Emit(webhook.Event{Event: webhook.RoomDeleted, Room: name}) }
	return onCreated, onDeleted
}
