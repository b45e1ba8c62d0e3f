package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/bridge"
	"github.com/roombridge/roombridge/gateway/headroom"
	"github.com/roombridge/roombridge/gateway/lockout"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/ivr"
	"github.com/roombridge/roombridge/ivr/prompts"
)

// Rooms is what the gateway needs of the room store: the mapping of a
// dialled user part (room name, alias or numeric id) to a room, and of a
// PIN to the room it opens (compared in constant time by the store).
// *store.SQLite implements it.
type Rooms interface {
	FindBySIPUser(ctx context.Context, user string) (store.Room, error)
	FindByPIN(ctx context.Context, pin string) (r store.Room, host bool, err error)
}

// IVRConfig configures the PIN IVR of dial-in calls, the in-call keys of
// phone participants and the PIN brute-force lockout.
type IVRConfig struct {
	// Session holds the IVR's timeouts and attempts per call
	// (ivr.first_digit_timeout, ivr.inter_digit_timeout, ivr.max_attempts).
	Session ivr.Config
	// Prompts are the prompt sets by language; Language is the default
	// one and Languages the language of each dial-in number that has its
	// own. With no sets, New loads the embedded ones of Language ("en"
	// when empty).
	Prompts   map[string]*prompts.Set
	Language  string
	Languages map[string]string
	// MaxFailures wrong PINs from one source address or caller number
	// within FailureWindow lock that source out for Lockout: its INVITEs
	// get 403 (defaults 10, 10 min, 15 min). Config.Lockout, when set,
	// replaces these.
	MaxFailures   int
	FailureWindow time.Duration
	Lockout       time.Duration
	// JoinTones plays a tone to phone participants when someone joins or
	// leaves their room.
	JoinTones bool
}

// Config configures a Gateway. New copies it; it is frozen from then on.
type Config struct {
	// Logger gets the gateway's logs, each call's with a call_id; nil
	// discards them.
	Logger *slog.Logger
	// Store maps dialled users to rooms (required).
	Store Rooms
	// Backend is where rooms live (required).
	Backend room.Backend
	// PortPool hands out the RTP ports of SIP legs (required).
	PortPool *rtp.PortPool
	// ExternalIP is put in our SDP instead of the local address (1:1 NAT).
	ExternalIP netip.Addr
	// Domain is our SIP domain, for logs.
	Domain string
	// DialInNumbers are the numbers answered by the PIN IVR.
	DialInNumbers []string
	// TrunkSRTP is the SRTP policy per trunk name. A trunk without an entry
	// uses its sip.Trunk.SRTP value, else sdp.SRTPAllow.
	TrunkSRTP map[string]sdp.SRTPMode
	// TrunkCodecs is the audio preference per trunk name
	// (trunks[].codecs); a trunk without an entry gets G.711, G.722, Opus.
	TrunkCodecs map[string][]sdp.Codec
	// CallerMask hides the middle of callers' numbers in the name other
	// participants see; the zero value shows numbers in full.
	CallerMask NumberMask
	// RTPTimeout ends a call when no RTP or RTCP came for that long; zero
	// means rtp.DefaultTimeout, rtp.NoTimeout turns it off.
	RTPTimeout time.Duration
	// MaxSpeakers is how many speakers each room mix carries [4].
	MaxSpeakers int
	// IVR configures the PIN IVR, in-call keys and the PIN lockout.
	IVR IVRConfig
	// Lockout is the table of wrong PINs and credentials shared with the
	// web client's PIN check and SIP digest authentication, so that
	// guessing on one path counts on all; nil makes one from IVR's
	// MaxFailures, FailureWindow and Lockout.
	Lockout *lockout.Table
	// Directory, when set, counts the participants of a room for the
	// announcements ("you are the first participant", *1); without it the
	// room hub's own view (SIP legs and audio tracks) is used.
	Directory room.Directory
	// Registerer receives the gateway's Prometheus metrics; nil registers
	// none.
	Registerer prometheus.Registerer
	// NodeID names this gateway node (node.id); each SIP participant
	// carries it as the room.AttrNode attribute.
	NodeID string
	// OnRoomHub, when set, is told when a room gets its first leg on this
	// node (active) and when its last leg leaves, to record where rooms
	// live. It runs on a call's goroutine and must not block.
	OnRoomHub func(room string, active bool)
	// RoomNode, when set, says whether another live node hosts room's
	// audio (the embedded SFU's placement shared in Redis) and at which
	// SIP host:port; a call dialling that room directly is then sent there
	// with 302 before it is answered, unless its Request-URI carries
	// StayParam. It must answer quickly: the INVITE waits for it.
	RoomNode func(ctx context.Context, room string) (sipAddr string, ok bool)
	// NodeSecret, shared by the nodes (the join tokens' secret in Redis),
	// signs the INVITE that bridges a PIN caller to the node of its room
	// (nodeleg.go) and lets such an INVITE in without the PIN. Without it
	// PIN callers join their room on the node they reached, and a bridge
	// INVITE from another node is an ordinary call.
	NodeSecret []byte
	// Observer, when set, is told when calls start, join, are answered,
	// leave and end (webhooks).
	Observer CallObserver
	// HeaderAttributes maps, per trunk name, INVITE header names to the
	// participant attributes their values become
	// (trunks[].headers_to_attributes).
	HeaderAttributes map[string]map[string]string
	// WebRTC, when set, answers INVITEs whose offer is WebRTC media
	// (browser SIP stacks: DTLS-SRTP, ICE, Opus); without it they get 488.
	WebRTC WebRTCMedia
	// Limits are the admission ceilings (limits.*): past one, new calls
	// get 503 with Retry-After and Ready reports the gateway overloaded.
	Limits Limits
	// Video answers H.264 video from room systems (sip.video); TrunkVideo
	// overrides it per trunk name (trunks[].video). VideoBitrate (bit/s)
	// is what we announce we receive; 0 announces nothing.
	Video        bool
	TrunkVideo   map[string]bool
	VideoBitrate int
	// MaxJoins is how many room joins run at once; more wait their turn
	// (DefaultMaxJoins when zero).
	MaxJoins int
}

