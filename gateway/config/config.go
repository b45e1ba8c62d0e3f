package config

import "time"

// Config is the whole configuration. The yaml tags are the public contract:
// users' files and tests rely on them.
type Config struct {
	Log      Log       `yaml:"log"`
	Node     Node      `yaml:"node"`
	HTTP     HTTP      `yaml:"http"`
	SIP      SIP       `yaml:"sip"`
	RTP      RTP       `yaml:"rtp"`
	WebRTC   WebRTC    `yaml:"webrtc"`
	API      API       `yaml:"api"`
	Store    Store     `yaml:"store"`
	Backend  string    `yaml:"backend"`
	LiveKit  LiveKit   `yaml:"livekit"`
	Trunks   []Trunk   `yaml:"trunks"`
	DialIn   DialIn    `yaml:"dialin"`
	IVR      IVR       `yaml:"ivr"`
	Rooms    []Room    `yaml:"rooms"`
	Limits   Limits    `yaml:"limits"`
	Shutdown Shutdown  `yaml:"shutdown"`
	Webhooks []Webhook `yaml:"webhooks"`
	Metrics  Metrics   `yaml:"metrics"`
}

// Log selects the log format and level.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Node identifies this gateway among several sharing a Redis store.
type Node struct {
	// ID names the node in logs, the room API (participants' node) and
	// Redis; empty means the host name.
	ID string `yaml:"id"`
	// SIPAddress is the host:port at which other nodes and a proxy in
	// front reach this node's SIP (UDP and TCP): the target of the 302
	// that sends a room's callers to the node hosting it. Empty means the
	// first udp or tcp sip.listen address unless that is a wildcard
	// (0.0.0.0, ::), which no one can be sent to.
	SIPAddress string `yaml:"sip_address"`
}

// HTTP is the web server: room API, web client, signalling, metrics.
type HTTP struct {
	Listen string `yaml:"listen"`
	// PublicURL is the base of join URLs handed out by the API; empty means
	// http(s)://<listen>.
	PublicURL string `yaml:"public_url"`
	TLS       TLS    `yaml:"tls"`
	// PublicRooms lets anyone with a room's name join it from the web page
	// without a token. Handy for the demo; switch it off in production.
	PublicRooms bool `yaml:"public_rooms"`
	// TokenSecret signs join tokens; empty means a random secret per start
	// (tokens then do not survive a restart).
	TokenSecret string        `yaml:"token_secret"`
	TokenTTL    time.Duration `yaml:"token_ttl"`
	// TrustedProxies are the reverse proxies in front (CIDRs or
	// addresses): the X-Forwarded-For they send names the client, and,
	// since they terminate TLS, a plain listener on a public address is
	// accepted.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MaxSocketsPerIP bounds the web client's signalling WebSockets open
	// from one client address; 0 means no bound.
	MaxSocketsPerIP int `yaml:"max_sockets_per_ip"`
}

// Metrics is /metrics.
type Metrics struct {
	// Key, when set, is the bearer token /metrics asks for.
	Key string `yaml:"key"`
	// PProf serves Go's profiles under /debug/pprof/ behind the same key:
	// how an operator finds where a leg's CPU and memory go in production.
	PProf bool `yaml:"pprof"`
}

// TLS is a certificate and key pair, both files in PEM.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// SIP is the SIP side of the gateway.
type SIP struct {
	// Listen holds transport URLs: udp://, tcp://, tls://, ws://, wss://.
	Listen []string `yaml:"listen"`
	Domain string   `yaml:"domain"`
	TLS    TLS      `yaml:"tls"`
	// CallerMask hides the middle of callers' numbers in the names other
	// participants see: keep this many leading and trailing characters
	// ("+1555***0100" for 5 and 4); 0 and 0 show numbers in full.
	CallerMask CallerMask `yaml:"caller_mask"`
	// SessionExpires is the RFC 4028 session interval we ask for; MinSE the
	// shortest we accept (422 below it).
	SessionExpires time.Duration `yaml:"session_expires"`
	MinSE          time.Duration `yaml:"min_se"`
	// Limits bound the requests one source address may send.
	Limits SIPLimits `yaml:"limits"`
	// BlockUserAgents are User-Agent substrings of scanners, whose
	// requests are dropped without an answer.
	BlockUserAgents []string `yaml:"block_user_agents"`
	// WSOrigins are the web pages (origins such as https://crm.example.com)
	// allowed to open SIP WebSockets (ws://, wss:// in Listen) besides the
	// gateway's own pages; "*" allows any. A handshake from another page
	// gets 403 before the upgrade.
	WSOrigins []string `yaml:"ws_origins"`
	// WSMaxPerIP bounds the SIP WebSockets one source address holds;
	// 0 means no limit.
	WSMaxPerIP int `yaml:"ws_max_per_ip"`
	// WSPingInterval is how often SIP WebSockets are pinged; one silent for
	// 2.5 intervals is closed.
	WSPingInterval time.Duration `yaml:"ws_ping_interval"`
	// Users may REGISTER (and call in from sources no trunk allows) with
	// digest authentication in realm Domain.
	Users []SIPUser `yaml:"users"`
	// Video answers (and, with a delayed offer, offers) an H.264 video
	// stream to room systems; off, video m= lines get port 0 and calls
	// are audio only. trunks[].video overrides it per trunk.
	Video bool `yaml:"video"`
	// VideoBitrate (bit/s) is what we announce we receive on video
	// (b=TIAS and b=AS).
	VideoBitrate int `yaml:"video_bitrate"`
}

