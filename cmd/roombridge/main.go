// Command roombridge is the Roombridge gateway: SIP and browsers into the
// same rooms. `roombridge serve` (the default) runs the gateway;
// `roombridge version` prints the build.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	// SIGTERM and Ctrl-C end every command the same way: serve drains,
	// call and load hang up and still print their reports.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stderr)
	case "call":
		return callMain(ctx, args, stdout, stderr)
	case "load":
		return loadMain(ctx, args, stdout, stderr)
	case "health", "drain":
		return opsMain(ctx, cmd, args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "roombridge %s\n", version)
	case "help", "-h", "--help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "roombridge: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "roombridge: %v\n", err)
		return 1
	}
	return 0
}

// newFlagSet makes a subcommand's flag set whose -h prints usage text
// before the flags.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: roombridge [command] [flags]

commands:
  serve     run the gateway (default)   --config FILE
  call      dial a SIP URI, send a tone/WAV/DTMF, report what was heard
            sip:URI [--transport udp|tcp|tls] [--codec pcmu|pcma|g722] [--srtp]
            [--tone HZ | --play FILE.wav] [--dtmf 1234#] [--dtmf-via rfc4733|info]
            [--record OUT.wav] [--duration 10s] [--user U --password P]
            [--insecure] [--json]   (roombridge call -h for all flags)
  load      many callers into rooms of the gateway; reports setup time, CPU and
            memory per leg, late ticks, loss, MOS, heard audio
            --target HOST:PORT --legs 100 [--room-size 10] [--rate 20] [--hold 30s]
            [--codec pcmu] [--wav FILE] [--api URL --api-key KEY] [--json]
            (roombridge load -h for all flags)
  health    exit 0 when the gateway answers /healthz   [--config FILE]
  drain     drain the gateway (POST /v1/admin/drain)   [--config FILE] [--wait]
  version   print the version
`)
}
