package api

import (
	"net/http"
	"time"
)

// trunkJSON is an outbound trunk as GET /v1/trunks shows it.
type trunkJSON struct {
	Name         string                `json:"name"`
	URI          string                `json:"uri"`
	Priority     int                   `json:"priority"`
	Numbers      []string              `json:"numbers"`
	ActiveCalls  int                   `json:"active_calls"`
	Registration trunkRegistrationJSON `json:"registration"`
	Options      optionsJSON           `json:"options"`
}

type trunkRegistrationJSON struct {
	// State is disabled, registering, registered, failed or unregistered.
	State         string     `json:"state"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	Server        string     `json:"server,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	Failures      int        `json:"failures"`
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
}

type optionsJSON struct {
	// Health is up, down or unknown (pings off or none finished yet).
	Health          string     `json:"health"`
	IntervalSeconds float64    `json:"interval_seconds"`
	LastStatus      int        `json:"last_status,omitempty"`
	LastPingAt      *time.Time `json:"last_ping_at,omitempty"`
	LastError       string     `json:"last_error,omitempty"`
	Failures        int        `json:"failures"`
}

func (s *Server) listTrunks(w http.ResponseWriter, _ *http.Request) error {
	out := []trunkJSON{}
	if s.cfg.Trunks != nil {
		for _, t := range s.cfg.Trunks() {
			numbers := t.Numbers
			if numbers == nil {
				numbers = []string{}
			}
			out = append(out, trunkJSON{
				Name: t.Name, URI: t.URI, Priority: t.Priority, Numbers: numbers, ActiveCalls: t.ActiveCalls,
				Registration: trunkRegistrationJSON{
					State:         t.Registration.State.String(),
					ExpiresAt:     timePtr(t.Registration.Expires),
					NextAttemptAt: timePtr(t.Registration.NextAttempt),
					Server:        t.Registration.Server,
					LastError:     t.Registration.LastError,
					Failures:      t.Registration.Failures,
					LastSuccessAt: timePtr(t.Registration.LastSuccess),
				},
				Options: optionsJSON{
					Health:          t.Options.Health.String(),
					IntervalSeconds: t.Options.Interval.Seconds(),
					LastStatus:      t.Options.LastStatus,
					LastPingAt:      timePtr(t.Options.LastPing),
					LastError:       t.Options.LastError,
					Failures:        t.Options.Failures,
				},
			})
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Trunks []trunkJSON `json:"trunks"`
	}{out})
	return nil
}
