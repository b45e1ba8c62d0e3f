package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway"
	"github.com/roombridge/roombridge/gateway/api"
	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/gateway/lockout"
	"github.com/roombridge/roombridge/gateway/room/livekit"
	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/gateway/webhook"
	"github.com/roombridge/roombridge/sfu"
	"github.com/roombridge/roombridge/web"
)

// app owns everything serve starts, and closes it in reverse order.
type app struct {
	cfg   config.Config
	log   *slog.Logger
	store store.Store
	locks store.Lockouts   // shared PIN lockouts (Redis), or nil
	sfu   *sfu.SFU         // backend: embedded
	lk    *livekit.Backend // backend: livekit
	// lkReady is lk for the LiveKit health loop, which may run before
	// openBackend has set lk.
	lkReady atomic.Pointer[livekit.Backend]
	sip     *sipSide
	callout *callout
	hooks   *webhook.Dispatcher
	http    *http.Server
	ln      net.Listener
	ready   atomic.Bool
	drain   *drain
	nodes   *presence // this node's records in the shared store, or nil
}

func newApp(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *app, err error) {
	// a, not the result (nil on error), is what the deferred clean-up closes.
	a := &app{cfg: cfg, log: log, drain: newDrain(cfg.Shutdown.DrainTimeout)}
	defer func() {
		if err != nil {
			a.closeAll()
		}
	}()

	a.store, a.locks, err = openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	records, _ := a.store.(store.Records)
	var onRoomHub func(string, bool)
	var roomNode func(context.Context, string) (string, bool)
	if records != nil && cfg.Node.ID != "" {
		a.nodes = newPresence(records, cfg.Node.ID, cfg.Backend == config.BackendEmbedded, log)
		onRoomHub, roomNode = a.nodes.roomHub, a.nodes.roomNode
	}
	if err := upsertRooms(ctx, a.store, cfg.Rooms); err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	registerProcessMetrics(reg)

	secret, err := tokenSecret(ctx, cfg.HTTP, a.store)
	if err != nil {
		return nil, err
	}
	tokens := api.NewTokens(secret, cfg.HTTP.TokenTTL)
	sipCreds := api.NewSIPCredentials(secret, cfg.HTTP.TokenTTL)
	// One table of wrong PINs and credentials for the IVR, the web client
	// and SIP digest auth: guessing on one path counts on all.
	// With Redis, the count is kept for every node together.
	lcfg := lockout.Config{
		MaxFailures: cfg.IVR.MaxFailures, Window: cfg.IVR.FailureWindow, Lock: cfg.IVR.Lockout,
		Logger: log.With("component", "lockout"),
	}
	if a.locks != nil {
		lcfg.Shared = a.locks
	}
	failures := lockout.New(lcfg)
	admission, err := gateway.NewWebAdmission(gateway.WebAdmission{
		Public:  cfg.HTTP.PublicRooms,
		Tokens:  tokens,
		Rooms:   a.store,
		Lockout: failures,
	}, reg)
	if err != nil {
		return nil, err
	}

	admit := webAdmit(admission)
	drainAware := func(ctx context.Context, j sfu.JoinRequest) (sfu.Admission, error) {
		if a.drain.active() {
			return sfu.Admission{}, errWebDraining
		}
		return admit(ctx, j)
	}
	backend, directory, err := a.openBackend(ctx, cfg, reg, drainAware)
	if err != nil {
		return nil, err
	}

	a.hooks, err = newWebhooks(cfg.Webhooks, reg, log)
	if err != nil {
		return nil, err
	}
	var observer gateway.CallObserver
	if a.hooks != nil {
		observer = callObserver{a.hooks}
	}

	a.ln, err = net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("http.listen: %w", err)
	}
	publicURL := cfg.HTTP.PublicURL
	if publicURL == "" {
		publicURL = listenURL(a.ln, cfg.HTTP.TLS.Cert != "")
	}

	// Nodes placing rooms vouch for each other's PIN callers with the
	// secret they share in Redis (gateway/nodetoken.go).
	var nodeSecret []byte
	if roomNode != nil {
		nodeSecret = secret
	}
	a.sip, err = newSIP(cfg, a.store, onRoomHub, roomNode, nodeSecret, backend, newSIPUsers(cfg.SIP.Users, sipCreds), failures, publicURL, reg, log, observer)
	if err != nil {
		return nil, err
	}
	if a.sfu != nil {
		a.drain.sessions = a.sfu.Sessions
	}
	if err := a.drain.register(reg); err != nil {
		return nil, err
	}

	a.callout, err = newCallout(cfg, a.sip, a.hooks, reg, log)
	if err != nil {
		return nil, err
	}
	// A drain waits for calls in (the gateway's) and dial-outs alike.
	dialouts := a.callout.calls
	a.drain.calls = func() int {
		n := a.sip.gw.ActiveCalls()
		if dialouts != nil {
			n += len(dialouts.List())
		}
		return n
	}
	onCreated, onDeleted := roomEvents(a.hooks, roomCreated(backend))
	apiCfg := api.Config{
		Keys:      cfg.API.Keys,
		Store:     a.store,
		Directory: directory,
		Tokens:    tokens,
		SIPDomain: cfg.SIP.Domain,

		SIPCredentials: sipCreds,
		PublicURL:      publicURL,
		Logger:         log.With("component", "api"),
		Quality:        a.sip.gw.ParticipantQuality,
		LocalNode:      localNode(cfg),
		Drain:          a.drain.state,
		Nodes:          nodesFunc(records),

		OnRoomCreated: onCreated,
		OnRoomDeleted: onDeleted,
	}
	if a.callout.trunks != nil {
		apiCfg.Trunks, apiCfg.Calls = a.callout.trunks.States, a.callout.calls
	}
	apiServer, err := api.New(apiCfg)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}

	if a.nodes != nil {
		sipAddrs := make([]string, 0, len(a.sip.srv.Addrs()))
		for _, ad := range a.sip.srv.Addrs() {
			sipAddrs = append(sipAddrs, ad.String())
		}
		sipAddress := nodeSIPAddress(cfg.Node.SIPAddress, a.sip.srv.Addrs())
		if sipAddress == "" && cfg.Backend == config.BackendEmbedded {
			log.Warn("node.sip_address is empty and SIP listens on a wildcard address: other nodes cannot send this node's rooms' callers here")
		}
		a.nodes.drained = a.drain.begun
		a.nodes.info = func() nodeRecord {
			return nodeRecord{URL: publicURL, SIP: sipAddrs, SIPAddress: sipAddress, Draining: a.drain.active(), Calls: a.drain.calls()}
		}
	}

	sockets, err := newSocketBound(cfg.HTTP.MaxSocketsPerIP, reg)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/rtc", sockets.wrap(a.signalHandler()))
	mux.Handle("/v1/", apiServer.Handler())
	mux.Handle("/metrics", requireBearer(cfg.Metrics.Key, metricsHandler(reg)))
	if cfg.Metrics.PProf {
		mux.Handle("/debug/pprof/", requireBearer(cfg.Metrics.Key, pprofHandler()))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", a.readyz)
	webCfg := web.Config{
		Logger:        log.With("component", "web"),
		SIPDomain:     cfg.SIP.Domain,
		SIPWebSockets: a.sip.webSockets(),
	}
	if a.nodes != nil {
		webCfg.RoomURL = a.nodes.roomURL
	}
	mux.Handle("/", web.Handler(webCfg))

	proxies, err := trustedProxies(cfg.HTTP.TrustedProxies)
	if err != nil {
		return nil, err
	}
	// Timeouts bound what a slow or idle client holds; a WebSocket clears
	// them on upgrade and keeps its own (ping and silence).
	a.http = &http.Server{
		Handler:           clientAddr(proxies, mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	log.Info("roombridge started", "version", version, "url", publicURL,
		"demo", demoURL(publicURL, cfg.Rooms), "backend", cfg.Backend, "store", storeName(cfg.Store))
	return a, nil
}

// nodesFunc is GET /v1/nodes when the store keeps records.
func nodesFunc(rec store.Records) func(context.Context) ([]api.NodeState, error) {
	if rec == nil {
		return nil
	}
	return listNodes(rec)
}

// localNode is the node the API lists for participants whose backend
// names none: with the embedded SFU every participant is in this process.
func localNode(cfg config.Config) string {
	if cfg.Backend == config.BackendEmbedded {
		return cfg.Node.ID
	}
	return ""
}

// storeName says which store serves, for the start-up log.
func storeName(s config.Store) string {
	if s.Redis.Addr != "" {
		return "redis://" + s.Redis.Addr
	}
	return s.Path
}

// webAdmit adapts the gateway's web admission to the SFU's join hook; a
// host joins with the attribute role=host.
func webAdmit(w *gateway.WebAdmission) admitFunc {
	return func(ctx context.Context, j sfu.JoinRequest) (sfu.Admission, error) {
		var client netip.Addr
		if ap, err := netip.ParseAddrPort(j.RemoteAddr); err == nil {
			client = ap.Addr()
		}
		a, err := w.Admit(ctx, gateway.JoinRequest{Room: j.Room, Name: j.Name, Token: j.Token, PIN: j.PIN, Client: client})
		if err != nil {
			return sfu.Admission{}, err
		}
		adm := sfu.Admission{Name: a.Name}
		if a.Host {
			adm.Attributes = map[string]string{"role": "host"}
		}
		return adm, nil
	}
}

// trustedProxies parses http.trusted_proxies (validated by config).
func trustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := config.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func demoURL(base string, rooms []config.Room) string {
	if len(rooms) == 0 {
		return ""
	}
	return base + "/r/" + rooms[0].Name + "?name=guest"
}

// tokenSecret is http.token_secret; when that is empty, the secret the
// nodes sharing a Redis store agreed on (generated by the first), else a
// random secret for this run. It signs join tokens and the short-lived SIP
// accounts of the room API.
func tokenSecret(ctx context.Context, cfg config.HTTP, s store.Store) ([]byte, error) {
	secret := []byte(cfg.TokenSecret)
	if ss, ok := s.(sharedSecrets); ok && len(secret) == 0 {
		shared, err := ss.SharedSecret(ctx, tokenSecretName, 32)
		if err != nil {
			return nil, fmt.Errorf("http.token_secret (shared in store.redis): %w", err)
		}
		return shared, nil
	}
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("http.token_secret: %w", err)
		}
	}
	return secret, nil
}

