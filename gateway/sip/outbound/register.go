package outbound

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// registration is one trunk's REGISTER agent and the server it talks to;
// the agent is rebuilt when the server changes.
type registration struct {
	agent  *uac.Agent
	target Target
}

// use makes the agent talk to tg, building a new one if tg is another
// server than the last.
func (r *registration) use(ctx context.Context, cfg uac.Config, tg Target) error {
	if r.agent != nil && tg == r.target {
		return nil
	}
	r.close()
	a, err := uac.NewAgent(ctx, cfg)
	if err != nil {
		return err
	}
	r.agent, r.target = a, tg
	return nil
}

func (r *registration) close() {
	if r.agent != nil {
		_ = r.agent.Close()
		r.agent = nil
	}
}

// registerLoop keeps t registered until the manager closes (RFC 3261
// §10.2.1): it refreshes at 60-75 % of the granted lifetime, retries a
// failed registration after a backoff that doubles from Config.RetryMin to
// Config.RetryMax (with ±20 % jitter, so that many gateways do not retry in
// step), and removes the binding when the manager closes.
func (m *Manager) registerLoop(t *trunk) {
	defer m.wg.Done()
	var r registration
	defer r.close()
	backoff := m.cfg.RetryMin
	for {
		t.updateReg(func(s *RegistrationState) {
			if s.State != RegRegistered {
				s.State = RegRegistering
			}
		})
		granted, err := m.register(m.ctx, t, &r, t.RegisterExpires)
		var wait time.Duration
		now := time.Now()
		if err != nil {
			if m.ctx.Err() != nil {
				break
			}
			m.m.regFailures.WithLabelValues(t.Name).Inc()
			m.m.regState.WithLabelValues(t.Name).Set(0)
			wait = jitter(backoff, 0.2)
			backoff = min(2*backoff, m.cfg.RetryMax)
			t.updateReg(func(s *RegistrationState) {
				s.State, s.LastError, s.Expires = RegFailed, err.Error(), time.Time{}
				s.Failures++
			})
			m.log.Warn("outbound: registration failed", "trunk", t.Name, "err", err, "retry_in", wait.Round(time.Millisecond))
		} else {
			backoff = m.cfg.RetryMin
			wait = refreshDelay(granted)
			m.m.regState.WithLabelValues(t.Name).Set(1)
			t.updateReg(func(s *RegistrationState) {
				if s.State != RegRegistered {
					m.log.Info("outbound: registered", "trunk", t.Name, "server", r.target.String(), "expires", granted)
				}
				s.State, s.LastError, s.Failures = RegRegistered, "", 0
				s.Expires, s.LastSuccess, s.Server = now.Add(granted), now, r.target.String()
			})
		}
		t.updateReg(func(s *RegistrationState) { s.NextAttempt = now.Add(wait) })
		timer := time.NewTimer(wait)
		select {
		case <-m.ctx.Done():
			timer.Stop()
		case <-timer.C:
			continue
		}
		break
	}
	m.unregister(t, &r)
}

// unregister removes t's binding at shutdown (Expires: 0, RFC 3261
// §10.2.2), when there is one.
func (m *Manager) unregister(t *trunk, r *registration) {
	t.mu.Lock()
	was := t.reg.State
	t.mu.Unlock()
	m.m.regState.WithLabelValues(t.Name).Set(0)
	if was != RegRegistered || r.agent == nil {
		return
	}
	ctx, cancel := context.WithTimeout(m.shutdownContext(), 5*time.Second)
	defer cancel()
	_, err := r.agent.Register(ctx, uac.Registration{
		AOR: m.aor(t), Contact: m.contact(t, r.target), Destination: r.target.Addr.String(),
	})
	t.updateReg(func(s *RegistrationState) {
		s.State, s.Expires, s.NextAttempt = RegUnregistered, time.Time{}, time.Time{}
		if err != nil {
			s.LastError = "unregister: " + err.Error()
		}
	})
	if err != nil {
		m.log.Info("outbound: unregister failed", "trunk", t.Name, "err", err)
		return
	}
	m.log.Info("outbound: unregistered", "trunk", t.Name)
}

