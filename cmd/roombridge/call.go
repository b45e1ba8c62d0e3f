package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

const callUsage = `usage: roombridge call sip:URI [flags]

Dials URI, sends a tone or a WAV file (and DTMF), records what it hears,
hangs up after --duration and reports on the call. Exit status 0 when the
call was answered, 1 when it failed.

flags:
`

// callMain runs `roombridge call` until ctx ends and returns the exit
// status.
func callMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("call", callUsage, stderr)
	var (
		transport = fs.String("transport", "", "SIP transport: udp, tcp, tls, ws or wss (default: from the URI, else udp)")
		codec     = fs.String("codec", "pcmu", "audio codec: pcmu, pcma or g722")
		srtp      = fs.Bool("srtp", false, "offer and require SDES-SRTP (RTP/SAVP)")
		toneHz    = fs.Float64("tone", 0, "send a sine of `HZ` (default 440 unless --play)")
		play      = fs.String("play", "", "send this WAV `FILE` (8 or 16 kHz mono 16-bit)")
		loop      = fs.Bool("loop", false, "repeat the --play file")
		dtmf      = fs.String("dtmf", "", "send these `DIGITS` (0-9 * # A-D) once media flows")
		dtmfVia   = fs.String("dtmf-via", "rfc4733", "how to send DTMF: rfc4733 or info")
		dtmfDelay = fs.Duration("dtmf-delay", caller.DefaultDTMFDelay, "wait this long after media starts before DTMF")
		record    = fs.String("record", "", "write what was heard to this WAV `FILE`")
		duration  = fs.Duration("duration", 10*time.Second, "how long to stay in the call")
		rtpTO     = fs.Duration("rtp-timeout", 0, "hang up after this long without RTP or RTCP from the far end (0: never)")
		user      = fs.String("user", "", "digest auth username")
		password  = fs.String("password", "", "digest auth password")
		insecure  = fs.Bool("insecure", false, "skip TLS certificate verification")
		localIP   = fs.String("local-ip", "", "local `IP` for SIP and RTP (default: routed to the target)")
		asJSON    = fs.Bool("json", false, "print the report as JSON")
		verbose   = fs.Bool("v", false, "log SIP and RTP details to stderr")
	)
	// The URI may come before or after the flags.
	var target string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if target == "" && len(rest) > 0 {
		target, rest = rest[0], rest[1:]
	}
	if target == "" || len(rest) > 0 {
		fs.Usage()
		return 2
	}

	o := caller.Options{
		Target: target, SRTP: *srtp, Tone: *toneHz, PlayPath: *play, Loop: *loop, DTMF: *dtmf,
		DTMFDelay: *dtmfDelay, Record: *record, Duration: *duration, RTPTimeout: *rtpTO, Username: *user, Password: *password, Insecure: *insecure,
	}
	var err error
	bad := func(err error) int {
		fmt.Fprintf(stderr, "roombridge call: %v\n", err)
		return 2
	}
	if o.Transport, err = uac.ParseTransport(*transport); err != nil {
		return bad(err)
	}
	if o.Codec, err = caller.ParseCodec(*codec); err != nil {
		return bad(err)
	}
	if o.DTMFVia, err = caller.ParseDTMFMode(*dtmfVia); err != nil {
		return bad(err)
	}
	if *localIP != "" {
		if err := o.LocalIP.UnmarshalText([]byte(*localIP)); err != nil {
			return bad(fmt.Errorf("--local-ip: %w", err))
		}
	}
	if o.Tone == 0 && o.PlayPath == "" {
		o.Tone = 440
	}
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	rep, err := caller.Run(ctx, o)
	if rep == nil {
		return bad(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(jsonReport(rep, err))
	} else {
		printReport(stdout, rep, err)
	}
	if !rep.Answered || err != nil {
		return 1
	}
	return 0
}