// SIPLimits are per-source request rates (a second, bursts of twice
// that); 0 turns a limit off. Sources of a trunk with a narrow allow list
// get that trunk's max_cps instead.
type SIPLimits struct {
	InvitesPerSecond   float64 `yaml:"invites_per_second"`
	RegistersPerSecond float64 `yaml:"registers_per_second"`
	OptionsPerSecond   float64 `yaml:"options_per_second"`
}

// SIPUser is a SIP account of a browser or softphone user.
type SIPUser struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// CallerMask says how much of a caller's number stays visible.
type CallerMask struct {
	Prefix int `yaml:"prefix"`
	Suffix int `yaml:"suffix"`
}

// RTP is the media side of SIP legs.
type RTP struct {
	PortMin uint16 `yaml:"port_min"`
	PortMax uint16 `yaml:"port_max"`
	// ExternalIP is advertised in SDP and ICE candidates when the gateway is
	// behind 1:1 NAT.
	ExternalIP string `yaml:"external_ip"`
	// Timeout ends a call whose RTP and RTCP stopped for this long.
	Timeout time.Duration `yaml:"timeout"`
}

// WebRTC configures the embedded SFU's ICE transport.
type WebRTC struct {
	PortMin uint16 `yaml:"port_min"`
	PortMax uint16 `yaml:"port_max"`
	// IncludeLoopback offers 127.0.0.1 candidates, so a browser on the same
	// machine (the demo, tests) can connect.
	IncludeLoopback bool     `yaml:"include_loopback"`
	STUNServers     []string `yaml:"stun_servers"`
}

// API configures the room API.
type API struct {
	// Keys are the accepted bearer tokens.
	Keys []string `yaml:"keys"`
}

// Store selects where rooms and PINs are kept.
type Store struct {
	// Path is the SQLite file, used while Redis.Addr is empty.
	Path  string `yaml:"path"`
	Redis Redis  `yaml:"redis"`
}

// Redis is the store that several gateway nodes share: rooms, PINs,
// aliases, PIN lockouts and the join-token secret.
type Redis struct {
	// Addr is host:port; empty keeps the SQLite store.
	Addr     string `yaml:"addr"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"`
	// TLS connects with TLS; CA is a PEM file of the CA that signed the
	// server's certificate when it is not one the system trusts.
	TLS bool   `yaml:"tls"`
	CA  string `yaml:"ca"`
	// Prefix starts every key, so that one Redis can serve LiveKit too.
	Prefix string `yaml:"prefix"`
}

// LiveKit is the external backend (backend: livekit).
type LiveKit struct {
	URL       string `yaml:"url"`
	APIKey    string `yaml:"api_key"`
	APISecret string `yaml:"api_secret"`
	// ConnectTimeout bounds each participant's join (signalling, ICE,
	// DTLS) and each health check; a phone is answered before its join
	// ends, and hung up when the join fails.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// HealthInterval is how often LiveKit's reachability is checked; while
	// it is not, new calls get 503 and /readyz says so.
	HealthInterval time.Duration `yaml:"health_interval"`
	// ReconnectGrace is how long a participant whose connection dropped
	// may try to resume before its call is ended.
	ReconnectGrace time.Duration `yaml:"reconnect_grace"`
}

