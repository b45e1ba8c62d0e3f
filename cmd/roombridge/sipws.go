package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/sipws"
)

// openWebSockets binds the ws:// and wss:// entries of sip.listen, each a
// sipws.Listener that the SIP server serves next to UDP, TCP and TLS.
// webURL is the gateway's own web origin (http.public_url or derived from
// http.listen): its pages may always open a socket.
// onClose is told each socket that closes (its bindings are dropped).
func openWebSockets(cfg config.Config, urls []string, webURL string, tlsCfg *tls.Config, onClose func(remote string), reg prometheus.Registerer, log *slog.Logger) (_ []*sipws.Listener, err error) {
	var out []*sipws.Listener
	defer func() {
		if err != nil {
			for _, l := range out {
				_ = l.Close()
			}
		}
	}()
	check, err := wsOriginCheck(cfg, webURL)
	if err != nil {
		return nil, err
	}
	maxPerIP := cfg.SIP.WSMaxPerIP
	if maxPerIP == 0 {
		maxPerIP = -1 // sipws: negative is no limit
	}
	for _, raw := range urls {
		scheme, hostport, _ := strings.Cut(raw, "://")
		var wsTLS *tls.Config
		if scheme == "wss" {
			if tlsCfg == nil {
				return nil, fmt.Errorf("sip.listen %s: needs sip.tls", raw)
			}
			wsTLS = tlsCfg
		}
		ln, err := net.Listen("tcp", hostport)
		if err != nil {
			return nil, fmt.Errorf("sip.listen %s: %w", raw, err)
		}
		l, err := sipws.New(ln, sipws.Config{
			Logger:       log.With("component", "sipws", "listen", raw),
			TLS:          wsTLS,
			CheckOrigin:  check,
			MaxPerIP:     maxPerIP,
			PingInterval: cfg.SIP.WSPingInterval,
			OnClose:      onClose,
		})
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("sip.listen %s: %w", raw, err)
		}
		out = append(out, l)
		if err := registerWSMetrics(reg, l); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// wsOriginCheck allows the gateway's own pages and those of sip.ws_origins.
// Without http.public_url the own pages are recognised by scheme, HTTP port
// and the host the browser used to reach the socket.
func wsOriginCheck(cfg config.Config, webURL string) (sipws.OriginCheck, error) {
	own := sipws.AllowOrigins(webURL)
	if cfg.HTTP.PublicURL == "" {
		u, err := url.Parse(webURL)
		if err != nil {
			return nil, fmt.Errorf("http.listen: %w", err)
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		own = sipws.AnyOf(own, sipws.SameHostOrigin(u.Scheme, port))
	}
	if len(cfg.SIP.WSOrigins) == 0 {
		return own, nil
	}
	return sipws.AnyOf(own, sipws.AllowOrigins(cfg.SIP.WSOrigins...)), nil
}

// registerWSMetrics exports a listener's socket counts.
func registerWSMetrics(reg prometheus.Registerer, l *sipws.Listener) error {
	labels := prometheus.Labels{"transport": strings.ToLower(l.Transport()), "addr": l.Addr().String()}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roombridge_sipws_connections", Help: "SIP WebSockets open.", ConstLabels: labels,
		}, func() float64 { return float64(l.Stats().Open) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "roombridge_sipws_not_sip_total", Help: "SIP WebSockets closed for a message that is not SIP.", ConstLabels: labels,
		}, func() float64 { return float64(l.Stats().NotSIP) }),
	}
	for _, reason := range []string{"origin", "subprotocol", "per_ip", "not_upgrade", "handshake"} {
		rl := prometheus.Labels{"reason": reason}
		for k, v := range labels {
			rl[k] = v
		}
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "roombridge_sipws_refused_total", Help: "SIP WebSocket handshakes refused, by reason.", ConstLabels: rl,
		}, func() float64 { return float64(l.Stats().Refused[reason]) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// webSockets lists the SIP WebSocket listeners for the click-to-call page,
// as "ws:PORT" or "wss:PORT".
func (s *sipSide) webSockets() []string {
	out := make([]string, 0, len(s.ws))
	for _, l := range s.ws {
		port := 0
		if a, ok := l.Addr().(*net.TCPAddr); ok {
			port = a.Port
		}
		out = append(out, fmt.Sprintf("%s:%d", strings.ToLower(l.Transport()), port))
	}
	return out
}
