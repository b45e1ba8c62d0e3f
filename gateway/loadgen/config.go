package loadgen

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// Defaults for Config fields left zero.
const (
	DefaultRoomSize      = 10
	DefaultRate          = 20.0 // calls per second
	DefaultHold          = 30 * time.Second
	DefaultSettle        = 2 * time.Second
	DefaultRoomPrefix    = "load-"
	DefaultPortMin       = 40000
	DefaultPortMax       = 49999
	DefaultSilenceDBFS   = -60.0
	DefaultTone          = 440.0
	DefaultProbeTone     = 1000.0
	DefaultUpTimeout     = 15 * time.Second
	DefaultHTTPTimeout   = 10 * time.Second
	defaultPollInterval  = 100 * time.Millisecond
	defaultHangupTimeout = 30 * time.Second
)

// Config scripts one load run. Zero fields take the defaults above.
type Config struct {
	// Target is the gateway's SIP address, host:port; Transport is the
	// SIP transport of every call (UDP when unknown).
	Target    string
	Transport uac.Transport
	// Codec is the one codec every caller offers.
	Codec caller.Codec

	// Legs is how many calls to place (required). RoomSize legs share a
	// room: rooms RoomPrefix0 … RoomPrefixK, with leg i in room
	// i/RoomSize.
	Legs       int
	RoomSize   int
	RoomPrefix string

	// Rate is how many calls are started per second. Ramp, when set,
	// spreads the Legs calls evenly over that long instead.
	Rate float64
	Ramp time.Duration
	// Settle is how long to wait once every leg is up before the steady
	// window starts (jitter buffers fill, the first RTCP goes out). Hold
	// is the length of the steady window; every leg hangs up at its end.
	Settle time.Duration
	Hold   time.Duration
	// UpTimeout bounds the wait for the last legs to come up after the
	// last INVITE went out; the window then starts anyway, with a warning.
	UpTimeout time.Duration

	// WAV is the audio every caller sends, looped (8 or 16 kHz mono
	// 16-bit); WAVPath is read when WAV is nil. With neither, callers send
	// a sine of Tone Hz.
	WAV     *caller.WAV
	WAVPath string
	Tone    float64
	// SilenceDBFS is the level a caller must hear (RMS of the second half
	// of the call) for its audio to count as arrived.
	SilenceDBFS float64

	// Probe places two more calls, before the load, in a room of their
	// own (RoomPrefix + "probe"): one sends a sine of ProbeTone Hz, the
	// other listens, and every 20 ms frame the listener plays out during
	// the steady window is checked (Report.Probe). The probe's room is
	// light, so what it hears shows what the load does to every room.
	Probe     bool
	ProbeTone float64

	// APIURL is the base URL of the room API (http://127.0.0.1:8080) and
	// APIKey its bearer key. With an APIURL the rooms are created before
	// the run and those created are deleted after it; without one they
	// must exist.
	APIURL string
	APIKey string
	// MetricsURL is the gateway's Prometheus endpoint; APIURL + /metrics
	// when empty. With neither, the gateway's side of the report is empty.
	MetricsURL string
	// HTTPClient makes the API and metrics requests; a client with
	// DefaultHTTPTimeout when nil.
	HTTPClient *http.Client

	// LocalIP is the callers' address (the one routed to Target when
	// zero); PortMin and PortMax bound the RTP ports of all callers.
	LocalIP          netip.Addr
	PortMin, PortMax uint16
	// RTCPInterval is the callers' mean RTCP interval (rtp's default
	// when zero).
	RTCPInterval time.Duration

	// Logger gets the run's progress; CallLogger, when set, each call's
	// SIP and RTP logs. nil discards.
	Logger     *slog.Logger
	CallLogger *slog.Logger
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	bad := func(field, format string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, a...))
	}
	if c.Target == "" {
		return bad("Target", "required (host:port)")
	}
	if strings.HasPrefix(c.Target, "sip:") || strings.HasPrefix(c.Target, "sips:") {
		return bad("Target", "%q: want host:port, not a URI", c.Target)
	}
	if c.Legs <= 0 {
		return bad("Legs", "%d: want at least 1", c.Legs)
	}
	if c.RoomSize == 0 {
		c.RoomSize = DefaultRoomSize
	}
	if c.RoomSize < 0 {
		return bad("RoomSize", "%d: want at least 1", c.RoomSize)
	}
	if c.RoomPrefix == "" {
		c.RoomPrefix = DefaultRoomPrefix
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Ramp > 0 {
		c.Rate = float64(c.Legs) / c.Ramp.Seconds()
	}
	if c.Rate <= 0 || c.Rate > 10000 {
		return bad("Rate", "%g calls/s: want (0, 10000]", c.Rate)
	}
	if c.Hold == 0 {
		c.Hold = DefaultHold
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Hold < 0 || c.Settle < 0 || c.Ramp < 0 {
		return bad("Hold", "durations must not be negative")
	}
	if c.UpTimeout <= 0 {
		c.UpTimeout = DefaultUpTimeout
	}
	if c.WAV == nil && c.WAVPath != "" {
		w, err := caller.LoadWAV(c.WAVPath)
		if err != nil {
			return bad("WAVPath", "%v", err)
		}
		c.WAV = w
	}
	if c.WAV == nil && c.Tone == 0 {
		c.Tone = DefaultTone
	}
	if c.ProbeTone == 0 {
		c.ProbeTone = DefaultProbeTone
	}
	if c.SilenceDBFS == 0 {
		c.SilenceDBFS = DefaultSilenceDBFS
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if c.MetricsURL == "" && c.APIURL != "" {
		c.MetricsURL = c.APIURL + "/metrics"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.PortMin == 0 && c.PortMax == 0 {
		c.PortMin, c.PortMax = DefaultPortMin, DefaultPortMax
	}
	if int(c.PortMax)-int(c.PortMin)+1 < 2*(c.Legs+2) {
		return bad("PortMin/PortMax", "%d-%d holds fewer than %d RTP/RTCP pairs", c.PortMin, c.PortMax, c.Legs+2)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// rooms is how many rooms the legs fill.
func (c Config) rooms() int { return (c.Legs + c.RoomSize - 1) / c.RoomSize }

// roomName is the name of room k.
func (c Config) roomName(k int) string { return fmt.Sprintf("%s%d", c.RoomPrefix, k) }

// probeRoom is the room of the probe calls.
func (c Config) probeRoom() string { return c.RoomPrefix + "probe" }

// uri is the SIP URI leg i dials.
func (c Config) uri(i int) string { return "sip:" + c.roomName(i/c.RoomSize) + "@" + c.Target }
