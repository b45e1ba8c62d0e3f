package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/loadgen"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

const loadUsage = `usage: roombridge load --target HOST:PORT --legs N [flags]

Creates rooms PREFIX0…PREFIXk through the room API (--room-size legs each),
places --legs calls into them at --rate calls/s, waits until every leg is up,
measures a steady window of --hold, hangs up, deletes the rooms it created
and reports: setup times, the gateway's CPU, memory, late hub ticks, tick
time and admission refusals from its /metrics, loss, jitter, MOS and heard
audio per caller, and with --probe what a listener in a room of its own
heard of a steady tone, frame by frame.
Exit status 0 when every call was answered and heard audio, 1 otherwise.

Example:
  roombridge load --target 127.0.0.1:5060 --legs 100 --room-size 10 --rate 20 \
    --hold 30s --codec pcmu --wav speech.wav \
    --api http://127.0.0.1:8080 --api-key devkey-change-me

flags:
`

// loadMain runs `roombridge load` until ctx ends and returns the exit
// status.
func loadMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("load", loadUsage, stderr)
	var (
		target    = fs.String("target", "127.0.0.1:5060", "the gateway's SIP `HOST:PORT`")
		transport = fs.String("transport", "udp", "SIP transport: udp or tcp")
		codec     = fs.String("codec", "pcmu", "audio codec: pcmu, pcma or g722")
		legs      = fs.Int("legs", 100, "calls to place")
		roomSize  = fs.Int("room-size", loadgen.DefaultRoomSize, "legs per room")
		prefix    = fs.String("room-prefix", loadgen.DefaultRoomPrefix, "rooms are named `PREFIX`0, PREFIX1, …")
		rate      = fs.Float64("rate", loadgen.DefaultRate, "calls started per second")
		ramp      = fs.Duration("ramp", 0, "spread the calls over this long instead of --rate")
		settle    = fs.Duration("settle", loadgen.DefaultSettle, "wait this long once every leg is up before measuring")
		hold      = fs.Duration("hold", loadgen.DefaultHold, "length of the steady window; every leg hangs up at its end")
		wav       = fs.String("wav", "", "send this WAV `FILE` on every leg, looped (8 or 16 kHz mono 16-bit)")
		toneHz    = fs.Float64("tone", 0, "send a sine of `HZ` instead (default 440 without --wav)")
		silence   = fs.Float64("silence", loadgen.DefaultSilenceDBFS, "heard RMS (`dBFS`) above which a caller's audio counts as arrived")
		probe     = fs.Bool("probe", false, "also place a probe in a room of its own (PREFIXprobe): one call sends a tone, another listens, and every 20 ms frame it hears in the window is checked")
		probeTone = fs.Float64("probe-tone", loadgen.DefaultProbeTone, "the probe's tone in `HZ`")
		apiURL    = fs.String("api", "", "room API base `URL` (e.g. http://127.0.0.1:8080); rooms must exist without it")
		apiKey    = fs.String("api-key", "", "room API bearer `KEY`")
		metrics   = fs.String("metrics", "", "the gateway's Prometheus `URL` (default: --api + /metrics)")
		localIP   = fs.String("local-ip", "", "local `IP` for SIP and RTP (default: routed to the target)")
		portMin   = fs.Uint("port-min", loadgen.DefaultPortMin, "lowest RTP port of the callers")
		portMax   = fs.Uint("port-max", loadgen.DefaultPortMax, "highest RTP port of the callers")
		asJSON    = fs.Bool("json", false, "print the report as JSON")
		verbose   = fs.Bool("v", false, "log progress to stderr (-vv: every call's SIP and RTP too)")
		veryVerb  = fs.Bool("vv", false, "log every call's SIP and RTP to stderr")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	bad := func(err error) int {
		fmt.Fprintf(stderr, "roombridge load: %v\n", err)
		return 2
	}
	cfg := loadgen.Config{
		Target: *target, Legs: *legs, RoomSize: *roomSize, RoomPrefix: *prefix, Rate: *rate, Ramp: *ramp,
		Settle: *settle, Hold: *hold, WAVPath: *wav, Tone: *toneHz, SilenceDBFS: *silence, Probe: *probe, ProbeTone: *probeTone,
		APIURL: *apiURL, APIKey: *apiKey, MetricsURL: *metrics,
	}
	if *portMin > 65535 || *portMax > 65535 {
		return bad(fmt.Errorf("--port-min/--port-max: out of range"))
	}
	cfg.PortMin, cfg.PortMax = uint16(*portMin), uint16(*portMax)
	var err error
	if cfg.Transport, err = uac.ParseTransport(*transport); err != nil {
		return bad(err)
	}
	if cfg.Codec, err = caller.ParseCodec(*codec); err != nil {
		return bad(err)
	}
	if *localIP != "" {
		if err := cfg.LocalIP.UnmarshalText([]byte(*localIP)); err != nil {
			return bad(fmt.Errorf("--local-ip: %w", err))
		}
	}
	if *verbose || *veryVerb {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if *veryVerb {
		cfg.CallLogger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		// sipgo logs through the default logger (retransmitted 200 OKs to
		// a BYE storm, for one): hundreds of callers would bury the report.
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}

	start := time.Now()
	rep, err := loadgen.Run(ctx, cfg)
	if rep == nil {
		if errors.Is(err, loadgen.ErrInvalidConfig) {
			return bad(err)
		}
		fmt.Fprintf(stderr, "roombridge load: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		_ = rep.WriteText(stdout)
		fmt.Fprintf(stdout, "\n(run took %.1f s)\n", time.Since(start).Seconds())
	}
	if err != nil {
		fmt.Fprintf(stderr, "roombridge load: %v\n", err)
		return 1
	}
	if rep.Answered < rep.Attempted || rep.Callers.AudioArrived < rep.Answered {
		return 1
	}
	return 0
}