// callJSON is the --json form of a caller.Report: durations in
// milliseconds, levels in dBFS.
type callJSON struct {
	Target       string    `json:"target"`
	Answered     bool      `json:"answered"`
	Status       int       `json:"status"`
	Reason       string    `json:"reason,omitempty"`
	Error        string    `json:"error,omitempty"`
	Codec        string    `json:"codec"`
	SRTP         bool      `json:"srtp"`
	SetupMS      float64   `json:"setup_ms"`
	DurationMS   float64   `json:"duration_ms"`
	HeardDBFS    float64   `json:"heard_dbfs"`
	Peaks        []float64 `json:"peaks_hz"`
	PacketsSent  uint64    `json:"packets_sent"`
	PacketsRecv  uint64    `json:"packets_received"`
	Lost         int64     `json:"packets_lost"`
	LossPercent  float64   `json:"loss_percent"`
	JitterMS     float64   `json:"jitter_ms"`
	RTTMS        float64   `json:"rtt_ms"`
	MOS          float64   `json:"mos"`
	DTMFSent     string    `json:"dtmf_sent,omitempty"`
	DTMFReceived string    `json:"dtmf_received,omitempty"`
	RemoteHangup bool      `json:"remote_hangup"`
	MediaTimeout bool      `json:"media_timeout"`
	SampleRateHz int       `json:"sample_rate_hz"`
	SamplesHeard int       `json:"samples_heard"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func jsonReport(r *caller.Report, err error) callJSON {
	j := callJSON{
		Target: r.Target, Answered: r.Answered, Status: r.Status, Reason: r.Reason, Codec: r.Codec, SRTP: r.SRTP,
		SetupMS: ms(r.SetupTime), DurationMS: ms(r.Duration), HeardDBFS: round1(r.HeardRMS), Peaks: r.Peaks,
		PacketsSent: r.PacketsSent, PacketsRecv: r.PacketsReceived, Lost: r.Lost, LossPercent: round1(100 * r.LossFraction),
		JitterMS: ms(r.Jitter), RTTMS: ms(r.RTT), MOS: round2(r.MOS), DTMFSent: r.DTMFSent, DTMFReceived: r.DTMFReceived,
		RemoteHangup: r.RemoteHangup, MediaTimeout: r.MediaTimeout, SampleRateHz: r.Rate, SamplesHeard: len(r.Heard),
	}
	if j.Peaks == nil {
		j.Peaks = []float64{}
	}
	if err != nil {
		j.Error = err.Error()
	}
	return j
}

func round1(f float64) float64 { return float64(int64(f*10+sign(f)*0.5)) / 10 }
func round2(f float64) float64 { return float64(int64(f*100+sign(f)*0.5)) / 100 }

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

func printReport(w io.Writer, r *caller.Report, err error) {
	if !r.Answered {
		if r.Status != 0 {
			fmt.Fprintf(w, "call %s failed: %d %s\n", r.Target, r.Status, r.Reason)
		} else {
			fmt.Fprintf(w, "call %s failed: %v\n", r.Target, err)
		}
		return
	}
	srtp := "off"
	if r.SRTP {
		srtp = "on"
	}
	fmt.Fprintf(w, "call %s answered in %.0f ms (codec %s, SRTP %s)\n", r.Target, ms(r.SetupTime), r.Codec, srtp)
	if r.Peaks == nil {
		fmt.Fprintf(w, "heard:    %.1f dBFS (silence)\n", r.HeardRMS)
	} else {
		peaks := make([]string, len(r.Peaks))
		for i, p := range r.Peaks {
			peaks[i] = fmt.Sprintf("%.0f Hz", p)
		}
		fmt.Fprintf(w, "heard:    %.1f dBFS, dominant %s\n", r.HeardRMS, strings.Join(peaks, ", "))
	}
	fmt.Fprintf(w, "packets:  sent %d, received %d, lost %d (%.1f%%)\n", r.PacketsSent, r.PacketsReceived, r.Lost, 100*r.LossFraction)
	fmt.Fprintf(w, "quality:  jitter %.1f ms, RTT %.1f ms, MOS %.2f\n", ms(r.Jitter), ms(r.RTT), r.MOS)
	if r.DTMFSent != "" || r.DTMFReceived != "" {
		fmt.Fprintf(w, "dtmf:     sent %q, received %q\n", r.DTMFSent, r.DTMFReceived)
	}
	end := "we hung up"
	switch {
	case r.RemoteHangup:
		end = "remote hung up"
	case r.MediaTimeout:
		end = "we hung up: no media for --rtp-timeout"
	}
	fmt.Fprintf(w, "ended:    %s after %.1f s\n", end, r.Duration.Seconds())
	if err != nil {
		fmt.Fprintf(w, "error:    %v\n", err)
	}
}