// register sends one REGISTER, trying t's servers in order, the last one
// that worked first. A server that does not answer, or answers 503, is
// skipped for the next (RFC 3263 §4.3); any other answer is final.
func (m *Manager) register(ctx context.Context, t *trunk, r *registration, expires time.Duration) (time.Duration, error) {
	targets, err := m.resolve(ctx, t)
	if err != nil {
		return 0, err
	}
	for i, tg := range targets {
		if tg == r.target && i > 0 {
			// The server we are registered with goes first.
			targets = append([]Target{tg}, append(targets[:i:i], targets[i+1:]...)...)
			break
		}
	}
	var lastErr error
	for _, tg := range targets {
		if err := r.use(ctx, m.agentConfig(t, tg, m.contactUser(t)), tg); err != nil {
			lastErr = err
			continue
		}
		granted, err := r.agent.Register(ctx, uac.Registration{
			AOR: m.aor(t), Contact: m.contact(t, tg), Expires: expires, Destination: tg.Addr.String(),
		})
		if err == nil {
			if granted <= 0 {
				return 0, fmt.Errorf("registrar granted no lifetime")
			}
			return granted, nil
		}
		lastErr = fmt.Errorf("%s: %w", tg, err)
		if !serverDown(err) {
			return 0, lastErr
		}
	}
	return 0, lastErr
}

// serverDown reports an error that says nothing about the request, only
// about the server: no answer, no connection, or 503 (RFC 3263 §4.3).
func serverDown(err error) bool {
	return errors.Is(err, uac.ErrNoResponse) || errors.Is(err, uac.ErrTransport) || uac.StatusCode(err) == 503
}

// aor is the address of record a trunk registers: its username at the
// carrier's domain.
func (m *Manager) aor(t *trunk) string {
	return "sip:" + t.Username + "@" + t.uri.uri.Host
}

// contactUser is the user part of the registered Contact, and so of the
// Request-URI of the carrier's calls to us: the trunk's number when it has
// one (a dial-in number routes to the PIN IVR), else its username.
func (m *Manager) contactUser(t *trunk) string {
	if t.FromNumber != "" {
		return t.FromNumber
	}
	return t.Username
}

// contact is the URI a registration binds: the gateway's SIP listener of
// the server's transport (else the first listener), so that the carrier's
// calls reach the gateway's SIP server.
func (m *Manager) contact(t *trunk, tg Target) string {
	want := tg.Transport.String()
	var host, port, tp string
	for _, c := range m.cfg.Contacts {
		u, err := url.Parse(c)
		if err != nil {
			continue
		}
		if host == "" || u.Scheme == want {
			host, port, tp = u.Hostname(), u.Port(), u.Scheme
			if u.Scheme == want {
				break
			}
		}
	}
	if m.cfg.ContactHost != "" {
		host = m.cfg.ContactHost
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		// A wildcard listener: the address the carrier is reached from.
		if local, err := uac.LocalIPFor(context.Background(), "sip:"+tg.Addr.String()); err == nil {
			host = local.String()
		}
	}
	if port == "" {
		port = strconv.Itoa(int(defaultPort(tg.Transport)))
	}
	u := "sip:" + m.contactUser(t) + "@" + net.JoinHostPort(host, port)
	if tp != "" && tp != "udp" {
		u += ";transport=" + strings.ToLower(tp)
	}
	return u
}

// refreshDelay is when to refresh a registration granted for d: at 60 to
// 75 % of it, at least a second in.
func refreshDelay(d time.Duration) time.Duration {
	f := 0.6 + 0.15*rand.Float64() //nolint:gosec // timing jitter, not a secret
	return max(time.Duration(float64(d)*f), time.Second)
}

// jitter spreads d by ±frac.
func jitter(d time.Duration, frac float64) time.Duration {
	f := 1 + frac*(2*rand.Float64()-1) //nolint:gosec // timing jitter
	return time.Duration(float64(d) * f)
}

// updateReg changes t's registration state under its lock.
func (t *trunk) updateReg(f func(*RegistrationState)) {
	t.mu.Lock()
	f(&t.reg)
	t.mu.Unlock()
}