// Trunk is a SIP peer allowed to send calls.
type Trunk struct {
	Name  string   `yaml:"name"`
	Allow []string `yaml:"allow"` // source CIDRs or addresses
	// Username and Password, when set, require digest authentication
	// (401 challenge) in Realm (default: sip.domain).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Realm    string `yaml:"realm"`
	// Numbers restricts the trunk to these called numbers: exact, a prefix
	// ending in "*", or "*"; empty means any.
	Numbers []string `yaml:"numbers"`
	// SRTP is disable, allow (default) or require.
	SRTP string `yaml:"srtp"`
	// DTMF is auto (default), rfc4733, info or inband.
	DTMF string `yaml:"dtmf"`
	// Codecs orders and limits the audio codecs of the trunk's calls
	// (pcmu, pcma, g722, opus: TrunkCodecNames); empty means the
	// gateway's default order, G.711 first.
	Codecs []string `yaml:"codecs"`
	// PINLockout is what wrong PINs count against: both (default: the
	// source address and the caller number), caller (carrier trunks, whose
	// callers all come from the same addresses) or source.
	PINLockout string `yaml:"pin_lockout"`
	// Trusted lets callers dial a room directly without its PIN; the
	// trunk needs digest auth or a narrow allow list (see Narrow).
	Trusted bool `yaml:"trusted"`
	// ClickToCall lets the trunk's callers dial numbers the outbound
	// trunks serve (a PBX calling out through the gateway); like
	// trusted it needs digest auth or a narrow allow list. Callers
	// authenticated with a sip.users or minted account may always.
	ClickToCall bool `yaml:"click_to_call"`
	// SRTPOverPlain allows SDES keys (a=crypto) over UDP or TCP
	// signalling, where anyone on the path reads them: labs only.
	SRTPOverPlain bool `yaml:"srtp_over_plain"`
	// MaxCPS is the request rate per second each source of a narrow trunk
	// gets instead of sip.limits; 0 means DefaultTrunkCPS.
	MaxCPS float64 `yaml:"max_cps"`
	// MaxCalls bounds the trunk's calls in progress; 0 means no bound.
	MaxCalls int `yaml:"max_calls"`
	// Video, when set, overrides sip.video for the trunk's calls.
	Video *bool `yaml:"video"`
	// DigestAlgorithms are offered in this order; default SHA-256, MD5.
	DigestAlgorithms []string `yaml:"digest_algorithms"`
	// HeadersToAttributes copies headers of the trunk's INVITEs onto the
	// caller's participant attributes: {"X-Customer-Id": "customer_id"}.
	HeadersToAttributes map[string]string `yaml:"headers_to_attributes"`
	// Outbound, when set, makes the trunk one the gateway calls out
	// through; allow may then be empty (no calls in from it).
	Outbound *OutboundTrunk `yaml:"outbound"`
}