// Limits are the admission ceilings of a Gateway; the room clocks'
// lateness refuses calls too (gateway/headroom).
type Limits struct {
	// MaxLegs is a fixed ceiling on SIP legs; 0 sets none.
	MaxLegs int
	// MaxCPU is the process CPU ceiling as a share (0..1] of the cores it
	// may use; 0 means headroom.DefaultMaxCPU.
	MaxCPU float64
	// MaxMachineCPU is the ceiling on the machine's busy CPU as a share
	// (0..1] of all its cores, 1 for none; 0 means
	// headroom.DefaultMaxMachineCPU.
	MaxMachineCPU float64
	// MaxLate is the share (0..1] of room clock ticks that may start
	// headroom.LateTick late; 0 means headroom.DefaultMaxLate.
	MaxLate float64
	// Window, Interval and Hold tune the measurement (headroom.Config);
	// zero takes the defaults.
	Window, Interval, Hold time.Duration
}

// Gateway bridges SIP calls into rooms. It implements sip.CallHandler and
// keeps the table of calls in progress and the audio hubs of their rooms.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	m        *metrics
	head     *headroom.Monitor
	joins    *joinQueue
	draining atomic.Bool
	c2c      atomic.Pointer[clickToCall] // EnableClickToCall

	lock     *lockout.Table
	tokens   *nodeTokens       // nil without Config.NodeSecret
	langs    map[string]string // dial-in number digits → language
	defaults *prompts.Set

	mu      sync.Mutex
	closed  bool
	calls   map[*call]struct{}
	outs    map[*outLeg]struct{} // dial-out legs (dialouts.go)
	hubs    map[string]*roomHub  // by room name
	hosts   map[string]int       // SIP legs joined with a host PIN, by room
	waiters map[string]map[*hostWaiter]struct{}
	ended   rtpTotals      // packet counters of calls that have ended
	wg      sync.WaitGroup // HandleCall in progress
}

var _ sip.CallHandler = (*Gateway)(nil)

