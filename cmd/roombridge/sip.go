package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway"
	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/gateway/lockout"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/ivr"
	"github.com/roombridge/roombridge/ivr/prompts"
	"github.com/roombridge/roombridge/sipws"
)

// sipSide is the SIP half of the gateway: the RTP port pool, the Gateway
// that bridges calls into rooms, and the SIP server in front of it.
type sipSide struct {
	log  *slog.Logger
	pool *rtp.PortPool
	gw   *gateway.Gateway
	srv  *sip.Server
	ws   []*sipws.Listener // ws:// and wss:// of sip.listen
	done chan error        // Serve's result, once serving
	wsWG sync.WaitGroup    // one per ServeWS/ServeWSS
}

// newSIP builds the SIP side and binds its sockets, so that a taken port
// fails the start rather than the first call.
// webURL is the gateway's own web origin, whose pages may open SIP
// WebSockets.
func newSIP(cfg config.Config, rooms store.Store, onRoomHub func(string, bool), roomNode func(context.Context, string) (string, bool), nodeSecret []byte, backend room.Backend, users sip.Users, failures *lockout.Table, webURL string, reg prometheus.Registerer, log *slog.Logger, observer gateway.CallObserver) (*sipSide, error) {
	listen, wsURLs := sipListeners(cfg.SIP.Listen)
	ip, err := rtpListenIP(listen)
	if err != nil {
		return nil, err
	}
	pool, err := rtp.NewPortPool(ip, cfg.RTP.PortMin, cfg.RTP.PortMax)
	if err != nil {
		return nil, fmt.Errorf("rtp.port_min: %w", err)
	}
	var external netip.Addr
	if cfg.RTP.ExternalIP != "" {
		if external, err = netip.ParseAddr(cfg.RTP.ExternalIP); err != nil {
			return nil, fmt.Errorf("rtp.external_ip: %w", err)
		}
	}
	trunks, err := sipTrunks(cfg.Trunks)
	if err != nil {
		return nil, err
	}
	var tlsCfg *tls.Config
	if cfg.SIP.TLS.Cert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.SIP.TLS.Cert, cfg.SIP.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("sip.tls: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	ivrCfg, err := gatewayIVR(cfg)
	if err != nil {
		return nil, err
	}
	dir, _ := backend.(room.Directory)
	mask := gateway.NumberMask{Prefix: cfg.SIP.CallerMask.Prefix, Suffix: cfg.SIP.CallerMask.Suffix}
	webrtc, err := newWebRTCMedia(cfg, log.With("component", "webrtcleg"))
	if err != nil {
		return nil, err
	}
	gw, err := gateway.New(gateway.Config{
		Logger:        log.With("component", "gateway"),
		Store:         rooms,
		Backend:       backend,
		PortPool:      pool,
		ExternalIP:    external,
		Domain:        cfg.SIP.Domain,
		DialInNumbers: cfg.DialIn.Numbers,
		CallerMask:    mask,
		RTPTimeout:    rtpTimeout(cfg.RTP.Timeout),
		IVR:           ivrCfg,
		Lockout:       failures,
		Directory:     dir,
		Registerer:    reg,
		NodeID:        cfg.Node.ID,
		OnRoomHub:     onRoomHub,
		WebRTC:        webrtc,
		TrunkCodecs:   trunkCodecs(cfg.Trunks),
		RoomNode:      roomNode,
		NodeSecret:    nodeSecret,

		Observer:         observer,
		HeaderAttributes: headerAttributes(cfg.Trunks),
		Video:            cfg.SIP.Video,
		TrunkVideo:       trunkVideo(cfg.Trunks),
		VideoBitrate:     cfg.SIP.VideoBitrate,
		Limits: gateway.Limits{
			MaxLegs: cfg.Limits.MaxLegs, MaxCPU: cfg.Limits.MaxCPU / 100, MaxMachineCPU: cfg.Limits.MaxMachineCPU / 100, MaxLate: cfg.Limits.MaxLateTicks / 100,
		},
		MaxJoins: cfg.Limits.ConcurrentJoins,
	})
	if err != nil {
		return nil, err
	}
	if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "roombridge_rtp_ports_in_use",
		Help: "RTP/RTCP port pairs held by SIP legs.",
	}, func() float64 { return float64(pool.InUse()) })); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	srv, err := sip.NewServer(sip.Config{
		Logger:    log.With("component", "sip"),
		Listen:    listen,
		TLSConfig: tlsCfg,
		Domain:    cfg.SIP.Domain,
		UserAgent: "roombridge/" + version,
		LogMask:   mask.Apply,
		Trunks:    trunks,
		Handler:   gw,
		Ready:     gw.Ready,
		Users:     users,
		Registrar: storeRegistrar{rooms},

		SessionExpires: cfg.SIP.SessionExpires,
		MinSE:          cfg.SIP.MinSE,

		Limits: sip.Limits{
			InvitesPerSecond:   cfg.SIP.Limits.InvitesPerSecond,
			RegistersPerSecond: cfg.SIP.Limits.RegistersPerSecond,
			OptionsPerSecond:   cfg.SIP.Limits.OptionsPerSecond,
		},
		BlockUserAgents: cfg.SIP.BlockUserAgents,
		Lockout:         failures,
	})
	if err != nil {
		_ = gw.Close()
		return nil, fmt.Errorf("sip: %w", err)
	}
	if err := registerSIPMetrics(reg, srv); err != nil {
		_ = srv.Close()
		_ = gw.Close()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := srv.Listen(); err != nil {
		_ = srv.Close()
		_ = gw.Close()
		return nil, fmt.Errorf("sip.listen: %w", err)
	}
	ws, err := openWebSockets(cfg, wsURLs, webURL, tlsCfg, storeRegistrar{rooms}.dropFlow(log), reg, log)
	if err != nil {
		_ = srv.Close()
		_ = gw.Close()
		return nil, err
	}
	addrs := make([]string, 0, len(srv.Addrs())+len(ws))
	for _, a := range srv.Addrs() {
		addrs = append(addrs, a.String())
	}
	for _, l := range ws {
		addrs = append(addrs, strings.ToLower(l.Transport())+"://"+l.Addr().String())
	}
	log.Info("SIP listening", "addrs", strings.Join(addrs, " "), "domain", cfg.SIP.Domain,
		"rtp_ports", fmt.Sprintf("%s:%d-%d", ip, cfg.RTP.PortMin, cfg.RTP.PortMax), "trunks", len(trunks))
	return &sipSide{log: log, pool: pool, gw: gw, srv: srv, ws: ws}, nil
}