func upsertRooms(ctx context.Context, s store.Store, rooms []config.Room) error {
	for i, r := range rooms {
		_, err := s.UpsertRoom(ctx, store.Room{
			Name:            r.Name,
			PIN:             r.PIN,
			HostPIN:         r.HostPIN,
			Aliases:         r.Aliases,
			WaitForHost:     r.WaitForHost,
			PINOnDirectDial: r.PINOnDirectDial,
		})
		if err != nil {
			return fmt.Errorf("rooms[%d] (%s): %w", i, r.Name, err)
		}
	}
	return nil
}

// run serves until ctx ends (SIGTERM) or POST /v1/admin/drain, then
// drains: not ready at once (/readyz and OPTIONS answer 503, so load
// balancers and dispatchers stop sending), new SIP calls refused with 503
// and new web sessions refused, while the calls and sessions in progress
// go on until they end or shutdown.drain_timeout passes. Then HTTP gets
// shutdown.grace to finish, the remaining calls get BYE, the SIP server
// closes, then the SFU (which ends WebSocket sessions and
// PeerConnections) and the store.
func (a *app) run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		var err error
		if a.cfg.HTTP.TLS.Cert != "" {
			err = a.http.ServeTLS(a.ln, a.cfg.HTTP.TLS.Cert, a.cfg.HTTP.TLS.Key)
		} else {
			err = a.http.Serve(a.ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errc <- err
	}()
	a.sip.serve()
	if a.nodes != nil {
		a.nodes.start()
	}
	a.callout.start()
	a.ready.Store(true)

	var serveErr error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down", "cause", context.Cause(ctx))
	case <-a.drain.begun:
		a.log.Info("shutting down: drain requested through the API")
	case serveErr = <-errc:
		a.log.Error("http server stopped", "err", serveErr)
	}
	a.ready.Store(false)
	if serveErr == nil {
		a.waitDrained()
	}
	grace, cancel := context.WithTimeout(context.Background(), a.cfg.Shutdown.Grace)
	defer cancel()
	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		if err := a.http.Shutdown(grace); err != nil {
			logErr(a.log, "http shutdown", err)
		}
	}()
	// The drain is over: calls still up (drain_timeout passed) get BYE now.
	a.sip.close()
	<-httpDone
	a.closeCallout(grace)
	a.closeAll()
	a.log.Info("stopped")
	return serveErr
}