// New checks cfg and makes a gateway; it starts nothing until calls come.
func New(cfg Config) (*Gateway, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: Store is required", ErrInvalidConfig)
	case cfg.Backend == nil:
		return nil, fmt.Errorf("%w: Backend is required", ErrInvalidConfig)
	case cfg.PortPool == nil:
		return nil, fmt.Errorf("%w: PortPool is required", ErrInvalidConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxSpeakers <= 0 {
		cfg.MaxSpeakers = 4
	}
	if err := cfg.IVR.Session.Validate(); err != nil {
		return nil, fmt.Errorf("%w: IVR: %w", ErrInvalidConfig, err)
	}
	ic := &cfg.IVR
	if ic.Language == "" {
		ic.Language = "en"
	}
	if len(ic.Prompts) == 0 {
		set, err := prompts.Load("", ic.Language)
		if err != nil {
			return nil, fmt.Errorf("%w: IVR prompts: %w", ErrInvalidConfig, err)
		}
		ic.Prompts = map[string]*prompts.Set{ic.Language: set}
	}
	g := &Gateway{
		cfg:     cfg,
		log:     cfg.Logger,
		calls:   map[*call]struct{}{},
		hubs:    map[string]*roomHub{},
		hosts:   map[string]int{},
		waiters: map[string]map[*hostWaiter]struct{}{},
		lock:    cfg.Lockout,
		langs:   map[string]string{},
		tokens:  newNodeTokens(cfg.NodeSecret),
	}
	if g.lock == nil {
		g.lock = lockout.New(lockout.Config{MaxFailures: ic.MaxFailures, Window: ic.FailureWindow, Lock: ic.Lockout})
	}
	if g.defaults = ic.Prompts[ic.Language]; g.defaults == nil {
		return nil, fmt.Errorf("%w: IVR: no prompts for the language %q", ErrInvalidConfig, ic.Language)
	}
	for num, lang := range ic.Languages {
		if ic.Prompts[lang] == nil {
			return nil, fmt.Errorf("%w: IVR: no prompts for the language %q of %s", ErrInvalidConfig, lang, num)
		}
		g.langs[digits(num)] = lang
	}
	head, err := headroom.New(headroom.Config{
		MaxLegs: cfg.Limits.MaxLegs, MaxCPU: cfg.Limits.MaxCPU, MaxMachineCPU: cfg.Limits.MaxMachineCPU,
		MaxLate: cfg.Limits.MaxLate, Legs: g.activeCalls,
		Window: cfg.Limits.Window, Interval: cfg.Limits.Interval, Hold: cfg.Limits.Hold,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: limits: %w", ErrInvalidConfig, err)
	}
	m, err := newMetrics(g, head, cfg.Registerer)
	if err != nil {
		head.Close()
		return nil, fmt.Errorf("gateway: metrics: %w", err)
	}
	if g.joins, err = newJoinQueue(cfg.MaxJoins, cfg.Registerer); err != nil {
		head.Close()
		return nil, fmt.Errorf("gateway: metrics: %w", err)
	}
	g.m, g.head = m, head
	return g, nil
}

// HandleCall implements sip.CallHandler: the call lives until it returns.
func (g *Gateway) HandleCall(ic *sip.IncomingCall) {
	start := time.Now()
	log := g.log.With("call_id", ic.CallID())
	c := newCall(g, ic, start, log)
	g.observe(c, CallStarted)
	if r := g.head.Admit(); r != headroom.None {
		// Before the call is in the table: max_legs counts the legs up.
		log.Warn("call refused: no headroom", "reason", r.String())
		g.m.refusals.WithLabelValues(r.String()).Inc()
		g.m.calls.WithLabelValues(resultOverloaded).Inc()
		err := fmt.Errorf("%w (%s)", ErrNoHeadroom, r)
		_ = ic.RejectErr(err)
		g.observeEnd(c, resultOverloaded, err)
		return
	}
	if !g.admit(c) {
		log.Info("call refused: draining")
		_ = ic.RejectErr(ErrDraining)
		g.m.calls.WithLabelValues(resultDrainRefused).Inc()
		g.observeEnd(c, resultDrainRefused, ErrDraining)
		return
	}
	defer g.wg.Done()
	// A backend that knows it is down (LiveKit unreachable) refuses at
	// once, before ringing or an IVR that could only end in failure.
	if r, ok := g.cfg.Backend.(interface{ Ready(context.Context) error }); ok {
		if err := r.Ready(context.Background()); err != nil {
			log.Warn("call refused: room backend not ready", "err", err)
			g.m.calls.WithLabelValues(resultUnavailable).Inc()
			g.release(c)
			err = fmt.Errorf("%w: %w", ErrBackend, err)
			_ = ic.RejectErr(err)
			g.observeEnd(c, resultUnavailable, err)
			return
		}
	}
	result, err := c.run()
	g.m.calls.WithLabelValues(result).Inc()
	g.observeEnd(c, result, err)
	g.release(c)
	log.Info("call ended", "result", result, "cause", err, "duration", time.Since(start).Round(time.Millisecond))
}

// admit registers c unless the gateway drains or has closed.
func (g *Gateway) admit(c *call) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.draining.Load() {
		return false
	}
	g.calls[c] = struct{}{}
	g.wg.Add(1)
	return true
}

// release takes c out of the table, folding its packet counters into the
// totals under the same lock so that the counters stay monotonic.
func (g *Gateway) release(c *call) {
	t := c.rtpTotals()
	mos := c.finalMOS()
	g.mu.Lock()
	delete(g.calls, c)
	g.ended.add(t)
	g.mu.Unlock()
	g.m.observeEnd(mos)
}

// Drain stops taking calls: new INVITEs get 503 while the calls in progress
// go on. It cannot be undone.
func (g *Gateway) Drain() {
	g.draining.Store(true)
	g.log.Info("draining: new calls are refused")
}

// Wait returns once no call is in progress, or with ctx's error.
func (g *Gateway) Wait(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for g.activeCalls() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("gateway: %d calls still up: %w", g.activeCalls(), context.Cause(ctx))
		case <-t.C:
		}
	}
	return nil
}