// OutboundTrunk is how the gateway calls out through a trunk.
type OutboundTrunk struct {
	// URI of the carrier: sip:host[:port][;transport=udp|tcp|tls] or
	// sips:host; without a port its servers come from DNS NAPTR/SRV.
	URI      string `yaml:"uri"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Realm, when set, is the only digest realm answered.
	Realm string `yaml:"realm"`
	// FromNumber is the caller id when a dial gives none, and the user
	// part of the registered Contact; FromDomain the From host (default:
	// the URI's host).
	FromNumber string `yaml:"from_number"`
	FromDomain string `yaml:"from_domain"`
	// Register keeps a registration with the carrier for RegisterExpires.
	Register        bool          `yaml:"register"`
	RegisterExpires time.Duration `yaml:"register_expires"`
	// Priority orders trunks for a number, lower first.
	Priority int `yaml:"priority"`
	// Numbers the trunk may dial: exact, prefix*, or *; empty means any.
	Numbers []string `yaml:"numbers"`
	// OptionsInterval between OPTIONS pings (0 = off); a trunk whose
	// ping fails is skipped until one is answered.
	OptionsInterval time.Duration `yaml:"options_interval"`
	// InviteTimeout is how long an INVITE waits for any response before
	// the next server or trunk is tried.
	InviteTimeout time.Duration `yaml:"invite_timeout"`
}

// Webhook is an endpoint that receives events as signed JSON POSTs.
type Webhook struct {
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
	// Events to send (room_created, room_deleted, participant_joined,
	// participant_left, call_started, call_answered, call_ended,
	// dial_progress); empty means all.
	Events []string `yaml:"events"`
}

// DialIn lists the numbers answered by the PIN IVR.
type DialIn struct {
	Numbers []string `yaml:"numbers"`
	// Languages picks the prompt language per dial-in number; numbers not
	// listed use ivr.language.
	Languages map[string]string `yaml:"languages"`
}

// IVR configures the PIN IVR and in-call keys.
type IVR struct {
	// Language of the prompts: en or de (embedded), or any language with a
	// folder in prompts_dir.
	Language string `yaml:"language"`
	// PromptsDir replaces the embedded prompts with WAV files of the same
	// names (PROMPTS_DIR/LANG/NAME.wav); missing files fall back.
	PromptsDir        string        `yaml:"prompts_dir"`
	FirstDigitTimeout time.Duration `yaml:"first_digit_timeout"`
	InterDigitTimeout time.Duration `yaml:"inter_digit_timeout"`
	// MaxAttempts is how many PINs one call may try before "goodbye".
	MaxAttempts int `yaml:"max_attempts"`
	// MaxFailures wrong PINs from one source IP or caller number within
	// FailureWindow lock that source out (403) for Lockout.
	MaxFailures   int           `yaml:"max_failures"`
	FailureWindow time.Duration `yaml:"failure_window"`
	Lockout       time.Duration `yaml:"lockout"`
	// JoinTones plays a short tone to phone participants when someone
	// joins or leaves their room.
	JoinTones bool `yaml:"join_tones"`
}

// Room is a room created (or updated) at start.
type Room struct {
	Name            string   `yaml:"name"`
	PIN             string   `yaml:"pin"`
	HostPIN         string   `yaml:"host_pin"`
	Aliases         []string `yaml:"aliases"`
	WaitForHost     bool     `yaml:"wait_for_host"`
	PINOnDirectDial bool     `yaml:"pin_on_direct_dial"`
}

// Limits are the ceilings of admission control: new calls get 503 with
// Retry-After, and /readyz 503, once one is reached (gateway/headroom).
// The room clocks' lateness refuses calls too, whatever these say.
type Limits struct {
	// MaxLegs is a fixed ceiling on SIP legs; 0 sets none.
	MaxLegs int `yaml:"max_legs"`
	// MaxCPU is the process's CPU ceiling in percent of all the cores it
	// may use, measured over the last seconds.
	MaxCPU float64 `yaml:"max_cpu"`
	// MaxMachineCPU is the ceiling on the whole machine's busy CPU, in
	// percent of all its cores (every process's, ours included); 100
	// turns it off.
	MaxMachineCPU float64 `yaml:"max_machine_cpu"`
	// MaxLateTicks is the ceiling, in percent, on room clock ticks that
	// start 60 ms (three frames) or more late over the last seconds.
	MaxLateTicks float64 `yaml:"max_late_ticks"`
	// ConcurrentJoins is how many room joins run at once; the others
	// wait their turn (their callers are answered meanwhile).
	ConcurrentJoins int `yaml:"concurrent_joins"`
}

// Shutdown bounds the drain on SIGTERM.
type Shutdown struct {
	// Grace is how long HTTP requests get to finish once the calls are
	// over.
	Grace time.Duration `yaml:"grace"`
	// DrainTimeout is how long calls and web sessions in progress may go
	// on after SIGTERM (or POST /v1/admin/drain) before they are ended.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// Backend names.
const (
	BackendEmbedded = "embedded"
	BackendLiveKit  = "livekit"
)

// Default returns the configuration used for every key a file leaves out.
func Default() Config {
	return Config{
		Log:  Log{Level: "info", Format: "text"},
		HTTP: HTTP{Listen: "127.0.0.1:8080", PublicRooms: true, TokenTTL: time.Hour, MaxSocketsPerIP: 50},
		SIP: SIP{
			Listen:         []string{"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"},
			Domain:         "conf.example.com",
			CallerMask:     CallerMask{Prefix: 5, Suffix: 4},
			SessionExpires: 30 * time.Minute,
			MinSE:          90 * time.Second,
			Limits:         SIPLimits{InvitesPerSecond: 10, RegistersPerSecond: 2, OptionsPerSecond: 5},
			BlockUserAgents: []string{
				"friendly-scanner", "sipvicious", "sipcli", "vaxsipuseragent", "sip-scan",
				"sipscan", "sundayddr", "iwar", "smap", "pplsip",
			},
			WSMaxPerIP:     32,
			WSPingInterval: 30 * time.Second,
			Video:          true,
			VideoBitrate:   2_000_000,
		},
		RTP:     RTP{PortMin: 20000, PortMax: 20999, Timeout: 30 * time.Second},
		WebRTC:  WebRTC{PortMin: 30000, PortMax: 30999, IncludeLoopback: true},
		API:     API{Keys: []string{DefaultAPIKey}},
		Store:   Store{Path: "./data/roombridge.db", Redis: Redis{Prefix: "roombridge:"}},
		Backend: BackendEmbedded,
		LiveKit: LiveKit{
			URL: "ws://127.0.0.1:7880", APIKey: "devkey", APISecret: DefaultLiveKitSecret,
			ConnectTimeout: 10 * time.Second, HealthInterval: 2 * time.Second, ReconnectGrace: 5 * time.Second,
		},
		Trunks: []Trunk{{Name: "local", Allow: []string{"127.0.0.0/8"}, Trusted: true}},
		DialIn: DialIn{Numbers: []string{"+15550100"}},
		IVR: IVR{
			Language:          "en",
			FirstDigitTimeout: 10 * time.Second,
			InterDigitTimeout: 5 * time.Second,
			MaxAttempts:       3,
			MaxFailures:       10,
			FailureWindow:     10 * time.Minute,
			Lockout:           15 * time.Minute,
			JoinTones:         true,
		},
		Limits:   Limits{MaxCPU: 80, MaxMachineCPU: 90, MaxLateTicks: 1, ConcurrentJoins: 16},
		Shutdown: Shutdown{Grace: 30 * time.Second, DrainTimeout: 2 * time.Hour},
	}
}