// serve starts serving the bound sockets, WebSockets included.
func (s *sipSide) serve() {
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(context.Background()) }()
	for _, l := range s.ws {
		serveWS := s.srv.ServeWS
		if l.Transport() == "WSS" {
			serveWS = s.srv.ServeWSS
		}
		s.wsWG.Add(1)
		go func() {
			defer s.wsWG.Done()
			if err := serveWS(l); err != nil && !errors.Is(err, sip.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				s.log.Warn("sip serve websocket", "addr", l.Addr(), "err", err)
			}
		}()
	}
}

// close ends every call and closes the server; it is idempotent.
func (s *sipSide) close() {
	logErr(s.log, "gateway close", s.gw.Close())
	logErr(s.log, "sip close", s.srv.Close())
	// The server closed the WebSocket listeners it served; those it never
	// served (a start that failed later) are closed here.
	for _, l := range s.ws {
		logErr(s.log, "sip websocket close", l.Close())
	}
	s.wsWG.Wait()
	if s.done != nil {
		if err := <-s.done; err != nil && !errors.Is(err, sip.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Warn("sip serve", "err", err)
		}
		s.done = nil
	}
}

// gatewayIVR loads the prompts of ivr.language and of every language of
// dialin.languages (embedded, or replaced from ivr.prompts_dir) and builds
// the gateway's IVR settings, so that a missing prompt fails the start.
func gatewayIVR(cfg config.Config) (gateway.IVRConfig, error) {
	v := cfg.IVR
	sets := map[string]*prompts.Set{}
	load := func(key, lang string) error {
		if sets[lang] != nil {
			return nil
		}
		set, err := prompts.Load(v.PromptsDir, lang)
		if err != nil {
			if v.PromptsDir != "" {
				return fmt.Errorf("%s %q with ivr.prompts_dir %q: %w", key, lang, v.PromptsDir, err)
			}
			return fmt.Errorf("%s %q: %w", key, lang, err)
		}
		sets[lang] = set
		return nil
	}
	if err := load("ivr.language", v.Language); err != nil {
		return gateway.IVRConfig{}, err
	}
	numbers := make([]string, 0, len(cfg.DialIn.Languages))
	for n := range cfg.DialIn.Languages {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	for _, n := range numbers {
		if err := load(fmt.Sprintf("dialin.languages[%q]", n), cfg.DialIn.Languages[n]); err != nil {
			return gateway.IVRConfig{}, err
		}
	}
	session := ivr.Config{
		FirstDigitTimeout: v.FirstDigitTimeout,
		InterDigitTimeout: v.InterDigitTimeout,
		MaxAttempts:       v.MaxAttempts,
	}
	if err := session.Validate(); err != nil {
		return gateway.IVRConfig{}, fmt.Errorf("ivr: %w", err)
	}
	return gateway.IVRConfig{
		Session:       session,
		Prompts:       sets,
		Language:      v.Language,
		Languages:     cfg.DialIn.Languages,
		MaxFailures:   v.MaxFailures,
		FailureWindow: v.FailureWindow,
		Lockout:       v.Lockout,
		JoinTones:     v.JoinTones,
	}, nil
}

// sipListeners splits sip.listen: udp://, tcp:// and tls:// for the SIP
// server, ws:// and wss:// for sipws.
func sipListeners(all []string) (listen, ws []string) {
	for _, l := range all {
		if strings.HasPrefix(l, "ws://") || strings.HasPrefix(l, "wss://") {
			ws = append(ws, l)
			continue
		}
		listen = append(listen, l)
	}
	return listen, ws
}

// rtpListenIP is the address RTP ports are bound on: the host of the first
// SIP listener when it is an IP address, else every address.
func rtpListenIP(listen []string) (netip.Addr, error) {
	if len(listen) == 0 {
		return netip.IPv4Unspecified(), nil
	}
	u, err := url.Parse(listen[0])
	if err != nil {
		return netip.Addr{}, fmt.Errorf("sip.listen[0]: %w", err)
	}
	// A host name (not an address) listens everywhere, so RTP does too.
	if ip, perr := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); perr == nil {
		return ip, nil
	}
	return netip.IPv4Unspecified(), nil
}