// Close ends every call (the SIP server then sends BYE) and waits for their
// handlers and the room hubs to finish. New calls get 503. It is
// idempotent.
func (g *Gateway) Close() error {
	g.draining.Store(true)
	g.mu.Lock()
	g.closed = true
	calls := make([]*call, 0, len(g.calls))
	for c := range g.calls {
		calls = append(calls, c)
	}
	g.mu.Unlock()
	for _, c := range calls {
		c.cancel(ErrGatewayClosed)
	}
	g.endOuts(ErrGatewayClosed)
	g.wg.Wait()
	g.head.Close()
	// Hubs close with their last leg; none should be left.
	g.mu.Lock()
	n := len(g.hubs)
	g.mu.Unlock()
	if n > 0 {
		return fmt.Errorf("gateway: %d room hubs left after the last call", n)
	}
	return nil
}

func (g *Gateway) activeCalls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

func (g *Gateway) activeHubs() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.hubs)
}

// snapshotCalls copies the call table.
func (g *Gateway) snapshotCalls() []*call {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*call, 0, len(g.calls))
	for c := range g.calls {
		out = append(out, c)
	}
	return out
}

// rtpTotals is the packet counters of ended and live legs, read under the
// table lock so that a leg ending concurrently is counted exactly once.
func (g *Gateway) rtpTotals() rtpTotals {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.ended
	for c := range g.calls {
		t.add(c.rtpTotals())
	}
	return t
}

// joinHub makes leg id a user of roomName's hub, starting the hub's own
// join in the background if it is the room's first leg here, and records
// id as one of our legs before the leg publishes, so that its track is
// never decoded back into the mix. Its caller waits for the hub
// (roomHub.wait) before publishing into it.
func (g *Gateway) joinHub(roomName, id string) *roomHub {
	g.mu.Lock()
	h := g.hubs[roomName]
	created := h == nil
	if created {
		h = g.newHub(roomName)
		g.hubs[roomName] = h
		h.start(g.joins)
	}
	h.users++
	g.mu.Unlock()
	if created && g.cfg.OnRoomHub != nil && !isPrivateRoom(roomName) {
		g.cfg.OnRoomHub(roomName, true)
	}
	h.Expect(id)
	return h
}

// leaveHub takes the leg id (and l, once it was added) out of h and stops
// h when that was its last user, waiting for the hub's goroutines.
func (g *Gateway) leaveHub(h *roomHub, id string, l *bridge.Leg) {
	h.Remove(id, l)
	g.mu.Lock()
	h.users--
	last := h.users == 0
	if last && g.hubs[h.Room()] == h {
		delete(g.hubs, h.Room())
	}
	g.mu.Unlock()
	if last && g.cfg.OnRoomHub != nil && !isPrivateRoom(h.Room()) {
		g.cfg.OnRoomHub(h.Room(), false)
	}
	if last {
		// A start still joining gives up; Close must come after it.
		h.cancel()
		<-h.started
		if err := h.Close(); err != nil && !errors.Is(err, room.ErrClosed) {
			g.log.Warn("room hub close", "room", h.Room(), "err", err)
		}
	}
}