// closeCallout hangs up the dial-outs, removes the trunks'
// registrations and sends the webhooks still queued, within ctx (a
// fresh second when ctx has already ended, so that the unregistrations
// still go out).
func (a *app) closeCallout(ctx context.Context) {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
	}
	if a.callout != nil {
		a.callout.close(ctx, a.log)
		a.callout = nil
	}
	if a.hooks != nil {
		logErr(a.log, "webhooks close", a.hooks.Close(ctx))
		a.hooks = nil
	}
}

func (a *app) closeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	a.closeCallout(ctx)
	cancel()
	if a.sip != nil {
		a.sip.close()
	}
	if a.sfu != nil {
		logErr(a.log, "sfu close", a.sfu.Close())
	}
	if a.lk != nil {
		logErr(a.log, "livekit close", a.lk.Close())
	}
	if a.ln != nil && a.http == nil {
		logErr(a.log, "listener close", a.ln.Close())
	}
	if a.nodes != nil {
		a.nodes.stop()
	}
	if a.store != nil {
		logErr(a.log, "store close", a.store.Close())
	}
}

func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	if a.drain.active() {
		http.Error(w, "not ready: "+a.drain.describe()+"\n", http.StatusServiceUnavailable)
		return
	}
	if !a.ready.Load() {
		http.Error(w, "not ready: starting\n", http.StatusServiceUnavailable)
		return
	}
	if err := a.sip.gw.Ready(); err != nil {
		// Overloaded: a load balancer sends new calls elsewhere while the
		// calls up keep their audio.
		http.Error(w, "not ready: "+err.Error()+"\n", http.StatusServiceUnavailable)
		return
	}
	if _, err := a.store.ListRooms(r.Context()); err != nil {
		http.Error(w, "not ready: store: "+err.Error()+"\n", http.StatusServiceUnavailable)
		return
	}
	if a.lk != nil {
		if err := a.lk.Ready(r.Context()); err != nil {
			http.Error(w, "not ready: livekit: "+err.Error()+"\n", http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}