// sipTrunks converts the configured trunks; an allow entry may be a CIDR
// or a single address. A narrow trunk without max_cps gets
// config.DefaultTrunkCPS; a wide one stays under sip.limits.
func sipTrunks(trunks []config.Trunk) ([]sip.Trunk, error) {
	out := make([]sip.Trunk, 0, len(trunks))
	for i, t := range trunks {
		if len(t.Allow) == 0 {
			continue // outbound only: nobody calls in through it
		}
		st := sip.Trunk{
			Name:     t.Name,
			Username: t.Username,
			Password: t.Password,
			Realm:    t.Realm,
			Numbers:  t.Numbers,
			SRTP:     t.SRTP,
			DTMF:     t.DTMF,

			PINLockout:       t.PINLockout,
			Trusted:          t.Trusted,
			ClickToCall:      t.ClickToCall,
			SRTPOverPlain:    t.SRTPOverPlain,
			MaxCPS:           t.MaxCPS,
			MaxCalls:         t.MaxCalls,
			DigestAlgorithms: t.DigestAlgorithms,
		}
		if st.MaxCPS == 0 && t.Narrow() {
			st.MaxCPS = config.DefaultTrunkCPS
		}
		for j, a := range t.Allow {
			p, err := config.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("trunks[%d].allow[%d]: %w", i, j, err)
			}
			st.Allow = append(st.Allow, p)
		}
		out = append(out, st)
	}
	return out, nil
}

// trunkVideo collects trunks[].video by trunk name, for the trunks that
// set it.
func trunkVideo(trunks []config.Trunk) map[string]bool {
	out := map[string]bool{}
	for _, t := range trunks {
		if t.Video != nil {
			out[t.Name] = *t.Video
		}
	}
	return out
}

// headerAttributes collects trunks[].headers_to_attributes by trunk name.
func headerAttributes(trunks []config.Trunk) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, t := range trunks {
		if len(t.HeadersToAttributes) > 0 {
			out[t.Name] = t.HeadersToAttributes
		}
	}
	return out
}

// rtpTimeout maps rtp.timeout (0 = off) onto the gateway's convention
// (0 = default, rtp.NoTimeout = off).
func rtpTimeout(d time.Duration) time.Duration {
	if d == 0 {
		return rtp.NoTimeout
	}
	return d
}
