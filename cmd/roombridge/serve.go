package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	sipgosip "github.com/emiago/sipgo/sip"
)

// serve runs the gateway until ctx is cancelled (SIGTERM/SIGINT), then
// drains within shutdown.grace.
func serve(ctx context.Context, args []string, logOut io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(logOut)
	configPath := fs.String("config", "", "YAML configuration `file` (defaults apply to missing keys)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, logOut)
	if cfg.Node.ID != "" {
		log = log.With("node", cfg.Node.ID)
	}
	// sipgo logs through a package-level logger; give it ours so its
	// transport warnings land in the same stream.
	sipgosip.SetDefaultLogger(log.With("component", "sipgo"))
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.run(ctx)
}

func listenURL(ln net.Listener, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

func logErr(log *slog.Logger, what string, err error) {
	if err != nil && !errors.Is(err, os.ErrClosed) {
		log.Warn(what, "err", err)
	}
}
