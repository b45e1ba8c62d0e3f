package outbound

import (
	"context"
	"fmt"
	"time"
)

// maxPingWait bounds how long one OPTIONS ping waits for an answer.
const maxPingWait = 5 * time.Second

// optionsLoop pings t every OptionsInterval until the manager closes. A
// ping that gets no answer, or 503 or 408, marks the trunk down: Dial
// skips it until a ping is answered again. Any other answer, even 404 or
// 405 from a carrier that does not serve OPTIONS, shows the server alive.
func (m *Manager) optionsLoop(t *trunk) {
	defer m.wg.Done()
	var r registration // the OPTIONS agent, rebuilt when the server changes
	defer r.close()
	tick := time.NewTicker(t.OptionsInterval)
	defer tick.Stop()
	for {
		m.ping(t, &r)
		select {
		case <-m.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ping sends one OPTIONS to t's servers in order until one answers.
func (m *Manager) ping(t *trunk, r *registration) {
	ctx, cancel := context.WithTimeout(m.ctx, min(t.OptionsInterval, maxPingWait))
	defer cancel()
	code, err := m.pingServers(ctx, t, r)
	if m.ctx.Err() != nil {
		return
	}
	if err == nil && (code == 503 || code == 408) {
		err = fmt.Errorf("answered %d", code)
	}
	now := time.Now()
	t.mu.Lock()
	prev := t.opt.Health
	t.opt.LastPing, t.opt.LastStatus = now, code
	if err != nil {
		t.opt.Health, t.opt.LastError = HealthDown, err.Error()
		t.opt.Failures++
	} else {
		t.opt.Health, t.opt.LastError, t.opt.Failures = HealthUp, "", 0
	}
	health := t.opt.Health
	t.mu.Unlock()
	if err != nil {
		m.m.optFailures.WithLabelValues(t.Name).Inc()
		m.m.trunkUp.WithLabelValues(t.Name).Set(0)
	} else {
		m.m.trunkUp.WithLabelValues(t.Name).Set(1)
	}
	if health != prev {
		m.log.Info("outbound: trunk health changed", "trunk", t.Name, "health", health.String(), "status", code, "err", err)
	}
}

func (m *Manager) pingServers(ctx context.Context, t *trunk, r *registration) (int, error) {
	targets, err := m.resolve(ctx, t)
	if err != nil {
		return 0, err
	}
	var lastErr error
	for _, tg := range targets {
		if err := r.use(ctx, m.agentConfig(t, tg, m.contactUser(t)), tg); err != nil {
			lastErr = err
			continue
		}
		code, err := r.agent.Options(ctx, tg.Addr.String())
		if err == nil {
			return code, nil
		}
		lastErr = fmt.Errorf("%s: %w", tg, err)
		if ctx.Err() != nil {
			break
		}
	}
	return 0, lastErr
}

// up reports whether Dial may use t: pings are off, have not finished
// yet, or the last one was answered.
func (t *trunk) up() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.opt.Health != HealthDown
}
